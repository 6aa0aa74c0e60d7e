/*
 * wsc driven by the application's own poll() loop (echo server URL: last argument): poll the
 * descriptor from wsc_context_fd with wsc_next_timeout_ms as the timeout, and call
 * wsc_service(ctx, 0) when it fires or the timeout passes; wsc_service never blocks here.
 *
 * Sends MESSAGES text messages from on_open and checks the echoes (whole, in order); runs a
 * periodic timer (TICK_MS) in the same loop and checks it ticks at least once and no more
 * often than its schedule allows; then stops the timer and closes from the loop thread outside
 * any callback, so that only the descriptor can wake poll() for the closing handshake (a lost
 * wake-up would leave poll() waiting for the 5 s close timeout, and the close would not be
 * clean). Checks wsc_next_timeout_ms stays within the timer's interval while it runs.
 */
#include "wsc_test.h"

#include <poll.h>

#define MESSAGES 500
#define TICK_MS 20
#define MIN_TICKS 3
#define DEADLINE_S 20.0

struct run {
    int opens, errors, closes, after_close;
    int echoed, bad;
    uint16_t close_code;
    wsc_closed_by closed_by;
    bool clean;
    int ticks;
    wsc_context *ctx;
    uint64_t timer;
};

static void on_open(wsc_connection *conn, void *user) {
    struct run *r = user;
    char text[16];
    r->opens++;
    for (int i = 0; i < MESSAGES; i++) {
        int len = snprintf(text, sizeof text, "f%d", i);
        CHECK_RESULT(wsc_send_text(conn, text, (size_t)len), WSC_OK);
    }
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct run *r = user;
    char expected[16];
    (void)conn;
    if (r->closes) r->after_close++;
    int n = snprintf(expected, sizeof expected, "f%d", r->echoed);
    if (!is_text || len != (size_t)n || memcmp(data, expected, len) != 0) r->bad++;
    r->echoed++;
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message,
                     void *user) {
    struct run *r = user;
    (void)conn;
    r->errors++;
    fprintf(stderr, "on_error %s: %s\n", wsc_result_str((int)result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason,
                     size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct run *r = user;
    (void)conn, (void)reason, (void)reason_len;
    r->closes++;
    r->close_code = code;
    r->closed_by = closed_by;
    r->clean = clean;
}

static void on_tick(wsc_context *ctx, uint64_t id, void *user) {
    struct run *r = user;
    CHECK(ctx == r->ctx);
    CHECK(id == r->timer);
    r->ticks++;
}

/* One turn of the application's loop: poll, then let wsc work. Returns false on a poll error.
 * `timeouts` counts the turns that ended by timeout (no descriptor event). */
static bool turn(wsc_context *ctx, int fd, double deadline, int *timeouts) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int timeout = wsc_next_timeout_ms(ctx);
    /* The test's own bound: never wait past its deadline. */
    int left = (int)((deadline - wt_now()) * 1000) + 1;
    if (left < 0) left = 0;
    if (timeout < 0 || timeout > left) timeout = left;
    int n = poll(&pfd, 1, timeout);
    if (n < 0) {
        perror("poll");
        return false;
    }
    if (n == 0) ++*timeouts;
    CHECK_RESULT(wsc_service(ctx, 0), WSC_OK);
    return true;
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    struct run r = {0};
    wsc_connection *conn = NULL;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;
    double deadline = wt_now() + DEADLINE_S;
    int timeouts = 0, turns = 0;

    REQUIRE(wsc_context_new(NULL, &r.ctx) == WSC_OK);
    wsc_context *ctx = r.ctx;
    int fd = wsc_context_fd(ctx);
    REQUIRE(fd >= 0);
    CHECK_INT(wsc_context_fd(NULL), -1);

    CHECK_RESULT(wsc_timer_start(ctx, TICK_MS, TICK_MS, on_tick, &r, &r.timer), WSC_OK);
    double timer_started = wt_now();
    CHECK_RESULT(wsc_connect(ctx, url, NULL, &cb, &r, &conn), WSC_OK);

    /* Phase 1: messages and ticks. */
    while ((r.echoed < MESSAGES || r.ticks < MIN_TICKS) && r.closes == 0 &&
           wt_now() < deadline) {
        int t = wsc_next_timeout_ms(ctx);
        if (t < 0 || t > TICK_MS) FAIL("wsc_next_timeout_ms = %d with a %d ms timer", t, TICK_MS);
        if (!turn(ctx, fd, deadline, &timeouts)) break;
        turns++;
        CHECK_INT(wsc_context_fd(ctx), fd); /* the same descriptor throughout */
    }
    CHECK_RESULT(wsc_timer_stop(ctx, r.timer), WSC_OK);
    double timer_ms = (wt_now() - timer_started) * 1000;
    int ticks = r.ticks;

    /* Phase 2: close from this thread, outside callbacks; only the descriptor wakes us. */
    CHECK_RESULT(wsc_close(conn, WSC_CLOSE_NORMAL, "poll loop done"), WSC_OK);
    while (wsc_context_connection_count(ctx) > 0 && wt_now() < deadline) {
        if (!turn(ctx, fd, deadline, &timeouts)) break;
        turns++;
    }
    printf("foreign_loop: %d echoes, %d ticks in %.0f ms, %d poll turns (%d timeouts)\n",
           r.echoed, ticks, timer_ms, turns, timeouts);

    CHECK(wt_now() < deadline);
    CHECK_INT(r.opens, 1);
    CHECK_INT(r.errors, 0);
    CHECK_INT(r.echoed, MESSAGES);
    CHECK_INT(r.bad, 0);
    CHECK_INT(r.after_close, 0);
    CHECK_INT(r.closes, 1);
    CHECK_INT(r.close_code, WSC_CLOSE_NORMAL);
    CHECK_INT(r.closed_by, WSC_CLOSED_BY_APPLICATION);
    CHECK(r.clean);
    /* The timer: at least once, and no more often than every TICK_MS (the first at TICK_MS). */
    CHECK(ticks >= 1);
    CHECK(ticks <= (int)(timer_ms / TICK_MS) + 1);
    CHECK_INT(r.ticks, ticks); /* none after wsc_timer_stop */
    wsc_connection_free(conn);
    wsc_context_free(ctx);
    return wt_finish("foreign_loop");
}
