/*
 * Sends that lend their data instead of copying it (wsc_send_*_nocopy), through the echo
 * server (URL: last argument):
 * - a 1 MiB binary buffer, one text buffer lent twice, a short message (copied at once) and
 *   static data with no release callback come back identical and in order;
 * - each release runs exactly once, with the data, length and user pointer given, after the
 *   bytes went out (so before the echo arrives), and only then may the buffer be freed;
 * - refused sends (not open, NULL data, invalid UTF-8, NULL handle) never call release;
 * - data still queued when the connection and context are freed is released then, once;
 * - with trust_outgoing_text, text is not checked: invalid text goes out, and the server fails
 *   the connection with 1007.
 */
#include "wsc_test.h"

#define MIB (1024u * 1024u)
#define TEXT_LEN 200000u

struct lent {
    const uint8_t *data;
    size_t len;
    int releases;
    bool free_it; /* malloc'ed: release frees it */
};

static void release(const uint8_t *data, size_t len, void *user) {
    struct lent *l = user;
    if (data != l->data || len != l->len)
        FAIL("release got (%p, %zu), lent (%p, %zu)", (const void *)data, len,
             (const void *)l->data, l->len);
    if (++l->releases == 1 && l->free_it) free((void *)data);
}

struct run {
    struct lent binary, text, text_again, small;
    uint8_t *binary_copy; /* what the echo must match once the lent buffer is freed */
    uint8_t *text_data;
    int received, errors, closes;
    bool close_sent;
};

static const char static_text[] = "static data, lent for the connection's lifetime";

static uint8_t *make_text(size_t len) {
    static const char pattern[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* 10 bytes */
    uint8_t *p = malloc(len);
    REQUIRE(p != NULL);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)pattern[i % 10];
    return p; /* len is a multiple of 10: whole characters only */
}

static void on_open(wsc_connection *conn, void *user) {
    struct run *run = user;
    /* Refusals: release must not run for any of them. */
    CHECK_RESULT(wsc_send_binary_nocopy(conn, NULL, 10, release, &run->binary),
                 WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_text_nocopy(conn, "\xff", 1, release, &run->small),
                 WSC_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(wsc_send_binary_nocopy(NULL, run->binary.data, 1, release, &run->binary),
                 WSC_ERR_NULL_ARGUMENT);
    CHECK_INT(run->binary.releases + run->small.releases, 0);

    CHECK_RESULT(wsc_send_binary_nocopy(conn, run->binary.data, run->binary.len, release,
                                        &run->binary),
                 WSC_OK);
    CHECK_RESULT(wsc_send_text_nocopy(conn, (const char *)run->text.data, run->text.len,
                                      release, &run->text),
                 WSC_OK);
    CHECK_RESULT(wsc_send_text_nocopy(conn, (const char *)run->text_again.data,
                                      run->text_again.len, release, &run->text_again),
                 WSC_OK);
    /* Short messages are copied at once: released inside the call. */
    CHECK_RESULT(wsc_send_binary_nocopy(conn, run->small.data, run->small.len, release,
                                        &run->small),
                 WSC_OK);
    CHECK_INT(run->small.releases, 1);
    CHECK_RESULT(wsc_send_text_nocopy(conn, static_text, sizeof static_text - 1, NULL, NULL),
                 WSC_OK);
    /* Not written yet: the large buffers are still lent. */
    CHECK_INT(run->binary.releases + run->text.releases + run->text_again.releases, 0);
    CHECK(wsc_connection_buffered_amount(conn) >= MIB + 2 * TEXT_LEN);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct run *run = user;
    int i = run->received++;
    const uint8_t *want = NULL;
    size_t want_len = 0;
    bool want_text = true;
    switch (i) {
    case 0:
        want = run->binary_copy, want_len = MIB, want_text = false;
        /* Every byte of it was written before its echo could arrive. */
        CHECK_INT(run->binary.releases, 1);
        break;
    case 1:
    case 2:
        want = run->text_data, want_len = TEXT_LEN;
        CHECK_INT((i == 1 ? &run->text : &run->text_again)->releases, 1);
        break;
    case 3:
        want = run->small.data, want_len = run->small.len, want_text = false;
        break;
    case 4:
        want = (const uint8_t *)static_text, want_len = sizeof static_text - 1;
        break;
    default:
        FAIL("unexpected message #%d", i + 1);
        return;
    }
    if (is_text != want_text || len != want_len || memcmp(data, want, len) != 0)
        FAIL("message #%d: %s of %zu bytes does not match what was lent", i + 1,
             is_text ? "text" : "binary", len);
    if (run->received == 5 && !run->close_sent) {
        CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, NULL), WSC_OK);
        run->close_sent = true;
    }
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn;
    ((struct run *)user)->errors++;
    FAIL("on_error %d: %s", (int)result, message ? message : "(null)");
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn, (void)code, (void)reason, (void)reason_len, (void)closed_by, (void)clean;
    ((struct run *)user)->closes++;
}

static bool closed(void *arg) { return ((struct run *)arg)->closes > 0; }

/* Data lent outside the loop and never written: the frees release it. */
struct flood {
    struct lent parts[6];
    bool opened;
};

static void flood_on_open(wsc_connection *conn, void *user) {
    (void)conn;
    ((struct flood *)user)->opened = true;
}

static bool flood_opened(void *arg) { return ((struct flood *)arg)->opened; }

/* trust_outgoing_text: invalid text is sent as is; the server answers with 1007. One message
 * per connection: the test server closes at once, and a second message arriving at a closed
 * socket would make it reset the connection. */
struct trusting {
    bool nocopy;
    wsc_result sent;
    uint16_t close_code;
    wsc_closed_by closed_by;
    int closes;
};

static void trusting_on_open(wsc_connection *conn, void *user) {
    struct trusting *t = user;
    t->sent = t->nocopy ? wsc_send_text_nocopy(conn, "\xc3(", 2, NULL, NULL)
                        : wsc_send_text(conn, "\xff", 1);
}

static void trusting_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                              size_t reason_len, wsc_closed_by closed_by, bool clean,
                              void *user) {
    (void)conn, (void)reason, (void)reason_len, (void)clean;
    struct trusting *t = user;
    t->closes++;
    t->close_code = code;
    t->closed_by = closed_by;
}

static void trusting_on_error(wsc_connection *conn, wsc_result result, const char *message,
                              void *user) {
    (void)conn, (void)user;
    FAIL("on_error %d: %s", (int)result, message ? message : "(null)");
}

static bool trusting_closed(void *arg) { return ((struct trusting *)arg)->closes > 0; }

int main(int argc, char **argv) {
    const char *server = wt_server_url(argc, argv);
    static struct run run;
    memset(&run, 0, sizeof run);

    uint8_t *binary = malloc(MIB);
    run.binary_copy = malloc(MIB);
    REQUIRE(binary != NULL && run.binary_copy != NULL);
    for (size_t i = 0; i < MIB; i++) binary[i] = (uint8_t)(i * 31 + (i >> 12));
    memcpy(run.binary_copy, binary, MIB);
    run.binary = (struct lent){binary, MIB, 0, true};
    run.text_data = make_text(TEXT_LEN);
    run.text = (struct lent){run.text_data, TEXT_LEN, 0, false};
    run.text_again = run.text; /* the same buffer, lent twice */
    static const uint8_t small[100] = {1, 2, 3};
    run.small = (struct lent){small, sizeof small, 0, false};

    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    const wsc_callbacks cb = {
        .struct_size = sizeof(wsc_callbacks), .on_open = on_open, .on_message = on_message,
        .on_error = on_error, .on_close = on_close,
    };
    wsc_connection *conn = NULL;
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &cb, &run, &conn), WSC_OK);
    REQUIRE(conn != NULL);
    /* Before the handshake: refused, not released. */
    CHECK_RESULT(wsc_send_binary_nocopy(conn, small, sizeof small, release, &run.small),
                 WSC_ERR_NOT_OPEN);
    CHECK_INT(run.small.releases, 0);

    wt_service_until(ctx, closed, &run, 10.0, "the echoes and the close");
    CHECK_INT(run.received, 5);
    CHECK_INT(run.errors, 0);
    CHECK_INT(run.binary.releases, 1);
    CHECK_INT(run.text.releases, 1);
    CHECK_INT(run.text_again.releases, 1);
    CHECK_INT(run.small.releases, 1);
    wsc_connection_free(conn);

    /* Freed with lent data queued: every part is released once, by the frees. */
    static struct flood flood;
    for (int i = 0; i < 6; i++) {
        uint8_t *p = calloc(2 * MIB, 1);
        REQUIRE(p != NULL);
        flood.parts[i] = (struct lent){p, 2 * MIB, 0, true};
    }
    const wsc_callbacks fcb = {
        .struct_size = sizeof(wsc_callbacks), .on_open = flood_on_open,
    };
    CHECK_RESULT(wsc_connect(ctx, server, NULL, &fcb, &flood, &conn), WSC_OK);
    wt_service_until(ctx, flood_opened, &flood, 10.0, "the flood connection to open");
    /* From outside the loop, which is never run again: nothing is written. */
    for (int i = 0; i < 6; i++)
        CHECK_RESULT(wsc_send_binary_nocopy(conn, flood.parts[i].data, flood.parts[i].len,
                                            release, &flood.parts[i]),
                     WSC_OK);
    for (int i = 0; i < 6; i++) CHECK_INT(flood.parts[i].releases, 0);
    wsc_connection_free(conn);
    wsc_context_free(ctx);
    for (int i = 0; i < 6; i++) CHECK_INT(flood.parts[i].releases, 1);

    /* Trusted text is not checked, copied or lent. */
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    wsc_connect_options trust = WSC_CONNECT_OPTIONS_INIT;
    trust.trust_outgoing_text = true;
    const wsc_callbacks tcb = {
        .struct_size = sizeof(wsc_callbacks), .on_open = trusting_on_open,
        .on_error = trusting_on_error, .on_close = trusting_on_close,
    };
    for (int nocopy = 0; nocopy < 2; nocopy++) {
        struct trusting trusting = {.nocopy = nocopy};
        CHECK_RESULT(wsc_connect(ctx, server, &trust, &tcb, &trusting, NULL), WSC_OK);
        wt_service_until(ctx, trusting_closed, &trusting, 10.0, "the server to reject the text");
        CHECK_RESULT(trusting.sent, WSC_OK);
        CHECK_INT(trusting.close_code, WSC_CLOSE_INVALID_PAYLOAD);
        CHECK_INT(trusting.closed_by, WSC_CLOSED_BY_SERVER);
    }
    wsc_context_free(ctx);

    free(run.binary_copy);
    free(run.text_data);
    return wt_finish("nocopy");
}
