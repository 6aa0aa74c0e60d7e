/*
 * bench_client: the wsc benchmark client (bench/README.md has the protocol: modes, options,
 * payloads, output). One process, one wsc context, one thread; every send is made from a
 * callback (on_open, on_message, on_writable) except the closes of the conns mode.
 *
 *   bench_client --url ws://127.0.0.1:9001/ --mode rtt|throughput|text|conns|ticks|bigmsg
 *                [--key value]...
 *
 * --deflate 1 offers permessage-deflate (client and server no_context_takeover); 0 disables
 * the offer wsc makes by default.
 *
 * --ca FILE: wss:// trusts the CA certificates in FILE instead of the system's store.
 *
 * Extra options, echoed in the JSON line:
 *   --rbuf N     the context's read buffer (wsc_context_options.read_buffer_size; default 0,
 *                the library's own default);
 *   --nocopy 0|1 1 (default): send with wsc_send_*_nocopy, lending the one payload buffer to
 *                every message in flight instead of having each copied; 0: wsc_send_*;
 *   --check-text 0|1  1 (default): wsc checks the UTF-8 of the text it sends; 0: the
 *                connections trust it (wsc_connect_options.trust_outgoing_text);
 *   --stream 0|1 1: the echoes are received streamed (stream_messages, on_message_part) and
 *                checked by length and type as whole messages are; 0 (default): on_message.
 *
 * --mode ticks: --n JSON ticks of about 200 bytes (bench/README.md, "Payloads"), --window in
 * flight, each echo compared with the tick sent in its place.
 *
 * --mode bigmsg (wsc only): connects to URL's "message/TOTAL" (the echo server then sends one
 * binary message of --total bytes, default 4 GiB, in 1 MiB frames, byte i = i & 0xff), receives
 * it streamed with no max_message_size, checks every byte, closes, and reports the rate and the
 * process's peak RSS (getrusage ru_maxrss, "ru_maxrss_kb").
 *
 * Prints one JSON line on stdout; exits 0 when ok, 1 on a failed run, 2 on bad options.
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <wsc.h>

static struct bench_opts opt;

/* The options of every connection: permessage-deflate only with --deflate 1. */
static wsc_connect_options conn_opts = WSC_CONNECT_OPTIONS_INIT;

static struct bench_state st;
static wsc_context *ctx;
static wsc_connection **handles; /* conns */

static wsc_result send_payload(wsc_connection *conn) {
    const uint8_t *data = st.payload;
    size_t len = opt.size;
    if (opt.mode == MODE_TICKS) {
        data = bench_tick(&st.ticks, st.sent, &len);
    }
    /* The payload (and the ticks table) never changes, so it is lent without a release
     * callback. */
    if (opt.nocopy && st.is_text) {
        return wsc_send_text_nocopy(conn, (const char *)data, len, NULL, NULL);
    }
    if (opt.nocopy) {
        return wsc_send_binary_nocopy(conn, data, len, NULL, NULL);
    }
    if (st.is_text) {
        return wsc_send_text(conn, (const char *)data, len);
    }
    return wsc_send_binary(conn, data, len);
}

/* --- rtt ---------------------------------------------------------------------------------- */

static void rtt_send(wsc_connection *conn) {
    bench_rtt_sending(&opt, &st);
    wsc_result r = send_payload(conn);
    if (r != WSC_OK) {
        bench_fail(&st, "send failed: %s", wsc_result_str(r));
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
    if (bench_rtt_echo(&opt, &st, data, len, is_text, t)) {
        rtt_send(conn);
    } else {
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
    }
}

/* --- throughput / text / ticks -------------------------------------------------------------------- */

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
            bench_fail(&st, "send failed: %s", wsc_result_str(r));
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
    if (st.failed || st.done) {
        return;
    }
    bool go_on = opt.mode == MODE_TICKS ? bench_ticks_echo(&st, data, len, is_text)
                                        : bench_tp_echo(&opt, &st, len, is_text);
    if (go_on) {
        pump(conn);
    } else {
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
    }
}

/* Streamed echoes: the parts of a message are counted, and the last one hands the message's
 * length to the same check as tp_on_message. */
static void tp_on_message_part(wsc_connection *conn, const uint8_t *data, size_t len,
                               uint32_t flags, uint64_t remaining_in_frame, void *user) {
    (void)data;
    (void)remaining_in_frame;
    if (st.failed || st.done) {
        return;
    }
    if (flags & WSC_PART_FIRST) {
        st.message_bytes = 0;
    }
    st.parts++;
    st.message_bytes += len;
    if (flags & WSC_PART_LAST) {
        tp_on_message(conn, NULL, (size_t)st.message_bytes, (flags & WSC_PART_TEXT) != 0, user);
    }
}

/* --- bigmsg ------------------------------------------------------------------------------- */

/* The payload holds 1 MiB + 256 bytes of the binary pattern: any part is checked against it
 * with memcmp, a MiB at a time, from offset (message offset & 0xff). */
#define BIG_CHECK ((size_t)1 << 20)

static void big_on_open(wsc_connection *conn, void *user) {
    (void)conn;
    (void)user;
    st.started = true;
    st.t_start = now_s();
}

static void big_on_message_part(wsc_connection *conn, const uint8_t *data, size_t len,
                                uint32_t flags, uint64_t remaining_in_frame, void *user) {
    (void)remaining_in_frame;
    (void)user;
    if (st.failed || st.done) {
        return;
    }
    if ((flags & WSC_PART_TEXT) || ((flags & WSC_PART_FIRST) != 0) != (st.parts == 0)) {
        bench_fail(&st, "echo mismatch: flags %u at part %" PRIu64, (unsigned)flags, st.parts);
    }
    for (size_t at = 0; at < len && !st.failed; at += BIG_CHECK) {
        size_t n = len - at < BIG_CHECK ? len - at : BIG_CHECK;
        if (memcmp(data + at, st.payload + ((st.received_bytes + at) & 0xff), n) != 0) {
            bench_fail(&st, "echo mismatch near byte %" PRIu64, st.received_bytes + at);
        }
    }
    st.parts++;
    st.received_bytes += len;
    if (!st.failed && (flags & WSC_PART_LAST)) {
        if (st.received_bytes != opt.total) {
            bench_fail(&st, "bad echo length: got %" PRIu64 " bytes, expected %" PRIu64,
                       st.received_bytes, opt.total);
        } else {
            st.t_end = now_s();
            st.received = 1;
            st.done = true;
        }
    }
    if (st.failed || st.done) {
        wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
    }
}

/* --- conns -------------------------------------------------------------------------------- */

/* Per connection: its index in handles is passed as `user`. */
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
        bench_fail(&st, "send failed: %s", wsc_result_str(r));
    }
}

static void conns_on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                             void *user) {
    (void)conn;
    struct conn_state *c = &cstate[(uintptr_t)user];
    if (c->echoed) {
        bench_fail(&st, "echo mismatch: a second message on connection %" PRIuPTR, (uintptr_t)user);
        return;
    }
    if (len != opt.size || !is_text) {
        bench_fail(&st, "bad echo length: got %zu bytes, expected %" PRIu64, len, opt.size);
        return;
    }
    if (memcmp(data, st.payload, len) != 0) {
        bench_fail(&st, "echo mismatch on connection %" PRIuPTR, (uintptr_t)user);
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
        bench_fail(&st, "connection %" PRIuPTR " closed early: %u %.*s", (uintptr_t)user,
                   (unsigned)code, (int)reason_len, reason);
    }
}

/* --- common callbacks --------------------------------------------------------------------- */

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    (void)conn;
    (void)user;
    bench_fail(&st, "%s: %s", wsc_result_str((int)result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    (void)conn;
    (void)user;
    (void)closed_by;
    if (!st.done && !st.failed) {
        bench_fail(&st, "connection closed before the end: %u %.*s%s", (unsigned)code,
                   (int)reason_len, reason, clean ? "" : " (not clean)");
    }
}

/* --- output ------------------------------------------------------------------------------- */

static int finish(void) { return bench_finish(&opt, &st, "wsc", wsc_version(), ""); }

/* --- main --------------------------------------------------------------------------------- */

/* Runs the loop until every connection has reported on_close; after a failure, 5 s at most. */
static void run_until_closed(void) {
    while (wsc_context_connection_count(ctx) > 0) {
        if (st.failed && now_s() - st.fail_at > 5.0) {
            break;
        }
        wsc_result r = wsc_service(ctx, 100);
        if (r != WSC_OK) {
            bench_fail(&st, "wsc_service: %s", wsc_result_str(r));
            break;
        }
    }
}

static void run_conns(void) {
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = conns_on_open;
    cb.on_message = conns_on_message;
    cb.on_error = on_error;
    cb.on_close = conns_on_close;
    handles = calloc(opt.conns, sizeof *handles);
    cstate = calloc(opt.conns, sizeof *cstate);
    if (!handles || !cstate) {
        bench_fail(&st, "out of memory");
        return;
    }
    st.rss_before_kb = proc_status_kb("VmRSS");
    st.conns_start = now_s();
    while (!st.failed && st.echoed < opt.conns) {
        while (st.started_conns < opt.conns && st.in_handshake < opt.pending) {
            uint64_t i = st.started_conns;
            wsc_result r = wsc_connect(ctx, opt.url, &conn_opts, &cb, (void *)(uintptr_t)i,
                                       &handles[i]);
            if (r != WSC_OK) {
                bench_fail(&st, "wsc_connect: %s: %s", wsc_result_str(r), wsc_last_error());
                break;
            }
            st.started_conns++;
            st.in_handshake++;
        }
        if (st.failed) {
            break;
        }
        wsc_result r = wsc_service(ctx, 100);
        if (r != WSC_OK) {
            bench_fail(&st, "wsc_service: %s", wsc_result_str(r));
        }
    }
    bench_conns_all_open(&st);
    for (uint64_t i = 0; i < st.started_conns; i++) {
        if (!cstate[i].closed) {
            wsc_close(handles[i], WSC_CLOSE_NORMAL, NULL);
        }
    }
    if (!st.failed) {
        st.fail_at = now_s(); /* the closing gets the same 5 s as after a failure */
    }
    while (wsc_context_connection_count(ctx) > 0 && now_s() - st.fail_at < 5.0) {
        if (wsc_service(ctx, 100) != WSC_OK) {
            break;
        }
    }
    for (uint64_t i = 0; i < st.started_conns; i++) {
        wsc_connection_free(handles[i]);
    }
}

int main(int argc, char **argv) {
    int rc = bench_parse_args(&opt, argc, argv, "bench_client", 0, true);
    if (rc) {
        return rc;
    }
    raise_nofile("bench_client");
    st.is_text = opt.mode != MODE_THROUGHPUT && opt.mode != MODE_BIGMSG;
    conn_opts.deflate_disable = !opt.deflate;
    conn_opts.tls_ca_file = opt.ca; /* NULL: the system's trust store */
    conn_opts.trust_outgoing_text = !opt.check_text;
    conn_opts.stream_messages = opt.stream == 1;
    if (opt.mode == MODE_BIGMSG) {
        conn_opts.max_message_size = UINT64_MAX; /* no limit: streamed */
    }
    /* Each message compressed on its own both ways, as the echo server (which echoes
     * compressed frames verbatim) accepts it. */
    static const wsc_deflate_offer both_ways_alone = { true, true, 0, 0 };
    if (opt.deflate) {
        conn_opts.deflate_offers = &both_ways_alone;
        conn_opts.deflate_offer_count = 1;
    }
    st.payload = make_payload(opt.mode == MODE_BIGMSG ? BIG_CHECK + 256 : opt.size, st.is_text);
    if (opt.mode == MODE_RTT) {
        st.samples = calloc(opt.n, sizeof *st.samples);
    }
    if (!st.payload || (opt.mode == MODE_RTT && !st.samples) ||
        (opt.mode == MODE_TICKS && !make_ticks(&st.ticks))) {
        bench_fail(&st, "out of memory");
        return finish();
    }
    wsc_context_options copts = WSC_CONTEXT_OPTIONS_INIT;
    copts.read_buffer_size = (size_t)opt.rbuf;
    wsc_result r = wsc_context_new(&copts, &ctx);
    if (r != WSC_OK) {
        bench_fail(&st, "wsc_context_new: %s: %s", wsc_result_str(r), wsc_last_error());
        return finish();
    }
    if (opt.mode == MODE_CONNS) {
        run_conns();
    } else {
        st.msgs = opt.mode == MODE_TICKS ? opt.n : opt.total / (opt.size ? opt.size : 1);
        wsc_callbacks cb = WSC_CALLBACKS_INIT;
        cb.on_error = on_error;
        cb.on_close = on_close;
        const char *url = opt.url;
        char big_url[1024];
        if (opt.mode == MODE_RTT) {
            cb.on_open = rtt_on_open;
            cb.on_message = rtt_on_message;
        } else if (opt.mode == MODE_BIGMSG) {
            /* "ws://host:port/" + "message/N": the path the echo server answers with N bytes */
            size_t n = strlen(opt.url);
            const char *sep = n && opt.url[n - 1] == '/' ? "" : "/";
            int w = snprintf(big_url, sizeof big_url, "%s%smessage/%" PRIu64, opt.url, sep,
                             opt.total);
            if (w < 0 || (size_t)w >= sizeof big_url) {
                bench_fail(&st, "--url too long");
                return finish();
            }
            url = big_url;
            cb.on_open = big_on_open;
            cb.on_message_part = big_on_message_part;
        } else {
            cb.on_open = tp_on_open;
            cb.on_message = tp_on_message;
            cb.on_message_part = tp_on_message_part;
            cb.on_writable = tp_on_writable;
        }
        r = wsc_connect(ctx, url, &conn_opts, &cb, NULL, NULL);
        if (r != WSC_OK) {
            bench_fail(&st, "wsc_connect: %s: %s", wsc_result_str(r), wsc_last_error());
        } else {
            run_until_closed();
        }
    }
    wsc_context_free(ctx);
    rc = finish();
    free(st.payload);
    free(st.samples);
    free(st.ticks.data);
    free(handles);
    free(cstate);
    return rc;
}
