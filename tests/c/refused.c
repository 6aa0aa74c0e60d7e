/*
 * A refused handshake from C: inside on_error and on_close, wsc_connection_status gives the
 * status, wsc_connection_header a field of the refusal and wsc_connection_response_body the
 * start of its body; the on_error message quotes the status line and the body. The server is
 * a loopback socket served from this program's own loop (the echo server's URL is ignored).
 */
#include "wsc_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] =
    "HTTP/1.1 401 Unauthorized\r\n"
    "WWW-Authenticate: Bearer realm=\"api\"\r\n"
    "Content-Length: 22\r\n"
    "\r\n"
    "missing X-Token header";

struct state {
    int errors, closes;
    char message[512];
    int status_in_error, status_in_close;
    char auth[64];
    char body_in_error[64], body_in_close[64];
};

static void copy_out(char *dst, size_t cap, const uint8_t *src, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void read_body(wsc_connection *c, char *dst, size_t cap) {
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK_RESULT(wsc_connection_response_body(c, &data, &len), WSC_OK);
    if (data) copy_out(dst, cap, data, len);
}

static void on_error(wsc_connection *c, wsc_result r, const char *msg, void *u) {
    struct state *s = u;
    CHECK_INT(r, WSC_ERR_HANDSHAKE_STATUS);
    s->errors++;
    snprintf(s->message, sizeof s->message, "%s", msg);
    s->status_in_error = wsc_connection_status(c);
    const uint8_t *v = NULL;
    size_t n = 0;
    CHECK_RESULT(wsc_connection_header(c, "www-authenticate", &v, &n), WSC_OK);
    if (v) copy_out(s->auth, sizeof s->auth, v, n);
    CHECK_RESULT(wsc_connection_header(c, "X-Absent", &v, &n), WSC_ERR_NOT_FOUND);
    /* Every field, in order. */
    const uint8_t *name = NULL;
    size_t name_len = 0;
    size_t i = 0;
    while (wsc_connection_header_at(c, i, &name, &name_len, &v, &n) == WSC_OK) i++;
    CHECK_INT(i, 2);
    CHECK_RESULT(wsc_connection_header_at(c, 1, &name, &name_len, &v, &n), WSC_OK);
    CHECK(name_len == 14 && memcmp(name, "Content-Length", 14) == 0);
    CHECK(n == 2 && memcmp(v, "22", 2) == 0);
    read_body(c, s->body_in_error, sizeof s->body_in_error);
}

static void on_close(wsc_connection *c, uint16_t code, const char *reason, size_t len,
                     wsc_closed_by by, bool clean, void *u) {
    struct state *s = u;
    (void)reason, (void)len, (void)clean;
    CHECK_INT(code, 1006);
    CHECK_INT(by, WSC_CLOSED_BY_FAILURE);
    s->closes++;
    s->status_in_close = wsc_connection_status(c);
    read_body(c, s->body_in_close, sizeof s->body_in_close);
}

static bool closed(void *u) { return ((struct state *)u)->closes > 0; }

int main(int argc, char **argv) {
    (void)argc, (void)argv; /* serves itself */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0);
    REQUIRE(listen(listener, 1) == 0);
    socklen_t alen = sizeof addr;
    REQUIRE(getsockname(listener, (struct sockaddr *)&addr, &alen) == 0);
    REQUIRE(fcntl(listener, F_SETFL, O_NONBLOCK) == 0);

    wsc_context *ctx = NULL;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    struct state s;
    memset(&s, 0, sizeof s);
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_error = on_error;
    cb.on_close = on_close;
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", ntohs(addr.sin_port));
    wsc_connection *conn = NULL;
    REQUIRE(wsc_connect(ctx, url, NULL, &cb, &s, &conn) == WSC_OK);
    CHECK_INT(wsc_connection_status(conn), 0); /* no answer yet */

    /* Serve one request from the loop: accept, read the request's header, answer 401. */
    int peer = -1;
    char request[4096];
    size_t got = 0;
    bool answered = false;
    double deadline = wt_now() + 10;
    while (!closed(&s) && wt_now() < deadline) {
        REQUIRE(wsc_service(ctx, 20) == WSC_OK);
        if (peer < 0) {
            peer = accept(listener, NULL, NULL);
            if (peer >= 0) REQUIRE(fcntl(peer, F_SETFL, O_NONBLOCK) == 0);
            continue;
        }
        if (answered) continue;
        ssize_t n = read(peer, request + got, sizeof request - 1 - got);
        if (n > 0) got += (size_t)n;
        request[got] = '\0';
        if (strstr(request, "\r\n\r\n")) {
            REQUIRE(write(peer, RESPONSE, sizeof RESPONSE - 1) == (ssize_t)(sizeof RESPONSE - 1));
            answered = true;
        }
    }
    wt_service_until(ctx, closed, &s, 5, "on_close");

    CHECK_INT(s.errors, 1);
    CHECK_INT(s.closes, 1);
    CHECK(strcmp(s.message, "server answered 401 Unauthorized, not 101 Switching Protocols: "
                            "missing X-Token header") == 0);
    if (strstr(s.message, "401") == NULL) fprintf(stderr, "message: %s\n", s.message);
    CHECK_INT(s.status_in_error, 401);
    CHECK_INT(s.status_in_close, 401);
    CHECK(strcmp(s.auth, "Bearer realm=\"api\"") == 0);
    CHECK(strcmp(s.body_in_error, "missing X-Token header") == 0);
    CHECK(strcmp(s.body_in_close, "missing X-Token header") == 0);
    /* Still readable through the handle after the end; a 101 has no body. */
    CHECK_INT(wsc_connection_status(conn), 401);
    const uint8_t *d = NULL;
    size_t dl = 0;
    CHECK_RESULT(wsc_connection_response_body(NULL, &d, &dl), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_connection_response_body(conn, NULL, &dl), WSC_ERR_NULL_ARGUMENT);
    CHECK_INT(wsc_connection_status(NULL), 0);

    wsc_connection_free(conn);
    wsc_context_free(ctx);
    if (peer >= 0) close(peer);
    close(listener);
    return wt_finish("refused");
}
