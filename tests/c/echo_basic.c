/*
 * Messages through the echo server (URL: last argument): text (multi-byte UTF-8) and binary
 * messages of 0, 1, 125, 126, 65535, 65536 and 1 MiB bytes come back identical and in order;
 * messages sent in 3 fragments come back whole; pings come back as pongs with their payload;
 * a clean close with 1000 "bye". While open, wsc_connection_fd is the connected TCP socket.
 */
#include "wsc_test.h"

#include <netinet/in.h>
#include <sys/socket.h>

#define MIB (1024u * 1024u)

struct expected {
    bool is_text;
    uint8_t *data;
    size_t len;
};

struct run {
    wsc_context *ctx;
    struct expected msgs[32];
    int count;    /* messages expected */
    int received; /* messages received so far */
    int pongs_expected, pongs;
    uint8_t pings[3][125];
    size_t ping_lens[3];
    int opens, errors, closes, after_close;
    bool close_sent;
    uint16_t close_code;
    char close_reason[128];
    size_t close_reason_len;
    bool reason_nul_terminated;
    wsc_closed_by closed_by;
    bool clean;
};

/* Exactly `len` bytes of valid UTF-8 with 1-, 2-, 3- and 4-byte characters (ASCII fills the
 * end where a longer character would not fit). */
static uint8_t *make_text(size_t len, unsigned seed) {
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                        "Z", "\xd0\x96", "\xe6\x97\xa5", "\xf4\x8f\xbf\xbf"};
    uint8_t *p = malloc(len ? len : 1);
    REQUIRE(p != NULL);
    size_t i = 0;
    unsigned k = seed;
    while (i < len) {
        const char *c = chars[k++ % 8];
        size_t n = strlen(c);
        if (i + n > len) c = "x", n = 1;
        memcpy(p + i, c, n);
        i += n;
    }
    return p;
}

/* `len` pseudo-random bytes (all 256 values occur, NUL included). */
static uint8_t *make_binary(size_t len, uint32_t seed) {
    uint8_t *p = malloc(len ? len : 1);
    REQUIRE(p != NULL);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)(x >> 24);
    }
    return p;
}

static void expect(struct run *run, bool is_text, uint8_t *data, size_t len) {
    REQUIRE(run->count < (int)(sizeof run->msgs / sizeof run->msgs[0]));
    run->msgs[run->count].is_text = is_text;
    run->msgs[run->count].data = data;
    run->msgs[run->count].len = len;
    run->count++;
}

static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, MIB};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void on_open(wsc_connection *conn, void *user) {
    struct run *run = user;
    run->opens++;
    /* The socket's descriptor, for getsockopt: a connected stream socket. */
    int fd = wsc_connection_fd(conn);
    CHECK(fd >= 0);
    int type = 0;
    socklen_t type_len = sizeof type;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM);
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    CHECK(getpeername(fd, (struct sockaddr *)&peer, &peer_len) == 0);
    /* Whole messages, text and binary alternating, every size, all queued at once. */
    for (size_t i = 0; i < 2 * NSIZES; i++) {
        const struct expected *m = &run->msgs[i];
        if (m->is_text)
            CHECK_RESULT(wsc_send_text(conn, (const char *)m->data, m->len), WSC_OK);
        else
            CHECK_RESULT(wsc_send_binary(conn, m->data, m->len), WSC_OK);
    }
    /* A text message in 3 fragments, split inside multi-byte characters. */
    const struct expected *ft = &run->msgs[2 * NSIZES];
    /* Split after byte 2 (inside the 2-byte character) and byte 9 (inside the 3-byte one). */
    CHECK_RESULT(wsc_send_fragment(conn, true, ft->data, 2, false), WSC_OK);
    CHECK_RESULT(wsc_send_fragment(conn, true, ft->data + 2, 7, false), WSC_OK);
    CHECK_RESULT(wsc_send_fragment(conn, true, ft->data + 9, ft->len - 9, true), WSC_OK);
    /* A binary message in 3 fragments, the middle one empty, the last one large. */
    const struct expected *fb = &run->msgs[2 * NSIZES + 1];
    CHECK_RESULT(wsc_send_fragment(conn, false, fb->data, 1000, false), WSC_OK);
    CHECK_RESULT(wsc_send_fragment(conn, false, fb->data + 1000, 0, false), WSC_OK);
    CHECK_RESULT(wsc_send_fragment(conn, false, fb->data + 1000, fb->len - 1000, true), WSC_OK);
    /* Pings: some payload, none, the most allowed. */
    for (int i = 0; i < run->pongs_expected; i++)
        CHECK_RESULT(wsc_send_ping(conn, run->pings[i], run->ping_lens[i]), WSC_OK);
    /* Everything is queued until the loop writes it. */
    CHECK(wsc_connection_buffered_amount(conn) > 0);
}

static void maybe_close(struct run *run, wsc_connection *conn) {
    if (run->received == run->count && run->pongs == run->pongs_expected && !run->close_sent) {
        /* Every byte sent was echoed back, so every byte was written. */
        CHECK_INT(wsc_connection_buffered_amount(conn), 0);
        CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, "bye"), WSC_OK);
        run->close_sent = true;
    }
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct run *run = user;
    if (run->closes) run->after_close++;
    int i = run->received++;
    if (i >= run->count) {
        FAIL("unexpected message #%d (%zu bytes)", i + 1, len);
        return;
    }
    const struct expected *m = &run->msgs[i];
    if (is_text != m->is_text || len != m->len || (len && memcmp(data, m->data, len) != 0)) {
        size_t at = 0;
        while (at < len && at < m->len && data[at] == m->data[at]) at++;
        FAIL("message #%d: got %s of %zu bytes, expected %s of %zu bytes (first difference at "
             "byte %zu)",
             i + 1, is_text ? "text" : "binary", len, m->is_text ? "text" : "binary", m->len, at);
    }
    maybe_close(run, conn);
}

static void on_pong(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    struct run *run = user;
    if (run->closes) run->after_close++;
    int i = run->pongs++;
    if (i >= run->pongs_expected) {
        FAIL("unexpected pong #%d", i + 1);
        return;
    }
    if (len != run->ping_lens[i] || (len && memcmp(data, run->pings[i], len) != 0))
        FAIL("pong #%d: %zu bytes, not the %zu of its ping", i + 1, len, run->ping_lens[i]);
    maybe_close(run, conn);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    struct run *run = user;
    (void)conn;
    run->errors++;
    FAIL("on_error %d (%s): %s", (int)result, wsc_result_str((int)result),
         message ? message : "(null)");
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    struct run *run = user;
    CHECK_INT(wsc_connection_fd(conn), -1); /* the socket is closed */
    if (run->closes++) return;
    run->close_code = code;
    run->closed_by = closed_by;
    run->clean = clean;
    run->close_reason_len = reason_len;
    run->reason_nul_terminated = reason && reason[reason_len] == '\0';
    snprintf(run->close_reason, sizeof run->close_reason, "%.*s", (int)reason_len,
             reason ? reason : "");
}

static bool closed(void *arg) { return ((struct run *)arg)->closes > 0; }

int main(int argc, char **argv) {
    const char *server = wt_server_url(argc, argv);
    static struct run run;
    memset(&run, 0, sizeof run);

    for (size_t i = 0; i < NSIZES; i++) {
        expect(&run, true, make_text(sizes[i], (unsigned)i), sizes[i]);
        expect(&run, false, make_binary(sizes[i], (uint32_t)i + 1), sizes[i]);
    }
    static const char fragmented[] = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80!";
    uint8_t *ft = malloc(sizeof fragmented - 1);
    REQUIRE(ft != NULL);
    memcpy(ft, fragmented, sizeof fragmented - 1);
    expect(&run, true, ft, sizeof fragmented - 1);
    expect(&run, false, make_binary(70000, 99), 70000);

    run.pongs_expected = 3;
    memcpy(run.pings[0], "ping-123", 8);
    run.ping_lens[0] = 8;
    run.ping_lens[1] = 0;
    memset(run.pings[2], 0xa5, 125);
    run.ping_lens[2] = 125;

    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    run.ctx = ctx;
    const wsc_callbacks cb = {
        .struct_size = sizeof(wsc_callbacks), .on_open = on_open, .on_message = on_message,
        .on_pong = on_pong, .on_error = on_error, .on_close = on_close,
    };
    wsc_connection *conn = NULL;
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &run, &conn), WSC_OK);
    REQUIRE(conn != NULL);

    double start = wt_now();
    wt_service_until(ctx, closed, &run, 10.0, "all echoes and the close");
    for (int i = 0; i < 3; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);

    CHECK_INT(run.opens, 1);
    CHECK_INT(run.received, run.count);
    CHECK_INT(run.pongs, run.pongs_expected);
    CHECK_INT(run.errors, 0);
    CHECK_INT(run.closes, 1);
    CHECK_INT(run.after_close, 0);
    CHECK_INT(run.close_code, WSC_CLOSE_NORMAL);
    CHECK(strcmp(run.close_reason, "bye") == 0);
    CHECK_INT(run.close_reason_len, 3);
    CHECK(run.reason_nul_terminated);
    CHECK_INT(run.closed_by, WSC_CLOSED_BY_APPLICATION);
    CHECK(run.clean);
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    CHECK_RESULT(wsc_send_text(conn, "x", 1), WSC_ERR_NOT_OPEN);
    printf("echoed %d messages and %d pings in %.2f s\n", run.received, run.pongs,
           wt_now() - start);

    wsc_connection_free(conn);
    wsc_context_free(ctx);
    for (int i = 0; i < run.count; i++) free(run.msgs[i].data);
    return wt_finish("echo_basic");
}
