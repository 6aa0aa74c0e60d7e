/*
 * lws_client: the benchmark client of bench/README.md on libwebsockets (written against
 * 4.1.6), to compare wsc with. Same options, same JSON keys, "client":"libwebsockets".
 *
 * libwebsockets idioms, as its documentation asks: one context and one service loop; writes
 * only from LWS_CALLBACK_CLIENT_WRITEABLE (a send is requested with lws_callback_on_writable),
 * one lws_write per WRITEABLE callback into a buffer with LWS_PRE bytes of headroom (lws masks
 * it in place, so each message is copied in first); messages arrive in pieces of at most the
 * rx buffer and are reassembled here; UTF-8 is validated by lws (VALIDATE_UTF8).
 * In rtt mode a round trip is timed from the lws_callback_on_writable request, the moment an
 * application decides to send.
 *
 * Extra option: --rbuf N (default 65536): the protocol's rx_buffer_size and the context's
 * pt_serv_buf_size (lws' defaults are 4096).
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

#include <libwebsockets.h>

enum mode { MODE_RTT, MODE_THROUGHPUT, MODE_TEXT, MODE_CONNS };

static struct {
    const char *url;
    enum mode mode;
    const char *mode_name;
    uint64_t n, warmup, size, window, total, conns, pending, rbuf;
    int deflate;
    const char *ca;
} opt;

/* One connection: the message being reassembled, and what became of it. */
struct conn {
    struct lws *wsi;
    uint8_t *buf;
    size_t len, cap;
    bool open, echoed, ended, closing, want_send;
};

static struct {
    struct lws_context *ctx;
    uint8_t *payload; /* the pristine payload */
    uint8_t *wbuf;    /* LWS_PRE + size: what lws_write masks in place */
    bool is_text;
    char error[512];
    bool failed, done;
    double fail_at;
    struct conn *conns;
    uint64_t nconns;
    /* rtt */
    uint64_t rtt_count;
    double send_at, rtt_start, rtt_end;
    double *samples;
    /* throughput / text */
    uint64_t msgs, sent, received, received_bytes;
    double t_start, t_end;
    bool started;
    /* conns */
    uint64_t started_conns, in_handshake, opened, echoed, ended;
    double conns_start, last_open, last_echo;
    long rss_before_kb, rss_open_kb, hwm_open_kb;
} st;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
            fprintf(stderr, "lws_client: setrlimit(NOFILE): %s\n", strerror(errno));
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

/* Asks for a WRITEABLE callback to close the connection from there. */
static void request_close(struct conn *c) {
    if (c->wsi && !c->ended && !c->closing) {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
    }
}

static int write_payload(struct lws *wsi) {
    memcpy(st.wbuf + LWS_PRE, st.payload, opt.size);
    int n = lws_write(wsi, st.wbuf + LWS_PRE, opt.size, st.is_text ? LWS_WRITE_TEXT
                                                                   : LWS_WRITE_BINARY);
    if (n < (int)opt.size) {
        fail("lws_write returned %d", n);
        return -1;
    }
    return 0;
}

static bool can_send_more(void) {
    return !st.failed && st.sent < st.msgs && st.sent - st.received < opt.window;
}

/* A whole message arrived on `c`. */
static void on_message(struct conn *c, bool is_text) {
    const uint8_t *data = c->buf;
    size_t len = c->len;
    c->len = 0;
    if (st.failed || st.done) {
        return;
    }
    switch (opt.mode) {
    case MODE_RTT: {
        double t = now_s();
        if (len != opt.size || !is_text) {
            fail("bad echo length: got %zu bytes (%s), expected %" PRIu64 " (text)", len,
                 is_text ? "text" : "binary", opt.size);
        } else if (memcmp(data, st.payload, len) != 0) {
            fail("echo mismatch in round trip %" PRIu64, st.rtt_count);
        }
        if (st.failed) {
            request_close(c);
            return;
        }
        if (st.rtt_count >= opt.warmup) {
            st.samples[st.rtt_count - opt.warmup] = t - st.send_at;
        }
        st.rtt_count++;
        if (st.rtt_count == opt.warmup + opt.n) {
            st.rtt_end = t;
            st.done = true;
            request_close(c);
            return;
        }
        st.send_at = now_s();
        if (st.rtt_count == opt.warmup) {
            st.rtt_start = st.send_at;
        }
        c->want_send = true;
        lws_callback_on_writable(c->wsi);
        return;
    }
    case MODE_THROUGHPUT:
    case MODE_TEXT:
        if (len != opt.size || is_text != st.is_text) {
            fail("bad echo length: got %zu bytes (%s), expected %" PRIu64 " (%s)", len,
                 is_text ? "text" : "binary", opt.size, st.is_text ? "text" : "binary");
            request_close(c);
            return;
        }
        st.received++;
        st.received_bytes += len;
        if (st.received == st.msgs) {
            st.t_end = now_s();
            st.done = true;
            request_close(c);
            return;
        }
        if (can_send_more()) {
            lws_callback_on_writable(c->wsi);
        }
        return;
    case MODE_CONNS:
        if (c->echoed) {
            fail("echo mismatch: a second message on one connection");
        } else if (len != opt.size || !is_text) {
            fail("bad echo length: got %zu bytes, expected %" PRIu64, len, opt.size);
        } else if (memcmp(data, st.payload, len) != 0) {
            fail("echo mismatch");
        } else {
            c->echoed = true;
            st.echoed++;
            st.last_echo = now_s();
        }
        return;
    }
}

static void conn_ended(struct conn *c) {
    if (c->ended) {
        return;
    }
    if (!c->open) {
        st.in_handshake--;
    }
    c->ended = true;
    c->wsi = NULL;
    st.ended++;
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    (void)user;
    struct conn *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            fail("connection error: %s", in ? (const char *)in : "(no message)");
            conn_ended(c);
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c) {
            break;
        }
        c->open = true;
        if (opt.mode == MODE_CONNS) {
            st.in_handshake--;
            st.opened++;
            st.last_open = now_s();
            c->want_send = true;
            lws_callback_on_writable(wsi);
        } else if (opt.mode == MODE_RTT) {
            st.send_at = now_s();
            if (opt.warmup == 0) {
                st.rtt_start = st.send_at;
            }
            c->want_send = true;
            lws_callback_on_writable(wsi);
        } else {
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c) {
            break;
        }
        if (c->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (opt.mode == MODE_THROUGHPUT || opt.mode == MODE_TEXT) {
            if (can_send_more()) {
                if (!st.started) {
                    st.started = true;
                    st.t_start = now_s();
                }
                if (write_payload(wsi) != 0) {
                    return -1;
                }
                st.sent++;
                if (can_send_more()) {
                    lws_callback_on_writable(wsi);
                }
            }
        } else if (c->want_send) {
            c->want_send = false;
            if (write_payload(wsi) != 0) {
                return -1;
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!c) {
            break;
        }
        if (lws_is_first_fragment(wsi)) {
            c->len = 0;
        }
        if (c->len + len > c->cap) {
            size_t cap = c->cap ? c->cap : 4096;
            while (cap < c->len + len) {
                cap *= 2;
            }
            uint8_t *b = realloc(c->buf, cap);
            if (!b) {
                fail("out of memory");
                return -1;
            }
            c->buf = b;
            c->cap = cap;
        }
        memcpy(c->buf + c->len, in, len);
        c->len += len;
        if (lws_is_final_fragment(wsi)) {
            on_message(c, !lws_frame_is_binary(wsi));
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            if (!st.done && !st.failed) {
                fail("connection closed before the end");
            }
            conn_ended(c);
        }
        break;
    default:
        break;
    }
    return 0;
}

static struct lws_protocols protocols[] = {
    {"bench", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

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
    fprintf(o, "{\"client\":\"libwebsockets\",\"client_version\":");
    json_string(o, lws_get_library_version());
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
                ",\"n\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"rtt_from\":\"callback_on_writable\""
                ",\"wall_s\":%.6f,\"msgs_per_s\":%.1f"
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
    fprintf(stderr, "lws_client: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr,
            "usage: lws_client --url URL --mode rtt|throughput|text|conns [--n N] [--warmup N]\n"
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
    opt.n = 100000;
    opt.warmup = 1000;
    opt.window = 8;
    opt.total = 1073741824ULL;
    opt.conns = 10000;
    opt.pending = 1000;
    opt.rbuf = 65536;
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
    if (opt.rbuf < 4096) {
        opt.rbuf = 4096;
    }
    return 0;
}

/* --- main --------------------------------------------------------------------------------- */

static char host[256], path[1024];
static int port;
static bool secure;

static int parse_url(void) {
    char copy[1300];
    const char *prot, *address, *p;
    snprintf(copy, sizeof copy, "%s", opt.url);
    if (lws_parse_uri(copy, &prot, &address, &port, &p)) {
        return -1;
    }
    secure = strcmp(prot, "wss") == 0;
    if (!secure && strcmp(prot, "ws") != 0) {
        return -1;
    }
    snprintf(host, sizeof host, "%s", address);
    snprintf(path, sizeof path, "/%s", p);
    return 0;
}

static bool connect_one(uint64_t i) {
    struct conn *c = &st.conns[i];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = st.ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.ssl_connection = secure ? LCCSCF_USE_SSL : 0;
    ci.protocol = NULL;
    ci.local_protocol_name = protocols[0].name;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    st.in_handshake++;
    st.started_conns++;
    if (!lws_client_connect_via_info(&ci)) {
        /* CONNECTION_ERROR may already have been called (and counted) */
        if (!c->ended) {
            fail("lws_client_connect_via_info failed");
            conn_ended(c);
        }
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    int rc = parse_args(argc, argv);
    if (rc) {
        return rc;
    }
    raise_nofile();
    lws_set_log_level(LLL_ERR, NULL);
    st.is_text = opt.mode != MODE_THROUGHPUT;
    if (opt.deflate) {
        fail("--deflate 1 is not implemented in this client");
        return finish();
    }
    if (parse_url() != 0) {
        fail("bad url");
        return finish();
    }
    st.payload = make_payload(opt.size, st.is_text);
    st.wbuf = malloc(LWS_PRE + opt.size);
    st.nconns = opt.mode == MODE_CONNS ? opt.conns : 1;
    st.conns = calloc(st.nconns, sizeof *st.conns);
    if (opt.mode == MODE_RTT) {
        st.samples = calloc(opt.n, sizeof *st.samples);
    }
    if (!st.payload || !st.wbuf || !st.conns || (opt.mode == MODE_RTT && !st.samples)) {
        fail("out of memory");
        return finish();
    }
    protocols[0].rx_buffer_size = (size_t)opt.rbuf;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (secure) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = opt.ca;
    }
    info.pt_serv_buf_size = (unsigned int)opt.rbuf;
    info.count_threads = 1;
    info.timeout_secs = 10;
    st.ctx = lws_create_context(&info);
    if (!st.ctx) {
        fail("lws_create_context failed");
        return finish();
    }
    st.msgs = opt.total / (opt.size ? opt.size : 1);

    if (opt.mode == MODE_CONNS) {
        st.rss_before_kb = proc_status_kb("VmRSS");
        st.conns_start = now_s();
        while (!st.failed && st.echoed < opt.conns) {
            while (!st.failed && st.started_conns < opt.conns && st.in_handshake < opt.pending) {
                connect_one(st.started_conns);
            }
            if (st.failed) {
                break;
            }
            lws_service(st.ctx, 0);
        }
        if (!st.failed) {
            st.rss_open_kb = proc_status_kb("VmRSS");
            st.hwm_open_kb = proc_status_kb("VmHWM");
            if (st.hwm_open_kb < st.rss_open_kb) {
                st.hwm_open_kb = st.rss_open_kb;
            }
            st.done = true;
        }
        for (uint64_t i = 0; i < st.started_conns; i++) {
            request_close(&st.conns[i]);
        }
    } else {
        connect_one(0);
    }
    double close_start = 0;
    while (st.ended < st.started_conns) {
        double t = now_s();
        if (st.failed && t - st.fail_at > 5.0) {
            break;
        }
        if (st.done && opt.mode == MODE_CONNS) {
            if (close_start == 0) {
                close_start = t;
            } else if (t - close_start > 5.0) {
                break;
            }
        }
        lws_service(st.ctx, 0);
    }
    lws_context_destroy(st.ctx);
    rc = finish();
    for (uint64_t i = 0; i < st.nconns; i++) {
        free(st.conns[i].buf);
    }
    free(st.conns);
    free(st.payload);
    free(st.wbuf);
    free(st.samples);
    return rc;
}
