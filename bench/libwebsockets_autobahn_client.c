/*
 * libwebsockets_autobahn_client: the Autobahn testsuite echo client of
 * c_examples/echo_client.c, written against libwebsockets (4.1.6), so that
 * scripts/autobahn.sh --compare-lws can put the case durations of the two libraries side by
 * side. Same command line:
 *
 *   libwebsockets_autobahn_client [URL] [AGENT]      defaults: ws://127.0.0.1:9001 libwebsockets
 *
 * Asks the fuzzing server how many cases it has, runs each one by echoing every message back
 * with its type, then asks the server to write its reports. Exits 0 when the whole run
 * completed (whatever the cases' verdicts), 1 otherwise (2 for a bad command line).
 *
 * In lws' documented style: one context, one service loop, writes only from
 * LWS_CALLBACK_CLIENT_WRITEABLE (one lws_write each, into a buffer with LWS_PRE bytes of
 * headroom); permessage-deflate offered through the context's extension table with lws'
 * own offer plus client_no_context_takeover (as echo_client offers); UTF-8 validated by
 * lws.
 * A message is reassembled from its fragments, queued, and echoed whole.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

/* An echo waiting for WRITEABLE: LWS_PRE bytes of headroom, then the message. */
struct echo {
    struct echo *next;
    size_t len;
    bool is_text;
    unsigned char buf[]; /* LWS_PRE + len */
};

/* Per connection (lws allocates it: per_session_data_size). */
struct pss {
    unsigned char *rx; /* the message being reassembled */
    size_t rx_len, rx_cap;
    struct echo *head, *tail;
};

enum role { ROLE_COUNT, ROLE_CASE, ROLE_REPORTS };

static enum role role;
static int case_count = -1;
static bool reports_opened, failed;
static bool conn_done; /* the current connection failed or closed */

static void free_pss(struct pss *pss) {
    free(pss->rx);
    pss->rx = NULL;
    pss->rx_len = pss->rx_cap = 0;
    while (pss->head) {
        struct echo *e = pss->head;
        pss->head = e->next;
        free(e);
    }
    pss->tail = NULL;
}

static int append(struct pss *pss, const void *in, size_t len) {
    if (pss->rx_len + len > pss->rx_cap) {
        size_t cap = pss->rx_cap ? pss->rx_cap : 4096;
        while (cap < pss->rx_len + len) {
            cap *= 2;
        }
        unsigned char *b = realloc(pss->rx, cap);
        if (!b) {
            return -1;
        }
        pss->rx = b;
        pss->rx_cap = cap;
    }
    memcpy(pss->rx + pss->rx_len, in, len);
    pss->rx_len += len;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lwsl_err("connection error: %s\n", in ? (const char *)in : "(no message)");
        if (role != ROLE_CASE) {
            failed = true;
        }
        conn_done = true;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (role == ROLE_REPORTS) {
            reports_opened = true;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            pss->rx_len = 0;
        }
        if (append(pss, in, len) != 0) {
            return -1;
        }
        if (!lws_is_final_fragment(wsi)) {
            break;
        }
        if (role == ROLE_COUNT) {
            char text[32];
            size_t n = pss->rx_len < sizeof text - 1 ? pss->rx_len : sizeof text - 1;
            memcpy(text, pss->rx, n);
            text[n] = '\0';
            case_count = atoi(text);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (role == ROLE_CASE) {
            struct echo *e = malloc(sizeof *e + LWS_PRE + pss->rx_len);
            if (!e) {
                return -1;
            }
            e->next = NULL;
            e->len = pss->rx_len;
            e->is_text = !lws_frame_is_binary(wsi);
            memcpy(e->buf + LWS_PRE, pss->rx, pss->rx_len);
            if (pss->tail) {
                pss->tail->next = e;
            } else {
                pss->head = e;
            }
            pss->tail = e;
            pss->rx_len = 0;
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        struct echo *e = pss->head;
        if (!e) {
            break;
        }
        pss->head = e->next;
        if (!pss->head) {
            pss->tail = NULL;
        }
        int n = lws_write(wsi, e->buf + LWS_PRE, e->len,
                          e->is_text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
        bool short_write = n < (int)e->len;
        free(e);
        if (short_write) {
            lwsl_err("lws_write failed\n");
            return -1;
        }
        if (pss->head) {
            lws_callback_on_writable(wsi);
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_done = true;
        /* fallthrough */
    case LWS_CALLBACK_WSI_DESTROY:
        if (pss) {
            free_pss(pss);
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"autobahn-echo", callback, sizeof(struct pss), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws' own permessage-deflate offer, as its examples and test clients make it, plus
 * client_no_context_takeover as echo_client offers it: without it the 13.2, 13.5 and 13.6
 * cases are not negotiated (UNIMPLEMENTED) and the two libraries would not run the same
 * cases. */
static const struct lws_extension extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static char host[256], base_path[512];
static int port;
static bool secure;

/* Runs one connection to the base URL's path + PATH until lws has destroyed it. */
static int run_connection(struct lws_context *ctx, const char *path, enum role r) {
    char full[1024];
    if (snprintf(full, sizeof full, "%s%s", base_path, path) >= (int)sizeof full) {
        fprintf(stderr, "URL too long\n");
        return -1;
    }
    role = r;
    conn_done = false;
    struct lws *wsi = NULL;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = host;
    ci.port = port;
    ci.path = full;
    ci.host = host;
    ci.origin = host;
    ci.ssl_connection = secure ? LCCSCF_USE_SSL : 0;
    ci.protocol = NULL;
    ci.local_protocol_name = protocols[0].name;
    ci.pwsi = &wsi; /* lws sets it to NULL when the connection is destroyed */
    if (!lws_client_connect_via_info(&ci)) {
        fprintf(stderr, "lws_client_connect_via_info(%s) failed\n", full);
        return -1;
    }
    while (wsi && !conn_done) {
        if (lws_service(ctx, 0) < 0) {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [URL] [AGENT]   (%s is not supported)\n", argv[0], argv[1]);
        return 2;
    }
    const char *base = argc > 1 ? argv[1] : "ws://127.0.0.1:9001";
    const char *agent = argc > 2 ? argv[2] : "libwebsockets";
    char copy[1024];
    const char *prot, *address, *p;
    snprintf(copy, sizeof copy, "%s", base);
    if (lws_parse_uri(copy, &prot, &address, &port, &p) ||
        (strcmp(prot, "ws") != 0 && strcmp(prot, "wss") != 0)) {
        fprintf(stderr, "bad URL: %s\n", base);
        return 2;
    }
    secure = strcmp(prot, "wss") == 0;
    snprintf(host, sizeof host, "%s", address);
    /* The URL's path without its trailing '/'s, for the case paths to follow */
    snprintf(base_path, sizeof base_path, "%s%s", p[0] == '/' ? "" : "/", p);
    size_t bl = strlen(base_path);
    while (bl > 0 && base_path[bl - 1] == '/') {
        base_path[--bl] = '\0';
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.extensions = extensions;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   (secure ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.pt_serv_buf_size = 65536;
    info.timeout_secs = 30;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_create_context failed\n");
        return 1;
    }

    if (run_connection(ctx, "/getCaseCount", ROLE_COUNT) != 0 || failed || case_count < 0) {
        fprintf(stderr, "could not get the case count from %s\n", base);
        lws_context_destroy(ctx);
        return 1;
    }
    printf("%d cases\n", case_count);

    char path[256];
    for (int i = 1; i <= case_count; i++) {
        snprintf(path, sizeof path, "/runCase?case=%d&agent=%s", i, agent);
        if (run_connection(ctx, path, ROLE_CASE) != 0) {
            lws_context_destroy(ctx);
            return 1;
        }
        if (i % 50 == 0 || i == case_count) {
            printf("ran %d/%d\n", i, case_count);
        }
        fflush(stdout);
    }

    snprintf(path, sizeof path, "/updateReports?agent=%s", agent);
    /* The server writes the reports once the request is accepted, and may then drop TCP. */
    int r = run_connection(ctx, path, ROLE_REPORTS);
    lws_context_destroy(ctx);
    if (r != 0 || failed || !reports_opened) {
        fprintf(stderr, "could not update the reports\n");
        return 1;
    }
    return 0;
}
