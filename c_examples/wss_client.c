/*
 * wss_client URL [CA-FILE] [MESSAGE]: connects to a wss:// (or ws://) endpoint, sends MESSAGE
 * (default "hello from wsc"), prints the first message it gets back, and closes.
 *
 * Trust: the system's certificate store, or only the CA certificates in CA-FILE (PEM), e.g.
 *   wss_client wss://echo.example.org/ /etc/ssl/certs/ca-certificates.crt
 * Proxies: http_proxy / https_proxy / no_proxy from the environment are honoured.
 * Exits 0 when a message came back and the connection closed cleanly.
 */
#include <stdio.h>
#include <string.h>

#include <wsc.h>

struct state {
    const char *message;
    int received;
    int clean;
};

static void on_open(wsc_connection *conn, void *user) {
    struct state *st = user;
    const char *proto = wsc_connection_subprotocol(conn);
    const uint8_t *server;
    size_t server_len;
    if (wsc_connection_header(conn, "Server", &server, &server_len) == WSC_OK)
        fprintf(stderr, "connected (server: %.*s)\n", (int)server_len, (const char *)server);
    else
        fprintf(stderr, "connected%s%s\n", proto ? ", subprotocol " : "", proto ? proto : "");
    wsc_send_text(conn, st->message, strlen(st->message));
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct state *st = user;
    if (is_text)
        printf("%.*s\n", (int)len, (const char *)data);
    else
        printf("(%zu bytes of binary)\n", len);
    st->received = 1;
    wsc_close(conn, WSC_CLOSE_NORMAL, "bye");
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn;
    (void)user;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    struct state *st = user;
    (void)conn;
    (void)closed_by;
    fprintf(stderr, "closed: %u %.*s (%s)\n", code, (int)reason_len, reason,
            clean ? "clean" : "not clean");
    st->clean = clean;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [CA-FILE] [MESSAGE]\n", argv[0]);
        return 2;
    }
    struct state st = { argc > 3 ? argv[3] : "hello from wsc", 0, 0 };
    wsc_connect_options options = WSC_CONNECT_OPTIONS_INIT;
    if (argc > 2 && argv[2][0] != '\0') options.tls_ca_file = argv[2];

    wsc_callbacks callbacks = WSC_CALLBACKS_INIT;
    callbacks.on_open = on_open;
    callbacks.on_message = on_message;
    callbacks.on_error = on_error;
    callbacks.on_close = on_close;

    wsc_context *ctx;
    if (wsc_context_new(NULL, &ctx) != WSC_OK) return 1;
    wsc_result r = wsc_connect(ctx, argv[1], &options, &callbacks, &st, NULL);
    if (r != WSC_OK) {
        fprintf(stderr, "%s: %s\n", wsc_result_str(r), wsc_last_error());
        wsc_context_free(ctx);
        return 1;
    }
    while (wsc_context_connection_count(ctx) > 0) wsc_service(ctx, -1);
    wsc_context_free(ctx);
    return st.received && st.clean ? 0 : 1;
}
