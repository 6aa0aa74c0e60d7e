/*
 * soak: many connections from one wsc context, each exchanging many messages with an echo
 * server that drops some of them with their connection, so that reconnect runs all the time.
 * It checks the library's bookkeeping rather than its speed: every connection's last on_close
 * comes exactly once and nothing after it, the callbacks come in a possible order, every echo
 * is right, every lent payload is released, and the process ends with the descriptors it
 * started with. It samples its RSS every second and prints the slope after warm-up.
 *
 *   soak [--url ws://127.0.0.1:9001/] [--connections 10000] [--messages 1000] [--drop 1]
 *        [--seconds 900] [--pending 1000] [--reconnect-delay 10] [--seed 1]
 *
 * --connections N    connections, all from one context and one thread;
 * --messages M       echoed messages each connection needs (send one, await its echo, repeat;
 *                    a message lost to a drop is sent again after the reconnect);
 * --drop PERCENT     the drop rate the server was started with (bench/echo-server --drop):
 *                    only printed, and used for the expected number of reconnects;
 * --seconds S        time limit: then every connection is closed, the run counts as failed;
 * --pending P        first connects in progress at once (reconnects are the library's);
 * --reconnect-delay  reconnect_min_delay_ms (the first wait after a drop; jitter takes up
 *                    to half off);
 * --seed N           the mix of message sizes and types.
 *
 * Messages: sizes of every frame-length encoding (80% 0-125 bytes, 18% 126-4096, 1.9%
 * 4097-65535, 0.1% 65536-262144), text (the UTF-8 pattern of bench/README.md) or binary, a
 * quarter of them lent with wsc_send_*_nocopy (their releases are counted), the rest copied.
 *
 * Prints the samples ("sample t_s=... rss_kb=... heap_kb=... fds=..."), then the RSS slope
 * (and that of the bytes held from malloc, glibc's mallinfo2, which fragmentation does not
 * move), the descriptor counts and the accounting. Exits 0 when every check passed, 1
 * otherwise, 2 on bad options.
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <dirent.h>
#include <unistd.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include <wsc.h>

#define MAX_SIZE 262144u
#define MAX_REPORTED 10 /* violations printed in full; the rest are counted */

/* --- options ------------------------------------------------------------------------------ */

static struct {
    const char *url;
    uint64_t connections, messages, seconds, pending, reconnect_delay, seed;
    double drop;
} opt = {"ws://127.0.0.1:9001/", 10000, 1000, 900, 1000, 10, 1, 1.0};

static int usage(const char *msg, const char *arg) {
    fprintf(stderr,
            "soak: %s%s\nusage: soak [--url URL] [--connections N] [--messages M] "
            "[--drop PERCENT] [--seconds S] [--pending P] [--reconnect-delay MS] [--seed N]\n",
            msg, arg ? arg : "");
    return 2;
}

static int parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i];
        if (i + 1 >= argc) {
            return usage("missing value for ", k);
        }
        const char *v = argv[i + 1];
        uint64_t *num = NULL;
        if (strcmp(k, "--url") == 0) {
            opt.url = v;
        } else if (strcmp(k, "--drop") == 0) {
            char *end;
            opt.drop = strtod(v, &end);
            if (*end || !(opt.drop >= 0 && opt.drop <= 100)) {
                return usage("--drop is a percentage: ", v);
            }
        } else if (strcmp(k, "--connections") == 0) {
            num = &opt.connections;
        } else if (strcmp(k, "--messages") == 0) {
            num = &opt.messages;
        } else if (strcmp(k, "--seconds") == 0) {
            num = &opt.seconds;
        } else if (strcmp(k, "--pending") == 0) {
            num = &opt.pending;
        } else if (strcmp(k, "--reconnect-delay") == 0) {
            num = &opt.reconnect_delay;
        } else if (strcmp(k, "--seed") == 0) {
            num = &opt.seed;
        } else {
            return usage("unknown option ", k);
        }
        if (num && !bench_parse_u64(v, num)) {
            return usage("bad number: ", v);
        }
    }
    if (opt.connections == 0 || opt.connections > 1000000 || opt.messages == 0 ||
        opt.messages > UINT32_MAX || opt.pending == 0 || opt.seconds == 0 ||
        opt.reconnect_delay == 0 || opt.reconnect_delay > 60000) {
        return usage("out of range: connections 1-1000000, messages, pending, seconds and "
                     "reconnect-delay (ms, up to 60000) at least 1",
                     NULL);
    }
    return 0;
}

/* --- one connection ----------------------------------------------------------------------- */

/*
 * Where a connection is, as its callbacks say: each callback is checked against it.
 * NOT_STARTED -> CONNECTING (wsc_connect) -> OPEN (on_open) -> WAITING (an on_close with a retry
 * scheduled) -> CONNECTING (on_reconnect) ... -> DONE (the on_close with no retry: the last).
 */
enum conn_state { NOT_STARTED, CONNECTING, OPEN, WAITING, DONE };
static const char *const state_names[] = {"not started", "connecting", "open", "waiting",
                                          "done"};

struct soak_conn {
    wsc_connection *handle;
    uint32_t index;
    uint32_t echoed;         /* messages echoed so far (the target is opt.messages) */
    uint8_t state;           /* enum conn_state */
    bool in_flight;          /* message number `echoed` sent, its echo awaited */
    bool ever_opened;        /* for the --pending count of first connects */
    bool close_requested;    /* wsc_close called */
    bool closed_during_wait; /* ... while WAITING: one on_close more than attempts */
    uint32_t finals;         /* on_close with no retry after it: must end at 1 */
};

static struct soak_conn *conns;
static wsc_context *ctx;
static wsc_connect_options conn_opts = WSC_CONNECT_OPTIONS_INIT;
static wsc_callbacks callbacks = WSC_CALLBACKS_INIT;
static uint8_t *binary_payload; /* MAX_SIZE + 256 bytes, byte i = i & 0xff */
static uint8_t *text_payload;   /* MAX_SIZE bytes of the UTF-8 pattern */

static struct {
    uint64_t started, start_failures, pending_now, open_now;
    uint64_t on_open, on_error, on_close, on_close_final, on_reconnect, on_message;
    uint64_t sent, echoed, lost, send_failures, bad_echoes, incomplete, not_started;
    uint64_t closed_during_wait, lent, released;
    uint64_t codes_1000, codes_1006, codes_1011, codes_other;
    uint64_t errors_by_result[512];
    uint64_t violations;
    bool stopping;
} acc;

static void violation(const struct soak_conn *c, const char *fmt, ...) {
    acc.violations++;
    if (acc.violations > MAX_REPORTED) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "soak: VIOLATION on connection %u (%s): ", c ? c->index : 0,
            c ? state_names[c->state] : "-");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* splitmix64: the message shapes, repeatable from the seed. */
static uint64_t mix(uint64_t x) {
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct shape {
    const uint8_t *data;
    size_t len;
    bool text, lend;
};

/* Message number k of connection c: its size, type, bytes and how it is sent. */
static struct shape message_shape(uint32_t c, uint32_t k) {
    uint64_t h = mix(opt.seed ^ mix(((uint64_t)c << 32) | k));
    uint64_t r = h % 1000, v = h >> 20;
    size_t len;
    if (r < 800) {
        len = v % 126; /* 7-bit length */
    } else if (r < 980) {
        len = 126 + v % (4096 - 126 + 1); /* 16-bit length */
    } else if (r < 999) {
        len = 4097 + v % (65535 - 4097 + 1);
    } else {
        len = 65536 + v % (MAX_SIZE - 65536 + 1); /* 64-bit length */
    }
    struct shape s = {.text = (h >> 12) & 1, .lend = ((h >> 13) & 3) == 0};
    if (s.text) {
        s.len = len / 10 * 10; /* whole repetitions of the 10-byte pattern: valid UTF-8 */
        s.data = text_payload;
    } else {
        s.len = len;
        s.data = binary_payload + ((h >> 14) & 0xff);
    }
    return s;
}

static void count_release(const uint8_t *data, size_t len, void *user) {
    (void)data;
    (void)len;
    (void)user;
    acc.released++;
}

static void close_conn(struct soak_conn *c, uint16_t code, const char *reason) {
    c->close_requested = true;
    if (c->state == WAITING) {
        c->closed_during_wait = true;
        acc.closed_during_wait++;
    }
    wsc_result r = wsc_close(c->handle, code, reason);
    if (r != WSC_OK) {
        violation(c, "wsc_close: %s (%s)", wsc_result_str(r), wsc_last_error());
    }
}

static void send_next(struct soak_conn *c) {
    struct shape s = message_shape(c->index, c->echoed);
    wsc_result r;
    if (s.lend && s.text) {
        r = wsc_send_text_nocopy(c->handle, (const char *)s.data, s.len, count_release, NULL);
    } else if (s.lend) {
        r = wsc_send_binary_nocopy(c->handle, s.data, s.len, count_release, NULL);
    } else if (s.text) {
        r = wsc_send_text(c->handle, (const char *)s.data, s.len);
    } else {
        r = wsc_send_binary(c->handle, s.data, s.len);
    }
    if (r != WSC_OK) {
        acc.send_failures++;
        violation(c, "send of message %u (%zu bytes): %s (%s)", c->echoed, s.len,
                  wsc_result_str(r), wsc_last_error());
        close_conn(c, WSC_CLOSE_NORMAL, "send failed");
        return;
    }
    if (s.lend) {
        acc.lent++;
    }
    acc.sent++;
    c->in_flight = true;
}

static void start_more(void);

/* A first connect ended (opened or failed): another may start. */
static void first_connect_over(struct soak_conn *c) {
    if (!c->ever_opened) {
        c->ever_opened = true;
        acc.pending_now--;
        start_more();
    }
}

static void on_open(wsc_connection *conn, void *user) {
    (void)conn;
    struct soak_conn *c = user;
    acc.on_open++;
    if (c->state != CONNECTING) {
        violation(c, "on_open");
        return;
    }
    c->state = OPEN;
    acc.open_now++;
    first_connect_over(c);
    if (c->close_requested) {
        return;
    }
    send_next(c); /* the next message, or again the one a drop lost */
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    (void)conn;
    struct soak_conn *c = user;
    acc.on_message++;
    if (c->state != OPEN || !c->in_flight) {
        violation(c, "on_message with no message in flight");
        return;
    }
    struct shape s = message_shape(c->index, c->echoed);
    if (len != s.len || is_text != s.text || (len && memcmp(data, s.data, len) != 0)) {
        acc.bad_echoes++;
        violation(c, "echo mismatch on message %u: %zu bytes %s, expected %zu %s", c->echoed,
                  len, is_text ? "text" : "binary", s.len, s.text ? "text" : "binary");
        c->in_flight = false;
        close_conn(c, WSC_CLOSE_NORMAL, "bad echo");
        return;
    }
    c->in_flight = false;
    c->echoed++;
    acc.echoed++;
    if (c->close_requested) {
        return;
    }
    if (c->echoed == opt.messages) {
        close_conn(c, WSC_CLOSE_NORMAL, NULL);
    } else {
        send_next(c);
    }
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message,
                     void *user) {
    (void)conn;
    (void)message;
    struct soak_conn *c = user;
    acc.on_error++;
    acc.errors_by_result[(unsigned)result < 512 ? (unsigned)result : 511]++;
    if (c->state != CONNECTING && c->state != OPEN) {
        violation(c, "on_error (%s: %s)", wsc_result_str(result), message);
    }
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn;
    (void)reason;
    (void)reason_len;
    (void)closed_by;
    (void)clean;
    struct soak_conn *c = user;
    acc.on_close++;
    if (code == 1000) {
        acc.codes_1000++;
    } else if (code == 1006) {
        acc.codes_1006++;
    } else if (code == 1011) {
        acc.codes_1011++;
    } else {
        acc.codes_other++;
    }
    bool waiting_close = c->state == WAITING && c->closed_during_wait;
    if (c->state != CONNECTING && c->state != OPEN && !waiting_close) {
        violation(c, "on_close (code %u)", code);
        return;
    }
    if (c->state == OPEN) {
        acc.open_now--;
    }
    if (c->in_flight) {
        acc.lost++; /* dropped with the connection: sent again after the reconnect */
        c->in_flight = false;
    }
    first_connect_over(c);
    int64_t retry = wsc_connection_retry_in_ms(c->handle);
    if (retry >= 0) {
        c->state = WAITING;
        return;
    }
    c->state = DONE;
    c->finals++;
    acc.on_close_final++;
    if (c->echoed < opt.messages) {
        acc.incomplete++;
        if (!acc.stopping) {
            violation(c, "last on_close (code %u) after %u of %" PRIu64 " messages", code,
                      c->echoed, opt.messages);
        }
    }
    wsc_connection_free(c->handle);
    c->handle = NULL;
}

static void on_reconnect(wsc_connection *conn, uint32_t attempt, void *user) {
    (void)conn;
    (void)attempt;
    struct soak_conn *c = user;
    acc.on_reconnect++;
    if (c->state != WAITING) {
        violation(c, "on_reconnect");
        return;
    }
    c->state = CONNECTING;
}

static void start_more(void) {
    while (acc.pending_now < opt.pending && acc.started + acc.start_failures < opt.connections &&
           !acc.stopping) {
        struct soak_conn *c = &conns[acc.started + acc.start_failures];
        wsc_result r = wsc_connect(ctx, opt.url, &conn_opts, &callbacks, c, &c->handle);
        if (r != WSC_OK) {
            acc.start_failures++;
            violation(c, "wsc_connect: %s (%s)", wsc_result_str(r), wsc_last_error());
            continue;
        }
        c->state = CONNECTING;
        acc.started++;
        acc.pending_now++;
    }
}

/* The time limit: every connection still going is closed (its last on_close follows). */
static void stop_all(void) {
    acc.stopping = true;
    for (uint64_t i = 0; i < opt.connections; i++) {
        struct soak_conn *c = &conns[i];
        if (c->state != NOT_STARTED && c->state != DONE && !c->close_requested) {
            close_conn(c, WSC_CLOSE_GOING_AWAY, "time limit");
        }
    }
}

/* --- samples ------------------------------------------------------------------------------ */

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
            resident = -1;
        }
        fclose(f);
    }
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Bytes the program holds from malloc (glibc's mallinfo2: in use in the heap and in mmapped
 * blocks), in KB; -1 elsewhere. Unlike RSS it does not count memory freed but kept by the
 * allocator, so it tells a leak from fragmentation. */
static long heap_kb(void) {
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return (long)((mi.uordblks + mi.hblkhd) / 1024);
#else
    return -1;
#endif
}

/* Open descriptors: the entries of /proc/self/fd, less the one the listing itself holds. */
static long fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        return -1;
    }
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1;
}

struct sample {
    double t;
    long rss_kb, heap_kb;
    uint64_t done; /* connections that had their last on_close */
};

static struct sample *samples;
static size_t sample_count, sample_cap;
static long fds_peak;

static void take_sample(double t) {
    long rss = rss_kb(), heap = heap_kb(), fds = fd_count();
    if (fds > fds_peak) {
        fds_peak = fds;
    }
    if (sample_count == sample_cap) {
        sample_cap = sample_cap ? 2 * sample_cap : 256;
        struct sample *grown = realloc(samples, sample_cap * sizeof *samples);
        if (!grown) {
            fprintf(stderr, "soak: out of memory\n");
            exit(1);
        }
        samples = grown;
    }
    samples[sample_count++] = (struct sample){t, rss, heap, acc.on_close_final};
    printf("sample t_s=%.1f rss_kb=%ld heap_kb=%ld fds=%ld open=%" PRIu64 " echoed=%" PRIu64
           " reconnects=%" PRIu64 " done=%" PRIu64 "\n",
           t, rss, heap, fds, acc.open_now, acc.echoed, acc.on_reconnect, acc.on_close_final);
    fflush(stdout);
}

static double sample_kb(const struct sample *s, bool heap) {
    return (double)(heap ? s->heap_kb : s->rss_kb);
}

/* Least squares of RSS (or heap) over time for samples [from, to): the slope (KB/s) and the
 * mean. */
static double slope_kb_s(size_t from, size_t to, bool heap, double *mean) {
    double n = (double)(to - from), st = 0, sr = 0, num = 0, den = 0;
    for (size_t i = from; i < to; i++) {
        st += samples[i].t;
        sr += sample_kb(&samples[i], heap);
    }
    double mt = st / n;
    *mean = sr / n;
    for (size_t i = from; i < to; i++) {
        num += (samples[i].t - mt) * (sample_kb(&samples[i], heap) - *mean);
        den += (samples[i].t - mt) * (samples[i].t - mt);
    }
    return den > 0 ? num / den : 0;
}

static void print_fit(const char *what, size_t from, size_t to) {
    for (int heap = 0; heap <= (samples[0].heap_kb >= 0); heap++) {
        double mean, slope = slope_kb_s(from, to, heap, &mean);
        printf("%s: %s (samples %zu-%zu, t=%.0f-%.0f s, mean %.0f KB): slope %+.3f KB/s = "
               "%+.4f %% of the mean per minute\n",
               heap ? "heap" : "rss", what, from + 1, to, samples[from].t, samples[to - 1].t,
               mean, slope, mean > 0 ? slope * 60 / mean * 100 : 0.0);
    }
}

/*
 * The slope after warm-up: least squares over the samples after the first fifth. Also over
 * the steady part alone, up to the first connection's end, when it has samples: the end of the
 * run (connections closing, memory returned) then does not weigh on it.
 */
static void print_slope(void) {
    size_t from = sample_count / 5;
    long peak = 0;
    for (size_t i = 0; i < sample_count; i++) {
        if (samples[i].rss_kb > peak) {
            peak = samples[i].rss_kb;
        }
    }
    printf("rss: %zu samples, peak %ld KB\n", sample_count, peak);
    if (sample_count - from < 3) {
        printf("rss: too few samples for a slope (a run of at least 4 s gives one)\n");
        return;
    }
    print_fit("after warm-up", from, sample_count);
    size_t steady_end = from;
    while (steady_end < sample_count && samples[steady_end].done == 0) {
        steady_end++;
    }
    if (steady_end - from >= 3) {
        print_fit("steady, before the first connection ended", from, steady_end);
    }
}

/* --- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    int rc = parse_args(argc, argv);
    if (rc) {
        return rc;
    }
    /* One descriptor per connection, plus a few for the loop (poll, wake-up) and stdio; a
     * reconnect closes the old socket before it opens the new one. */
    uint64_t needed = opt.connections + 64;
    struct rlimit rl;
    raise_nofile("soak");
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("soak: getrlimit");
        return 1;
    }
    printf("soak: %" PRIu64 " connections x %" PRIu64 " messages, server drop %.3g%%, url %s, "
           "pending %" PRIu64 ", reconnect delay %" PRIu64 " ms, time limit %" PRIu64 " s\n",
           opt.connections, opt.messages, opt.drop, opt.url, opt.pending, opt.reconnect_delay,
           opt.seconds);
    printf("soak: RLIMIT_NOFILE soft %llu, hard %llu; the run needs about %" PRIu64 "\n",
           (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, needed);
    if (rl.rlim_cur < needed) {
        fprintf(stderr, "soak: RLIMIT_NOFILE %llu is below the %" PRIu64 " descriptors needed: "
                "raise the hard limit (ulimit -Hn, limits.conf) or use fewer connections\n",
                (unsigned long long)rl.rlim_cur, needed);
        return 1;
    }

    conns = calloc(opt.connections, sizeof *conns);
    binary_payload = make_payload(MAX_SIZE + 256, false);
    text_payload = make_payload(MAX_SIZE, true);
    if (!conns || !binary_payload || !text_payload) {
        fprintf(stderr, "soak: out of memory\n");
        return 1;
    }
    for (uint64_t i = 0; i < opt.connections; i++) {
        conns[i].index = (uint32_t)i;
    }
    conn_opts.reconnect = true;
    conn_opts.reconnect_min_delay_ms = (uint32_t)opt.reconnect_delay;
    conn_opts.reconnect_max_delay_ms = (uint32_t)(opt.reconnect_delay > 1000 ? opt.reconnect_delay
                                                                             : 1000);
    conn_opts.deflate_disable = true;
    callbacks.on_open = on_open;
    callbacks.on_message = on_message;
    callbacks.on_error = on_error;
    callbacks.on_close = on_close;
    callbacks.on_reconnect = on_reconnect;

    long fds_start = fd_count();
    fds_peak = fds_start;
    double t0 = now_s();
    if (wsc_context_new(NULL, &ctx) != WSC_OK) {
        fprintf(stderr, "soak: wsc_context_new: %s\n", wsc_last_error());
        return 1;
    }
    start_more();

    /* The loop: until every connection's last on_close; a sample each second. */
    double deadline = t0 + (double)opt.seconds, next_sample = t0 + 1, hang_deadline = 0;
    bool hung = false;
    while (wsc_context_connection_count(ctx) > 0 ||
           acc.started + acc.start_failures < opt.connections) {
        double now = now_s();
        if (now >= next_sample) {
            take_sample(now - t0);
            next_sample += 1;
        }
        if (!acc.stopping && now >= deadline) {
            fprintf(stderr, "soak: time limit of %" PRIu64 " s reached: closing everything\n",
                    opt.seconds);
            stop_all();
            hang_deadline = now + 15; /* close_timeout_ms (5 s) and then some */
        }
        if (acc.stopping && now >= hang_deadline) {
            hung = true;
            break;
        }
        if (acc.stopping && acc.started + acc.start_failures < opt.connections) {
            break; /* connections never started: nothing more will start them */
        }
        double wait = next_sample - now_s();
        wsc_result r = wsc_service(ctx, wait > 0 ? (int32_t)(wait * 1000) + 1 : 0);
        if (r != WSC_OK) {
            fprintf(stderr, "soak: wsc_service: %s (%s)\n", wsc_result_str(r), wsc_last_error());
            return 1;
        }
    }
    double wall = now_s() - t0;
    take_sample(wall);
    size_t left = wsc_context_connection_count(ctx);
    if (hung) {
        violation(NULL, "%zu connections had no last on_close 15 s after wsc_close", left);
    }
    /* Frees what is left (a hang's connections hear their on_close here). */
    wsc_context_free(ctx);
    ctx = NULL;
    long rss_end = rss_kb(), heap_end = heap_kb();
    long fds_end = fd_count();

    for (uint64_t i = 0; i < opt.connections; i++) {
        struct soak_conn *c = &conns[i];
        if (c->state == NOT_STARTED) {
            acc.not_started++;
        } else if (c->finals != 1) {
            violation(c, "%u last on_close calls, not 1", c->finals);
        }
        if (c->handle) {
            wsc_connection_free(c->handle); /* never had its last on_close: reported above */
        }
    }

    /* Every attempt (first connect or reconnect) ends in one on_close; closing a connection
     * while it waits to reconnect adds one more, its last. */
    uint64_t expected_closes = acc.started + acc.on_reconnect + acc.closed_during_wait;
    bool ok = true;
    printf("\n");
    print_slope();
    printf("rss: %ld KB at the end, after wsc_context_free (heap in use: %ld KB)\n", rss_end,
           heap_end);
    printf("fds: start %ld, peak %ld, end %ld%s\n", fds_start, fds_peak, fds_end,
           fds_end == fds_start ? "" : "  <- NOT BACK TO THE START: descriptors leaked");
    if (fds_end != fds_start) {
        ok = false;
    }
    printf("time: %.1f s, %.0f messages/s, %.0f reconnects/s\n", wall,
           (double)acc.echoed / wall, (double)acc.on_reconnect / wall);
    printf("connections: %" PRIu64 " opened (wsc_connect), %" PRIu64 " failed to start, %" PRIu64
           " not started, %" PRIu64 " ended short of %" PRIu64 " messages\n",
           acc.started, acc.start_failures, acc.not_started, acc.incomplete, opt.messages);
    printf("callbacks: on_open %" PRIu64 ", on_message %" PRIu64 ", on_error %" PRIu64
           ", on_close %" PRIu64 " (last ones %" PRIu64 "), on_reconnect %" PRIu64 "\n",
           acc.on_open, acc.on_message, acc.on_error, acc.on_close, acc.on_close_final,
           acc.on_reconnect);
    printf("on_close codes: 1000 %" PRIu64 ", 1006 %" PRIu64 ", 1011 %" PRIu64 ", other %" PRIu64
           "\n",
           acc.codes_1000, acc.codes_1006, acc.codes_1011, acc.codes_other);
    printf("on_error kinds:");
    for (unsigned i = 0; i < 512; i++) {
        if (acc.errors_by_result[i]) {
            printf(" %s %" PRIu64 ";", wsc_result_str((int)i), acc.errors_by_result[i]);
        }
    }
    printf("\n");
    printf("messages: %" PRIu64 " sent, %" PRIu64 " echoed, %" PRIu64
           " lost with a dropped connection (%.3f%% of sends; sent again), %" PRIu64
           " bad echoes, %" PRIu64 " send failures\n",
           acc.sent, acc.echoed, acc.lost,
           acc.sent ? 100.0 * (double)acc.lost / (double)acc.sent : 0.0, acc.bad_echoes,
           acc.send_failures);
    printf("lent payloads: %" PRIu64 " lent with wsc_send_*_nocopy, %" PRIu64 " released%s\n",
           acc.lent, acc.released, acc.lent == acc.released ? "" : "  <- MISMATCH");
    printf("on_close accounting: %" PRIu64 " = %" PRIu64 " connections + %" PRIu64
           " reconnects + %" PRIu64 " closed while waiting: %s\n",
           acc.on_close, acc.started, acc.on_reconnect, acc.closed_during_wait,
           acc.on_close == expected_closes ? "ok" : "MISMATCH");
    if (acc.lent != acc.released || acc.on_close != expected_closes ||
        acc.on_close_final != acc.started || acc.on_open > acc.started + acc.on_reconnect ||
        acc.on_error > acc.on_close) {
        ok = false;
    }
    if (acc.violations || acc.incomplete || acc.not_started || acc.stopping || hung ||
        acc.echoed != acc.started * opt.messages) {
        ok = false;
    }
    printf("violations: %" PRIu64 "%s\n", acc.violations,
           acc.violations > MAX_REPORTED ? " (the first ones on stderr)" : "");
    printf("result: %s\n", ok ? "ok" : (acc.stopping ? "FAILED (time limit reached)" : "FAILED"));
    free(conns);
    free(samples);
    free(binary_payload);
    free(text_payload);
    return ok ? 0 : 1;
}
