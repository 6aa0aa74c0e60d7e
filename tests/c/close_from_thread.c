/*
 * Closing and releasing a connection from a thread that is not the loop's, while messages are
 * in flight (echo server URL: last argument). Meant for the sanitizer build: any use after
 * free or leak fails it.
 *
 * 1. The main thread runs the loop (echoes arrive); a sender thread sends as fast as it can;
 *    a closer thread waits for some echoes, calls wsc_close, waits for the sender to stop
 *    (its sends fail with WSC_ERR_NOT_OPEN), then wsc_connection_free on the handle, while
 *    the echoes of the backlog still arrive. Callbacks keep coming until on_close, exactly
 *    once (1000, closed by the application, clean); echoes arrive in order, none after
 *    on_close; then the main thread frees the context.
 * 2. The handle outlives the context: the main thread frees the context while another thread
 *    is sending on its handle; on_close comes during wsc_context_free (1006, not clean); the
 *    thread's calls then fail with WSC_ERR_NOT_OPEN, and it releases the handle afterwards.
 */
#include "wsc_test.h"

#include <pthread.h>

#define DEADLINE_S 30.0
#define MAX_MESSAGES 1000000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct run {
    const char *name;
    wsc_connection *handle;
    /* Under `lock`. */
    int opens, errors, closes, after_close;
    long sent, echoed, out_of_order;
    uint16_t close_code;
    wsc_closed_by closed_by;
    bool clean;
    bool sender_done;
    wsc_result sender_last; /* what ended the sender */
    wsc_result after[3];    /* scenario 2: send, close, buffered==0 after the context is gone */
};

static double deadline;

static bool past_deadline(void) { return wt_now() > deadline; }

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads a field under the lock. */
static int locked_int(const int *p) {
    pthread_mutex_lock(&lock);
    int v = *p;
    pthread_mutex_unlock(&lock);
    return v;
}

static long locked_long(const long *p) {
    pthread_mutex_lock(&lock);
    long v = *p;
    pthread_mutex_unlock(&lock);
    return v;
}

/* --- callbacks (loop thread) --- */

static void on_open(wsc_connection *conn, void *user) {
    struct run *r = user;
    (void)conn;
    pthread_mutex_lock(&lock);
    r->opens++;
    pthread_mutex_unlock(&lock);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct run *r = user;
    char text[32];
    long seq = -1;
    /* The connection is still valid here, whoever released the application's handle. */
    (void)wsc_connection_buffered_amount(conn);
    if (is_text && len < sizeof text) {
        memcpy(text, data, len);
        text[len] = '\0';
        sscanf(text, "m%ld", &seq);
    }
    pthread_mutex_lock(&lock);
    if (r->closes) r->after_close++;
    if (seq != r->echoed) r->out_of_order++;
    r->echoed++;
    pthread_mutex_unlock(&lock);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message,
                     void *user) {
    struct run *r = user;
    (void)conn;
    pthread_mutex_lock(&lock);
    r->errors++;
    fprintf(stderr, "%s: on_error %s: %s\n", r->name, wsc_result_str((int)result), message);
    pthread_mutex_unlock(&lock);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason,
                     size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct run *r = user;
    (void)reason, (void)reason_len;
    /* Still valid during on_close; sending is over. */
    wsc_result late = wsc_send_text(conn, "late", 4);
    pthread_mutex_lock(&lock);
    r->closes++;
    r->close_code = code;
    r->closed_by = closed_by;
    r->clean = clean;
    pthread_mutex_unlock(&lock);
    CHECK_RESULT(late, WSC_ERR_NOT_OPEN);
}

/* --- the sender: sends "m<seq>" until a send fails with something else than WOULD_BLOCK --- */

static void *sender(void *arg) {
    struct run *r = arg;
    char text[32];
    wsc_result res = WSC_OK;
    for (long seq = 0; seq < MAX_MESSAGES && !past_deadline(); seq++) {
        int len = snprintf(text, sizeof text, "m%ld", seq);
        while ((res = wsc_send_text(r->handle, text, (size_t)len)) == WSC_ERR_WOULD_BLOCK &&
               !past_deadline())
            sleep_ms(1);
        if (res != WSC_OK) break;
        pthread_mutex_lock(&lock);
        r->sent++;
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    r->sender_last = res;
    r->sender_done = true;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* --- 1. close and free from a third thread --- */

static void *closer(void *arg) {
    struct run *r = arg;
    pthread_t th;
    /* Wait for the connection, then send, and close once echoes are flowing. */
    while (locked_int(&r->opens) == 0 && !past_deadline()) sleep_ms(1);
    if (pthread_create(&th, NULL, sender, r) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    while (locked_long(&r->echoed) < 2000 && !past_deadline()) sleep_ms(1);
    wsc_result res = wsc_close(r->handle, WSC_CLOSE_NORMAL, "closing from a thread");
    pthread_join(th, NULL); /* the sender sees WSC_ERR_NOT_OPEN and stops */
    /* Closing again is harmless. */
    (void)wsc_close(r->handle, WSC_CLOSE_GOING_AWAY, NULL);
    wsc_connection_free(r->handle); /* usually before on_close: echoes are still queued */
    pthread_mutex_lock(&lock);
    CHECK_RESULT(res, WSC_OK);
    printf("%s: handle released after %ld of %ld echoes, %s on_close\n", r->name, r->echoed,
           r->sent, r->closes ? "after" : "before");
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void scenario_close_from_thread(const char *url) {
    static struct run r = {.name = "close_from_thread"};
    wsc_context *ctx;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;
    pthread_t th;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    REQUIRE(wsc_connect(ctx, url, NULL, &cb, &r, &r.handle) == WSC_OK);
    REQUIRE(pthread_create(&th, NULL, closer, &r) == 0);
    while (wsc_context_connection_count(ctx) > 0 && !past_deadline())
        CHECK_RESULT(wsc_service(ctx, 50), WSC_OK);
    CHECK(!past_deadline());
    pthread_join(th, NULL);
    wsc_context_free(ctx);

    CHECK_INT(r.opens, 1);
    CHECK_INT(r.errors, 0);
    CHECK_INT(r.closes, 1);
    CHECK_INT(r.after_close, 0);
    CHECK_INT(r.close_code, WSC_CLOSE_NORMAL);
    CHECK_INT(r.closed_by, WSC_CLOSED_BY_APPLICATION);
    CHECK(r.clean);
    CHECK_RESULT(r.sender_last, WSC_ERR_NOT_OPEN);
    CHECK(r.echoed >= 2000);
    CHECK_INT(r.echoed, r.sent); /* every message accepted before the close came back */
    CHECK_INT(r.out_of_order, 0);
}

/* --- 2. the context goes first; the handle stays usable until released --- */

static void *outliver(void *arg) {
    struct run *r = arg;
    (void)sender(r); /* until the context is freed under it */
    /* The main thread has freed the context by now (sends fail only after that). */
    wsc_result a = wsc_send_text(r->handle, "after", 5);
    wsc_result b = wsc_send_ping(r->handle, NULL, 0);
    size_t buffered = wsc_connection_buffered_amount(r->handle);
    (void)wsc_close(r->handle, WSC_CLOSE_NORMAL, NULL); /* harmless, whatever it returns */
    wsc_connection_free(r->handle);
    pthread_mutex_lock(&lock);
    r->after[0] = a;
    r->after[1] = b;
    r->after[2] = buffered == 0 ? WSC_OK : WSC_ERR_INVALID_ARGUMENT;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static bool echoes_flowing(void *arg) {
    struct run *r = arg;
    return locked_long(&r->echoed) >= 2000;
}

static void scenario_context_first(const char *url) {
    static struct run r = {.name = "context_first"};
    wsc_context *ctx;
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;
    pthread_t th;
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    REQUIRE(wsc_connect(ctx, url, NULL, &cb, &r, &r.handle) == WSC_OK);
    while (locked_int(&r.opens) == 0 && !past_deadline()) CHECK_RESULT(wsc_service(ctx, 50), WSC_OK);
    REQUIRE(pthread_create(&th, NULL, outliver, &r) == 0);
    wt_service_until(ctx, echoes_flowing, &r, 10, "echoes");
    wsc_context_free(ctx); /* the sender thread is still sending */
    CHECK_INT(locked_int(&r.closes), 1);
    pthread_join(th, NULL);

    CHECK_INT(r.opens, 1);
    CHECK_INT(r.closes, 1);
    CHECK_INT(r.after_close, 0);
    CHECK_INT(r.close_code, WSC_CLOSE_ABNORMAL);
    CHECK_INT(r.closed_by, WSC_CLOSED_BY_APPLICATION);
    CHECK(!r.clean);
    CHECK_RESULT(r.sender_last, WSC_ERR_NOT_OPEN);
    CHECK_RESULT(r.after[0], WSC_ERR_NOT_OPEN);
    CHECK_RESULT(r.after[1], WSC_ERR_NOT_OPEN);
    CHECK_RESULT(r.after[2], WSC_OK); /* nothing stays queued on a closed connection */
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    deadline = wt_now() + DEADLINE_S;
    scenario_close_from_thread(url);
    deadline = wt_now() + DEADLINE_S;
    scenario_context_first(url);
    return wt_finish("close_from_thread");
}
