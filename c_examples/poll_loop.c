/*
 * poll_loop [URL]: wsc inside the program's own poll() loop. Each line typed on stdin is sent
 * as a text message and each message received is printed; end of input (Ctrl-D) closes the
 * connection cleanly and the program exits when the close is done.
 *
 *     printf 'one\ntwo\n' | poll_loop ws://127.0.0.1:9001/
 *
 * The recipe for any event loop (epoll, libuv, GLib, ...): watch wsc_context_fd(ctx) for
 * reading next to your own descriptors, wait at most wsc_next_timeout_ms(ctx) (-1: no limit),
 * and call wsc_service(ctx, 0) whenever that descriptor is readable or the time has passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wsc.h>

struct app {
    wsc_connection *conn; /* our handle (from wsc_connect) */
    bool open, closed_cleanly, stdin_done;
    char line[4096];
    size_t line_len;
};

static void on_open(wsc_connection *conn, void *user) {
    (void)conn;
    ((struct app *)user)->open = true;
    fprintf(stderr, "connected; type lines to send, Ctrl-D to close\n");
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    (void)conn, (void)user;
    if (is_text)
        printf("< %.*s\n", (int)len, (const char *)data);
    else
        printf("< (%zu bytes of binary)\n", len);
    fflush(stdout);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn, (void)user;
    fprintf(stderr, "error: %s: %s\n", wsc_result_str(result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn, (void)closed_by;
    ((struct app *)user)->closed_cleanly = clean;
    fprintf(stderr, "closed: %u %.*s (%s)\n", code, (int)reason_len, reason,
            clean ? "clean" : "not clean");
}

/* Sends the line collected so far (if any) and starts a new one. */
static void send_line(struct app *app) {
    if (app->line_len == 0) return;
    wsc_result r = wsc_send_text(app->conn, app->line, app->line_len);
    if (r != WSC_OK) fprintf(stderr, "send: %s: %s\n", wsc_result_str(r), wsc_last_error());
    app->line_len = 0;
}

/* Reads what stdin has; sends complete lines; closes the connection at end of input. */
static void read_stdin(struct app *app) {
    char buf[1024];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
        send_line(app); /* a last line without a newline */
        app->stdin_done = true;
        wsc_close(app->conn, WSC_CLOSE_NORMAL, "end of input");
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            send_line(app);
        } else if (app->line_len < sizeof app->line) {
            app->line[app->line_len++] = buf[i];
        } /* else: an over-long line is cut */
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "ws://127.0.0.1:9001/";
    struct app app = {0};
    wsc_context *ctx;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;

    if (wsc_context_new(NULL, &ctx) != WSC_OK) return 1;
    if (wsc_connect(ctx, url, NULL, &cb, &app, &app.conn) != WSC_OK) {
        fprintf(stderr, "connect: %s\n", wsc_last_error());
        wsc_context_free(ctx);
        return 1;
    }

    while (wsc_context_connection_count(ctx) > 0) {
        struct pollfd fds[2] = {{.fd = wsc_context_fd(ctx), .events = POLLIN},
                                {.fd = STDIN_FILENO, .events = POLLIN}};
        /* Read stdin only once the connection is open, and until its end. */
        nfds_t nfds = app.open && !app.stdin_done ? 2 : 1;
        if (poll(fds, nfds, wsc_next_timeout_ms(ctx)) < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) read_stdin(&app);
        /* Whether the descriptor fired or the timeout passed: let wsc work, without waiting. */
        wsc_service(ctx, 0);
    }

    wsc_connection_free(app.conn);
    wsc_context_free(ctx);
    return app.closed_cleanly ? 0 : 1;
}
