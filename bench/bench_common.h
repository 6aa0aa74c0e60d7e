/*
 * bench_common.h: what the benchmark clients (bench_client, lws_client, tcp_client) share:
 * the options of bench/README.md and their parsing, the payloads, the run's state and the
 * checks of an echo, the statistics and the JSON line, and the rlimit/rusage/VmRSS helpers.
 *
 * Header only, for one translation unit per client: everything is `static inline`, so a client
 * that leaves a helper unused (tcp_client uses few of them) compiles without a warning.
 */
#ifndef WSC_BENCH_COMMON_H
#define WSC_BENCH_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

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

/* --- options ------------------------------------------------------------------------------ */

enum bench_mode { MODE_RTT, MODE_THROUGHPUT, MODE_TEXT, MODE_CONNS, MODE_TICKS, MODE_BIGMSG };

struct bench_opts {
    const char *url;
    enum bench_mode mode;
    const char *mode_name;
    uint64_t n, warmup, size, window, total, conns, pending, rbuf;
    int deflate;
    int nocopy, check_text, stream; /* wsc's own options; -1 in other clients */
    const char *ca;
};

/* Prints `PROG: MSG[: ARG]` and the usage on stderr; returns the exit code of bad options, 2. */
static inline int bench_usage(const char *prog, const char *msg, const char *arg) {
    fprintf(stderr, "%s: %s%s%s\n", prog, msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr,
            "usage: %s --url URL --mode rtt|throughput|text|conns|ticks [--n N] [--warmup N]\n"
            "       [--size N] [--window N] [--total N] [--conns N] [--pending N]\n"
            "       [--deflate 0|1] [--ca FILE] [--rbuf N]\n"
            "       [--nocopy 0|1] [--check-text 0|1] [--stream 0|1] (wsc only)\n"
            "       --mode bigmsg (wsc only): one message of --total bytes from the server\n",
            prog);
    return 2;
}

static inline bool bench_parse_u64(const char *s, uint64_t *out) {
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

/* The options of bench/README.md, with its defaults; --rbuf defaults to `rbuf_default`.
 * `wsc`: also wsc's --nocopy and --check-text (both 1 by default).
 * Returns 0, or 2 after a message on stderr. */
static inline int bench_parse_args(struct bench_opts *o, int argc, char **argv, const char *prog,
                                   uint64_t rbuf_default, bool wsc) {
    bool have_size = false, have_total = false;
    o->url = "ws://127.0.0.1:9001/";
    o->mode_name = NULL;
    o->n = 100000;
    o->warmup = 1000;
    o->window = 8;
    o->total = 1073741824ULL;
    o->conns = 10000;
    o->pending = 1000;
    o->rbuf = rbuf_default;
    o->nocopy = o->check_text = wsc ? 1 : -1;
    o->stream = wsc ? 0 : -1;
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i];
        if (i + 1 >= argc) {
            return bench_usage(prog, "option without a value", k);
        }
        const char *v = argv[i + 1];
        uint64_t *num = NULL;
        if (strcmp(k, "--url") == 0) {
            o->url = v;
        } else if (strcmp(k, "--mode") == 0) {
            o->mode_name = v;
        } else if (strcmp(k, "--ca") == 0) {
            o->ca = v;
        } else if (strcmp(k, "--deflate") == 0) {
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                return bench_usage(prog, "--deflate takes 0 or 1", v);
            }
            o->deflate = v[0] == '1';
        } else if (wsc && (strcmp(k, "--nocopy") == 0 || strcmp(k, "--check-text") == 0 ||
                           strcmp(k, "--stream") == 0)) {
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                return bench_usage(prog, "takes 0 or 1", k);
            }
            *(strcmp(k, "--nocopy") == 0       ? &o->nocopy
              : strcmp(k, "--check-text") == 0 ? &o->check_text
                                               : &o->stream) = v[0] == '1';
        } else if (strcmp(k, "--n") == 0) {
            num = &o->n;
        } else if (strcmp(k, "--warmup") == 0) {
            num = &o->warmup;
        } else if (strcmp(k, "--size") == 0) {
            num = &o->size;
            have_size = true;
        } else if (strcmp(k, "--window") == 0) {
            num = &o->window;
        } else if (strcmp(k, "--total") == 0) {
            num = &o->total;
            have_total = true;
        } else if (strcmp(k, "--conns") == 0) {
            num = &o->conns;
        } else if (strcmp(k, "--pending") == 0) {
            num = &o->pending;
        } else if (strcmp(k, "--rbuf") == 0) {
            num = &o->rbuf;
        } else {
            return bench_usage(prog, "unknown option", k);
        }
        if (num && !bench_parse_u64(v, num)) {
            return bench_usage(prog, "not a number", v);
        }
    }
    if (!o->mode_name) {
        return bench_usage(prog, "--mode is required", NULL);
    }
    if (strcmp(o->mode_name, "rtt") == 0) {
        o->mode = MODE_RTT;
    } else if (strcmp(o->mode_name, "throughput") == 0) {
        o->mode = MODE_THROUGHPUT;
    } else if (strcmp(o->mode_name, "text") == 0) {
        o->mode = MODE_TEXT;
    } else if (strcmp(o->mode_name, "conns") == 0) {
        o->mode = MODE_CONNS;
    } else if (strcmp(o->mode_name, "ticks") == 0) {
        o->mode = MODE_TICKS;
    } else if (wsc && strcmp(o->mode_name, "bigmsg") == 0) {
        o->mode = MODE_BIGMSG;
        o->stream = 1;
        if (!have_total) {
            o->total = 4294967296ULL;
        }
    } else {
        return bench_usage(prog, "unknown mode", o->mode_name);
    }
    if (!have_size) {
        o->size = (o->mode == MODE_RTT || o->mode == MODE_CONNS) ? 64
                  : o->mode == MODE_TICKS                         ? 0 /* sizes vary */
                                                                  : 1048576;
    }
    if ((o->mode == MODE_THROUGHPUT || o->mode == MODE_TEXT) &&
        (o->size == 0 || o->window == 0 || o->total < o->size)) {
        return bench_usage(prog, "need --size > 0, --window > 0 and --total >= --size", NULL);
    }
    if (o->stream == 1 && (o->mode == MODE_RTT || o->mode == MODE_CONNS)) {
        return bench_usage(prog, "--stream 1 is for the throughput, text and bigmsg modes", NULL);
    }
    if ((o->mode == MODE_RTT || o->mode == MODE_TICKS) && o->n == 0) {
        return bench_usage(prog, "need --n > 0", NULL);
    }
    if (o->mode == MODE_TICKS && o->window == 0) {
        return bench_usage(prog, "need --window > 0", NULL);
    }
    if (o->mode == MODE_CONNS && (o->conns == 0 || o->pending == 0)) {
        return bench_usage(prog, "need --conns > 0 and --pending > 0", NULL);
    }
    return 0;
}

/* --- process helpers ---------------------------------------------------------------------- */

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 if absent. */
static inline long proc_status_kb(const char *field) {
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

/* Raises the soft RLIMIT_NOFILE to the hard limit; a failure is only said on stderr. */
static inline void raise_nofile(const char *prog) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "%s: setrlimit(NOFILE): %s\n", prog, strerror(errno));
        }
    }
}

/* The payload of bench/README.md: text (the UTF-8 pattern, then 'x') or binary (i & 0xff). */
static inline uint8_t *make_payload(uint64_t size, bool text) {
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

/* The ticks payload (bench/README.md, "Payloads"): TICKS_DISTINCT JSON market-data ticks of
 * about 200 bytes, made by one deterministic rule; message i of a run is tick i % TICKS_DISTINCT.
 * A table made once, so that making the messages costs nothing during the run. */
#define TICKS_DISTINCT 1024

struct bench_ticks {
    char *data;                       /* the ticks, one after the other, no separator */
    size_t off[TICKS_DISTINCT + 1];   /* tick k is data[off[k] .. off[k + 1]) */
};

/* The generator of the rule: a 64-bit LCG (Knuth's MMIX constants), the high 31 bits out. */
static inline uint32_t ticks_next(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

static inline bool make_ticks(struct bench_ticks *t) {
    static const char *const symbols[16] = {"AAPL", "MSFT", "GOOG", "AMZN", "META", "NVDA",
                                            "TSLA", "JPM",  "V",    "XOM",  "BRK.B", "UNH",
                                            "JNJ",  "WMT",  "PG",   "MA"};
    t->data = malloc(TICKS_DISTINCT * 256);
    if (!t->data) {
        return false;
    }
    uint64_t state = 42;
    size_t at = 0;
    for (uint32_t k = 0; k < TICKS_DISTINCT; k++) {
        const char *symbol = symbols[ticks_next(&state) % 16];
        uint32_t bid = 10000 + ticks_next(&state) % 90000; /* cents */
        uint32_t ask = bid + 1 + ticks_next(&state) % 20;
        uint32_t bid_size = 1 + ticks_next(&state) % 5000;
        uint32_t ask_size = 1 + ticks_next(&state) % 5000;
        uint32_t last = bid + ticks_next(&state) % (ask - bid + 1);
        uint32_t volume = ticks_next(&state) % 10000000;
        uint64_t ts = 1700000000000000000ULL + (uint64_t)k * 1000003ULL;
        t->off[k] = at;
        int n = snprintf(t->data + at, 256,
                         "{\"type\":\"tick\",\"seq\":%" PRIu32 ",\"symbol\":\"%s\","
                         "\"exchange\":\"XNAS\",\"ts\":%" PRIu64 ",\"bid\":%" PRIu32
                         ".%02" PRIu32 ",\"ask\":%" PRIu32 ".%02" PRIu32 ",\"bid_size\":%" PRIu32
                         ",\"ask_size\":%" PRIu32 ",\"last\":%" PRIu32 ".%02" PRIu32
                         ",\"volume\":%" PRIu32 ",\"currency\":\"USD\"}",
                         k, symbol, ts, bid / 100, bid % 100, ask / 100, ask % 100, bid_size,
                         ask_size, last / 100, last % 100, volume);
        at += (size_t)n;
    }
    t->off[TICKS_DISTINCT] = at;
    return true;
}

/* Message i of a ticks run, and its length. */
static inline const uint8_t *bench_tick(const struct bench_ticks *t, uint64_t i, size_t *len) {
    size_t k = (size_t)(i % TICKS_DISTINCT);
    *len = t->off[k + 1] - t->off[k];
    return (const uint8_t *)t->data + t->off[k];
}

/* --- the state of a run ------------------------------------------------------------------- */

struct bench_state {
    uint8_t *payload;
    bool is_text;
    char error[512];
    bool failed, done;
    double fail_at;
    /* rtt */
    uint64_t rtt_count;
    double send_at, rtt_start, rtt_end;
    double *samples;
    /* throughput / text / ticks */
    uint64_t msgs, sent, received, received_bytes;
    struct bench_ticks ticks; /* ticks mode */
    uint64_t parts, message_bytes; /* streamed: parts seen, bytes of the message so far */
    double t_start, t_end;
    bool started;
    /* conns */
    uint64_t started_conns, in_handshake, opened, echoed, ended;
    double conns_start, last_open, last_echo;
    long rss_before_kb, rss_open_kb, hwm_open_kb;
};

/* The first failure wins; the loop then runs until the library reports the close (5 s max). */
static inline void bench_fail(struct bench_state *s, const char *fmt, ...) {
    if (s->failed) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    s->failed = true;
    s->fail_at = now_s();
}

/* rtt: the application is about to send the next round trip's message. */
static inline void bench_rtt_sending(const struct bench_opts *o, struct bench_state *s) {
    s->send_at = now_s();
    if (s->rtt_count == o->warmup) {
        s->rtt_start = s->send_at;
    }
}

/* rtt: the echo of a round trip arrived at time `t`. Returns true when the next round trip is
 * to be sent, false when the connection is to be closed (a failure, or the last round trip). */
static inline bool bench_rtt_echo(const struct bench_opts *o, struct bench_state *s,
                                  const uint8_t *data, size_t len, bool is_text, double t) {
    if (len != o->size || !is_text) {
        bench_fail(s, "bad echo length: got %zu bytes (%s), expected %" PRIu64 " (text)", len,
                   is_text ? "text" : "binary", o->size);
    } else if (memcmp(data, s->payload, len) != 0) {
        bench_fail(s, "echo mismatch in round trip %" PRIu64, s->rtt_count);
    }
    if (s->failed) {
        return false;
    }
    if (s->rtt_count >= o->warmup) {
        s->samples[s->rtt_count - o->warmup] = t - s->send_at;
    }
    s->rtt_count++;
    if (s->rtt_count == o->warmup + o->n) {
        s->rtt_end = t;
        s->done = true;
        return false;
    }
    return true;
}

/* throughput / text: an echoed message arrived. Returns true when sending goes on, false when
 * the connection is to be closed (a failure, or the last echo). */
static inline bool bench_tp_echo(const struct bench_opts *o, struct bench_state *s, size_t len,
                                 bool is_text) {
    if (len != o->size || is_text != s->is_text) {
        bench_fail(s, "bad echo length: got %zu bytes (%s), expected %" PRIu64 " (%s)", len,
                   is_text ? "text" : "binary", o->size, s->is_text ? "text" : "binary");
        return false;
    }
    s->received++;
    s->received_bytes += len;
    if (s->received == s->msgs) {
        s->t_end = now_s();
        s->done = true;
        return false;
    }
    return true;
}

/* ticks: an echoed message arrived; `data` NULL when only its length is known (streamed).
 * Echoes come in the order of the sends: the echo is checked against tick `received`.
 * Returns as bench_tp_echo. */
static inline bool bench_ticks_echo(struct bench_state *s, const uint8_t *data, size_t len,
                                    bool is_text) {
    size_t want_len;
    const uint8_t *want = bench_tick(&s->ticks, s->received, &want_len);
    if (len != want_len || !is_text) {
        bench_fail(s, "bad echo length: got %zu bytes (%s), expected %zu (text) for message %" PRIu64,
                   len, is_text ? "text" : "binary", want_len, s->received);
        return false;
    }
    if (data && memcmp(data, want, len) != 0) {
        bench_fail(s, "echo mismatch in message %" PRIu64, s->received);
        return false;
    }
    s->received++;
    s->received_bytes += len;
    if (s->received == s->msgs) {
        s->t_end = now_s();
        s->done = true;
        return false;
    }
    return true;
}

/* conns: every connection got its echo; reads VmRSS and VmHWM unless the run failed. */
static inline void bench_conns_all_open(struct bench_state *s) {
    if (!s->failed) {
        s->rss_open_kb = proc_status_kb("VmRSS");
        s->hwm_open_kb = proc_status_kb("VmHWM");
        /* The kernel updates VmHWM lazily; it can lag VmRSS by a few pages. */
        if (s->hwm_open_kb < s->rss_open_kb) {
            s->hwm_open_kb = s->rss_open_kb;
        }
        s->done = true;
    }
}

/* --- output ------------------------------------------------------------------------------- */

static inline void json_string(FILE *f, const char *s) {
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
static inline double finite(double x) { return isfinite(x) ? x : 0.0; }

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank on sorted samples (seconds), in microseconds. */
static inline double percentile_us(const double *sorted, uint64_t n, double p) {
    if (n == 0) {
        return 0;
    }
    uint64_t i = (uint64_t)llround(p / 100.0 * (double)(n - 1));
    return sorted[i] * 1e6;
}

/* The keys of the throughput and text modes, from "window" to "msgs_per_s". */
static inline void json_throughput(FILE *f, uint64_t window, uint64_t total, double wall,
                                   uint64_t msgs, uint64_t bytes) {
    fprintf(f,
            ",\"window\":%" PRIu64 ",\"total_bytes\":%" PRIu64 ",\"wall_s\":%.6f"
            ",\"msgs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"mb_per_s\":%.2f"
            ",\"msgs_per_s\":%.2f",
            window, total, finite(wall), msgs, bytes,
            finite(wall > 0 ? (double)bytes / 1e6 / wall : 0),
            finite(wall > 0 ? (double)msgs / wall : 0));
}

/* The last keys of every line (CPU time and peak RSS of the process), then the line's end. */
static inline void json_rusage_end(FILE *f) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(f, ",\"user_s\":%.3f,\"sys_s\":%.3f,\"peak_rss_kb\":%ld}\n",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6,
            proc_status_kb("VmHWM"));
}

/* Prints the JSON line of a WebSocket client's run on stdout and returns its exit code (0 when
 * ok, 1 otherwise). `rtt_extra` is a JSON fragment put after "warmup" in rtt mode ("" for
 * none). Sorts the rtt samples. */
static inline int bench_finish(const struct bench_opts *o, struct bench_state *s,
                               const char *client, const char *client_version,
                               const char *rtt_extra) {
    bool ok = !s->failed && s->done;
    if (!s->failed && !s->done) {
        snprintf(s->error, sizeof s->error, "the run did not complete");
    }
    FILE *f = stdout;
    fprintf(f, "{\"client\":\"%s\",\"client_version\":", client);
    json_string(f, client_version);
    fprintf(f, ",\"mode\":\"%s\",\"url\":", o->mode_name);
    json_string(f, o->url);
    fprintf(f, ",\"ok\":%s", ok ? "true" : "false");
    if (!ok) {
        fprintf(f, ",\"error\":");
        json_string(f, s->error);
    }
    fprintf(f, ",\"size\":%" PRIu64 ",\"deflate\":%d,\"rbuf\":%" PRIu64, o->size, o->deflate,
            o->rbuf);
    if (o->nocopy >= 0) {
        fprintf(f, ",\"nocopy\":%d,\"check_text\":%d,\"stream\":%d", o->nocopy, o->check_text,
                o->stream);
    }
    switch (o->mode) {
    case MODE_RTT: {
        uint64_t n = s->done ? o->n : (s->rtt_count > o->warmup ? s->rtt_count - o->warmup : 0);
        double wall = s->done ? s->rtt_end - s->rtt_start : 0;
        double sum = 0, max = 0;
        for (uint64_t i = 0; i < n; i++) {
            sum += s->samples[i];
            if (s->samples[i] > max) {
                max = s->samples[i];
            }
        }
        qsort(s->samples, n, sizeof *s->samples, cmp_double);
        fprintf(f, ",\"n\":%" PRIu64 ",\"warmup\":%" PRIu64 "%s", o->n, o->warmup, rtt_extra);
        fprintf(f,
                ",\"wall_s\":%.6f,\"msgs_per_s\":%.1f"
                ",\"p50_us\":%.2f,\"p99_us\":%.2f,\"mean_us\":%.2f,\"max_us\":%.2f",
                finite(wall), finite(wall > 0 ? (double)n / wall : 0),
                percentile_us(s->samples, n, 50), percentile_us(s->samples, n, 99),
                finite(n ? sum / (double)n * 1e6 : 0), max * 1e6);
        break;
    }
    case MODE_BIGMSG: {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double wall = s->done ? s->t_end - s->t_start : 0;
        fprintf(f,
                ",\"total_bytes\":%" PRIu64 ",\"wall_s\":%.6f,\"bytes\":%" PRIu64
                ",\"parts\":%" PRIu64 ",\"mb_per_s\":%.2f,\"ru_maxrss_kb\":%ld",
                o->total, finite(wall), s->received_bytes, s->parts,
                finite(wall > 0 ? (double)s->received_bytes / 1e6 / wall : 0), ru.ru_maxrss);
        break;
    }
    case MODE_THROUGHPUT:
    case MODE_TEXT:
        json_throughput(f, o->window, o->total, s->done ? s->t_end - s->t_start : 0, s->received,
                        s->received_bytes);
        break;
    case MODE_TICKS: {
        /* "bytes": the payload bytes echoed (before compression); the runner adds the bytes
         * of frames the echo server received to get the compression ratio. */
        double wall = s->done ? s->t_end - s->t_start : 0;
        fprintf(f, ",\"n\":%" PRIu64, o->n);
        uint64_t total = o->n / TICKS_DISTINCT * s->ticks.off[TICKS_DISTINCT] +
                         s->ticks.off[o->n % TICKS_DISTINCT];
        json_throughput(f, o->window, total, wall, s->received,
                        s->received_bytes);
        break;
    }
    case MODE_CONNS: {
        double connect_s = s->opened ? s->last_open - s->conns_start : 0;
        double wall = s->echoed ? s->last_echo - s->conns_start : 0;
        fprintf(f,
                ",\"conns\":%" PRIu64 ",\"pending\":%" PRIu64 ",\"wall_s\":%.6f"
                ",\"connected\":%" PRIu64 ",\"connect_s\":%.6f,\"conns_per_s\":%.1f"
                ",\"rss_before_kb\":%ld,\"rss_open_kb\":%ld,\"rss_per_conn_kb\":%.3f",
                o->conns, o->pending, finite(wall), s->echoed, finite(connect_s),
                finite(connect_s > 0 ? (double)s->echoed / connect_s : 0), s->rss_before_kb,
                s->rss_open_kb,
                finite(o->conns ? (double)(s->hwm_open_kb - s->rss_before_kb) / (double)o->conns
                                : 0));
        break;
    }
    }
    json_rusage_end(f);
    fflush(f);
    return ok ? 0 : 1;
}

#endif /* WSC_BENCH_COMMON_H */
