/*
 * Streamed receive and flow control through the C API, against the echo server (URL: last
 * argument): a 4 MiB binary message and a multi-byte text message come back in parts, never
 * larger than the context's read buffer, the first flagged WSC_PART_FIRST, the last
 * WSC_PART_LAST, text flagged WSC_PART_TEXT, together equal to what was sent; on_message is
 * not called. wsc_request_writable is answered by on_writable; pausing and resuming reading
 * still delivers everything; wsc_abort ends the connection with 1006, closed by the
 * application, not clean, and no on_error.
 */
#include "wsc_test.h"

#define READ_BUFFER (64u * 1024u)
#define BIG (4u * 1024u * 1024u)

struct run {
    uint8_t *sent_binary, *received;
    size_t received_len, largest_part;
    int parts, firsts, lasts, text_parts, whole_messages, writables, errors, closes;
    bool text_done, binary_done, paused_once;
    char text[64];
    size_t text_len;
    uint16_t close_code;
    wsc_closed_by closed_by;
    bool clean;
};

static const char TEXT[] = "stre\xc3\xa4med \xe2\x82\xac and \xf0\x9f\x98\x80";

static void on_open(wsc_connection *c, void *user) {
    struct run *r = user;
    CHECK_RESULT(wsc_request_writable(c), WSC_OK);
    CHECK_RESULT(wsc_send_text(c, TEXT, strlen(TEXT)), WSC_OK);
    CHECK_RESULT(wsc_send_binary(c, r->sent_binary, BIG), WSC_OK);
}

static void on_writable(wsc_connection *c, void *user) {
    (void)c;
    ((struct run *)user)->writables++;
}

static void on_message(wsc_connection *c, const uint8_t *d, size_t n, bool t, void *user) {
    (void)c, (void)d, (void)n, (void)t;
    ((struct run *)user)->whole_messages++;
}

static void on_part(wsc_connection *c, const uint8_t *data, size_t len, uint32_t flags,
                    uint64_t remaining, void *user) {
    struct run *r = user;
    r->parts++;
    if (len > r->largest_part) r->largest_part = len;
    if (flags & WSC_PART_FIRST) r->firsts++;
    if (flags & WSC_PART_LAST) r->lasts++;
    if (remaining > BIG) FAIL("remaining_in_frame %llu is more than was sent", (unsigned long long)remaining);
    if (flags & WSC_PART_TEXT) {
        r->text_parts++;
        if (r->text_len + len > sizeof r->text) {
            FAIL("more text than was sent");
            return;
        }
        memcpy(r->text + r->text_len, data, len);
        r->text_len += len;
        if (flags & WSC_PART_LAST) r->text_done = true;
        return;
    }
    if (r->received_len + len > BIG) {
        FAIL("more binary data than was sent");
        return;
    }
    memcpy(r->received + r->received_len, data, len);
    r->received_len += len;
    if (!r->paused_once && r->received_len > BIG / 2) {
        /* Half-way: pause, and resume from the loop below. */
        r->paused_once = true;
        CHECK_RESULT(wsc_pause_reading(c), WSC_OK);
    }
    if (flags & WSC_PART_LAST) r->binary_done = true;
}

static void on_error(wsc_connection *c, wsc_result res, const char *message, void *user) {
    (void)c;
    ((struct run *)user)->errors++;
    FAIL("on_error: %s: %s", wsc_result_str((int)res), message);
}

static void on_close(wsc_connection *c, uint16_t code, const char *reason, size_t len,
                     wsc_closed_by by, bool clean, void *user) {
    (void)c, (void)reason, (void)len;
    struct run *r = user;
    r->closes++;
    r->close_code = code;
    r->closed_by = by;
    r->clean = clean;
}

static bool messages_done(void *arg) {
    struct run *r = arg;
    return (r->text_done && r->binary_done) || r->closes;
}
static bool paused(void *arg) { return ((struct run *)arg)->paused_once; }
static bool closed(void *arg) { return ((struct run *)arg)->closes > 0; }

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    struct run r;
    memset(&r, 0, sizeof r);
    r.sent_binary = malloc(BIG);
    r.received = malloc(BIG);
    REQUIRE(r.sent_binary && r.received);
    for (size_t i = 0; i < BIG; i++) r.sent_binary[i] = (uint8_t)(i * 31 + (i >> 12));

    wsc_context_options copts = WSC_CONTEXT_OPTIONS_INIT;
    copts.read_buffer_size = READ_BUFFER;
    wsc_context *ctx;
    REQUIRE(wsc_context_new(&copts, &ctx) == WSC_OK);
    wsc_connect_options opts = WSC_CONNECT_OPTIONS_INIT;
    opts.stream_messages = true;
    opts.deflate_disable = true;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_message_part = on_part;
    cb.on_writable = on_writable;
    cb.on_error = on_error;
    cb.on_close = on_close;
    wsc_connection *conn = NULL;
    REQUIRE(wsc_connect(ctx, url, &opts, &cb, &r, &conn) == WSC_OK);

    REQUIRE(wt_service_until(ctx, paused, &r, 30, "half of the binary message"));
    /* Paused: what was read is delivered, nothing more is read; resume and get the rest. */
    size_t at_pause = r.received_len;
    for (int i = 0; i < 5; i++) CHECK_RESULT(wsc_service(ctx, 10), WSC_OK);
    CHECK(r.received_len == at_pause);
    CHECK_RESULT(wsc_resume_reading(conn), WSC_OK);
    wt_service_until(ctx, messages_done, &r, 30, "both messages in parts");

    CHECK_INT(r.whole_messages, 0);
    CHECK_INT(r.firsts, 2);
    CHECK_INT(r.lasts, 2);
    CHECK(r.parts > 2);
    CHECK(r.largest_part <= READ_BUFFER);
    CHECK(r.writables >= 1);
    CHECK_INT(r.text_len, strlen(TEXT));
    CHECK(memcmp(r.text, TEXT, strlen(TEXT)) == 0);
    CHECK_INT(r.received_len, BIG);
    CHECK(memcmp(r.received, r.sent_binary, BIG) == 0);

    /* An abort: no Close frame, 1006, closed by the application, not clean. */
    CHECK_RESULT(wsc_abort(conn), WSC_OK);
    wt_service_until(ctx, closed, &r, 10, "on_close after wsc_abort");
    CHECK_INT(r.closes, 1);
    CHECK_INT(r.close_code, 1006);
    CHECK(r.closed_by == WSC_CLOSED_BY_APPLICATION);
    CHECK(!r.clean);
    CHECK_INT(r.errors, 0);
    CHECK_RESULT(wsc_request_writable(conn), WSC_ERR_NOT_OPEN);

    wsc_connection_free(conn);
    wsc_context_free(ctx);
    free(r.sent_binary);
    free(r.received);
    return wt_finish("stream");
}
