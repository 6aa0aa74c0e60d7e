/* hello [URL]: sends "hello", prints the echo, closes. The README's example, with error
 * reporting and Ctrl-C: the signal handler only sets a flag and wakes the loop
 * (wsc_context_wake is the one wsc call a signal handler may make); the loop then closes. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <wsc.h>

static wsc_context *ctx;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
    wsc_context_wake(ctx);
}

static void on_open(wsc_connection *c, void *user) { (void)user; wsc_send_text(c, "hello", 5); }
static void on_message(wsc_connection *c, const uint8_t *data, size_t len, bool is_text, void *user) {
    (void)is_text; (void)user;
    printf("received: %.*s\n", (int)len, (const char *)data);
    wsc_close(c, WSC_CLOSE_NORMAL, "done");
}
static void on_error(wsc_connection *c, wsc_result r, const char *message, void *user) {
    (void)c;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(r), message);
    *(int *)user = 1;
}

int main(int argc, char **argv) {
    int failed = 0;
    wsc_connection *conn = NULL;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    if (wsc_context_new(NULL, &ctx) != WSC_OK) return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (wsc_connect(ctx, argc > 1 ? argv[1] : "ws://127.0.0.1:9001/", NULL, &cb, &failed, &conn) != WSC_OK) {
        fprintf(stderr, "connect: %s\n", wsc_last_error());
        failed = 1;
    }
    while (wsc_context_connection_count(ctx) > 0) {
        wsc_service(ctx, -1);
        if (interrupted == 1) {
            interrupted = 2;  /* close once; the closing handshake ends the loop */
            wsc_close(conn, WSC_CLOSE_GOING_AWAY, "interrupted");
        }
    }
    wsc_connection_free(conn);
    wsc_context_free(ctx);
    return failed;
}
