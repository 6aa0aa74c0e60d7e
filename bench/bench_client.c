/*
 * bench_client: the wsc benchmark client (bench/README.md has the protocol: modes, options,
 * payloads, output). One process, one wsc context, one thread; every send is made from a
 * callback (on_open, on_message, on_writable) except the closes of the conns mode.
 *
 *   bench_client --url ws://127.0.0.1:9001/ --mode rtt|throughput|text|conns [--key value]...
 *
 * --deflate 1 offers permessage-deflate (client and server no_context_takeover); 0 disables
 * the offer wsc makes by default.
 *
 * --ca FILE: wss:// trusts the CA certificates in FILE instead of the system's store.
 *
 * Extra option: --rbuf N, the context's read buffer (wsc_context_options.read_buffer_size;
 * default 0, the library's own default), echoed in the JSON line.
 *
 * Prints one JSON line on stdout; exits 0 when ok, 1 on a failed run, 2 on bad options.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <wsc.h>

enum mode { MODE_RTT, MODE_THROUGHPUT, MODE_TEXT, MODE_CONNS };

static struct {
    const char *url;
    enum mode mode;
    const char *mode_name;
    uint64_t n, warmup, size, window, total, conns, pending, rbuf;
    int deflate;
    const char *ca;
} opt;

/* The options of every connection: permessage-deflate only with --deflate 1. */
static wsc_connect_options conn_opts;

static struct {
    wsc_context *ctx;
    uint8_t *payload;
    bool is_text;
    char error[512];
    bool failed;
    double fail_at;
    bool done;
    /* rtt */
    uint64_t rtt_count;
    double send_at, rtt_start, rtt_end;
    double *samples;
    /* throughput / text */
    uint64_t msgs, sent, received, received_bytes;
    double t_start, t_end;
    bool started;
    /* conns */
    wsc_connection **handles;
    uint64_t started_conns, in_handshake, opened, echoed, ended;
    double conns_start, last_open, last_echo;
    long rss_before_kb, rss_open_kb, hwm_open_kb;
} st;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The first failure wins; the loop then runs until the library reports the close (5 s max). */
static void fail(const char *fmt, ...) {
    if (st.failed) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.error, sizeof st.error, fmt, ap);
    va_end(ap);
    st.failed = true;
    st.fail_at = now_s();
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 if absent. */
static long proc_status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return -1;
    }
    char line[256];
    long value = -1;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            value = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "bench_client: setrlimit(NOFILE): %s\n", strerror(errno));
        }
    }
}

static uint8_t *make_payload(uint64_t size, bool text) {
    static const uint8_t pattern[10] = {0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80};
    uint8_t *p = malloc(size ? size : 1);
    if (!p) {
        return NULL;
    }
    for (uint64_t i = 0; i < size; i++) {
        if (text) {
            p[i] = i < size / 10 * 10 ? pattern[i % 10] : 'x';
        } else {
            p[i] = (uint8_t)(i & 0xff);
        }
    }
    return p;
}

static wsc_result send_payload(wsc_connection *conn) {
    if (st.is_text) {
        return wsc_send_text(conn, (const char *)st.payload, opt.size);
    }
    return wsc_send_binary(conn, st.payload, opt.size);
}

/* --- rtt ---------------------------------------------------------------------------------- */

static void rtt_send(wsc_connection *conn) {
    st.send_at = now_s();
    if (st.rtt_count == opt.warmup) {
        st.rtt_start = st.send_at;
    }
    wsc_result r = send_payload(conn);
    if (r != WSC_OK) {
        fail("send failed: %s", wsc_result_str(r));
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
    }
}

static void rtt_on_open(wsc_connection *conn, void *user) {
    (void)user;
    rtt_send(conn);
}

static void rtt_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                           void *user) {
    (void)user;
    double t = now_s();
    if (st.failed || st.done) {
        return;
    }
    if (len != opt.size || !is_text) {
        fail("bad echo length: got %zu bytes (%s), expected %" PRIu64 " (text)", len,
             is_text ? "text" : "binary", opt.size);
    } else if (memcmp(data, st.payload, len) != 0) {
        fail("echo mismatch in round trip %" PRIu64, st.rtt_count);
    }
    if (st.failed) {
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
        return;
    }
    if (st.rtt_count >= opt.warmup) {
        st.samples[st.rtt_count - opt.warmup] = t - st.send_at;
    }
    st.rtt_count++;
    if (st.rtt_count == opt.warmup + opt.n) {
        st.rtt_end = t;
        st.done = true;
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
        return;
    }
    rtt_send(conn);
}

/* --- throughput / text -------------------------------------------------------------------- */

static void pump(wsc_connection *conn) {
    while (!st.failed && st.sent < st.msgs && st.sent - st.received < opt.window) {
        if (!st.started) {
            st.started = true;
            st.t_start = now_s();
        }
        wsc_result r = send_payload(conn);
        if (r == WSC_ERR_WOULD_BLOCK) {
            return; /* on_writable calls pump again */
        }
        if (r != WSC_OK) {
            fail("send failed: %s", wsc_result_str(r));
            wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
            return;
        }
        st.sent++;
    }
}

static void tp_on_open(wsc_connection *conn, void *user) {
    (void)user;
    pump(conn);
}

static void tp_on_writable(wsc_connection *conn, void *user) {
    (void)user;
    pump(conn);
}

static void tp_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                          void *user) {
    (void)user;
    (void)data;
    if (st.failed || st.done) {
        return;
    }
    if (len != opt.size || is_text != st.is_text) {
        fail("bad echo length: got %zu bytes (%s), expected %" PRIu64 " (%s)", len,
             is_text ? "text" : "binary", opt.size, st.is_text ? "text" : "binary");
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
        return;
    }
    st.received++;
    st.received_bytes += len;
    if (st.received == st.msgs) {
        st.t_end = now_s();
        st.done = true;
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
        return;
    }
    pump(conn);
}

/* --- conns -------------------------------------------------------------------------------- */

/* Per connection: its index in st.handles is passed as `user`. */
struct conn_state {
    bool open, echoed, closed;
};
static struct conn_state *cstate;

static void conns_on_open(wsc_connection *conn, void *user) {
    struct conn_state *c = &cstate[(uintptr_t)user];
    c->open = true;
    st.in_handshake--;
    st.opened++;
    st.last_open = now_s();
    wsc_result r = send_payload(conn);
    if (r != WSC_OK) {
        fail("send failed: %s", wsc_result_str(r));
    }
}

static void conns_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    (void)conn;
    struct conn_state *c = &cstate[(uintptr_t)user];
    if (c->echoed) {
        fail("echo mismatch: a second message on connection %" PRIuPTR, (uintptr_t)user);
        return;
    }
    if (len != opt.size || !is_text) {
        fail("bad echo length: got %zu bytes, expected %" PRIu64, len, opt.size);
        return;
    }
    if (memcmp(data, st.payload, len) != 0) {
        fail("echo mismatch on connection %" PRIuPTR, (uintptr_t)user);
        return;
    }
    c->echoed = true;
    st.echoed++;
    st.last_echo = now_s();
}

static void conns_on_close(wsc_connection *conn, uint16_t code, const char *reason,
                           size_t reason_len, wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn;
    (void)closed_by;
    (void)clean;
    struct conn_state *c = &cstate[(uintptr_t)user];
    if (!c->open) {
        st.in_handshake--;
    }
    c->closed = true;
    st.ended++;
    if (!st.done && !st.failed) {
        fail("connection %" PRIuPTR " closed early: %u %.*s", (uintptr_t)user, (unsigned)code,
             (int)reason_len, reason);
    }
}

/* --- common callbacks --------------------------------------------------------------------- */

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn;
    (void)user;
    fail("%s: %s", wsc_result_str((int)result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn;
    (void)user;
    (void)closed_by;
    if (!st.done && !st.failed) {
        fail("connection closed before the end: %u %.*s%s", (unsigned)code, (int)reason_len,
             reason, clean ? "" : " (not clean)");
    }
}

/* --- output ------------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(f, "\\u%04x", ch);
        } else {
            fputc(ch, f);
        }
    }
    fputc('"', f);
}

/* Finite numbers only: the JSON line never holds nan or inf. */
static double finite(double x) { return isfinite(x) ? x : 0.0; }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile_us(const double *sorted, uint64_t n, double p) {
    if (n == 0) {
        return 0;
    }
    uint64_t i = (uint64_t)llround(p / 100.0 * (double)(n - 1));
    return sorted[i] * 1e6;
}

static int finish(void) {
    bool ok = !st.failed && st.done;
    if (!st.failed && !st.done) {
        snprintf(st.error, sizeof st.error, "the run did not complete");
    }
    FILE *o = stdout;
    fprintf(o, "{\"client\":\"wsc\",\"client_version\":");
    json_string(o, wsc_version());
    fprintf(o, ",\"mode\":\"%s\",\"url\":", opt.mode_name);
    json_string(o, opt.url);
    fprintf(o, ",\"ok\":%s", ok ? "true" : "false");
    if (!ok) {
        fprintf(o, ",\"error\":");
        json_string(o, st.error);
    }
    fprintf(o, ",\"size\":%" PRIu64 ",\"deflate\":%d,\"rbuf\":%" PRIu64, opt.size, opt.deflate,
            opt.rbuf);
    switch (opt.mode) {
    case MODE_RTT: {
        uint64_t n = st.done ? opt.n : (st.rtt_count > opt.warmup ? st.rtt_count - opt.warmup : 0);
        double wall = st.done ? st.rtt_end - st.rtt_start : 0;
        double sum = 0, max = 0;
        for (uint64_t i = 0; i < n; i++) {
            sum += st.samples[i];
            if (st.samples[i] > max) {
                max = st.samples[i];
            }
        }
        qsort(st.samples, n, sizeof *st.samples, cmp_double);
        fprintf(o,
                ",\"n\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"wall_s\":%.6f,\"msgs_per_s\":%.1f"
                ",\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f",
                opt.n, opt.warmup, finite(wall), finite(wall > 0 ? (double)n / wall : 0),
                percentile_us(st.samples, n, 50), percentile_us(st.samples, n, 99),
                finite(n ? sum / (double)n * 1e6 : 0), max * 1e6);
        break;
    }
    case MODE_THROUGHPUT:
    case MODE_TEXT: {
        double wall = st.done ? st.t_end - st.t_start : 0;
        fprintf(o,
                ",\"window\":%" PRIu64 ",\"total_bytes\":%" PRIu64 ",\"wall_s\":%.6f"
                ",\"msgs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"mb_per_s\":%.2f"
                ",\"msgs_per_s\":%.2f",
                opt.window, opt.total, finite(wall), st.received, st.received_bytes,
                finite(wall > 0 ? (double)st.received_bytes / 1e6 / wall : 0),
                finite(wall > 0 ? (double)st.received / wall : 0));
        break;
    }
    case MODE_CONNS: {
        double connect_s = st.opened ? st.last_open - st.conns_start : 0;
        double wall = st.echoed ? st.last_echo - st.conns_start : 0;
        fprintf(o,
                ",\"conns\":%" PRIu64 ",\"pending\":%" PRIu64 ",\"wall_s\":%.6f"
                ",\"connected\":%" PRIu64 ",\"connect_s\":%.6f,\"conns_per_s\":%.1f"
                ",\"rss_before_kb\":%ld,\"rss_open_kb\":%ld,\"rss_per_conn_kb\":%.3f",
                opt.conns, opt.pending, finite(wall), st.echoed, finite(connect_s),
                finite(connect_s > 0 ? (double)st.echoed / connect_s : 0), st.rss_before_kb,
                st.rss_open_kb,
                finite(opt.conns ? (double)(st.hwm_open_kb - st.rss_before_kb) / (double)opt.conns
                                 : 0));
        break;
    }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(o, ",\"user_s\":%.3f,\"sys_s\":%.3f,\"peak_rss_kb\":%ld}\n",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6,
            proc_status_kb("VmHWM"));
    fflush(o);
    return ok ? 0 : 1;
}

/* --- options ------------------------------------------------------------------------------ */

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "bench_client: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr,
            "usage: bench_client --url URL --mode rtt|throughput|text|conns [--n N] [--warmup N]\n"
            "       [--size N] [--window N] [--total N] [--conns N] [--pending N]\n"
            "       [--deflate 0|1] [--ca FILE] [--rbuf N]\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!*s || *s == '-') {
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv) {
    bool have_size = false;
    opt.url = "ws://127.0.0.1:9001/";
    opt.mode_name = NULL;
    opt.n = 100000;
    opt.warmup = 1000;
    opt.window = 8;
    opt.total = 1073741824ULL;
    opt.conns = 10000;
    opt.pending = 1000;
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i];
        if (i + 1 >= argc) {
            return usage("option without a value", k);
        }
        const char *v = argv[i + 1];
        uint64_t *num = NULL;
        if (strcmp(k, "--url") == 0) {
            opt.url = v;
        } else if (strcmp(k, "--mode") == 0) {
            opt.mode_name = v;
        } else if (strcmp(k, "--ca") == 0) {
            opt.ca = v;
        } else if (strcmp(k, "--deflate") == 0) {
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                return usage("--deflate takes 0 or 1", v);
            }
            opt.deflate = v[0] == '1';
        } else if (strcmp(k, "--n") == 0) {
            num = &opt.n;
        } else if (strcmp(k, "--warmup") == 0) {
            num = &opt.warmup;
        } else if (strcmp(k, "--size") == 0) {
            num = &opt.size;
            have_size = true;
        } else if (strcmp(k, "--window") == 0) {
            num = &opt.window;
        } else if (strcmp(k, "--total") == 0) {
            num = &opt.total;
        } else if (strcmp(k, "--conns") == 0) {
            num = &opt.conns;
        } else if (strcmp(k, "--pending") == 0) {
            num = &opt.pending;
        } else if (strcmp(k, "--rbuf") == 0) {
            num = &opt.rbuf;
        } else {
            return usage("unknown option", k);
        }
        if (num && !parse_u64(v, num)) {
            return usage("not a number", v);
        }
    }
    if (!opt.mode_name) {
        return usage("--mode is required", NULL);
    }
    if (strcmp(opt.mode_name, "rtt") == 0) {
        opt.mode = MODE_RTT;
    } else if (strcmp(opt.mode_name, "throughput") == 0) {
        opt.mode = MODE_THROUGHPUT;
    } else if (strcmp(opt.mode_name, "text") == 0) {
        opt.mode = MODE_TEXT;
    } else if (strcmp(opt.mode_name, "conns") == 0) {
        opt.mode = MODE_CONNS;
    } else {
        return usage("unknown mode", opt.mode_name);
    }
    if (!have_size) {
        opt.size = (opt.mode == MODE_RTT || opt.mode == MODE_CONNS) ? 64 : 1048576;
    }
    if ((opt.mode == MODE_THROUGHPUT || opt.mode == MODE_TEXT) &&
        (opt.size == 0 || opt.window == 0 || opt.total < opt.size)) {
        return usage("need --size > 0, --window > 0 and --total >= --size", NULL);
    }
    if (opt.mode == MODE_RTT && opt.n == 0) {
        return usage("need --n > 0", NULL);
    }
    if (opt.mode == MODE_CONNS && (opt.conns == 0 || opt.pending == 0)) {
        return usage("need --conns > 0 and --pending > 0", NULL);
    }
    return 0;
}

/* --- main --------------------------------------------------------------------------------- */

/* Runs the loop until every connection has reported on_close; after a failure, 5 s at most. */
static void run_until_closed(void) {
    while (wsc_context_connection_count(st.ctx) > 0) {
        if (st.failed && now_s() - st.fail_at > 5.0) {
            break;
        }
        wsc_result r = wsc_service(st.ctx, 100);
        if (r != WSC_OK) {
            fail("wsc_service: %s", wsc_result_str(r));
            break;
        }
    }
}

static void run_conns(void) {
    wsc_callbacks cb = {0};
    cb.on_open = conns_on_open;
    cb.on_message = conns_on_message;
    cb.on_error = on_error;
    cb.on_close = conns_on_close;
    st.handles = calloc(opt.conns, sizeof *st.handles);
    cstate = calloc(opt.conns, sizeof *cstate);
    if (!st.handles || !cstate) {
        fail("out of memory");
        return;
    }
    st.rss_before_kb = proc_status_kb("VmRSS");
    st.conns_start = now_s();
    while (!st.failed && st.echoed < opt.conns) {
        while (st.started_conns < opt.conns && st.in_handshake < opt.pending) {
            uint64_t i = st.started_conns;
            wsc_result r = wsc_connect(st.ctx, opt.url, &conn_opts, &cb, (void *)(uintptr_t)i,
                                       &st.handles[i]);
            if (r != WSC_OK) {
                fail("wsc_connect: %s: %s", wsc_result_str(r), wsc_last_error());
                break;
            }
            st.started_conns++;
            st.in_handshake++;
        }
        if (st.failed) {
            break;
        }
        wsc_result r = wsc_service(st.ctx, 100);
        if (r != WSC_OK) {
            fail("wsc_service: %s", wsc_result_str(r));
        }
    }
    if (!st.failed) {
        st.rss_open_kb = proc_status_kb("VmRSS");
        st.hwm_open_kb = proc_status_kb("VmHWM");
        /* The kernel updates VmHWM lazily; it can lag VmRSS by a few pages. */
        if (st.hwm_open_kb < st.rss_open_kb) {
            st.hwm_open_kb = st.rss_open_kb;
        }
        st.done = true;
    }
    for (uint64_t i = 0; i < st.started_conns; i++) {
        if (!cstate[i].closed) {
            wsc_close(st.handles[i], WSC_CLOSE_NORMAL, NULL);
        }
    }
    if (!st.failed) {
        st.fail_at = now_s(); /* the closing gets the same 5 s as after a failure */
    }
    while (wsc_context_connection_count(st.ctx) > 0 && now_s() - st.fail_at < 5.0) {
        if (wsc_service(st.ctx, 100) != WSC_OK) {
            break;
        }
    }
    for (uint64_t i = 0; i < st.started_conns; i++) {
        wsc_connection_free(st.handles[i]);
    }
}

int main(int argc, char **argv) {
    int rc = parse_args(argc, argv);
    if (rc) {
        return rc;
    }
    raise_nofile();
    st.is_text = opt.mode != MODE_THROUGHPUT;
    conn_opts.deflate_disable = !opt.deflate;
    conn_opts.tls_ca_file = opt.ca; /* NULL: the system's trust store */
    /* Each message compressed on its own both ways, as the echo server (which echoes
     * compressed frames verbatim) accepts it. */
    static const wsc_deflate_offer both_ways_alone = { true, true, 0, 0 };
    if (opt.deflate) {
        conn_opts.deflate_offers = &both_ways_alone;
        conn_opts.deflate_offer_count = 1;
    }
    st.payload = make_payload(opt.size, st.is_text);
    if (opt.mode == MODE_RTT) {
        st.samples = calloc(opt.n, sizeof *st.samples);
    }
    if (!st.payload || (opt.mode == MODE_RTT && !st.samples)) {
        fail("out of memory");
        return finish();
    }
    wsc_context_options copts = {0};
    copts.read_buffer_size = (size_t)opt.rbuf;
    wsc_result r = wsc_context_new(&copts, &st.ctx);
    if (r != WSC_OK) {
        fail("wsc_context_new: %s: %s", wsc_result_str(r), wsc_last_error());
        return finish();
    }
    if (opt.mode == MODE_CONNS) {
        run_conns();
    } else {
        st.msgs = opt.total / opt.size;
        wsc_callbacks cb = {0};
        cb.on_error = on_error;
        cb.on_close = on_close;
        if (opt.mode == MODE_RTT) {
            cb.on_open = rtt_on_open;
            cb.on_message = rtt_on_message;
        } else {
            cb.on_open = tp_on_open;
            cb.on_message = tp_on_message;
            cb.on_writable = tp_on_writable;
        }
        r = wsc_connect(st.ctx, opt.url, &conn_opts, &cb, NULL, NULL);
        if (r != WSC_OK) {
            fail("wsc_connect: %s: %s", wsc_result_str(r), wsc_last_error());
        } else {
            run_until_closed();
        }
    }
    wsc_context_free(st.ctx);
    rc = finish();
    free(st.payload);
    free(st.samples);
    free(st.handles);
    free(cstate);
    return rc;
}
