/*
 * Sending from many threads while the loop runs (echo server URL: last argument).
 *
 * The main thread owns the context and runs wsc_service. 8 sender threads each send
 * STRESS_MESSAGES text messages "T<thread>:<seq>" over 2 shared connections (threads 0-3 on
 * connection 0, 4-7 on connection 1). The send buffer limit is small (4 KiB), so sends return
 * WSC_ERR_WOULD_BLOCK often; a sender then waits for on_writable (a generation counter under a
 * mutex, so a wake-up between the failed send and the wait is not lost; the wait is also
 * bounded to 10 ms, then it simply retries). The loop checks that every message comes back
 * exactly once and, per sender thread, in order. A controller thread (not the loop) then
 * closes both connections and waits for on_close. Everything fails after 60 s.
 *
 * Data races: checked with ThreadSanitizer (scripts/test.sh, step threads_tsan, which runs the
 * tests/c tests named *thread* in a -DWSC_SANITIZE_THREAD=ON build) rather than helgrind or DRD,
 * which see every access but not Rust's synchronisation (futexes and atomics, not pthread
 * calls): helgrind reports 13,000 false "possible data races" here and runs ~75 times slower.
 * In that build the library is instrumented too and announces its locks to TSan (src/sync.rs),
 * so the test's state, the callbacks and the library's own accesses are all checked, with no
 * suppressions (docs/fuzzing.md).
 * STRESS_MESSAGES (environment) lowers the count per thread for slow runs.
 */
#include "wsc_test.h"

#include <errno.h>
#include <pthread.h>

#define CONNS 2
#define THREADS 8
#define PER_CONN (THREADS / CONNS)
#define DEADLINE_S 60.0

struct conn_state {
    int index;
    wsc_connection *handle;
    /* Written by callbacks on the loop thread, read by others: all under `lock`. */
    int opens, closes, errors;
    uint16_t close_code;
    wsc_closed_by closed_by;
    bool clean;
    unsigned long writable_gen; /* bumped by on_writable */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER; /* any state below changed */

static struct conn_state conns[CONNS];
static long per_thread;              /* messages per sender thread */
static long next_seq[THREADS];       /* loop thread only: next sequence number expected */
static long received;                /* under lock: echoes received in order */
static long bad_messages;            /* under lock: out of order, duplicate or garbled */
static long would_blocks;            /* under lock: WSC_ERR_WOULD_BLOCK seen by senders */
static bool aborted;                 /* under lock: something failed, everyone stops */
static bool finished;                /* under lock: the controller is done, the loop may end */
static double deadline;              /* set before any thread starts */
static wsc_context *ctx;

/* Records a failure from any thread (wt_failures itself is not thread-safe). */
static void fail_locked(const char *fmt, long a, long b) {
    pthread_mutex_lock(&lock);
    fprintf(stderr, "threads_stress: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    aborted = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits on `changed` for at most 10 ms (`lock` held). */
static void wait_changed_briefly(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    int rc = pthread_cond_timedwait(&changed, &lock, &ts);
    if (rc != 0 && rc != ETIMEDOUT) {
        fprintf(stderr, "pthread_cond_timedwait: %d\n", rc);
        aborted = true;
    }
}

/* --- callbacks (loop thread) --- */

static void on_open(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    (void)conn;
    pthread_mutex_lock(&lock);
    st->opens++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    struct conn_state *st = user;
    char text[32];
    int thread = -1;
    long seq = -1;
    char extra;
    (void)conn;
    if (!is_text || len == 0 || len >= sizeof text) {
        fail_locked("bad message: is_text %ld, %ld bytes", (long)is_text, (long)len);
        return;
    }
    memcpy(text, data, len);
    text[len] = '\0';
    if (sscanf(text, "T%d:%ld%c", &thread, &seq, &extra) != 2 || thread < 0 ||
        thread >= THREADS) {
        fail_locked("garbled message (%ld bytes) on connection %ld", (long)len, st->index);
        return;
    }
    if (thread / PER_CONN != st->index) {
        fail_locked("message of thread %ld came back on connection %ld", thread, st->index);
        return;
    }
    if (seq != next_seq[thread]) {
        pthread_mutex_lock(&lock);
        bad_messages++;
        pthread_mutex_unlock(&lock);
        fail_locked(seq < next_seq[thread] ? "thread %ld: duplicate or old seq %ld"
                                           : "thread %ld: seq %ld skips some (out of order)",
                    thread, seq);
        return;
    }
    next_seq[thread]++;
    pthread_mutex_lock(&lock);
    received++;
    if (received == per_thread * THREADS) pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_writable(wsc_connection *conn, void *user) {
    struct conn_state *st = user;
    (void)conn;
    pthread_mutex_lock(&lock);
    st->writable_gen++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message,
                     void *user) {
    struct conn_state *st = user;
    (void)conn;
    pthread_mutex_lock(&lock);
    st->errors++;
    fprintf(stderr, "connection %d: on_error %s: %s\n", st->index,
            wsc_result_str((int)result), message);
    aborted = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason,
                     size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    struct conn_state *st = user;
    (void)conn, (void)reason, (void)reason_len;
    pthread_mutex_lock(&lock);
    st->closes++;
    st->close_code = code;
    st->closed_by = closed_by;
    st->clean = clean;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* --- sender threads --- */

static void *sender(void *arg) {
    int thread = (int)(intptr_t)arg;
    struct conn_state *st = &conns[thread / PER_CONN];
    char text[32];
    for (long seq = 0; seq < per_thread; seq++) {
        int len = snprintf(text, sizeof text, "T%d:%ld", thread, seq);
        for (;;) {
            pthread_mutex_lock(&lock);
            bool stop = aborted;
            unsigned long gen = st->writable_gen;
            pthread_mutex_unlock(&lock);
            if (stop) return NULL;
            wsc_result r = wsc_send_text(st->handle, text, (size_t)len);
            if (r == WSC_OK) break;
            if (r != WSC_ERR_WOULD_BLOCK) {
                fail_locked("thread %ld: wsc_send_text returned %ld", thread, (long)r);
                return NULL;
            }
            /* Wait for on_writable (or 10 ms, then retry anyway), within the deadline. */
            pthread_mutex_lock(&lock);
            would_blocks++;
            if (st->writable_gen == gen && !aborted) wait_changed_briefly();
            pthread_mutex_unlock(&lock);
            if (wt_now() > deadline) {
                fail_locked("thread %ld: still blocked at seq %ld at the deadline", thread, seq);
                return NULL;
            }
        }
    }
    return NULL;
}

/* Waits under `lock` until done() or abort or the deadline; false unless done(). */
static bool wait_for(bool (*done)(void), const char *what) {
    bool ok;
    pthread_mutex_lock(&lock);
    while (!(ok = done()) && !aborted && wt_now() < deadline) wait_changed_briefly();
    if (!ok && !aborted) {
        fprintf(stderr, "threads_stress: timed out waiting for %s\n", what);
        aborted = true;
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
    return ok;
}

static bool both_open(void) { return conns[0].opens == 1 && conns[1].opens == 1; }
static bool all_echoed(void) { return received == per_thread * THREADS; }
static bool both_closed(void) { return conns[0].closes >= 1 && conns[1].closes >= 1; }

/* --- the controller: not the loop thread --- */

static void *controller(void *arg) {
    pthread_t senders[THREADS];
    int started = 0;
    (void)arg;
    if (wait_for(both_open, "both connections to open")) {
        for (; started < THREADS; started++) {
            if (pthread_create(&senders[started], NULL, sender, (void *)(intptr_t)started)) {
                fail_locked("pthread_create failed for sender %ld (error %ld)", started, 0L);
                break;
            }
        }
        for (int i = 0; i < started; i++) pthread_join(senders[i], NULL);
        wait_for(all_echoed, "every echo");
    }
    /* Close from this thread whatever happened, so the loop can end. */
    for (int i = 0; i < CONNS; i++) {
        wsc_result r = wsc_close(conns[i].handle, WSC_CLOSE_NORMAL, "stress done");
        if (r != WSC_OK) fail_locked("wsc_close on connection %ld returned %ld", i, (long)r);
    }
    pthread_mutex_lock(&lock);
    bool was_aborted = aborted;
    pthread_mutex_unlock(&lock);
    if (!was_aborted) wait_for(both_closed, "on_close of both connections");
    pthread_mutex_lock(&lock);
    finished = true;
    pthread_mutex_unlock(&lock);
    wsc_context_wake(ctx);
    return NULL;
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    const char *env = getenv("STRESS_MESSAGES");
    per_thread = env && atol(env) > 0 ? atol(env) : 10000;
    deadline = wt_now() + DEADLINE_S;
    double t0 = wt_now();

    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    wsc_connect_options options = WSC_CONNECT_OPTIONS_INIT;
    options.send_buffer_limit = 4096; /* make WSC_ERR_WOULD_BLOCK common */
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_writable = on_writable;
    cb.on_error = on_error;
    cb.on_close = on_close;
    /* The second connection names the host: its name is resolved on a thread of the library's
     * own, which ThreadSanitizer then watches too. */
    char by_name[256];
    const char *ip = strstr(url, "127.0.0.1");
    REQUIRE(ip != NULL);
    snprintf(by_name, sizeof by_name, "%.*slocalhost%s", (int)(ip - url), url, ip + 9);
    for (int i = 0; i < CONNS; i++) {
        conns[i].index = i;
        const char *target = i == 1 ? by_name : url;
        CHECK_RESULT(wsc_connect(ctx, target, &options, &cb, &conns[i], &conns[i].handle),
                     WSC_OK);
        REQUIRE(conns[i].handle != NULL);
    }

    pthread_t ctl;
    REQUIRE(pthread_create(&ctl, NULL, controller, NULL) == 0);

    /* The loop: this thread only. It ends when the controller is done and the connections
     * are closed, or (whatever state they are in) 5 s after the deadline. */
    for (;;) {
        pthread_mutex_lock(&lock);
        bool done = finished;
        pthread_mutex_unlock(&lock);
        if (done && wsc_context_connection_count(ctx) == 0) break;
        if (wt_now() > deadline + 5) {
            FAIL("the loop is still running 5 s after the deadline");
            break;
        }
        wsc_result r = wsc_service(ctx, 50);
        if (r != WSC_OK) {
            FAIL("wsc_service: %s (%s)", wsc_result_str((int)r), wsc_last_error());
            break;
        }
    }
    pthread_mutex_lock(&lock);
    aborted = aborted || !finished; /* a loop that gave up stops the others */
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(ctl, NULL);

    /* Every thread has stopped: no lock needed from here. */
    double seconds = wt_now() - t0;
    printf("threads_stress: %ld messages echoed in %.2f s, %ld WSC_ERR_WOULD_BLOCK\n", received,
           seconds, would_blocks);
    CHECK(!aborted);
    CHECK_INT(received, per_thread * THREADS);
    CHECK_INT(bad_messages, 0);
    for (int t = 0; t < THREADS; t++) CHECK_INT(next_seq[t], per_thread);
    for (int i = 0; i < CONNS; i++) {
        CHECK_INT(conns[i].opens, 1);
        CHECK_INT(conns[i].errors, 0);
        CHECK_INT(conns[i].closes, 1);
        CHECK_INT(conns[i].close_code, WSC_CLOSE_NORMAL);
        CHECK_INT(conns[i].closed_by, WSC_CLOSED_BY_APPLICATION);
        CHECK(conns[i].clean);
        /* The handle outlives the connection: calls fail cleanly. */
        CHECK_RESULT(wsc_send_text(conns[i].handle, "late", 4), WSC_ERR_NOT_OPEN);
        wsc_connection_free(conns[i].handle);
    }
    wsc_context_free(ctx);
    return wt_finish("threads_stress");
}
