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
 * --deflate 1: the context's extension table has lws' permessage-deflate
 * (lws_extension_callback_pm_deflate), offered with no context takeover both ways, as wsc's
 * client offers it (the echo server echoes compressed frames verbatim).
 * wss:// URLs: LCCSCF_USE_SSL (OpenSSL), trusting the CA file of --ca.
 *
 * Extra option: --rbuf N (default 65536): the protocol's rx_buffer_size and the context's
 * pt_serv_buf_size (lws' defaults are 4096).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <libwebsockets.h>

static struct bench_opts opt;

/* One connection: the message being reassembled, and what became of it. */
struct conn {
    struct lws *wsi;
    uint8_t *buf;
    size_t len, cap;
    bool open, echoed, ended, closing, want_send;
};

static struct bench_state st;
static struct lws_context *ctx;
static uint8_t *wbuf;       /* LWS_PRE + size: what lws_write masks in place */
static struct conn *conns; /* one, or --conns of them */
static uint64_t nconns;

/* Asks for a WRITEABLE callback to close the connection from there. */
static void request_close(struct conn *c) {
    if (c->wsi && !c->ended && !c->closing) {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
    }
}

static int write_payload(struct lws *wsi) {
    const uint8_t *data = st.payload;
    size_t len = opt.size;
    if (opt.mode == MODE_TICKS) {
        data = bench_tick(&st.ticks, st.sent, &len);
    }
    memcpy(wbuf + LWS_PRE, data, len);
    int n = lws_write(wsi, wbuf + LWS_PRE, len, st.is_text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
    if (n < (int)len) {
        bench_fail(&st, "lws_write returned %d", n);
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
        if (!bench_rtt_echo(&opt, &st, data, len, is_text, t)) {
            request_close(c);
            return;
        }
        bench_rtt_sending(&opt, &st);
        c->want_send = true;
        lws_callback_on_writable(c->wsi);
        return;
    }
    case MODE_THROUGHPUT:
    case MODE_TEXT:
    case MODE_TICKS:
        if (opt.mode == MODE_TICKS ? !bench_ticks_echo(&st, data, len, is_text)
                                   : !bench_tp_echo(&opt, &st, len, is_text)) {
            request_close(c);
            return;
        }
        if (can_send_more()) {
            lws_callback_on_writable(c->wsi);
        }
        return;
    case MODE_CONNS:
        if (c->echoed) {
            bench_fail(&st, "echo mismatch: a second message on one connection");
        } else if (len != opt.size || !is_text) {
            bench_fail(&st, "bad echo length: got %zu bytes, expected %" PRIu64, len, opt.size);
        } else if (memcmp(data, st.payload, len) != 0) {
            bench_fail(&st, "echo mismatch");
        } else {
            c->echoed = true;
            st.echoed++;
            st.last_echo = now_s();
        }
        return;
    case MODE_BIGMSG: /* wsc only: refused by the option parser */
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
            bench_fail(&st, "connection error: %s", in ? (const char *)in : "(no message)");
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
            bench_rtt_sending(&opt, &st); /* rtt_count is 0 */
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
        if (opt.mode == MODE_THROUGHPUT || opt.mode == MODE_TEXT || opt.mode == MODE_TICKS) {
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
                bench_fail(&st, "out of memory");
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
                bench_fail(&st, "connection closed before the end");
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

/* --deflate 1: each message compressed on its own both ways, as wsc's client offers it. */
static const struct lws_extension deflate_extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; server_no_context_takeover"},
    {NULL, NULL, NULL},
};

/* --- output ------------------------------------------------------------------------------- */

static int finish(void) {
    return bench_finish(&opt, &st, "libwebsockets", lws_get_library_version(),
                        ",\"rtt_from\":\"callback_on_writable\"");
}

/* --- options ------------------------------------------------------------------------------ */

static int parse_args(int argc, char **argv) {
    int rc = bench_parse_args(&opt, argc, argv, "lws_client", 65536, false);
    if (rc == 0 && opt.rbuf < 4096) {
        opt.rbuf = 4096;
    }
    return rc;
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
    struct conn *c = &conns[i];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
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
            bench_fail(&st, "lws_client_connect_via_info failed");
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
    raise_nofile("lws_client");
    lws_set_log_level(LLL_ERR, NULL);
    st.is_text = opt.mode != MODE_THROUGHPUT;
    if (parse_url() != 0) {
        bench_fail(&st, "bad url");
        return finish();
    }
    st.payload = make_payload(opt.size, st.is_text);
    wbuf = malloc(LWS_PRE + (opt.mode == MODE_TICKS ? 256 : opt.size));
    nconns = opt.mode == MODE_CONNS ? opt.conns : 1;
    conns = calloc(nconns, sizeof *conns);
    if (opt.mode == MODE_RTT) {
        st.samples = calloc(opt.n, sizeof *st.samples);
    }
    if (!st.payload || !wbuf || !conns || (opt.mode == MODE_RTT && !st.samples) ||
        (opt.mode == MODE_TICKS && !make_ticks(&st.ticks))) {
        bench_fail(&st, "out of memory");
        return finish();
    }
    protocols[0].rx_buffer_size = (size_t)opt.rbuf;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (opt.deflate) {
        info.extensions = deflate_extensions;
    }
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (secure) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = opt.ca;
    }
    info.pt_serv_buf_size = (unsigned int)opt.rbuf;
    info.count_threads = 1;
    info.timeout_secs = 10;
    ctx = lws_create_context(&info);
    if (!ctx) {
        bench_fail(&st, "lws_create_context failed");
        return finish();
    }
    st.msgs = opt.mode == MODE_TICKS ? opt.n : opt.total / (opt.size ? opt.size : 1);

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
            lws_service(ctx, 0);
        }
        bench_conns_all_open(&st);
        for (uint64_t i = 0; i < st.started_conns; i++) {
            request_close(&conns[i]);
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
        lws_service(ctx, 0);
    }
    lws_context_destroy(ctx);
    rc = finish();
    for (uint64_t i = 0; i < nconns; i++) {
        free(conns[i].buf);
    }
    free(conns);
    free(st.payload);
    free(wbuf);
    free(st.samples);
    free(st.ticks.data);
    return rc;
}
