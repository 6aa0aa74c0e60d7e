/*
 * Timers on the loop: wsc_timer_start one-shot and periodic, wsc_timer_stop from inside the
 * callback, from another callback and from another thread, WSC_ERR_NOT_FOUND for ids that are
 * unknown or finished, the NULL policy, and timers ending with the context (their callbacks
 * are released, with no call after wsc_context_free and no leak; the sanitizer build checks
 * the leaks). The echo server (URL: last argument) is used only by the last part, where a
 * callback run by wsc_context_free tries to start a timer.
 *
 * Timing checks are one-sided: a timer never fires before its delay, and a periodic timer
 * ticks at most once per interval on average; how late it is depends on the machine.
 */
#include "wsc_test.h"

#include <pthread.h>

struct ticks {
    wsc_context *ctx;
    uint64_t id;        /* the timer's id, from out_id (0: not known yet, not checked) */
    int count;          /* callbacks so far */
    int stop_at;        /* periodic: stop itself from the callback at this tick (0: never) */
    int bad_args;       /* callbacks with a ctx or id other than expected */
    int after_stop;     /* callbacks after wsc_timer_stop returned OK */
    bool stopped;
    double started, first; /* wt_now() at wsc_timer_start and at the first callback */
    pthread_t thread;   /* the thread the last callback ran on */
};

static void tick(wsc_context *ctx, uint64_t id, void *user) {
    struct ticks *t = user;
    if (ctx != t->ctx || (t->id != 0 && id != t->id)) t->bad_args++;
    if (t->stopped) t->after_stop++;
    if (t->count++ == 0) t->first = wt_now();
    t->thread = pthread_self();
    /* wsc_service cannot run from a callback. */
    CHECK_RESULT(wsc_service(ctx, 0), WSC_ERR_BUSY);
    if (t->stop_at && t->count == t->stop_at) {
        CHECK_RESULT(wsc_timer_stop(ctx, id), WSC_OK);
        t->stopped = true;
        /* Stopping twice: the second finds nothing. */
        CHECK_RESULT(wsc_timer_stop(ctx, id), WSC_ERR_NOT_FOUND);
    }
}

/* Runs the loop for `seconds`, whatever happens. */
static void service_for(wsc_context *ctx, double seconds) {
    double end = wt_now() + seconds;
    while (wt_now() < end) CHECK_RESULT(wsc_service(ctx, 5), WSC_OK);
}

static bool reached(void *arg) {
    const struct ticks *t = arg;
    return t->count >= (t->stop_at ? t->stop_at : 1);
}

static void start(wsc_context *ctx, struct ticks *t, uint32_t delay, uint32_t interval) {
    t->ctx = ctx;
    t->started = wt_now();
    t->id = 0;
    CHECK_RESULT(wsc_timer_start(ctx, delay, interval, tick, t, &t->id), WSC_OK);
    CHECK(t->id != 0);
}

/* --- 1. the NULL policy and unknown ids --- */
static void test_arguments(void) {
    wsc_context *ctx;
    uint64_t id = 12345;
    struct ticks t = {0};
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    CHECK_RESULT(wsc_timer_stop(ctx, 0), WSC_ERR_NOT_FOUND);
    CHECK_RESULT(wsc_timer_stop(ctx, 1), WSC_ERR_NOT_FOUND);
    CHECK_RESULT(wsc_timer_stop(ctx, UINT64_MAX), WSC_ERR_NOT_FOUND);
    CHECK_RESULT(wsc_timer_stop(NULL, 1), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_timer_start(NULL, 0, 0, tick, &t, &id), WSC_ERR_NULL_ARGUMENT);
    CHECK_RESULT(wsc_timer_start(ctx, 0, 0, NULL, &t, &id), WSC_ERR_NULL_ARGUMENT);
    CHECK_INT(id, 12345); /* out-pointers are written only on success */
    /* out_id is optional. */
    t.ctx = ctx;
    CHECK_RESULT(wsc_timer_start(ctx, 0, 0, tick, &t, NULL), WSC_OK);
    service_for(ctx, 0.05);
    CHECK_INT(t.count, 1);
    /* Nothing scheduled any more. */
    CHECK_INT(wsc_next_timeout_ms(ctx), -1);
    CHECK_INT(wsc_next_timeout_ms(NULL), -1);
    wsc_context_free(ctx);
}

/* --- 2. one-shot: once, not early, then gone; stopped before it fires: never --- */
static void test_one_shot(void) {
    wsc_context *ctx;
    struct ticks once = {0}, never = {0}, zero = {0};
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    start(ctx, &once, 30, 0);
    start(ctx, &never, 30, 0);
    start(ctx, &zero, 0, 0);
    CHECK(once.id != never.id && once.id != zero.id && never.id != zero.id);
    CHECK_RESULT(wsc_timer_stop(ctx, never.id), WSC_OK);
    never.stopped = true;
    wt_service_until(ctx, reached, &once, 5, "the one-shot timer");
    service_for(ctx, 0.1);
    CHECK_INT(once.count, 1);
    CHECK_INT(zero.count, 1);
    CHECK_INT(never.count, 0);
    CHECK_INT(once.bad_args + zero.bad_args, 0);
    /* Not before its delay (1 ms of slack for the clocks' rounding). */
    if (once.count) CHECK(once.first - once.started >= 0.029);
    /* It fired once and for all. */
    CHECK_RESULT(wsc_timer_stop(ctx, once.id), WSC_ERR_NOT_FOUND);
    CHECK_RESULT(wsc_timer_stop(ctx, never.id), WSC_ERR_NOT_FOUND);
    CHECK(pthread_equal(once.thread, pthread_self()));
    wsc_context_free(ctx);
}

/* --- 3. periodic, stopped from its own callback at the 5th tick --- */
static void test_periodic_self_stop(void) {
    wsc_context *ctx;
    struct ticks t = {0};
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    t.stop_at = 5;
    start(ctx, &t, 10, 10);
    wt_service_until(ctx, reached, &t, 5, "5 ticks of a 10 ms timer");
    double elapsed = wt_now() - t.started;
    service_for(ctx, 0.1);
    CHECK_INT(t.count, 5);
    CHECK_INT(t.after_stop, 0);
    CHECK_INT(t.bad_args, 0);
    /* 5 ticks at 10, 20, ... 50 ms: never faster than the schedule. */
    CHECK(elapsed >= 0.049);
    CHECK_RESULT(wsc_timer_stop(ctx, t.id), WSC_ERR_NOT_FOUND);
    wsc_context_free(ctx);
}

/* --- 4. timers started and stopped by other timers' callbacks --- */
struct juggler {
    struct ticks self;
    struct ticks *victim;  /* a periodic timer this one stops */
    struct ticks *spawned; /* a one-shot timer this one starts */
};

static void juggle(wsc_context *ctx, uint64_t id, void *user) {
    struct juggler *j = user;
    (void)id;
    j->self.count++;
    CHECK_RESULT(wsc_timer_stop(ctx, j->victim->id), WSC_OK);
    j->victim->stopped = true;
    j->spawned->ctx = ctx;
    j->spawned->started = wt_now();
    CHECK_RESULT(wsc_timer_start(ctx, 0, 0, tick, j->spawned, &j->spawned->id), WSC_OK);
}

static void test_from_callbacks(void) {
    wsc_context *ctx;
    struct ticks victim = {0}, spawned = {0};
    struct juggler j = {.victim = &victim, .spawned = &spawned};
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    start(ctx, &victim, 1, 1);
    CHECK_RESULT(wsc_timer_start(ctx, 20, 0, juggle, &j, &j.self.id), WSC_OK);
    wt_service_until(ctx, reached, &spawned, 5, "the timer started by a timer");
    service_for(ctx, 0.05);
    CHECK_INT(j.self.count, 1);
    CHECK_INT(spawned.count, 1);
    CHECK(victim.count >= 1); /* it ticked every ms or so before being stopped */
    CHECK_INT(victim.after_stop, 0);
    wsc_context_free(ctx);
}

/* --- 5. stop (and start) from another thread while the loop runs --- */
static pthread_mutex_t xlock = PTHREAD_MUTEX_INITIALIZER;

struct cross {
    wsc_context *ctx;
    struct ticks periodic; /* count under xlock */
    int count_at_stop;
    struct ticks started_there; /* a one-shot started by the other thread */
    bool done;
};

static void locked_tick(wsc_context *ctx, uint64_t id, void *user) {
    struct ticks *t = user;
    pthread_mutex_lock(&xlock);
    tick(ctx, id, t);
    pthread_mutex_unlock(&xlock);
}

static void *stopper(void *arg) {
    struct cross *x = arg;
    double deadline = wt_now() + 5;
    struct timespec ms = {0, 1000 * 1000};
    for (;;) {
        pthread_mutex_lock(&xlock);
        int count = x->periodic.count;
        pthread_mutex_unlock(&xlock);
        if (count >= 3 || wt_now() > deadline) break;
        nanosleep(&ms, NULL);
    }
    wsc_result r = wsc_timer_stop(x->ctx, x->periodic.id);
    pthread_mutex_lock(&xlock);
    CHECK_RESULT(r, WSC_OK);
    /* A callback already running may finish; none may start after this. */
    x->count_at_stop = x->periodic.count;
    pthread_mutex_unlock(&xlock);
    CHECK_RESULT(wsc_timer_stop(x->ctx, x->periodic.id), WSC_ERR_NOT_FOUND);
    /* Starting from this thread: the callback still runs on the loop's thread. */
    pthread_mutex_lock(&xlock);
    x->started_there.ctx = x->ctx;
    x->started_there.started = wt_now();
    pthread_mutex_unlock(&xlock);
    /* Not &x->started_there.id: the callback may run on the loop's thread before
     * wsc_timer_start returns, and so before *out_id is written. */
    uint64_t id = 0;
    r = wsc_timer_start(x->ctx, 0, 0, locked_tick, &x->started_there, &id);
    pthread_mutex_lock(&xlock);
    CHECK_RESULT(r, WSC_OK);
    x->started_there.id = id;
    x->done = true;
    pthread_mutex_unlock(&xlock);
    return NULL;
}

static bool cross_done(void *arg) {
    struct cross *x = arg;
    pthread_mutex_lock(&xlock);
    bool done = x->done && x->started_there.count >= 1;
    pthread_mutex_unlock(&xlock);
    return done;
}

static void test_other_thread(void) {
    static struct cross x; /* zeroed; shared with the stopper thread */
    pthread_t th;
    REQUIRE(wsc_context_new(NULL, &x.ctx) == WSC_OK);
    x.periodic.ctx = x.ctx;
    x.periodic.started = wt_now();
    /* The id is written before the loop runs, so the callback may compare it unlocked. */
    CHECK_RESULT(wsc_timer_start(x.ctx, 2, 2, locked_tick, &x.periodic, &x.periodic.id), WSC_OK);
    REQUIRE(pthread_create(&th, NULL, stopper, &x) == 0);
    wt_service_until(x.ctx, cross_done, &x, 10, "the stop and start from another thread");
    pthread_join(th, NULL);
    service_for(x.ctx, 0.05);
    CHECK(x.count_at_stop >= 3);
    CHECK(x.periodic.count <= x.count_at_stop + 1);
    CHECK_INT(x.periodic.bad_args, 0);
    CHECK_INT(x.started_there.count, 1);
    CHECK_INT(x.started_there.bad_args, 0);
    if (x.started_there.count) CHECK(pthread_equal(x.started_there.thread, pthread_self()));
    wsc_context_free(x.ctx);
}

/* --- 6. timers end with the context --- */
static void test_end_with_context(void) {
    wsc_context *ctx;
    struct ticks periodic = {0}, late = {0}, pending = {0};
    REQUIRE(wsc_context_new(NULL, &ctx) == WSC_OK);
    start(ctx, &periodic, 1, 1);
    start(ctx, &late, 60000, 0);
    start(ctx, &pending, 0, 0); /* due, but the loop never runs again */
    wt_service_until(ctx, reached, &periodic, 5, "a tick");
    int before = periodic.count, pending_before = pending.count;
    wsc_context_free(ctx); /* must release the three callbacks' closures (leak check) */
    struct timespec wait = {0, 20 * 1000 * 1000};
    nanosleep(&wait, NULL);
    CHECK_INT(periodic.count, before);
    CHECK_INT(late.count, 0);
    CHECK_INT(pending.count, pending_before);
}

/* --- 7. a callback run by wsc_context_free cannot start a timer --- */
struct freeing {
    wsc_context *ctx;
    int opens, closes;
    struct ticks t;
    wsc_result start_result;
};

static void f_on_open(wsc_connection *conn, void *user) {
    (void)conn;
    ((struct freeing *)user)->opens++;
}

static void f_on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t len,
                       wsc_closed_by by, bool clean, void *user) {
    struct freeing *f = user;
    (void)conn, (void)code, (void)reason, (void)len, (void)by, (void)clean;
    f->closes++;
    f->t.ctx = f->ctx;
    f->start_result = wsc_timer_start(f->ctx, 0, 0, tick, &f->t, &f->t.id);
}

static bool f_opened(void *arg) { return ((struct freeing *)arg)->opens > 0; }

static void test_start_during_free(const char *url) {
    struct freeing f = {0};
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = f_on_open;
    cb.on_close = f_on_close;
    REQUIRE(wsc_context_new(NULL, &f.ctx) == WSC_OK);
    CHECK_RESULT(wsc_connect(f.ctx, url, NULL, &cb, &f, NULL), WSC_OK);
    wt_service_until(f.ctx, f_opened, &f, 10, "on_open");
    wsc_context_free(f.ctx);
    CHECK_INT(f.closes, 1);
    CHECK_RESULT(f.start_result, WSC_ERR_CONTEXT_CLOSED);
    CHECK_INT(f.t.count, 0);
}

int main(int argc, char **argv) {
    const char *url = wt_server_url(argc, argv);
    test_arguments();
    test_one_shot();
    test_periodic_self_stop();
    test_from_callbacks();
    test_other_thread();
    test_end_with_context();
    test_start_during_free(url);
    return wt_finish("timers");
}
