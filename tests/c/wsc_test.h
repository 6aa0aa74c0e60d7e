/*
 * Helpers shared by the C tests in tests/c/ (not a test itself: only *.c files are built).
 *
 * Every test is run by ctest as `echo_server.py -- TEST`, which appends the echo server's
 * URL (ws://127.0.0.1:PORT) as the last argument; tests that need no server ignore it.
 *
 * Include this first: it asks for POSIX (clock_gettime) before any system header.
 */
#ifndef WSC_TEST_H
#define WSC_TEST_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wsc.h>

/* Number of failed checks so far. */
static int wt_failures;

/* A check that records the failure and carries on. */
#define CHECK(expr)                                                                     \
    do {                                                                                \
        if (!(expr)) {                                                                  \
            wt_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);    \
        }                                                                               \
    } while (0)

/* A check that stops the program: what follows cannot run without it. */
#define REQUIRE(expr)                                                                   \
    do {                                                                                \
        if (!(expr)) {                                                                  \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #expr);  \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Two integers are equal; prints both when not. */
#define CHECK_INT(actual, expected)                                                     \
    do {                                                                                \
        long long wt_a_ = (long long)(actual), wt_e_ = (long long)(expected);          \
        if (wt_a_ != wt_e_) {                                                           \
            wt_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (got %lld, expected %lld)\n", \
                    __FILE__, __LINE__, #actual, #expected, wt_a_, wt_e_);              \
        }                                                                               \
    } while (0)

/* A wsc call returns the expected result; prints both and wsc_last_error() when not. */
#define CHECK_RESULT(call, expected)                                                    \
    do {                                                                                \
        wsc_result wt_r_ = (call);                                                      \
        wsc_result wt_x_ = (expected);                                                  \
        if (wt_r_ != wt_x_) {                                                           \
            wt_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n    returned %d (%s), expected %d (%s)" \
                    "; wsc_last_error: \"%s\"\n",                                       \
                    __FILE__, __LINE__, #call, (int)wt_r_, wsc_result_str((int)wt_r_),  \
                    (int)wt_x_, wsc_result_str((int)wt_x_), wsc_last_error());          \
        }                                                                               \
    } while (0)

/* A free-form failure. */
static inline void wt_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    wt_failures++;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
#define FAIL(...) wt_fail(__FILE__, __LINE__, __VA_ARGS__)

/* Seconds on a monotonic clock. */
static inline double wt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The echo server URL: the last argument (as ctest passes it). Exits with usage otherwise. */
static inline const char *wt_server_url(int argc, char **argv) {
    if (argc < 2 || strncmp(argv[argc - 1], "ws://", 5) != 0) {
        fprintf(stderr, "usage: %s ws://HOST:PORT  (the URL of tests/echo_server.py)\n",
                argc > 0 ? argv[0] : "test");
        exit(2);
    }
    return argv[argc - 1];
}

/*
 * Runs wsc_service (at most 50 ms per call) until done(arg) is true or `seconds` pass.
 * Returns true when done; on a timeout records a failure naming `what`.
 */
static inline bool wt_service_until(wsc_context *ctx, bool (*done)(void *), void *arg,
                                    double seconds, const char *what) {
    double deadline = wt_now() + seconds;
    while (!done(arg)) {
        if (wt_now() > deadline) {
            wt_failures++;
            fprintf(stderr, "timed out after %.1f s waiting for: %s\n", seconds, what);
            return false;
        }
        wsc_result r = wsc_service(ctx, 50);
        if (r != WSC_OK) {
            wt_failures++;
            fprintf(stderr, "wsc_service failed while waiting for %s: %s (%s)\n", what,
                    wsc_result_str((int)r), wsc_last_error());
            return false;
        }
    }
    return true;
}

/* Prints the verdict; the value to return from main. */
static inline int wt_finish(const char *name) {
    if (wt_failures) {
        fprintf(stderr, "%s: FAILED (%d check%s)\n", name, wt_failures,
                wt_failures == 1 ? "" : "s");
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif /* WSC_TEST_H */
