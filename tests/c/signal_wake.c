/*
 * A signal handler may call wsc_context_wake (it only writes to an eventfd): a wsc_service
 * blocked with nothing scheduled returns when another thread's signal handler wakes it. The
 * signal is blocked in the serving thread, so it is the wake, not an interrupted system
 * call, that ends the wait; if the wake did not work, this test would hang until ctest's
 * timeout.
 */
#include "wsc_test.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static wsc_context *g_ctx;
static volatile sig_atomic_t g_handled;

static void on_signal(int sig) {
    (void)sig;
    wsc_context_wake(g_ctx);
    g_handled = 1;
}

static void *send_signal(void *arg) {
    (void)arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    /* Process-directed: delivered to this thread, the only one not blocking it. */
    kill(getpid(), SIGUSR1);
    return NULL;
}

int main(void) {
    REQUIRE(wsc_context_new(NULL, &g_ctx) == WSC_OK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &usr1, NULL) == 0);

    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, send_signal, NULL) == 0);
    /* Nothing is scheduled: only the wake can end this wait. */
    CHECK_RESULT(wsc_service(g_ctx, -1), WSC_OK);
    REQUIRE(pthread_join(thread, NULL) == 0);
    CHECK(g_handled);
    wsc_context_free(g_ctx);
    return wt_failures ? 1 : 0;
}
