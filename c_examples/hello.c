/* hello [URL]: sends "hello", prints the echo, closes. The README's example. */
#include <stdio.h>
#include <wsc.h>

static void on_open(wsc_connection *c, void *user) { (void)user; wsc_send_text(c, "hello", 5); }
static void on_message(wsc_connection *c, const uint8_t *data, size_t len, bool is_text, void *user) {
    (void)is_text; (void)user;
    printf("received: %.*s\n", (int)len, (const char *)data);
    wsc_close(c, WSC_CLOSE_NORMAL, "done");
}
static void on_error(wsc_connection *c, wsc_result r, const char *message, void *user) {
    (void)c; (void)user;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(r), message);
    *(int *)user = 1;
}

int main(int argc, char **argv) {
    int failed = 0;
    wsc_context *ctx;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    if (wsc_context_new(NULL, &ctx) != WSC_OK) return 1;
    if (wsc_connect(ctx, argc > 1 ? argv[1] : "ws://127.0.0.1:9001/", NULL, &cb, &failed, NULL) != WSC_OK) {
        fprintf(stderr, "connect: %s\n", wsc_last_error());
        failed = 1;
    }
    while (wsc_context_connection_count(ctx) > 0) wsc_service(ctx, -1);
    wsc_context_free(ctx);
    return failed;
}
