/*
 * The log through the C API, against the echo server (URL: last argument): a context's own
 * handler gets its connections' lines (named "[#N host]", request headers with Authorization
 * redacted, nothing above its level), the process-wide handler gets the lines of contexts
 * without one, and not those of a context with one; a level outside 0-5 is refused; after
 * wsc_log_set_handler(NULL, ...) the old handler hears nothing.
 */
#include "wsc_test.h"

#include <pthread.h>

struct lines {
    pthread_mutex_t lock; /* lines may come from several threads */
    char text[64 * 1024];
    size_t len;
    int count;
    int above_max; /* lines of a level over the handler's maximum */
    wsc_log_level max;
};

static void collect(wsc_log_level level, const char *line, void *user) {
    struct lines *l = user;
    pthread_mutex_lock(&l->lock);
    if (level > l->max || level == WSC_LOG_OFF) l->above_max++;
    size_t n = strlen(line);
    if (l->len + n + 2 < sizeof l->text) {
        memcpy(l->text + l->len, line, n);
        l->len += n;
        l->text[l->len++] = '\n';
        l->text[l->len] = '\0';
    }
    l->count++;
    pthread_mutex_unlock(&l->lock);
}

static bool contains(struct lines *l, const char *needle) {
    pthread_mutex_lock(&l->lock);
    bool found = strstr(l->text, needle) != NULL;
    pthread_mutex_unlock(&l->lock);
    return found;
}

struct run {
    int closes;
};

static void on_open(wsc_connection *conn, void *user) {
    (void)user;
    wsc_close(conn, 1000, "done");
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t len,
                     wsc_closed_by by, bool clean, void *user) {
    (void)conn, (void)code, (void)reason, (void)len, (void)by, (void)clean;
    ((struct run *)user)->closes++;
}

static bool closed(void *arg) { return ((struct run *)arg)->closes > 0; }

/* One connection on `ctx` that sends an Authorization header, opens and closes. */
static void connect_once(wsc_context *ctx, const char *url) {
    struct run run = {0};
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_close = on_close;
    wsc_header auth = {"Authorization", "Bearer s3cret"};
    wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT;
    o.headers = &auth;
    o.header_count = 1;
    wsc_connection *conn = NULL;
    CHECK_RESULT(wsc_connect(ctx, url, &o, &cb, &run, &conn), WSC_OK);
    wt_service_until(ctx, closed, &run, 10, "the connection to close");
    wsc_connection_free(conn);
}

static wsc_context *context_with(struct lines *l, wsc_log_level max) {
    wsc_context_options co = WSC_CONTEXT_OPTIONS_INIT;
    co.log_fn = collect;
    co.log_user = l;
    co.log_level = max;
    l->max = max;
    wsc_context *ctx = NULL;
    CHECK_RESULT(wsc_context_new(&co, &ctx), WSC_OK);
    REQUIRE(ctx != NULL);
    return ctx;
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    static struct lines own = {.lock = PTHREAD_MUTEX_INITIALIZER};
    static struct lines process = {.lock = PTHREAD_MUTEX_INITIALIZER};
    static struct lines info = {.lock = PTHREAD_MUTEX_INITIALIZER};

    /* Bad levels are refused, with the range in the message. */
    CHECK_RESULT(wsc_log_set_handler(collect, &process, 6), WSC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(wsc_last_error(), "WSC_LOG_TRACE") != NULL);
    CHECK_RESULT(wsc_log_set_handler(collect, &process, -1), WSC_ERR_INVALID_ARGUMENT);
    wsc_context_options bad = WSC_CONTEXT_OPTIONS_INIT;
    bad.log_fn = collect;
    bad.log_level = 9;
    wsc_context *none = NULL;
    CHECK_RESULT(wsc_context_new(&bad, &none), WSC_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL);

    process.max = WSC_LOG_DEBUG;
    CHECK_RESULT(wsc_log_set_handler(collect, &process, WSC_LOG_DEBUG), WSC_OK);

    /* A context with its own handler: its lines go there only. */
    wsc_context *ctx = context_with(&own, WSC_LOG_TRACE);
    connect_once(ctx, url);
    wsc_context_free(ctx);
    CHECK(contains(&own, "127.0.0.1] > GET / HTTP/1.1\n"));
    CHECK(contains(&own, "127.0.0.1] > Authorization: [redacted]\n"));
    CHECK(contains(&own, "127.0.0.1] < HTTP/1.1 101 Switching Protocols\n"));
    CHECK(contains(&own, "] send frame Close fin=1 rsv1=0 len=6 masked\n"));
    CHECK(contains(&own, "] closed: code 1000 \"done\", by Application, clean\n"));
    CHECK(strncmp(own.text, "[#", 2) == 0);
    CHECK(!contains(&own, "s3cret"));
    CHECK_INT(own.above_max, 0);
    CHECK_INT(process.count, 0);

    /* A context at info level: milestones, no headers, no frames. */
    ctx = context_with(&info, WSC_LOG_INFO);
    connect_once(ctx, url);
    wsc_context_free(ctx);
    CHECK(contains(&info, "] open (subprotocol none"));
    CHECK(!contains(&info, "> GET"));
    CHECK(!contains(&info, "frame"));
    CHECK_INT(info.above_max, 0);

    /* A context without one: the process handler, up to its level (no frames at debug). */
    CHECK_RESULT(wsc_context_new(NULL, &ctx), WSC_OK);
    connect_once(ctx, url);
    CHECK(contains(&process, "127.0.0.1] > Authorization: [redacted]\n"));
    CHECK(!contains(&process, "frame"));
    CHECK_INT(process.above_max, 0);

    /* Back to the default (WSC_LOG is not set here): the old handler hears nothing. */
    CHECK_RESULT(wsc_log_set_handler(NULL, NULL, WSC_LOG_OFF), WSC_OK);
    int before = process.count;
    connect_once(ctx, url);
    CHECK_INT(process.count, before);
    wsc_context_free(ctx);
    return wt_finish("log");
}
