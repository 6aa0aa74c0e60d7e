/*
 * wsc [options] URL: a command-line WebSocket client on the public libwsc API.
 *
 * Each message received is printed on its own line on stdout (binary ones as hex, or raw with
 * --raw); each line of stdin is sent as a text message (binary with --binary). At the end of
 * stdin the connection is closed with 1000 and wsc waits for the server's Close. Diagnostics go
 * to stderr. Exit status: 0 after a clean close, 1 when the connection failed or the server
 * closed it with an error code, 2 for bad usage, 130 after a second interrupt.
 * See docs/cli.md.
 *
 * One thread: poll(2) watches stdin, the context's descriptor (wsc_context_fd) and a pipe the
 * signal handler writes to, with wsc_next_timeout_ms as the timeout; wsc_service(ctx, 0) runs
 * after every wake-up. Stdin is read only while the connection is open and its send buffer
 * accepts more (a send that returns WSC_ERR_WOULD_BLOCK keeps its line until on_writable).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wsc.h>

/* The command-line client is versioned with the library it is built with. */
#define CLI_VERSION WSC_VERSION_STRING

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130

static const char usage_line[] = "usage: wsc [options] URL   (wsc --help lists the options)\n";

/* One string per section: ISO C bounds the length of a single string literal. */
static const char *const help_text[] = {
    "usage: wsc [options] URL\n"
    "\n"
    "Connects to a ws:// or wss:// URL (or ws+unix:///path/to.sock:/resource for a Unix\n"
    "domain socket, wss+unix:// with TLS), prints each message received on its own line on\n"
    "stdout and sends each line of stdin as a text message. At the end of stdin it closes\n"
    "with 1000 and waits for the server's Close. Exit status: 0 after a clean close, 1 when\n"
    "the connection failed, 2 for bad usage.\n"
    "\n"
    "Messages:\n"
    "  --binary                 send stdin lines as binary messages\n"
    "  --raw                    print binary messages received as raw bytes (default: hex)\n"
    "  -n N                     close after N messages received (0: as soon as open);\n"
    "                           the end of stdin then does not close\n"
    "  --send TEXT              send TEXT on open (repeatable, in order, before stdin);\n"
    "                           the end of stdin then does not close\n"
    "  --trust-text             do not check that stdin lines are UTF-8 (trust_outgoing_text)\n"
    "  --stream                 print each message in parts as they arrive, however large\n"
    "                           (stream_messages; no whole message is held in memory)\n"
    "\n",
    "Handshake:\n"
    "  -H, --header 'Name: value'  an extra request header (repeatable)\n"
    "  --subprotocol P          offer subprotocol P (repeatable, in order of preference)\n"
    "  --origin O               send Origin: O\n"
    "  --max-redirects N        follow up to N HTTP redirects (default 0)\n"
    "\n",
    "Network and TLS:\n"
    "  --proxy URL              tunnel through this proxy: http://[user:pw@]host[:port]\n"
    "                           (CONNECT), socks5:// (SOCKS5, names resolved here) or\n"
    "                           socks5h:// (the proxy resolves names); default port 1080\n"
    "                           (default: $http_proxy for ws://, $https_proxy for wss://,\n"
    "                           else $all_proxy, unless $no_proxy matches)\n"
    "  --no-proxy               connect directly, whatever the environment says\n"
    "  --connect-to HOST[:PORT] connect there instead of the URL's host, which still names\n"
    "                           the server (Host, TLS SNI and certificate); also a list of\n"
    "                           IP addresses, '[::1]:9001,127.0.0.1:9001'\n"
    "  --local-address ADDR[:PORT]  connect from this local IP address ([IPV6]:PORT)\n"
    "  --interface NAME         connect through this network interface (Linux)\n"
    "  --ca FILE                trust the CA certificates in this PEM file (wss://)\n"
    "  -k, --insecure           DANGER: accept any server certificate (wss://)\n"
    "  --reconnect              reconnect after a drop, with backoff\n"
    "  --reconnect-min-delay MS   first wait before reconnecting (default 500)\n"
    "  --reconnect-max-delay MS   longest wait (default 30000)\n"
    "  --reconnect-max-attempts N retries in a row before giving up (default 0: never)\n"
    "  --retry-4xx              with --reconnect, retry a handshake refused with 4xx too\n"
    "                           (by default only 408 and 429 are retried)\n"
    "\n",
    "TLS (wss://):\n"
    "  --ca-add FILE            trust the CA certificates in this PEM file as well as the\n"
    "                           system's (--ca replaces the system's)\n"
    "  --cert FILE              present this client certificate chain (PEM; mutual TLS)\n"
    "  --key FILE               the client certificate's private key (PEM: PKCS#8, PKCS#1 or\n"
    "                           SEC1; RSA, ECDSA P-256/P-384, Ed25519)\n"
    "  --server-name NAME       send NAME in SNI and verify it in the certificate instead of\n"
    "                           the URL's host (the Host header stays the URL's)\n"
    "  --allow-self-signed      accept a self-signed server certificate (dates and name are\n"
    "                           still verified)\n"
    "  --no-verify-hostname     do not check the certificate's name (the chain is still\n"
    "                           verified)\n"
    "  --allow-expired          accept expired certificates (names and issuers still verified)\n"
    "  --keylog                 append the TLS secrets to $SSLKEYLOGFILE, for Wireshark;\n"
    "                           DEBUGGING ONLY: the file decrypts the recorded sessions\n"
    "\n",
    "Compression (permessage-deflate):\n"
    "  --no-deflate             do not offer permessage-deflate\n"
    "  --deflate-level L        compression level 1-9 (default 2)\n"
    "  --deflate-offer PARAMS   an offer such as 'client_no_context_takeover;\n"
    "                           server_max_window_bits=10' (repeatable, in order of preference)\n"
    "\n",
    "Timeouts (milliseconds; 0 means the default):\n"
    "  --connect-timeout MS     name resolution and TCP connect (default 10000)\n"
    "  --handshake-timeout MS   the server's 101 response (default 10000)\n"
    "  --close-timeout MS       the server's Close after ours (default 5000)\n"
    "  --ping-interval MS       send a keepalive ping this often (default 0: never)\n"
    "  --ping-timeout MS        how long a keepalive ping may stay unanswered (default 10000)\n"
    "\n",
    "Limits (0 means the default):\n"
    "  --max-message BYTES      largest message (and frame) accepted (default 64 MiB)\n"
    "  --max-frame BYTES        largest frame accepted (default 16 MiB, or --max-message)\n"
    "  --max-fragments N        most fragments in one message (default 1048576)\n"
    "  --max-handshake-size BYTES  largest handshake response (default 16384)\n"
    "  --max-handshake-headers N   most headers in the handshake response (default 64)\n"
    "  --send-buffer BYTES      unwritten bytes above which stdin waits (default 16 MiB)\n"
    "\n",
    "Other:\n"
    "  -v, --verbose            connection events and the library's debug log (handshake headers,\n"
    "                           credentials redacted) on stderr; -vv: also every message, ping,\n"
    "                           pong and frame (the library's trace log)\n"
    "  -h, --help               this help\n"
    "  -V, --version            the versions of wsc and of the library\n"
    "\n"
    "Ctrl-C (SIGINT or SIGTERM) closes with 1000 and waits for the server; a second one quits\n"
    "at once. Options may also be written --name=value.\n",
};

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */

struct options {
    const char *url;
    int verbose;
    bool binary, raw;
    long long max_messages; /* -1: no limit */
    const char **sends;
    size_t send_count;
    /* Storage behind conn.headers / conn.subprotocols / conn.deflate_offers. */
    wsc_header *headers;
    char **header_names;
    size_t header_count;
    const char **subprotocols;
    size_t subprotocol_count;
    wsc_deflate_offer *offers;
    size_t offer_count;
    bool frame_size_given;
    wsc_connect_options conn;
};

static void options_free(struct options *o) {
    for (size_t i = 0; i < o->header_count; i++) free(o->header_names[i]);
    free(o->header_names);
    free(o->headers);
    free(o->subprotocols);
    free(o->sends);
    free(o->offers);
}

static void usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("wsc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage_line, stderr);
}

/* Appends one element to a growing array; false when out of memory. */
static bool grow(void **array, size_t count, size_t elem_size) {
    void *p = realloc(*array, (count + 1) * elem_size);
    if (p == NULL) return false;
    *array = p;
    return true;
}

/* A decimal number from 0 to max, digits only. */
static bool parse_number(const char *opt, const char *s, unsigned long long max,
                         unsigned long long *out) {
    unsigned long long v = 0;
    if (*s == '\0') goto bad;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10) goto bad;
        v = v * 10 + d;
    }
    *out = v;
    return true;
bad:
    usage_error("%s: '%s' is not a number from 0 to %llu", opt, s, max);
    return false;
}

static bool parse_u32(const char *opt, const char *s, uint32_t *out) {
    unsigned long long v;
    if (!parse_number(opt, s, UINT32_MAX, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_size(const char *opt, const char *s, size_t *out) {
    unsigned long long v;
    if (!parse_number(opt, s, SIZE_MAX, &v)) return false;
    *out = (size_t)v;
    return true;
}

static bool parse_header(struct options *o, const char *opt, const char *s) {
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon == s) {
        usage_error("%s '%s': a header is written 'Name: value'", opt, s);
        return false;
    }
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t') value++;
    size_t name_len = (size_t)(colon - s);
    while (name_len > 0 && (s[name_len - 1] == ' ' || s[name_len - 1] == '\t')) name_len--;
    char *name = malloc(name_len + 1);
    if (name == NULL || !grow((void **)&o->headers, o->header_count, sizeof *o->headers) ||
        !grow((void **)&o->header_names, o->header_count, sizeof *o->header_names)) {
        free(name);
        usage_error("out of memory");
        return false;
    }
    memcpy(name, s, name_len);
    name[name_len] = '\0';
    o->header_names[o->header_count] = name;
    o->headers[o->header_count] = (wsc_header){.name = name, .value = value};
    o->header_count++;
    return true;
}

/* "client_no_context_takeover; server_max_window_bits=10" (';' or ',' between parameters). */
static bool parse_deflate_offer(struct options *o, const char *opt, const char *s) {
    wsc_deflate_offer offer = {0};
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ';' || *p == ',') p++;
        if (*p == '\0') break;
        size_t n = strcspn(p, " \t;,=");
        const char *name = p;
        p += n;
        while (*p == ' ' || *p == '\t') p++;
        unsigned long long bits = 0;
        bool has_value = false;
        if (*p == '=') {
            p++;
            while (*p == ' ' || *p == '\t') p++;
            size_t vn = strspn(p, "0123456789");
            if (vn == 0 || vn > 2) goto bad;
            char digits[3] = {0};
            memcpy(digits, p, vn);
            bits = strtoull(digits, NULL, 10);
            if (bits < 8 || bits > 15) goto bad;
            has_value = true;
            p += vn;
        }
#define IS(word) (n == sizeof(word) - 1 && strncmp(name, word, n) == 0)
        if (IS("permessage-deflate") && !has_value) {
            /* the extension's own name may be written too */
        } else if (IS("client_no_context_takeover") && !has_value) {
            offer.client_no_context_takeover = true;
        } else if (IS("server_no_context_takeover") && !has_value) {
            offer.server_no_context_takeover = true;
        } else if (IS("client_max_window_bits")) {
            offer.client_max_window_bits = (uint8_t)bits; /* 0: the parameter without a value */
        } else if (IS("server_max_window_bits") && has_value) {
            offer.server_max_window_bits = (uint8_t)bits;
        } else {
            goto bad;
        }
#undef IS
    }
    if (!grow((void **)&o->offers, o->offer_count, sizeof *o->offers)) {
        usage_error("out of memory");
        return false;
    }
    o->offers[o->offer_count++] = offer;
    return true;
bad:
    usage_error("%s '%s': parameters are client_no_context_takeover, "
                "server_no_context_takeover, client_max_window_bits[=8-15] and "
                "server_max_window_bits=8-15",
                opt, s);
    return false;
}

/*
 * Whether `arg` is the option `name`; its value (if it takes one) comes from "--name=value",
 * "-Xvalue" (one-letter options) or the next argument.
 */
static bool opt_is(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

static bool opt_value(int argc, char **argv, int *i, const char *name, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return false;
    if (arg[n] == '\0') {
        if (*i + 1 >= argc) {
            *value = NULL; /* missing: reported by the caller */
            return true;
        }
        *value = argv[++*i];
        return true;
    }
    if (name[1] != '-') { /* -Hvalue, -n5 */
        *value = arg + n;
        return true;
    }
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    return false;
}

enum parse_result { PARSE_RUN, PARSE_EXIT_OK, PARSE_USAGE };

static enum parse_result parse_args(int argc, char **argv, struct options *o) {
    bool options_done = false;
    o->max_messages = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *v = NULL;
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (o->url != NULL) {
                usage_error("one URL only ('%s' and '%s')", o->url, arg);
                return PARSE_USAGE;
            }
            o->url = arg;
            continue;
        }
        if (opt_is(arg, "--")) {
            options_done = true;
        } else if (opt_is(arg, "-h") || opt_is(arg, "--help")) {
            for (size_t k = 0; k < sizeof help_text / sizeof *help_text; k++)
                fputs(help_text[k], stdout);
            return PARSE_EXIT_OK;
        } else if (opt_is(arg, "-V") || opt_is(arg, "--version")) {
            printf("wsc %s (libwsc %s)\n", CLI_VERSION, wsc_version());
            return PARSE_EXIT_OK;
        } else if (opt_is(arg, "--verbose")) {
            o->verbose++;
        } else if (arg[1] == 'v' && strspn(arg + 1, "v") == strlen(arg + 1)) {
            o->verbose += (int)strlen(arg + 1); /* -v, -vv */
        } else if (opt_is(arg, "--binary")) {
            o->binary = true;
        } else if (opt_is(arg, "--raw")) {
            o->raw = true;
        } else if (opt_is(arg, "--trust-text")) {
            o->conn.trust_outgoing_text = true;
        } else if (opt_is(arg, "--stream")) {
            o->conn.stream_messages = true;
        } else if (opt_is(arg, "-k") || opt_is(arg, "--insecure")) {
            o->conn.tls_insecure_skip_verification = true;
        } else if (opt_is(arg, "--allow-self-signed")) {
            o->conn.tls_allow_self_signed = true;
        } else if (opt_is(arg, "--no-verify-hostname")) {
            o->conn.tls_skip_hostname_verification = true;
        } else if (opt_is(arg, "--allow-expired")) {
            o->conn.tls_allow_expired = true;
        } else if (opt_is(arg, "--keylog")) {
            o->conn.tls_key_log = true;
        } else if (opt_is(arg, "--no-proxy")) {
            o->conn.proxy_disable = true;
        } else if (opt_is(arg, "--no-deflate")) {
            o->conn.deflate_disable = true;
        } else if (opt_is(arg, "--reconnect")) {
            o->conn.reconnect = true;
        } else if (opt_is(arg, "--retry-4xx")) {
            o->conn.reconnect_on_client_error = true;
        } else {
            /* Options with a value. */
            static const char *const with_value[] = {
                "-H", "--header", "-n", "--send", "--subprotocol", "--origin", "--ca",
                "--proxy", "--connect-to", "--local-address", "--interface", "--ping-interval", "--ping-timeout", "--max-message", "--max-frame",
                "--max-fragments", "--max-handshake-size", "--max-handshake-headers",
                "--send-buffer", "--connect-timeout", "--handshake-timeout", "--close-timeout",
                "--max-redirects", "--reconnect-min-delay", "--reconnect-max-delay",
                "--reconnect-max-attempts", "--deflate-level", "--deflate-offer", "--ca-add",
                "--cert", "--key", "--server-name"};
            const char *name = NULL;
            for (size_t k = 0; k < sizeof with_value / sizeof *with_value && !name; k++)
                if (opt_value(argc, argv, &i, with_value[k], &v)) name = with_value[k];
            if (name == NULL) {
                usage_error("unknown option '%s'", arg);
                return PARSE_USAGE;
            }
            if (v == NULL) {
                usage_error("%s needs a value", name);
                return PARSE_USAGE;
            }
            bool ok = true;
            unsigned long long n;
            if (opt_is(name, "-H") || opt_is(name, "--header")) {
                ok = parse_header(o, name, v);
            } else if (opt_is(name, "-n")) {
                ok = parse_number(name, v, INT64_MAX, &n);
                o->max_messages = (long long)n;
            } else if (opt_is(name, "--send")) {
                ok = grow((void **)&o->sends, o->send_count, sizeof *o->sends);
                if (ok) o->sends[o->send_count++] = v;
            } else if (opt_is(name, "--subprotocol")) {
                if (*v == '\0') {
                    usage_error("--subprotocol: the name is empty");
                    return PARSE_USAGE;
                }
                ok = grow((void **)&o->subprotocols, o->subprotocol_count,
                          sizeof *o->subprotocols);
                if (ok) o->subprotocols[o->subprotocol_count++] = v;
            } else if (opt_is(name, "--origin")) {
                o->conn.origin = v;
            } else if (opt_is(name, "--ca") || opt_is(name, "--ca-add")) {
                if (o->conn.tls_ca_file != NULL) {
                    usage_error("%s: one CA file only (--ca or --ca-add, once)", name);
                    return PARSE_USAGE;
                }
                o->conn.tls_ca_file = v;
                o->conn.tls_ca_add_to_system = opt_is(name, "--ca-add");
            } else if (opt_is(name, "--cert")) {
                o->conn.tls_client_cert_file = v;
            } else if (opt_is(name, "--key")) {
                o->conn.tls_client_key_file = v;
            } else if (opt_is(name, "--server-name")) {
                o->conn.tls_server_name = v;
            } else if (opt_is(name, "--proxy")) {
                o->conn.proxy_url = v;
            } else if (opt_is(name, "--connect-to")) {
                o->conn.connect_to = v;
            } else if (opt_is(name, "--local-address")) {
                o->conn.local_address = v;
            } else if (opt_is(name, "--interface")) {
                o->conn.interface = v;
            } else if (opt_is(name, "--ping-interval")) {
                ok = parse_u32(name, v, &o->conn.keepalive_interval_ms);
            } else if (opt_is(name, "--ping-timeout")) {
                ok = parse_u32(name, v, &o->conn.keepalive_timeout_ms);
            } else if (opt_is(name, "--max-message")) {
                ok = parse_number(name, v, UINT64_MAX, &n);
                o->conn.max_message_size = n;
                if (!o->frame_size_given) o->conn.max_frame_size = n;
            } else if (opt_is(name, "--max-frame")) {
                ok = parse_number(name, v, UINT64_MAX, &n);
                o->conn.max_frame_size = n;
                o->frame_size_given = true;
            } else if (opt_is(name, "--max-fragments")) {
                ok = parse_u32(name, v, &o->conn.max_fragments);
            } else if (opt_is(name, "--max-handshake-size")) {
                ok = parse_size(name, v, &o->conn.max_handshake_size);
            } else if (opt_is(name, "--max-handshake-headers")) {
                ok = parse_u32(name, v, &o->conn.max_handshake_headers);
            } else if (opt_is(name, "--send-buffer")) {
                ok = parse_size(name, v, &o->conn.send_buffer_limit);
            } else if (opt_is(name, "--connect-timeout")) {
                ok = parse_u32(name, v, &o->conn.connect_timeout_ms);
            } else if (opt_is(name, "--handshake-timeout")) {
                ok = parse_u32(name, v, &o->conn.handshake_timeout_ms);
            } else if (opt_is(name, "--close-timeout")) {
                ok = parse_u32(name, v, &o->conn.close_timeout_ms);
            } else if (opt_is(name, "--max-redirects")) {
                ok = parse_u32(name, v, &o->conn.max_redirects);
            } else if (opt_is(name, "--reconnect-min-delay")) {
                ok = parse_u32(name, v, &o->conn.reconnect_min_delay_ms);
            } else if (opt_is(name, "--reconnect-max-delay")) {
                ok = parse_u32(name, v, &o->conn.reconnect_max_delay_ms);
            } else if (opt_is(name, "--reconnect-max-attempts")) {
                ok = parse_u32(name, v, &o->conn.reconnect_max_attempts);
            } else if (opt_is(name, "--deflate-level")) {
                ok = parse_number(name, v, 9, &n);
                if (ok && n == 0) {
                    usage_error("%s: '%s' is not a level from 1 to 9", name, v);
                    ok = false;
                }
                o->conn.deflate_level = (uint8_t)n;
            } else if (opt_is(name, "--deflate-offer")) {
                ok = parse_deflate_offer(o, name, v);
            }
            if (!ok) return PARSE_USAGE;
        }
    }
    if (o->url == NULL) {
        usage_error("no URL given");
        return PARSE_USAGE;
    }
    o->conn.headers = o->headers;
    o->conn.header_count = o->header_count;
    o->conn.subprotocols = o->subprotocols;
    o->conn.subprotocol_count = o->subprotocol_count;
    o->conn.deflate_offers = o->offers;
    o->conn.deflate_offer_count = o->offer_count;
    return PARSE_RUN;
}

/* ------------------------------------------------------------------------------------------ */
/* The connection                                                                              */

struct app {
    const struct options *opt;
    wsc_connection *conn;
    bool open;           /* between on_open and on_close */
    bool closing;        /* wsc_close called: nothing more to send, no reconnect */
    bool blocked;        /* a send returned WSC_ERR_WOULD_BLOCK: wait for on_writable */
    bool error_reported; /* on_error ran since the last open */
    size_t sends_done;   /* --send messages sent since the last open */
    /* Stdin: bytes [start, len) of buf are read and not yet sent. */
    char *buf;
    size_t start, len, cap;
    bool stdin_eof;
    bool stdout_broken;
    unsigned long long received;
    int interrupts;
    int status; /* the exit status, decided by the last on_close */
};

static const char *result_name(wsc_result r) {
    switch (r) {
    case WSC_OK: return "WSC_OK";
    case WSC_ERR_NULL_ARGUMENT: return "WSC_ERR_NULL_ARGUMENT";
    case WSC_ERR_INVALID_ARGUMENT: return "WSC_ERR_INVALID_ARGUMENT";
    case WSC_ERR_INVALID_URL: return "WSC_ERR_INVALID_URL";
    case WSC_ERR_UNSUPPORTED: return "WSC_ERR_UNSUPPORTED";
    case WSC_ERR_NOT_OPEN: return "WSC_ERR_NOT_OPEN";
    case WSC_ERR_WOULD_BLOCK: return "WSC_ERR_WOULD_BLOCK";
    case WSC_ERR_FRAGMENT_STATE: return "WSC_ERR_FRAGMENT_STATE";
    case WSC_ERR_BUSY: return "WSC_ERR_BUSY";
    case WSC_ERR_CONTEXT_CLOSED: return "WSC_ERR_CONTEXT_CLOSED";
    case WSC_ERR_PANIC: return "WSC_ERR_PANIC";
    case WSC_ERR_NOT_FOUND: return "WSC_ERR_NOT_FOUND";
    case WSC_ERR_RESOLVE: return "WSC_ERR_RESOLVE";
    case WSC_ERR_CONNECT_REFUSED: return "WSC_ERR_CONNECT_REFUSED";
    case WSC_ERR_UNREACHABLE: return "WSC_ERR_UNREACHABLE";
    case WSC_ERR_CONNECT_TIMEOUT: return "WSC_ERR_CONNECT_TIMEOUT";
    case WSC_ERR_IO: return "WSC_ERR_IO";
    case WSC_ERR_CONNECTION_LOST: return "WSC_ERR_CONNECTION_LOST";
    case WSC_ERR_KEEPALIVE_TIMEOUT: return "WSC_ERR_KEEPALIVE_TIMEOUT";
    case WSC_ERR_PROXY: return "WSC_ERR_PROXY";
    case WSC_ERR_HANDSHAKE_STATUS: return "WSC_ERR_HANDSHAKE_STATUS";
    case WSC_ERR_HANDSHAKE_INVALID: return "WSC_ERR_HANDSHAKE_INVALID";
    case WSC_ERR_HANDSHAKE_TOO_LARGE: return "WSC_ERR_HANDSHAKE_TOO_LARGE";
    case WSC_ERR_HANDSHAKE_TIMEOUT: return "WSC_ERR_HANDSHAKE_TIMEOUT";
    case WSC_ERR_PROTOCOL: return "WSC_ERR_PROTOCOL";
    case WSC_ERR_INVALID_UTF8: return "WSC_ERR_INVALID_UTF8";
    case WSC_ERR_MESSAGE_TOO_BIG: return "WSC_ERR_MESSAGE_TOO_BIG";
    case WSC_ERR_CLOSE_TIMEOUT: return "WSC_ERR_CLOSE_TIMEOUT";
    case WSC_ERR_TLS_CERTIFICATE: return "WSC_ERR_TLS_CERTIFICATE";
    case WSC_ERR_TLS: return "WSC_ERR_TLS";
    }
    return "WSC_ERR_?"; /* a newer library's code: its number is printed too */
}

/* "connection refused (WSC_ERR_CONNECT_REFUSED, 101)" */
static void print_result(wsc_result r) {
    fprintf(stderr, "%s (%s, %d)", wsc_result_str((int)r), result_name(r), (int)r);
}

static void verbose(const struct app *app, int level, const char *fmt, ...) {
    if (app->opt->verbose < level) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("* ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* -v, -vv: the library's own log (debug, trace) on stderr among wsc's lines. Called from the
 * loop's thread (and at trace level from threads that send): one fprintf per line keeps
 * lines whole. */
static void library_log(wsc_log_level level, const char *line, void *user) {
    (void)level;
    (void)user;
    fprintf(stderr, "* %s\n", line);
}

static void close_connection(struct app *app, uint16_t code) {
    if (app->closing) return;
    app->closing = true;
    verbose(app, 1, "closing with %u", code);
    wsc_result r = wsc_close(app->conn, code, NULL);
    if (r != WSC_OK) {
        fputs("wsc: close: ", stderr);
        print_result(r);
        fprintf(stderr, ": %s\n", wsc_last_error());
    }
}

/* Sends one message; false when it must wait (not open, or the send buffer is full). */
static bool send_message(struct app *app, const char *data, size_t len, const char *what) {
    bool text = !app->opt->binary;
    wsc_result r = text ? wsc_send_text(app->conn, data, len)
                        : wsc_send_binary(app->conn, (const uint8_t *)data, len);
    switch (r) {
    case WSC_OK:
        if (app->opt->verbose >= 2)
            fprintf(stderr, "> %s %zu bytes\n", text ? "text" : "binary", len);
        return true;
    case WSC_ERR_WOULD_BLOCK:
        app->blocked = true;
        verbose(app, 2, "send buffer full (%zu bytes): waiting",
                wsc_connection_buffered_amount(app->conn));
        return false;
    case WSC_ERR_NOT_OPEN:
        return false; /* kept: sent after a reconnect, or dropped at the end */
    default:
        /* e.g. a line that is not UTF-8: said and skipped, the rest still goes */
        fprintf(stderr, "wsc: %s not sent: ", what);
        print_result(r);
        fprintf(stderr, ": %s\n", wsc_last_error());
        return true;
    }
}

/* Whether the end of stdin closes the connection (not with -n or --send: they wait). */
static bool eof_closes(const struct app *app) {
    return app->opt->max_messages < 0 && app->opt->send_count == 0;
}

/* Sends what can be sent: the --send messages, then the complete lines read from stdin. */
static void pump(struct app *app) {
    while (app->open && !app->closing && !app->blocked &&
           app->sends_done < app->opt->send_count) {
        const char *s = app->opt->sends[app->sends_done];
        if (!send_message(app, s, strlen(s), "--send message")) return;
        app->sends_done++;
    }
    while (app->open && !app->closing && !app->blocked) {
        char *line = app->buf + app->start;
        size_t avail = app->len - app->start;
        char *nl = avail ? memchr(line, '\n', avail) : NULL;
        size_t n;
        if (nl != NULL)
            n = (size_t)(nl - line);
        else if (app->stdin_eof && avail > 0)
            n = avail; /* a last line without a newline */
        else
            break;
        if (!send_message(app, line, n, "line")) return;
        app->start += n + (nl != NULL);
    }
    if (app->open && !app->blocked && app->stdin_eof && app->start == app->len &&
        eof_closes(app))
        close_connection(app, WSC_CLOSE_NORMAL);
}

/* Reads what stdin has, then sends. */
static void read_stdin(struct app *app) {
    if (app->start > 0 && app->start == app->len) app->start = app->len = 0;
    if (app->cap - app->len < 65536) {
        /* Move the unsent part to the front, or grow for a long line. */
        if (app->start > 0) {
            memmove(app->buf, app->buf + app->start, app->len - app->start);
            app->len -= app->start;
            app->start = 0;
        }
        if (app->cap - app->len < 65536) {
            size_t cap = app->cap ? app->cap * 2 : 131072;
            char *p = realloc(app->buf, cap);
            if (p == NULL) {
                fputs("wsc: out of memory reading stdin\n", stderr);
                app->stdin_eof = true;
                close_connection(app, WSC_CLOSE_INTERNAL_ERROR);
                return;
            }
            app->buf = p;
            app->cap = cap;
        }
    }
    ssize_t n = read(STDIN_FILENO, app->buf + app->len, app->cap - app->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0 && errno != EBADF) perror("wsc: reading stdin");
    if (n <= 0) {
        verbose(app, 2, "end of stdin");
        app->stdin_eof = true;
    } else {
        app->len += (size_t)n;
    }
    pump(app);
}

/* Prints a message's bytes: text as it is, binary as hex unless --raw. */
static void print_bytes(struct app *app, const uint8_t *data, size_t len, bool is_text) {
    if (app->stdout_broken) return;
    if (is_text || app->opt->raw) {
        fwrite(data, 1, len, stdout);
    } else {
        static const char digits[] = "0123456789abcdef";
        char hex[1024];
        for (size_t i = 0; i < len;) {
            size_t k = 0;
            for (; i < len && k < sizeof hex; i++) {
                hex[k++] = digits[data[i] >> 4];
                hex[k++] = digits[data[i] & 15];
            }
            fwrite(hex, 1, k, stdout);
        }
    }
}

/* Ends what was printed (a message, or a part): the newline at a message's end, then a flush;
 * a failure to write (the reader went away) closes with 1001. */
static void print_flush(struct app *app, bool end_of_message, bool is_text) {
    if (app->stdout_broken) return;
    if (end_of_message && (is_text || !app->opt->raw)) putchar('\n');
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE) perror("wsc: writing stdout");
        app->stdout_broken = true;
        close_connection(app, WSC_CLOSE_GOING_AWAY);
    }
}

static void print_message(struct app *app, const uint8_t *data, size_t len, bool is_text) {
    print_bytes(app, data, len, is_text);
    print_flush(app, true, is_text);
}

static void on_open(wsc_connection *conn, void *user) {
    struct app *app = user;
    app->open = true;
    app->error_reported = false;
    app->sends_done = 0;
    if (app->opt->verbose >= 1) {
        verbose(app, 1, "open: %s", app->opt->url);
        const char *sub = wsc_connection_subprotocol(conn);
        if (sub != NULL)
            verbose(app, 1, "subprotocol: %s", sub);
        else if (app->opt->subprotocol_count > 0)
            verbose(app, 1, "subprotocol: none chosen by the server");
        const uint8_t *value;
        size_t len;
        if (wsc_connection_header(conn, "Sec-WebSocket-Extensions", &value, &len) == WSC_OK)
            verbose(app, 1, "Sec-WebSocket-Extensions: %.*s", (int)len, (const char *)value);
        else if (!app->opt->conn.deflate_disable)
            verbose(app, 1, "permessage-deflate: not accepted by the server");
    }
    long long max = app->opt->max_messages;
    if (max >= 0 && app->received >= (unsigned long long)max) {
        pump(app); /* the --send messages, then close: -n 0 */
        close_connection(app, WSC_CLOSE_NORMAL);
        return;
    }
    pump(app);
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
    (void)conn;
    struct app *app = user;
    long long max = app->opt->max_messages;
    if (max >= 0 && app->received >= (unsigned long long)max) return; /* after -n N */
    app->received++;
    if (app->opt->verbose >= 2)
        fprintf(stderr, "< %s %zu bytes\n", is_text ? "text" : "binary", len);
    print_message(app, data, len, is_text);
    if (max >= 0 && app->received == (unsigned long long)max)
        close_connection(app, WSC_CLOSE_NORMAL);
}

/* --stream: each part printed as it arrives; a message counts (-n) at its last part. */
static void on_message_part(wsc_connection *conn, const uint8_t *data, size_t len, uint32_t flags,
                            uint64_t remaining_in_frame, void *user) {
    (void)conn, (void)remaining_in_frame;
    struct app *app = user;
    long long max = app->opt->max_messages;
    if (max >= 0 && app->received >= (unsigned long long)max) return; /* after -n N */
    bool is_text = (flags & WSC_PART_TEXT) != 0, last = (flags & WSC_PART_LAST) != 0;
    if (app->opt->verbose >= 2)
        fprintf(stderr, "< %s part %zu bytes%s\n", is_text ? "text" : "binary", len,
                last ? " (last)" : "");
    print_bytes(app, data, len, is_text);
    print_flush(app, last, is_text);
    if (!last) return;
    app->received++;
    if (max >= 0 && app->received == (unsigned long long)max)
        close_connection(app, WSC_CLOSE_NORMAL);
}

static void on_ping(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    (void)conn, (void)data;
    if (((struct app *)user)->opt->verbose >= 2) fprintf(stderr, "< ping %zu bytes\n", len);
}

static void on_pong(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
    (void)conn, (void)data;
    if (((struct app *)user)->opt->verbose >= 2) fprintf(stderr, "< pong %zu bytes\n", len);
}

static void on_writable(wsc_connection *conn, void *user) {
    (void)conn;
    struct app *app = user;
    app->blocked = false;
    verbose(app, 2, "send buffer drained");
    pump(app);
}

/* Server-supplied bytes on stderr: control characters but newline and tab become '.'. */
static void print_sanitized(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char b = data[i];
        fputc(b == '\n' || b == '\t' || (b >= 0x20 && b != 0x7f) ? b : '.', stderr);
    }
}

/* A refused handshake: the status, with -v every header field, and the start of the body. */
static void print_refusal(const struct app *app, wsc_connection *conn) {
    uint16_t status = wsc_connection_status(conn);
    if (status == 0 || status == 101) return;
    fprintf(stderr, "wsc: the server refused the handshake with status %u\n", status);
    if (app->opt->verbose >= 1) {
        const uint8_t *name, *value;
        size_t name_len, value_len;
        for (size_t i = 0;
             wsc_connection_header_at(conn, i, &name, &name_len, &value, &value_len) == WSC_OK;
             i++) {
            fputs("* < ", stderr);
            print_sanitized(name, name_len);
            fputs(": ", stderr);
            print_sanitized(value, value_len);
            fputc('\n', stderr);
        }
    }
    const uint8_t *body;
    size_t body_len;
    if (wsc_connection_response_body(conn, &body, &body_len) == WSC_OK && body_len > 0) {
        fprintf(stderr, "wsc: response body (first %zu bytes):\n", body_len);
        print_sanitized(body, body_len);
        if (body[body_len - 1] != '\n') fputc('\n', stderr);
    }
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
    struct app *app = user;
    app->error_reported = true;
    fputs("wsc: ", stderr);
    print_result(result);
    fprintf(stderr, ": %s\n", message);
    if (result == WSC_ERR_HANDSHAKE_STATUS) print_refusal(app, conn);
}

static const char *closed_by_str(wsc_closed_by by) {
    switch (by) {
    case WSC_CLOSED_BY_SERVER: return "the server";
    case WSC_CLOSED_BY_APPLICATION: return "wsc";
    case WSC_CLOSED_BY_FAILURE: return "a failure";
    }
    return "?";
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
                     wsc_closed_by closed_by, bool clean, void *user) {
    struct app *app = user;
    int64_t retry = wsc_connection_retry_in_ms(conn);
    app->open = false;
    app->blocked = false;
    verbose(app, 1, "closed: %u%s%.*s, by %s, %s", code, reason_len ? " " : "", (int)reason_len,
            reason, closed_by_str(closed_by), clean ? "clean" : "not clean");
    if (retry >= 0) {
        verbose(app, 1, "reconnecting in %lld ms", (long long)retry);
        return;
    }
    bool ok = clean && (closed_by == WSC_CLOSED_BY_APPLICATION ||
                        code == WSC_CLOSE_NORMAL || code == WSC_CLOSE_NO_STATUS);
    if (ok) {
        app->status = 0;
    } else if (app->interrupts > 0 && !clean) {
        app->status = EXIT_INTERRUPTED;
    } else {
        app->status = EXIT_FAILED;
        /* Say why unless on_error did (or -v printed it just above). */
        if (!app->error_reported && app->opt->verbose < 1)
            fprintf(stderr, "wsc: closed: %u%s%.*s, by %s, %s\n", code, reason_len ? " " : "",
                    (int)reason_len, reason, closed_by_str(closed_by),
                    clean ? "clean" : "not clean");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Signals: the handler writes a byte to a pipe that poll watches.                             */

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) { /* full: enough signals are pending already */
    }
    errno = saved;
}

static bool setup_signals(void) {
    if (pipe(signal_pipe) != 0) return false;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a closed stdout is an EPIPE error, handled */
    return true;
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    struct options opt = {0};
    opt.conn = (wsc_connect_options)WSC_CONNECT_OPTIONS_INIT;
    enum parse_result pr = parse_args(argc, argv, &opt);
    if (pr != PARSE_RUN) {
        options_free(&opt);
        return pr == PARSE_EXIT_OK ? 0 : EXIT_USAGE;
    }
    if (!setup_signals()) {
        perror("wsc: pipe");
        options_free(&opt);
        return EXIT_FAILED;
    }

    struct app app = {.opt = &opt, .status = EXIT_FAILED};
    bool quit = false; /* a second interrupt */
    wsc_callbacks cb = WSC_CALLBACKS_INIT;
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_message_part = on_message_part;
    cb.on_ping = on_ping;
    cb.on_pong = on_pong;
    cb.on_writable = on_writable;
    cb.on_error = on_error;
    cb.on_close = on_close;
    if (opt.verbose >= 1)
        wsc_log_set_handler(library_log, NULL, opt.verbose >= 2 ? WSC_LOG_TRACE : WSC_LOG_DEBUG);
    wsc_context *ctx = NULL;
    wsc_result r = wsc_context_new(NULL, &ctx);
    if (r != WSC_OK) {
        fputs("wsc: ", stderr);
        print_result(r);
        fprintf(stderr, ": %s\n", wsc_last_error());
        goto done;
    }
    verbose(&app, 1, "connecting to %s", opt.url);
    if (opt.conn.proxy_url) verbose(&app, 1, "proxy: %s", opt.conn.proxy_url);
    if (opt.conn.connect_to) verbose(&app, 1, "connect to: %s", opt.conn.connect_to);
    r = wsc_connect(ctx, opt.url, &opt.conn, &cb, &app, &app.conn);
    if (r != WSC_OK) {
        fputs("wsc: ", stderr);
        print_result(r);
        fprintf(stderr, ": %s\n", wsc_last_error());
        /* A malformed URL, header or subprotocol is the command line's fault. */
        if (r == WSC_ERR_INVALID_URL || r == WSC_ERR_INVALID_ARGUMENT) {
            fputs(usage_line, stderr);
            app.status = EXIT_USAGE;
        }
        goto done;
    }

    while (!quit && wsc_context_connection_count(ctx) > 0) {
        bool want_stdin = app.open && !app.closing && !app.blocked && !app.stdin_eof;
        struct pollfd fds[3] = {{.fd = signal_pipe[0], .events = POLLIN},
                                {.fd = wsc_context_fd(ctx), .events = POLLIN},
                                {.fd = STDIN_FILENO, .events = POLLIN}};
        if (poll(fds, want_stdin ? 3 : 2, wsc_next_timeout_ms(ctx)) < 0 && errno != EINTR) {
            perror("wsc: poll");
            break;
        }
        if (fds[0].revents & POLLIN) {
            unsigned char sig[16];
            ssize_t n;
            while ((n = read(signal_pipe[0], sig, sizeof sig)) > 0) {
                for (ssize_t i = 0; i < n && !quit; i++) {
                    if (++app.interrupts == 1) {
                        verbose(&app, 1, "interrupted: closing (interrupt again to quit at once)");
                        close_connection(&app, WSC_CLOSE_NORMAL);
                    } else {
                        quit = true;
                    }
                }
            }
        }
        if (want_stdin && (fds[2].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            if (fds[2].revents & POLLNVAL) { /* no stdin at all */
                app.stdin_eof = true;
                pump(&app);
            } else {
                read_stdin(&app);
            }
        }
        wsc_service(ctx, 0); /* descriptor ready or timeout passed: let wsc work */
    }
    if (quit) {
        verbose(&app, 1, "interrupted again: quitting");
        app.status = EXIT_INTERRUPTED;
    }

done:
    wsc_connection_free(app.conn);
    wsc_context_free(ctx); /* a connection still open hears on_close (1006) here */
    if (quit) app.status = EXIT_INTERRUPTED;
    free(app.buf);
    options_free(&opt);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    return app.status;
}
