/*
 * The C API used wrongly: NULL handles and arguments, invalid URLs and options, out-of-range
 * close codes, reasons and pings, invalid UTF-8, sends before the connection is open,
 * wsc_service from a callback, and a refused connection's callbacks. Needs no server (the
 * URL ctest passes is ignored): it connects only to a local port known to be closed.
 */
#include "wsc_test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Everything the callbacks saw for one connection. */
struct events {
    wsc_context *ctx;
    int seq; /* callbacks so far */
    int opens, messages, pings, pongs, writables, errors, closes;
    int error_seq, close_seq; /* position of the (first) on_error / on_close */
    wsc_result error_result;
    char error_message[512];
    uint16_t close_code;
    wsc_closed_by closed_by;
    bool clean;
    int callbacks_after_close;
};

static void on_open(wsc_connection *conn, void *user) {
    struct events *ev = user;
    (void)conn;
    ev->seq++;
    ev->opens++;
    if (ev->closes) ev->callbacks_after_close++;
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct events *ev = user;
    (void)conn, (void)data, (void)len, (void)is_text;
    ev->seq++;
    ev->messages++;
    if (ev->closes) ev->callbacks_after_close++;
}

static void on_ping(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    struct events *ev = user;
    (void)conn, (void)data, (void)len;
    ev->seq++;
    ev->pings++;
    if (ev->closes) ev->callbacks_after_close++;
}

static void on_pong(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    struct events *ev = user;
    (void)conn, (void)data, (void)len;
    ev->seq++;
    ev->pongs++;
    if (ev->closes) ev->callbacks_after_close++;
}

static void on_writable(wsc_connection *conn, void *user) {
    struct events *ev = user;
    (void)conn;
    ev->seq++;
    ev->writables++;
    if (ev->closes) ev->callbacks_after_close++;
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    struct events *ev = user;
    (void)conn;
    ev->seq++;
    if (ev->closes) ev->callbacks_after_close++;
    if (ev->errors++ == 0) {
        ev->error_seq = ev->seq;
        ev->error_result = result;
        CHECK(message != NULL);
        snprintf(ev->error_message, sizeof ev->error_message, "%s", message ? message : "");
    }
    /* The loop is running: a nested wsc_service must refuse, not block or recurse. */
    if (ev->ctx) {
        CHECK_RESULT(wsc_service(ev->ctx, 0), WSC_ERR_BUSY);
        CHECK_RESULT(wsc_service(ev->ctx, -1), WSC_ERR_BUSY);
        CHECK(strlen(wsc_last_error()) > 0);
    }
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    struct events *ev = user;
    ev->seq++;
    if (ev->closes++ == 0) {
        ev->close_seq = ev->seq;
        ev->close_code = code;
        ev->closed_by = closed_by;
        ev->clean = clean;
    }
    CHECK(reason != NULL);
    if (reason) CHECK_INT(strlen(reason), reason_len);
    /* Nothing can be sent any more. */
    CHECK_RESULT(wsc_send_text(conn, "x", 1), WSC_ERR_NOT_OPEN);
    if (ev->ctx) {
        CHECK_RESULT(wsc_service(ev->ctx, 0), WSC_ERR_BUSY);
        CHECK_RESULT(wsc_service(ev->ctx, 100), WSC_ERR_BUSY);
    }
}

static const wsc_callbacks counting_callbacks = {
    .struct_size = sizeof(wsc_callbacks), .on_open = on_open, .on_message = on_message,
    .on_ping = on_ping, .on_pong = on_pong, .on_writable = on_writable, .on_error = on_error,
    .on_close = on_close,
};

static int total_callbacks(const struct events *ev) {
    return ev->opens + ev->messages + ev->pings + ev->pongs + ev->writables + ev->errors +
           ev->closes;
}

static bool closed(void *arg) { return ((struct events *)arg)->closes > 0; }

/* Case-insensitive substring test. */
static bool mentions(const char *text, const char *word) {
    size_t n = strlen(word);
    for (; *text; text++) {
        size_t i = 0;
        while (i < n && text[i] &&
               tolower((unsigned char)text[i]) == tolower((unsigned char)word[i]))
            i++;
        if (i == n) return true;
    }
    return false;
}

/* A local TCP port nothing listens on: bind one, note its number, close it. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* A pointer that must survive failed calls untouched (outputs are written only on success). */
static int sentinel_storage;
#define SENTINEL_CONN ((wsc_connection *)(void *)&sentinel_storage)
#define SENTINEL_CTX ((wsc_context *)(void *)&sentinel_storage)

static void test_version_and_strings(void) {
    /* Before any failing call there is no message. */
    const char *none = wsc_last_error();
    REQUIRE(none != NULL);
    CHECK_INT(strlen(none), 0);

    const char *v = wsc_version();
    REQUIRE(v != NULL);
    CHECK(strcmp(v, WSC_VERSION_STRING) == 0);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", WSC_VERSION_MAJOR, WSC_VERSION_MINOR,
             WSC_VERSION_PATCH);
    CHECK(strcmp(v, expected) == 0);
    CHECK(wsc_version() == v || strcmp(wsc_version(), v) == 0);

    static const wsc_result all[] = {
        WSC_OK,
        WSC_ERR_NULL_ARGUMENT,
        WSC_ERR_INVALID_ARGUMENT,
        WSC_ERR_INVALID_URL,
        WSC_ERR_UNSUPPORTED,
        WSC_ERR_NOT_OPEN,
        WSC_ERR_WOULD_BLOCK,
        WSC_ERR_FRAGMENT_STATE,
        WSC_ERR_BUSY,
        WSC_ERR_CONTEXT_CLOSED,
        WSC_ERR_PANIC,
        WSC_ERR_NOT_FOUND,
        WSC_ERR_RESOLVE,
        WSC_ERR_CONNECT_REFUSED,
        WSC_ERR_UNREACHABLE,
        WSC_ERR_CONNECT_TIMEOUT,
        WSC_ERR_IO,
        WSC_ERR_CONNECTION_LOST,
        WSC_ERR_KEEPALIVE_TIMEOUT,
        WSC_ERR_PROXY,
        WSC_ERR_HANDSHAKE_STATUS,
        WSC_ERR_HANDSHAKE_INVALID,
        WSC_ERR_HANDSHAKE_TOO_LARGE,
        WSC_ERR_HANDSHAKE_TIMEOUT,
        WSC_ERR_PROTOCOL,
        WSC_ERR_INVALID_UTF8,
        WSC_ERR_MESSAGE_TOO_BIG,
        WSC_ERR_CLOSE_TIMEOUT,
        WSC_ERR_TLS_CERTIFICATE,
        WSC_ERR_TLS,
    };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = wsc_result_str((int)all[i]);
        if (!s) {
            FAIL("wsc_result_str(%d) is NULL", (int)all[i]);
            continue;
        }
        if (!*s || strcmp(s, "unknown result") == 0)
            FAIL("wsc_result_str(%d) is \"%s\"", (int)all[i], s);
        for (size_t j = 0; j < i; j++) {
            const char *t = wsc_result_str((int)all[j]);
            if (t && strcmp(s, t) == 0)
                FAIL("wsc_result_str(%d) and (%d) are both \"%s\"", (int)all[i], (int)all[j], s);
        }
    }
    /* Far from every range in use (0-99, 100s connect, 200s handshake, 300s protocol, 400s TLS). */
    static const int unknown[] = {-1, 999, 1000, 1006, 12345, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = wsc_result_str(unknown[i]);
        if (!s)
            FAIL("wsc_result_str(%d) is NULL", unknown[i]);
        else if (strcmp(s, "unknown result") != 0)
            FAIL("wsc_result_str(%d) is \"%s\", expected \"unknown result\"", unknown[i], s);
    }
}

static void test_null_arguments(void) {
    wsc_context_options copts = WSC_CONTEXT_OPTIONS_INIT;
    CHECK_RESULT(wsc_context_new(NULL, NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK(strlen(wsc_last_error()) > 0);
    CHECK_RESULT(wsc_context_new(&copts, NULL), WSC_ERR_NULL_ARGUMENT);
    wsc_context_free(NULL);
    CHECK_RESULT(wsc_service(NULL, 0), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_service(NULL, -1), WSC_ERR_NULL_ARGUMENT); /* must not block */
    CHECK_RESULT(wsc_context_wake(NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK_INT(wsc_context_connection_count(NULL), 0);

    wsc_connection *out = SENTINEL_CONN;
    CHECK_RESULT(wsc_connect(NULL, "ws://127.0.0.1:1/", NULL, NULL, NULL, &out),
                 WSC_ERR_NULL_ARGUMENT);
    CHECK(out == SENTINEL_CONN);
    CHECK(strlen(wsc_last_error()) > 0);

    wsc_connection_free(NULL);
    const uint8_t byte = 'x';
    CHECK_RESULT(wsc_send_text(NULL, "x", 1), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_text(NULL, NULL, 0), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_binary(NULL, &byte, 1), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_binary(NULL, NULL, 0), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_text_nocopy(NULL, "x", 1, NULL, NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_binary_nocopy(NULL, &byte, 1, NULL, NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_fragment(NULL, true, &byte, 1, false), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_fragment(NULL, false, NULL, 0, true), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_ping(NULL, &byte, 1), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_ping(NULL, NULL, 0), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_close(NULL, WSC_CLOSE_NORMAL, NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_close(NULL, WSC_CLOSE_NORMAL, "bye"), WSC_ERR_NULL_ARGUMENT);
    CHECK_INT(wsc_connection_buffered_amount(NULL), 0);
    CHECK_INT(wsc_connection_fd(NULL), -1);

    /* A context: NULL url and NULL pointers inside the options. */
    wsc_context *ctx = SENTINEL_CTX;
    CHECK_RESULT(wsc_context_new(NULL, &ctx), WSC_OK);
    REQUIRE(ctx != NULL && ctx != SENTINEL_CTX);
    struct events ev;
    memset(&ev, 0, sizeof ev);

    out = SENTINEL_CONN;
    CHECK_RESULT(wsc_connect(ctx, NULL, NULL, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);
    CHECK(out == SENTINEL_CONN);

    wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT;
    o.subprotocol_count = 1; /* subprotocols NULL */
    CHECK_RESULT(wsc_connect(ctx, "ws://127.0.0.1:1/", &o, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);
    const char *null_protocol[] = {"chat", NULL};
    o.subprotocols = null_protocol;
    o.subprotocol_count = 2;
    CHECK_RESULT(wsc_connect(ctx, "ws://127.0.0.1:1/", &o, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);

    o = (wsc_connect_options)WSC_CONNECT_OPTIONS_INIT;
    o.header_count = 1; /* headers NULL */
    CHECK_RESULT(wsc_connect(ctx, "ws://127.0.0.1:1/", &o, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);
    wsc_header null_name = {NULL, "value"};
    o.headers = &null_name;
    CHECK_RESULT(wsc_connect(ctx, "ws://127.0.0.1:1/", &o, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);
    wsc_header null_value = {"X-Test", NULL};
    o.headers = &null_value;
    CHECK_RESULT(wsc_connect(ctx, "ws://127.0.0.1:1/", &o, &counting_callbacks, &ev, &out),
                 WSC_ERR_NULL_ARGUMENT);
    CHECK(out == SENTINEL_CONN);

    /* Nothing was started. */
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    CHECK_RESULT(wsc_service(ctx, 0), WSC_OK);
    CHECK_RESULT(wsc_context_wake(ctx), WSC_OK);
    CHECK_RESULT(wsc_service(ctx, 20), WSC_OK);
    CHECK_INT(total_callbacks(&ev), 0);
    wsc_context_free(ctx);

    /* Options all zero (defaults) and a tiny read buffer (raised to the minimum) are fine. */
    ctx = NULL;
    CHECK_RESULT(wsc_context_new(&copts, &ctx), WSC_OK);
    wsc_context_free(ctx);
    copts.read_buffer_size = 1;
    ctx = NULL;
    CHECK_RESULT(wsc_context_new(&copts, &ctx), WSC_OK);
    wsc_context_free(ctx);
}

static void test_invalid_urls(void) {
    static const struct {
        const char *url;
        const char *about; /* a word the message must contain besides "URL"; NULL: none */
    } bad[] = {
        {"", NULL},
        {"http://x/", "scheme"},
        {"ws://", "host"},
        {"ws://h:99999/", "port"},
        {"ws://h/#f", "fragment"},
        {"example.com", NULL},
        {"ws://exa mple.com/", NULL},
    };
    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    struct events ev;
    memset(&ev, 0, sizeof ev);
    ev.ctx = ctx;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wsc_connection *out = SENTINEL_CONN;
        wsc_result r = wsc_connect(ctx, bad[i].url, NULL, &counting_callbacks, &ev, &out);
        const char *msg = wsc_last_error();
        if (r != WSC_ERR_INVALID_URL)
            FAIL("wsc_connect(\"%s\") returned %d (%s), expected WSC_ERR_INVALID_URL", bad[i].url,
                 (int)r, wsc_result_str((int)r));
        if (out != SENTINEL_CONN) FAIL("wsc_connect(\"%s\") wrote *out on failure", bad[i].url);
        if (!msg || !mentions(msg, "url"))
            FAIL("wsc_last_error after wsc_connect(\"%s\") does not mention the URL: \"%s\"",
                 bad[i].url, msg ? msg : "(null)");
        else if (bad[i].about && !mentions(msg, bad[i].about))
            FAIL("wsc_last_error after wsc_connect(\"%s\") does not say what is wrong (%s): \"%s\"",
                 bad[i].url, bad[i].about, msg);
    }

    /* wss:// with a CA file that cannot be read fails at once, naming the file. */
    wsc_connection *out = SENTINEL_CONN;
    wsc_connect_options tls_options = WSC_CONNECT_OPTIONS_INIT;
    tls_options.tls_ca_file = "/nonexistent/wsc-test-ca.pem";
    CHECK_RESULT(wsc_connect(ctx, "wss://127.0.0.1:1/", &tls_options, &counting_callbacks, &ev,
                             &out),
                 WSC_ERR_INVALID_ARGUMENT);
    CHECK(out == SENTINEL_CONN);
    CHECK(mentions(wsc_last_error(), "wsc-test-ca.pem"));

    /* Options that cannot go into a handshake request. */
    wsc_connect_options o;
    const char *url = "ws://127.0.0.1:1/";
    static const wsc_header bad_headers[][1] = {
        {{"Bad Name", "v"}},
        {{"", "v"}},
        {{"X-Colon:", "v"}},
        {{"X-Test", "a\r\nInjected: yes"}},
        {{"X-Test", "a\nb"}},
        {{"X-Test", "a\rb"}},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        o = (wsc_connect_options)WSC_CONNECT_OPTIONS_INIT;
        o.headers = bad_headers[i];
        o.header_count = 1;
        out = SENTINEL_CONN;
        wsc_result r = wsc_connect(ctx, url, &o, &counting_callbacks, &ev, &out);
        if (r != WSC_ERR_INVALID_ARGUMENT)
            FAIL("header {\"%s\", value %zu bytes}: wsc_connect returned %d (%s), expected "
                 "WSC_ERR_INVALID_ARGUMENT",
                 bad_headers[i][0].name, strlen(bad_headers[i][0].value), (int)r,
                 wsc_result_str((int)r));
        else
            CHECK(strlen(wsc_last_error()) > 0);
        CHECK(out == SENTINEL_CONN);
    }
    static const char *const duplicate[] = {"chat", "chat"};
    static const char *const spaced[] = {"a b"};
    static const char *const empty[] = {""};
    static const struct {
        const char *const *list;
        size_t count;
    } bad_protocols[] = {{duplicate, 2}, {spaced, 1}, {empty, 1}};
    for (size_t i = 0; i < sizeof bad_protocols / sizeof bad_protocols[0]; i++) {
        o = (wsc_connect_options)WSC_CONNECT_OPTIONS_INIT;
        o.subprotocols = bad_protocols[i].list;
        o.subprotocol_count = bad_protocols[i].count;
        out = SENTINEL_CONN;
        wsc_result r = wsc_connect(ctx, url, &o, &counting_callbacks, &ev, &out);
        if (r != WSC_ERR_INVALID_ARGUMENT)
            FAIL("subprotocols #%zu (\"%s\"...): wsc_connect returned %d (%s), expected "
                 "WSC_ERR_INVALID_ARGUMENT",
                 i, bad_protocols[i].list[0], (int)r, wsc_result_str((int)r));
        else
            CHECK(strlen(wsc_last_error()) > 0);
        CHECK(out == SENTINEL_CONN);
    }

    /* None of it started a connection or reached a callback. */
    CHECK_INT(wsc_context_connection_count(ctx), 0);
    for (int i = 0; i < 3; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    CHECK_INT(total_callbacks(&ev), 0);
    wsc_context_free(ctx);
    CHECK_INT(total_callbacks(&ev), 0);
}

/* A refused connection reports on_error(CONNECT_REFUSED) then on_close(1006, FAILURE), once. */
static void check_refused(const struct events *ev, const char *which) {
    if (ev->errors != 1 || ev->closes != 1)
        FAIL("%s: %d on_error and %d on_close, expected 1 of each", which, ev->errors,
             ev->closes);
    if (ev->error_result != WSC_ERR_CONNECT_REFUSED)
        FAIL("%s: on_error reported %d (%s: %s), expected WSC_ERR_CONNECT_REFUSED", which,
             (int)ev->error_result, wsc_result_str((int)ev->error_result), ev->error_message);
    if (ev->errors && strlen(ev->error_message) == 0) FAIL("%s: on_error message is empty", which);
    if (!(ev->error_seq > 0 && ev->error_seq < ev->close_seq))
        FAIL("%s: on_error (#%d) did not come before on_close (#%d)", which, ev->error_seq,
             ev->close_seq);
    if (ev->close_code != WSC_CLOSE_ABNORMAL)
        FAIL("%s: on_close code %d, expected 1006", which, ev->close_code);
    if (ev->closed_by != WSC_CLOSED_BY_FAILURE)
        FAIL("%s: on_close closed_by %d, expected WSC_CLOSED_BY_FAILURE", which,
             (int)ev->closed_by);
    if (ev->clean) FAIL("%s: a refused connection closed clean", which);
    if (ev->opens || ev->messages || ev->pings || ev->pongs || ev->writables)
        FAIL("%s: unexpected callbacks (open %d, message %d, ping %d, pong %d, writable %d)",
             which, ev->opens, ev->messages, ev->pings, ev->pongs, ev->writables);
    if (ev->callbacks_after_close) FAIL("%s: callbacks after on_close", which);
}

static void test_connection_misuse_and_refused(void) {
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", closed_port());
    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);

    /* A: an owned handle, used wrongly before the connection is open. */
    struct events a;
    memset(&a, 0, sizeof a);
    a.ctx = ctx;
    wsc_connection *conn = NULL;
    CHECK_RESULT(wsc_connect(ctx, url, NULL, &counting_callbacks, &a, &conn), WSC_OK);
    REQUIRE(conn != NULL);
    CHECK_INT(wsc_context_connection_count(ctx), 1);

    const uint8_t bin[3] = {1, 2, 3};
    CHECK_RESULT(wsc_send_text(conn, "hi", 2), WSC_ERR_NOT_OPEN);
    CHECK(strlen(wsc_last_error()) > 0);
    CHECK_RESULT(wsc_send_text(conn, NULL, 0), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_binary(conn, bin, sizeof bin), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_binary(conn, NULL, 0), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_text_nocopy(conn, "hi", 2, NULL, NULL), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_binary_nocopy(conn, bin, sizeof bin, NULL, NULL), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_fragment(conn, true, (const uint8_t *)"ab", 2, false),
                 WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_fragment(conn, false, bin, sizeof bin, true), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_ping(conn, bin, sizeof bin), WSC_ERR_NOT_OPEN);

    /* NULL data with a length. */
    CHECK_RESULT(wsc_send_text(conn, NULL, 3), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_binary(conn, NULL, 3), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_binary_nocopy(conn, NULL, 3, NULL, NULL), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_fragment(conn, true, NULL, 3, true), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_send_ping(conn, NULL, 3), WSC_ERR_NULL_ARGUMENT);

    /* Text that is not UTF-8. */
    static const struct {
        const char *bytes;
        size_t len;
    } not_utf8[] = {
        {"\xff", 1},
        {"abc\x80", 4},         /* lone continuation byte */
        {"\xc3", 1},            /* truncated 2-byte sequence */
        {"\xe2\x82", 2},        /* truncated 3-byte sequence */
        {"\xc0\xaf", 2},        /* overlong '/' */
        {"\xed\xa0\x80", 3},    /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof not_utf8 / sizeof not_utf8[0]; i++) {
        wsc_result r = wsc_send_text(conn, not_utf8[i].bytes, not_utf8[i].len);
        if (r != WSC_ERR_INVALID_ARGUMENT)
            FAIL("wsc_send_text(invalid UTF-8 #%zu) returned %d (%s), expected "
                 "WSC_ERR_INVALID_ARGUMENT",
                 i, (int)r, wsc_result_str((int)r));
    }

    /* A ping over 125 bytes. */
    uint8_t big[126];
    memset(big, 'p', sizeof big);
    CHECK_RESULT(wsc_send_ping(conn, big, 126), WSC_ERR_INVALID_ARGUMENT);
    CHECK(strlen(wsc_last_error()) > 0);

    /* Close codes an endpoint may not send, and reasons over 123 bytes or not UTF-8. */
    static const uint16_t bad_codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        wsc_result r = wsc_close(conn, bad_codes[i], NULL);
        if (r != WSC_ERR_INVALID_ARGUMENT)
            FAIL("wsc_close(code %u) returned %d (%s), expected WSC_ERR_INVALID_ARGUMENT",
                 bad_codes[i], (int)r, wsc_result_str((int)r));
    }
    char reason[125];
    memset(reason, 'r', 124);
    reason[124] = '\0';
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, reason), WSC_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, "\xff\xfe"), WSC_ERR_INVALID_ARGUMENT);

    /* None of that touched the connection: it goes on to fail on its own. */
    CHECK_INT(total_callbacks(&a), 0);
    CHECK_INT(wsc_context_connection_count(ctx), 1);

    /* B: the same refused port, no owned handle. */
    struct events b;
    memset(&b, 0, sizeof b);
    b.ctx = ctx;
    CHECK_RESULT(wsc_connect(ctx, url, NULL, &counting_callbacks, &b, NULL), WSC_OK);
    CHECK_INT(wsc_context_connection_count(ctx), 2);

    wt_service_until(ctx, closed, &a, 10.0, "on_close of the refused connection A");
    wt_service_until(ctx, closed, &b, 10.0, "on_close of the refused connection B");
    /* Nothing more arrives afterwards. */
    for (int i = 0; i < 3; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    check_refused(&a, "refused connection A (misused first)");
    check_refused(&b, "refused connection B");
    CHECK_INT(wsc_context_connection_count(ctx), 0);

    /* The handle outlives the connection: calls fail cleanly until it is freed. */
    CHECK_RESULT(wsc_send_text(conn, "hi", 2), WSC_ERR_NOT_OPEN);
    CHECK_RESULT(wsc_send_ping(conn, NULL, 0), WSC_ERR_NOT_OPEN);
    CHECK_INT(wsc_connection_buffered_amount(conn), 0);
    wsc_connection_free(conn);

    /* C: freeing the context with a connection not yet started ends it with on_close. */
    struct events c;
    memset(&c, 0, sizeof c);
    CHECK_RESULT(wsc_connect(ctx, url, NULL, &counting_callbacks, &c, NULL), WSC_OK);
    wsc_context_free(ctx);
    CHECK_INT(c.closes, 1);
    CHECK_INT(c.errors, 0);
    CHECK_INT(c.opens, 0);
    CHECK_INT(c.close_code, WSC_CLOSE_ABNORMAL);
    CHECK_INT(c.closed_by, WSC_CLOSED_BY_APPLICATION);
    CHECK(!c.clean);
}

int main(int argc, char **argv) {
    (void)argc, (void)argv; /* no server needed */
    test_version_and_strings();
    test_null_arguments();
    test_invalid_urls();
    test_connection_misuse_and_refused();
    return wt_finish("api_misuse");
}
