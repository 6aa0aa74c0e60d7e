/*
 * libuv_loop [URL]: wsc driven by a libuv loop. Sends "hello from libuv", prints the echo,
 * closes. Built by CMake only when pkg-config finds libuv (Debian: libuv1-dev).
 *
 * A uv_poll_t watches wsc_context_fd(ctx) for reading and a uv_timer_t is armed with
 * wsc_next_timeout_ms(ctx); either one calls wsc_service(ctx, 0), which never blocks.
 */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX types (pthread_rwlock_t) */
#include <stdio.h>
#include <uv.h>
#include <wsc.h>

static wsc_context *ctx;
static uv_poll_t watcher;
static uv_timer_t timer;
static bool stopping;
static int status = 1;

static void on_timer(uv_timer_t *t);

/* Lets wsc work, then re-arms the timer for wsc's next deadline, or stops when all is done. */
static void drive(void) {
    if (stopping) return;
    wsc_service(ctx, 0);
    if (wsc_context_connection_count(ctx) == 0) {
        stopping = true;
        uv_close((uv_handle_t *)&watcher, NULL);
        uv_close((uv_handle_t *)&timer, NULL);
        return;
    }
    int timeout = wsc_next_timeout_ms(ctx);
    if (timeout >= 0)
        uv_timer_start(&timer, on_timer, (uint64_t)timeout, 0);
    else
        uv_timer_stop(&timer);
}

static void on_readable(uv_poll_t *w, int uv_status, int events) {
    (void)w, (void)uv_status, (void)events;
    drive();
}

static void on_timer(uv_timer_t *t) {
    (void)t;
    drive();
}

static void on_open(wsc_connection *conn, void *user) {
    (void)user;
    wsc_send_text(conn, "hello from libuv", 16);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    (void)is_text, (void)user;
    printf("received: %.*s\n", (int)len, (const char *)data);
    wsc_close(conn, WSC_CLOSE_NORMAL, "done");
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn, (void)user;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn, (void)code, (void)reason, (void)reason_len, (void)closed_by, (void)user;
    status = clean ? 0 : 1;
}

int main(int argc, char **argv) {
    uv_loop_t loop;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;
    if (uv_loop_init(&loop) != 0 || wsc_context_new(NULL, &ctx) != WSC_OK) return 1;
    if (wsc_connect(ctx, argc > 1 ? argv[1] : "ws://127.0.0.1:9001/", NULL, &cb, NULL, NULL) !=
        WSC_OK) {
        fprintf(stderr, "connect: %s\n", wsc_last_error());
        wsc_context_free(ctx);
        return 1;
    }
    uv_poll_init(&loop, &watcher, wsc_context_fd(ctx));
    uv_poll_start(&watcher, UV_READABLE, on_readable);
    uv_timer_init(&loop, &timer);
    drive(); /* the first turn: starts connecting and arms the timer */
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    wsc_context_free(ctx);
    return status;
}
