/*
 * libwebsockets.h for wsc: the client side of the libwebsockets 4.3 API, implemented on
 * wsc's C API (wsc.h). A program written for libwebsockets' client API builds against it
 * unchanged; only the build line changes:
 *
 *   cc prog.c $(pkg-config --cflags --libs wsc-lws)
 *
 * Names, members and numeric values follow libwebsockets 4.3 so that source code keeps its
 * meaning; the layout of the structs is not libwebsockets' (source, not binary,
 * compatibility). See README.md, "Coming from libwebsockets", for what differs.
 */
#ifndef WSC_LIBWEBSOCKETS_H
#define WSC_LIBWEBSOCKETS_H

#include "lws_config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LWS_VISIBLE __attribute__((visibility("default")))
#else
#define LWS_VISIBLE
#endif
#define LWS_EXTERN extern
#define LWS_INLINE inline
#define LWS_WARN_UNUSED_RESULT
#if defined(__GNUC__) || defined(__clang__)
#define LWS_FORMAT(string_index) __attribute__((format(printf, string_index, string_index + 1)))
#else
#define LWS_FORMAT(string_index)
#endif

/* ---- Opaque objects --------------------------------------------------------------- */

struct lws;          /* one connection ("wsi") */
struct lws_context;  /* one event loop */
struct lws_vhost;    /* the context's one client vhost */
struct lws_ring;
struct lws_extension;

/* ---- Time, sizes, helpers ----------------------------------------------------------- */

typedef int64_t lws_usec_t;

#define LWS_US_PER_SEC ((lws_usec_t)1000000)
#define LWS_MS_PER_SEC ((lws_usec_t)1000)
#define LWS_US_PER_MS ((lws_usec_t)1000)
#define LWS_NS_PER_US ((lws_usec_t)1000)
#define LWS_KI (1024)
#define LWS_MI (LWS_KI * 1024)
#define LWS_GI (LWS_MI * 1024)
#define LWS_US_TO_MS(x) ((x + (LWS_US_PER_MS / 2)) / LWS_US_PER_MS)

#define CONTEXT_PORT_NO_LISTEN -1
#define CONTEXT_PORT_NO_LISTEN_SERVER -2

#define lws_container_of(P, T, M) ((T *)((char *)(P) - offsetof(T, M)))
#define LWS_ARRAY_SIZE(_x) (sizeof(_x) / sizeof(_x[0]))
#define lws_ptr_diff(head, tail) ((int)((char *)(head) - (char *)(tail)))
#define lws_ptr_diff_size_t(head, tail) ((size_t)(ssize_t)((char *)(head) - (char *)(tail)))

/* Room lws_write() may use before the payload: keep LWS_PRE bytes free in front of it. */
#define LWS_SIZEOFPTR ((int)sizeof(void *))
#if defined(__x86_64__)
#define _LWS_PAD_SIZE 16
#else
#define _LWS_PAD_SIZE LWS_SIZEOFPTR
#endif
#define _LWS_PAD(n) (((n) % _LWS_PAD_SIZE) ? ((n) + (_LWS_PAD_SIZE - ((n) % _LWS_PAD_SIZE))) : (n))
#define LWS_PRE _LWS_PAD(4 + 10 + 2)
#define LWS_SEND_BUFFER_PRE_PADDING LWS_PRE
#define LWS_SEND_BUFFER_POST_PADDING 0

/* ---- Doubly linked list (only what lws_sorted_usec_list_t needs) -------------------- */

struct lws_dll2;
struct lws_dll2_owner;
typedef struct lws_dll2 {
	struct lws_dll2 *prev;
	struct lws_dll2 *next;
	struct lws_dll2_owner *owner;
} lws_dll2_t;
typedef struct lws_dll2_owner {
	struct lws_dll2 *tail;
	struct lws_dll2 *head;
	uint32_t count;
} lws_dll2_owner_t;

static LWS_INLINE int lws_dll2_is_detached(const struct lws_dll2 *d) { return !d->owner; }

/* ---- Callback reasons ------------------------------------------------------------- */

enum lws_callback_reasons {
	LWS_CALLBACK_PROTOCOL_INIT = 27,
	LWS_CALLBACK_PROTOCOL_DESTROY = 28,
	LWS_CALLBACK_WSI_CREATE = 29,
	LWS_CALLBACK_WSI_DESTROY = 30,
	LWS_CALLBACK_WSI_TX_CREDIT_GET = 103,
	LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS = 21,
	LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS = 22,
	LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION = 23,
	LWS_CALLBACK_SSL_INFO = 67,
	LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION = 58,
	LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED = 19,
	LWS_CALLBACK_HTTP = 12,
	LWS_CALLBACK_HTTP_BODY = 13,
	LWS_CALLBACK_HTTP_BODY_COMPLETION = 14,
	LWS_CALLBACK_HTTP_FILE_COMPLETION = 15,
	LWS_CALLBACK_HTTP_WRITEABLE = 16,
	LWS_CALLBACK_CLOSED_HTTP = 5,
	LWS_CALLBACK_FILTER_HTTP_CONNECTION = 18,
	LWS_CALLBACK_ADD_HEADERS = 53,
	LWS_CALLBACK_VERIFY_BASIC_AUTHORIZATION = 102,
	LWS_CALLBACK_CHECK_ACCESS_RIGHTS = 51,
	LWS_CALLBACK_PROCESS_HTML = 52,
	LWS_CALLBACK_HTTP_BIND_PROTOCOL = 49,
	LWS_CALLBACK_HTTP_DROP_PROTOCOL = 50,
	LWS_CALLBACK_HTTP_CONFIRM_UPGRADE = 86,
	LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP = 44,
	LWS_CALLBACK_CLOSED_CLIENT_HTTP = 45,
	LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ = 48,
	LWS_CALLBACK_RECEIVE_CLIENT_HTTP = 46,
	LWS_CALLBACK_COMPLETED_CLIENT_HTTP = 47,
	LWS_CALLBACK_CLIENT_HTTP_WRITEABLE = 57,
	LWS_CALLBACK_CLIENT_HTTP_REDIRECT = 104,
	LWS_CALLBACK_CLIENT_HTTP_BIND_PROTOCOL = 85,
	LWS_CALLBACK_CLIENT_HTTP_DROP_PROTOCOL = 76,
	LWS_CALLBACK_ESTABLISHED = 0,
	LWS_CALLBACK_CLOSED = 4,
	LWS_CALLBACK_SERVER_WRITEABLE = 11,
	LWS_CALLBACK_RECEIVE = 6,
	LWS_CALLBACK_RECEIVE_PONG = 7,
	LWS_CALLBACK_WS_PEER_INITIATED_CLOSE = 38,
	LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION = 20,
	LWS_CALLBACK_CONFIRM_EXTENSION_OKAY = 25,
	LWS_CALLBACK_WS_SERVER_BIND_PROTOCOL = 77,
	LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL = 78,
	LWS_CALLBACK_CLIENT_CONNECTION_ERROR = 1,
	LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH = 2,
	LWS_CALLBACK_CLIENT_ESTABLISHED = 3,
	LWS_CALLBACK_CLIENT_CLOSED = 75,
	LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER = 24,
	LWS_CALLBACK_CLIENT_RECEIVE = 8,
	LWS_CALLBACK_CLIENT_RECEIVE_PONG = 9,
	LWS_CALLBACK_CLIENT_WRITEABLE = 10,
	LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED = 26,
	LWS_CALLBACK_WS_EXT_DEFAULTS = 39,
	LWS_CALLBACK_FILTER_NETWORK_CONNECTION = 17,
	LWS_CALLBACK_WS_CLIENT_BIND_PROTOCOL = 79,
	LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL = 80,
	LWS_CALLBACK_GET_THREAD_ID = 31,
	LWS_CALLBACK_ADD_POLL_FD = 32,
	LWS_CALLBACK_DEL_POLL_FD = 33,
	LWS_CALLBACK_CHANGE_MODE_POLL_FD = 34,
	LWS_CALLBACK_LOCK_POLL = 35,
	LWS_CALLBACK_UNLOCK_POLL = 36,
	LWS_CALLBACK_CGI = 40,
	LWS_CALLBACK_CGI_TERMINATED = 41,
	LWS_CALLBACK_CGI_STDIN_DATA = 42,
	LWS_CALLBACK_CGI_STDIN_COMPLETED = 43,
	LWS_CALLBACK_CGI_PROCESS_ATTACH = 70,
	LWS_CALLBACK_SESSION_INFO = 54,
	LWS_CALLBACK_GS_EVENT = 55,
	LWS_CALLBACK_HTTP_PMO = 56,
	LWS_CALLBACK_RAW_PROXY_CLI_RX = 89,
	LWS_CALLBACK_RAW_PROXY_SRV_RX = 90,
	LWS_CALLBACK_RAW_PROXY_CLI_CLOSE = 91,
	LWS_CALLBACK_RAW_PROXY_SRV_CLOSE = 92,
	LWS_CALLBACK_RAW_PROXY_CLI_WRITEABLE = 93,
	LWS_CALLBACK_RAW_PROXY_SRV_WRITEABLE = 94,
	LWS_CALLBACK_RAW_PROXY_CLI_ADOPT = 95,
	LWS_CALLBACK_RAW_PROXY_SRV_ADOPT = 96,
	LWS_CALLBACK_RAW_PROXY_CLI_BIND_PROTOCOL = 97,
	LWS_CALLBACK_RAW_PROXY_SRV_BIND_PROTOCOL = 98,
	LWS_CALLBACK_RAW_PROXY_CLI_DROP_PROTOCOL = 99,
	LWS_CALLBACK_RAW_PROXY_SRV_DROP_PROTOCOL = 100,
	LWS_CALLBACK_RAW_RX = 59,
	LWS_CALLBACK_RAW_CLOSE = 60,
	LWS_CALLBACK_RAW_WRITEABLE = 61,
	LWS_CALLBACK_RAW_ADOPT = 62,
	LWS_CALLBACK_RAW_CONNECTED = 101,
	LWS_CALLBACK_RAW_SKT_BIND_PROTOCOL = 81,
	LWS_CALLBACK_RAW_SKT_DROP_PROTOCOL = 82,
	LWS_CALLBACK_RAW_ADOPT_FILE = 63,
	LWS_CALLBACK_RAW_RX_FILE = 64,
	LWS_CALLBACK_RAW_WRITEABLE_FILE = 65,
	LWS_CALLBACK_RAW_CLOSE_FILE = 66,
	LWS_CALLBACK_RAW_FILE_BIND_PROTOCOL = 83,
	LWS_CALLBACK_RAW_FILE_DROP_PROTOCOL = 84,
	LWS_CALLBACK_TIMER = 73,
	LWS_CALLBACK_EVENT_WAIT_CANCELLED = 71,
	LWS_CALLBACK_CHILD_CLOSING = 69,
	LWS_CALLBACK_CONNECTING = 105,
	LWS_CALLBACK_VHOST_CERT_AGING = 72,
	LWS_CALLBACK_VHOST_CERT_UPDATE = 74,
	LWS_CALLBACK_MQTT_NEW_CLIENT_INSTANTIATED = 200,
	LWS_CALLBACK_MQTT_IDLE = 201,
	LWS_CALLBACK_MQTT_CLIENT_ESTABLISHED = 202,
	LWS_CALLBACK_MQTT_SUBSCRIBED = 203,
	LWS_CALLBACK_MQTT_CLIENT_WRITEABLE = 204,
	LWS_CALLBACK_MQTT_CLIENT_RX = 205,
	LWS_CALLBACK_MQTT_UNSUBSCRIBED = 206,
	LWS_CALLBACK_MQTT_DROP_PROTOCOL = 207,
	LWS_CALLBACK_MQTT_CLIENT_CLOSED = 208,
	LWS_CALLBACK_MQTT_ACK = 209,
	LWS_CALLBACK_MQTT_RESEND = 210,
	LWS_CALLBACK_MQTT_UNSUBSCRIBE_TIMEOUT = 211,
	LWS_CALLBACK_MQTT_SHADOW_TIMEOUT = 212,
	LWS_CALLBACK_USER = 1000
};

typedef int lws_callback_function(struct lws *wsi, enum lws_callback_reasons reason,
				  void *user, void *in, size_t len);

/* ---- Protocols -------------------------------------------------------------------- */

struct lws_protocols {
	const char *name;                /* also the subprotocol offered when none is given */
	lws_callback_function *callback;
	size_t per_session_data_size;    /* zeroed allocation per connection: the `user` arg */
	size_t rx_buffer_size;           /* largest CLIENT_RECEIVE chunk; 0: pt_serv_buf_size */
	unsigned int id;
	void *user;
	size_t tx_packet_size;
};

#define LWS_PROTOCOL_LIST_TERM { NULL, NULL, 0, 0, 0, NULL, 0 }

struct lws_protocol_vhost_options {
	const struct lws_protocol_vhost_options *next;
	const struct lws_protocol_vhost_options *options;
	const char *name;
	const char *value;
};

/* ---- Extensions ------------------------------------------------------------------- */

enum lws_extension_callback_reasons {
	LWS_EXT_CB_CONSTRUCT = 4,
	LWS_EXT_CB_CLIENT_CONSTRUCT = 5,
	LWS_EXT_CB_DESTROY = 8,
	LWS_EXT_CB_PACKET_TX_PRESEND = 12,
	LWS_EXT_CB_PAYLOAD_TX = 21,
	LWS_EXT_CB_PAYLOAD_RX = 22,
	LWS_EXT_CB_OPTION_DEFAULT = 23,
	LWS_EXT_CB_OPTION_SET = 24,
	LWS_EXT_CB_OPTION_CONFIRM = 25,
	LWS_EXT_CB_NAMED_OPTION_SET = 26,
};

typedef int lws_extension_callback_function(struct lws_context *context,
					    const struct lws_extension *ext, struct lws *wsi,
					    enum lws_extension_callback_reasons reason,
					    void *user, void *in, size_t len);

struct lws_extension {
	const char *name;                         /* "permessage-deflate" */
	lws_extension_callback_function *callback; /* lws_extension_callback_pm_deflate */
	const char *client_offer;                 /* e.g. "permessage-deflate; client_max_window_bits" */
};

/* Marks permessage-deflate in an extensions table; wsc's own implementation does the work. */
LWS_VISIBLE LWS_EXTERN int
lws_extension_callback_pm_deflate(struct lws_context *context, const struct lws_extension *ext,
				  struct lws *wsi, enum lws_extension_callback_reasons reason,
				  void *user, void *in, size_t len);

/* ---- Retry and idle policy, timers -------------------------------------------------- */

typedef struct lws_retry_bo {
	const uint32_t *retry_ms_table;
	uint16_t retry_ms_table_count;
	uint16_t conceal_count;
	uint16_t secs_since_valid_ping;   /* idle seconds before a ping (wsc keepalive) */
	uint16_t secs_since_valid_hangup; /* idle seconds before dropping the connection */
	uint8_t jitter_percent;
} lws_retry_bo_t;

#define LWS_RETRY_CONCEAL_ALWAYS (0xffff)

struct lws_sorted_usec_list;
typedef void (*sul_cb_t)(struct lws_sorted_usec_list *sul);
typedef struct lws_sorted_usec_list {
	struct lws_dll2 list; /* owner is set while scheduled */
	lws_usec_t us;        /* when it is due (lws_now_usecs() time base) */
	sul_cb_t cb;
	uint32_t latency_us;
} lws_sorted_usec_list_t;

#define LWS_SET_TIMER_USEC_CANCEL ((lws_usec_t)-1ll)
#define LWS_USEC_PER_SEC ((lws_usec_t)1000000)
#define LWSSULLI_MISS_IF_SUSPENDED 0
#define LWSSULLI_WAKE_IF_SUSPENDED 1

enum pending_timeout {
	NO_PENDING_TIMEOUT = 0,
	PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE = 1,
	PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE = 2,
	PENDING_TIMEOUT_ESTABLISH_WITH_SERVER = 3,
	PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE = 4,
	PENDING_TIMEOUT_AWAITING_PING = 5,
	PENDING_TIMEOUT_CLOSE_ACK = 6,
	PENDING_TIMEOUT_UNUSED1 = 7,
	PENDING_TIMEOUT_SENT_CLIENT_HANDSHAKE = 8,
	PENDING_TIMEOUT_SSL_ACCEPT = 9,
	PENDING_TIMEOUT_HTTP_CONTENT = 10,
	PENDING_TIMEOUT_AWAITING_CLIENT_HS_SEND = 11,
	PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE = 12,
	PENDING_TIMEOUT_SHUTDOWN_FLUSH = 13,
	PENDING_TIMEOUT_CGI = 14,
	PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE = 15,
	PENDING_TIMEOUT_WS_PONG_CHECK_SEND_PING = 16,
	PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG = 17,
	PENDING_TIMEOUT_CLIENT_ISSUE_PAYLOAD = 18,
	PENDING_TIMEOUT_AWAITING_SOCKS_GREETING_REPLY = 19,
	PENDING_TIMEOUT_AWAITING_SOCKS_CONNECT_REPLY = 20,
	PENDING_TIMEOUT_AWAITING_SOCKS_AUTH_REPLY = 21,
	PENDING_TIMEOUT_KILLED_BY_SSL_INFO = 22,
	PENDING_TIMEOUT_KILLED_BY_PARENT = 23,
	PENDING_TIMEOUT_CLOSE_SEND = 24,
	PENDING_TIMEOUT_HOLDING_AH = 25,
	PENDING_TIMEOUT_UDP_IDLE = 26,
	PENDING_TIMEOUT_CLIENT_CONN_IDLE = 27,
	PENDING_TIMEOUT_LAGGING = 28,
	PENDING_TIMEOUT_THREADPOOL = 29,
	PENDING_TIMEOUT_THREADPOOL_TASK = 30,
	PENDING_TIMEOUT_KILLED_BY_PROXY_CLIENT_CLOSE = 31,
	PENDING_TIMEOUT_USER_OK = 32,
	PENDING_TIMEOUT_USER_REASON_BASE = 1000
};

#define LWS_TO_KILL_ASYNC -1
#define LWS_TO_KILL_SYNC -2
#define lws_wsi_close(w, to_kill) lws_set_timeout(w, 1, to_kill)

/* ---- Context ---------------------------------------------------------------------- */

#define LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT ((1ll << 1) | (1ll << 12))
#define LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME (1ll << 2)
#define LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT ((1ll << 3) | (1ll << 12))
#define LWS_SERVER_OPTION_LIBEV (1ll << 4)
#define LWS_SERVER_OPTION_DISABLE_IPV6 (1ll << 5)
#define LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS (1ll << 6)
#define LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED (1ll << 7)
#define LWS_SERVER_OPTION_VALIDATE_UTF8 (1ll << 8)
#define LWS_SERVER_OPTION_SSL_ECDH ((1ll << 9) | (1ll << 12))
#define LWS_SERVER_OPTION_LIBUV (1ll << 10)
#define LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS ((1ll << 11) | (1ll << 12))
#define LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT (1ll << 12)
#define LWS_SERVER_OPTION_EXPLICIT_VHOSTS (1ll << 13)
#define LWS_SERVER_OPTION_UNIX_SOCK (1ll << 14)
#define LWS_SERVER_OPTION_STS (1ll << 15)
#define LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY (1ll << 16)
#define LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE (1ll << 17)
#define LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN (1ll << 18)
#define LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN (1ll << 19)
#define LWS_SERVER_OPTION_FALLBACK_TO_RAW (1ll << 20)
#define LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG (1ll << 20)
#define LWS_SERVER_OPTION_LIBEVENT (1ll << 21)
#define LWS_SERVER_OPTION_ONLY_RAW (1ll << 22)
#define LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG (1ll << 22)
#define LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE (1ll << 23)
#define LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX (1ll << 24)
#define LWS_SERVER_OPTION_SKIP_PROTOCOL_INIT (1ll << 25)
#define LWS_SERVER_OPTION_IGNORE_MISSING_CERT (1ll << 26)
#define LWS_SERVER_OPTION_VHOST_UPG_STRICT_HOST_CHECK (1ll << 27)
#define LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE (1ll << 28)
#define LWS_SERVER_OPTION_ALLOW_HTTP_ON_HTTPS_LISTENER (1ll << 29)
#define LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND (1ll << 30)
#define LWS_SERVER_OPTION_H2_JUST_FIX_WINDOW_UPDATE_OVERFLOW (1ll << 31)
#define LWS_SERVER_OPTION_VH_H2_HALF_CLOSED_LONG_POLL (1ll << 32)
#define LWS_SERVER_OPTION_GLIB (1ll << 33)
#define LWS_SERVER_OPTION_H2_PRIOR_KNOWLEDGE (1ll << 34)
#define LWS_SERVER_OPTION_NO_LWS_SYSTEM_STATES (1ll << 35)
#define LWS_SERVER_OPTION_SS_PROXY (1ll << 36)
#define LWS_SERVER_OPTION_SDEVENT (1ll << 37)
#define LWS_SERVER_OPTION_ULOOP (1ll << 38)
#define LWS_SERVER_OPTION_DISABLE_TLS_SESSION_CACHE (1ll << 39)

/*
 * The members a client program sets. Members marked (accepted) are read and have no
 * effect in wsc; the others are honoured as described. Zero the struct first
 * (memset, or `= { 0 }`), as with libwebsockets.
 */
struct lws_context_creation_info {
	const char *iface;                         /* (accepted) */
	const struct lws_protocols *protocols;     /* the protocols connections bind to */
	const struct lws_extension *extensions;    /* pm_deflate in it: offer permessage-deflate */
	const struct lws_token_limits *token_limits; /* (accepted) */
	const char *http_proxy_address;            /* proxy for every connection ("user:pw@host") */
	const struct lws_protocol_vhost_options *headers; /* (accepted) */
	const struct lws_protocol_vhost_options *reject_service_keywords; /* (accepted) */
	const struct lws_protocol_vhost_options *pvo; /* per-vhost options: lws_pvo_search */
	const char *log_filepath;                  /* (accepted) */
	const struct lws_http_mount *mounts;       /* (accepted) */
	const char *server_string;                 /* (accepted) */
	const char *error_document_404;            /* (accepted) */
	int port;                                  /* CONTEXT_PORT_NO_LISTEN: client only */
	unsigned int http_proxy_port;
	unsigned int max_http_header_data2;        /* (accepted) */
	unsigned int max_http_header_pool2;        /* (accepted) */
	int keepalive_timeout;                     /* (accepted) */
	uint32_t http2_settings[7];                /* (accepted) */
	unsigned short max_http_header_data;       /* (accepted) */
	unsigned short max_http_header_pool;       /* (accepted) */

	const char *ssl_private_key_password;      /* (accepted: server side) */
	const char *ssl_cert_filepath;             /* (accepted: server side) */
	const char *ssl_private_key_filepath;      /* (accepted: server side) */
	const char *ssl_ca_filepath;               /* (accepted: server side) */
	const char *ssl_cipher_list;               /* (accepted) */
	const char *ecdh_curve;                    /* (accepted) */
	const char *tls1_3_plus_cipher_list;       /* (accepted) */
	const void *server_ssl_cert_mem;           /* (accepted) */
	const void *server_ssl_private_key_mem;    /* (accepted) */
	const void *server_ssl_ca_mem;             /* (accepted) */
	long ssl_options_set;                      /* (accepted) */
	long ssl_options_clear;                    /* (accepted) */
	int simultaneous_ssl_restriction;          /* (accepted) */
	int simultaneous_ssl_handshake_restriction; /* (accepted) */
	int ssl_info_event_mask;                   /* (accepted) */
	unsigned int server_ssl_cert_mem_len;      /* (accepted) */
	unsigned int server_ssl_private_key_mem_len; /* (accepted) */
	unsigned int server_ssl_ca_mem_len;        /* (accepted) */
	const char *alpn;                          /* (accepted: wsc offers http/1.1) */

	const char *client_ssl_private_key_password; /* see client_ssl_cert_filepath */
	const char *client_ssl_cert_filepath;      /* client certificate: see README */
	const void *client_ssl_cert_mem;           /* client certificate: see README */
	unsigned int client_ssl_cert_mem_len;
	const char *client_ssl_private_key_filepath; /* client certificate: see README */
	const void *client_ssl_key_mem;            /* client certificate: see README */
	const char *client_ssl_ca_filepath;        /* CA file to trust instead of the system's */
	const void *client_ssl_ca_mem;             /* PEM CAs in memory, client_ssl_ca_mem_len bytes */
	const char *client_ssl_cipher_list;        /* (accepted) */
	const char *client_tls_1_3_plus_cipher_list; /* (accepted) */
	long ssl_client_options_set;               /* (accepted) */
	long ssl_client_options_clear;             /* (accepted) */
	unsigned int client_ssl_ca_mem_len;
	unsigned int client_ssl_key_mem_len;
	void *provided_client_ssl_ctx;             /* (accepted) */

	int ka_time;                               /* (accepted) */
	int ka_probes;                             /* (accepted) */
	int ka_interval;                           /* (accepted) */
	unsigned int timeout_secs;                 /* handshake timeout; 0: wsc's default */
	unsigned int connect_timeout_secs;         /* connect timeout; 0: 20 s */
	int bind_iface;                            /* (accepted) */
	unsigned int timeout_secs_ah_idle;         /* (accepted) */

	gid_t gid;                                 /* (accepted) */
	uid_t uid;                                 /* (accepted) */
	uint64_t options;                          /* LWS_SERVER_OPTION_* (accepted) */
	void *user;                                /* lws_context_user() */
	unsigned int count_threads;                /* (accepted: one service thread) */
	unsigned int fd_limit_per_thread;          /* (accepted) */
	const char *vhost_name;                    /* (accepted) */
	void *external_baggage_free_on_destroy;    /* free()d by lws_context_destroy */
	unsigned int pt_serv_buf_size;             /* default CLIENT_RECEIVE chunk; 0: 4096 */
	void **foreign_loops;                      /* (accepted; wsc runs its own loop) */
	void (*signal_cb)(void *event_lib_handle, int signum); /* (accepted) */
	struct lws_context **pcontext;             /* set to the context when created */
	void (*finalize)(struct lws_vhost *vh, void *arg); /* (accepted) */
	void *finalize_arg;                        /* (accepted) */
	const char *listen_accept_role;            /* (accepted) */
	const char *listen_accept_protocol;        /* (accepted) */
	const struct lws_protocols **pprotocols;   /* protocols as a NULL-ended pointer array */
	const char *username;                      /* (accepted) */
	const char *groupname;                     /* (accepted) */
	const char *unix_socket_perms;             /* (accepted) */
	const void *system_ops;                    /* (accepted) */
	const lws_retry_bo_t *retry_and_idle_policy; /* its idle times: connections without one */
	int rlimit_nofile;                         /* (accepted) */
	int fo_listen_queue;                       /* (accepted) */
	const void *event_lib_custom;              /* (accepted) */
	void *log_cx;                              /* (accepted) */
	void *_unused[2];
};

LWS_VISIBLE LWS_EXTERN struct lws_context *
lws_create_context(const struct lws_context_creation_info *info);
LWS_VISIBLE LWS_EXTERN void lws_context_destroy(struct lws_context *context);
LWS_VISIBLE LWS_EXTERN int lws_service(struct lws_context *context, int timeout_ms);
LWS_VISIBLE LWS_EXTERN int lws_service_tsi(struct lws_context *context, int timeout_ms, int tsi);
LWS_VISIBLE LWS_EXTERN void lws_cancel_service(struct lws_context *context);
LWS_VISIBLE LWS_EXTERN void lws_cancel_service_pt(struct lws *wsi);
/* "4.3.0-wsc (wsc X.Y.Z)": the API level and the wsc it was built with. */
LWS_VISIBLE LWS_EXTERN const char *lws_get_library_version(void);
LWS_VISIBLE LWS_EXTERN void *lws_context_user(struct lws_context *context);
LWS_VISIBLE LWS_EXTERN struct lws_vhost *lws_get_vhost_by_name(struct lws_context *context,
								const char *name);
LWS_VISIBLE LWS_EXTERN void _lws_context_info_defaults(struct lws_context_creation_info *info,
							const char *sspol);
#define lws_context_info_defaults(_x, _y) _lws_context_info_defaults(_x, _y)

/* ---- Client connections ----------------------------------------------------------- */

enum lws_client_connect_ssl_connection_flags {
	LCCSCF_USE_SSL = (1 << 0),
	LCCSCF_ALLOW_SELFSIGNED = (1 << 1),
	LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK = (1 << 2),
	LCCSCF_ALLOW_EXPIRED = (1 << 3),
	LCCSCF_ALLOW_INSECURE = (1 << 4),
	LCCSCF_HTTP_MULTIPART_MIME = (1 << 10),
	LCCSCF_HTTP_X_WWW_FORM_URLENCODED = (1 << 11),
	LCCSCF_HTTP_NO_FOLLOW_REDIRECT = (1 << 12),
	LCCSCF_PIPELINE = (1 << 16),
	LCCSCF_MUXABLE_STREAM = (1 << 17),
	LCCSCF_WAKE_SUSPEND__VALIDITY = (1 << 19),
	LCCSCF_PRIORITIZE_READS = (1 << 20),
	LCCSCF_SECSTREAM_CLIENT = (1 << 21),
	LCCSCF_SECSTREAM_PROXY_LINK = (1 << 22),
	LCCSCF_SECSTREAM_PROXY_ONWARD = (1 << 23),
	LCCSCF_IP_LOW_LATENCY = (1 << 24),
	LCCSCF_IP_HIGH_THROUGHPUT = (1 << 25),
	LCCSCF_IP_HIGH_RELIABILITY = (1 << 26),
	LCCSCF_IP_LOW_COST = (1 << 27),
	LCCSCF_CONMON = (1 << 28),
	LCCSCF_ACCEPT_TLS_DOWNGRADE_REDIRECTS = (1 << 29),
	LCCSCF_CACHE_COOKIES = (1 << 30),
};

struct lws_client_connect_info {
	struct lws_context *context;
	const char *address;            /* host name or IP address to connect to */
	int port;
	int ssl_connection;             /* LCCSCF_* */
	const char *path;               /* "/..." with any query */
	const char *host;               /* (wsc sends Host from address:port) */
	const char *origin;             /* Origin header; NULL: none */
	const char *protocol;           /* subprotocols to offer, comma-separated */
	int ietf_version_or_minus_one;  /* (accepted) */
	void *userdata;                 /* used as the per-session data instead of allocating it */
	const void *client_exts;        /* (accepted: the context's extensions apply) */
	const char *method;             /* NULL or "GET": WebSocket; others are refused */
	struct lws *parent_wsi;         /* (accepted) */
	const char *uri_replace_from;   /* (accepted) */
	const char *uri_replace_to;     /* (accepted) */
	struct lws_vhost *vhost;        /* the context's vhost (the only one) */
	struct lws **pwsi;              /* set to the new connection before any callback */
	const char *iface;              /* local interface to bind: see README */
	const char *local_protocol_name; /* protocols[] entry to bind; NULL: from `protocol` */
	const char *alpn;               /* (accepted: wsc offers http/1.1) */
	void *seq;                      /* (accepted) */
	void *opaque_user_data;         /* lws_get_opaque_user_data() */
	const lws_retry_bo_t *retry_and_idle_policy; /* keepalive pings; retry helpers */
	int manual_initial_tx_credit;   /* (accepted) */
	uint8_t sys_tls_client_cert;    /* (accepted) */
	uint8_t priority;               /* (accepted) */
	void *mqtt_cp;                  /* (accepted) */
	const char *fi_wsi_name;        /* (accepted) */
	uint16_t keep_warm_secs;        /* (accepted) */
	void *log_cx;                   /* (accepted) */
	void *_unused[4];
};

LWS_VISIBLE LWS_EXTERN struct lws *
lws_client_connect_via_info(const struct lws_client_connect_info *ccinfo);

/* ---- Connection accessors --------------------------------------------------------- */

LWS_VISIBLE LWS_EXTERN struct lws_context *lws_get_context(const struct lws *wsi);
LWS_VISIBLE LWS_EXTERN const struct lws_protocols *lws_get_protocol(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN struct lws_vhost *lws_get_vhost(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN struct lws_context *lws_vhost_get_context(struct lws_vhost *vhost);
LWS_VISIBLE LWS_EXTERN void *lws_wsi_user(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN void lws_set_wsi_user(struct lws *wsi, void *user);
LWS_VISIBLE LWS_EXTERN void *lws_get_opaque_user_data(const struct lws *wsi);
LWS_VISIBLE LWS_EXTERN void lws_set_opaque_user_data(struct lws *wsi, void *data);
LWS_VISIBLE LWS_EXTERN const struct lws_protocols *
lws_vhost_name_to_protocol(struct lws_vhost *vh, const char *name);
LWS_VISIBLE LWS_EXTERN void *lws_protocol_vh_priv_zalloc(struct lws_vhost *vhost,
							  const struct lws_protocols *prot,
							  int size);
LWS_VISIBLE LWS_EXTERN void *lws_protocol_vh_priv_get(struct lws_vhost *vhost,
						       const struct lws_protocols *prot);
LWS_VISIBLE LWS_EXTERN const struct lws_protocol_vhost_options *
lws_pvo_search(const struct lws_protocol_vhost_options *pvo, const char *name);
LWS_VISIBLE LWS_EXTERN int lws_pvo_get_str(void *in, const char *name, const char **result);
LWS_VISIBLE LWS_EXTERN int lws_callback_http_dummy(struct lws *wsi,
						   enum lws_callback_reasons reason, void *user,
						   void *in, size_t len);

/* ---- Handshake response headers ----------------------------------------------------- */

enum lws_token_indexes {
	WSI_TOKEN_GET_URI,
	WSI_TOKEN_POST_URI,
	WSI_TOKEN_OPTIONS_URI,
	WSI_TOKEN_HOST,
	WSI_TOKEN_CONNECTION,
	WSI_TOKEN_UPGRADE,
	WSI_TOKEN_ORIGIN,
	WSI_TOKEN_DRAFT,
	WSI_TOKEN_CHALLENGE,
	WSI_TOKEN_EXTENSIONS,
	WSI_TOKEN_KEY1,
	WSI_TOKEN_KEY2,
	WSI_TOKEN_PROTOCOL,
	WSI_TOKEN_ACCEPT,
	WSI_TOKEN_NONCE,
	WSI_TOKEN_HTTP,
	WSI_TOKEN_HTTP2_SETTINGS,
	WSI_TOKEN_HTTP_ACCEPT,
	WSI_TOKEN_HTTP_AC_REQUEST_HEADERS,
	WSI_TOKEN_HTTP_IF_MODIFIED_SINCE,
	WSI_TOKEN_HTTP_IF_NONE_MATCH,
	WSI_TOKEN_HTTP_ACCEPT_ENCODING,
	WSI_TOKEN_HTTP_ACCEPT_LANGUAGE,
	WSI_TOKEN_HTTP_PRAGMA,
	WSI_TOKEN_HTTP_CACHE_CONTROL,
	WSI_TOKEN_HTTP_AUTHORIZATION,
	WSI_TOKEN_HTTP_COOKIE,
	WSI_TOKEN_HTTP_CONTENT_LENGTH,
	WSI_TOKEN_HTTP_CONTENT_TYPE,
	WSI_TOKEN_HTTP_DATE,
	WSI_TOKEN_HTTP_RANGE,
	WSI_TOKEN_HTTP_REFERER,
	WSI_TOKEN_KEY,
	WSI_TOKEN_VERSION,
	WSI_TOKEN_SWORIGIN,
	WSI_TOKEN_HTTP_COLON_AUTHORITY,
	WSI_TOKEN_HTTP_COLON_METHOD,
	WSI_TOKEN_HTTP_COLON_PATH,
	WSI_TOKEN_HTTP_COLON_SCHEME,
	WSI_TOKEN_HTTP_COLON_STATUS,
	WSI_TOKEN_HTTP_ACCEPT_CHARSET,
	WSI_TOKEN_HTTP_ACCEPT_RANGES,
	WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN,
	WSI_TOKEN_HTTP_AGE,
	WSI_TOKEN_HTTP_ALLOW,
	WSI_TOKEN_HTTP_CONTENT_DISPOSITION,
	WSI_TOKEN_HTTP_CONTENT_ENCODING,
	WSI_TOKEN_HTTP_CONTENT_LANGUAGE,
	WSI_TOKEN_HTTP_CONTENT_LOCATION,
	WSI_TOKEN_HTTP_CONTENT_RANGE,
	WSI_TOKEN_HTTP_ETAG,
	WSI_TOKEN_HTTP_EXPECT,
	WSI_TOKEN_HTTP_EXPIRES,
	WSI_TOKEN_HTTP_FROM,
	WSI_TOKEN_HTTP_IF_MATCH,
	WSI_TOKEN_HTTP_IF_RANGE,
	WSI_TOKEN_HTTP_IF_UNMODIFIED_SINCE,
	WSI_TOKEN_HTTP_LAST_MODIFIED,
	WSI_TOKEN_HTTP_LINK,
	WSI_TOKEN_HTTP_LOCATION,
	WSI_TOKEN_HTTP_MAX_FORWARDS,
	WSI_TOKEN_HTTP_PROXY_AUTHENTICATE,
	WSI_TOKEN_HTTP_PROXY_AUTHORIZATION,
	WSI_TOKEN_HTTP_REFRESH,
	WSI_TOKEN_HTTP_RETRY_AFTER,
	WSI_TOKEN_HTTP_SERVER,
	WSI_TOKEN_HTTP_SET_COOKIE,
	WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY,
	WSI_TOKEN_HTTP_TRANSFER_ENCODING,
	WSI_TOKEN_HTTP_USER_AGENT,
	WSI_TOKEN_HTTP_VARY,
	WSI_TOKEN_HTTP_VIA,
	WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
	WSI_TOKEN_PATCH_URI,
	WSI_TOKEN_PUT_URI,
	WSI_TOKEN_DELETE_URI,
	WSI_TOKEN_HTTP_URI_ARGS,
	WSI_TOKEN_PROXY,
	WSI_TOKEN_HTTP_X_REAL_IP,
	WSI_TOKEN_HTTP1_0,
	WSI_TOKEN_X_FORWARDED_FOR,
	WSI_TOKEN_CONNECT,
	WSI_TOKEN_HEAD_URI,
	WSI_TOKEN_TE,
	WSI_TOKEN_REPLAY_NONCE,
	WSI_TOKEN_COLON_PROTOCOL,
	WSI_TOKEN_X_AUTH_TOKEN,
	WSI_TOKEN_DSS_SIGNATURE,
	_WSI_TOKEN_CLIENT_SENT_PROTOCOLS,
	_WSI_TOKEN_CLIENT_PEER_ADDRESS,
	_WSI_TOKEN_CLIENT_URI,
	_WSI_TOKEN_CLIENT_HOST,
	_WSI_TOKEN_CLIENT_ORIGIN,
	_WSI_TOKEN_CLIENT_METHOD,
	_WSI_TOKEN_CLIENT_IFACE,
	_WSI_TOKEN_CLIENT_ALPN,
	WSI_TOKEN_COUNT,
	WSI_TOKEN_NAME_PART,
	WSI_TOKEN_UNKNOWN_VALUE_PART,
	WSI_TOKEN_SKIPPING,
	WSI_TOKEN_SKIPPING_SAW_CR,
	WSI_PARSING_COMPLETE,
	WSI_INIT_TOKEN_MUXURL,
};

/* The server's handshake response (from CLIENT_FILTER_PRE_ESTABLISH on). */
LWS_VISIBLE LWS_EXTERN int lws_hdr_total_length(struct lws *wsi, enum lws_token_indexes h);
LWS_VISIBLE LWS_EXTERN int lws_hdr_copy(struct lws *wsi, char *dest, int len,
					enum lws_token_indexes h);
LWS_VISIBLE LWS_EXTERN int lws_hdr_custom_length(struct lws *wsi, const char *name, int nlen);
LWS_VISIBLE LWS_EXTERN int lws_hdr_custom_copy(struct lws *wsi, char *dst, int len,
					       const char *name, int nlen);
LWS_VISIBLE LWS_EXTERN int lws_http_client_http_response(struct lws *wsi);

/* ---- Sending ---------------------------------------------------------------------- */

enum lws_write_protocol {
	LWS_WRITE_TEXT = 0,
	LWS_WRITE_BINARY = 1,
	LWS_WRITE_CONTINUATION = 2,
	LWS_WRITE_HTTP = 3,
	LWS_WRITE_PING = 5,
	LWS_WRITE_PONG = 6,
	LWS_WRITE_HTTP_FINAL = 7,
	LWS_WRITE_HTTP_HEADERS = 8,
	LWS_WRITE_HTTP_HEADERS_CONTINUATION = 9,
	LWS_WRITE_BUFLIST = 0x20,
	LWS_WRITE_NO_FIN = 0x40,
	LWS_WRITE_H2_STREAM_END = 0x80,
	LWS_WRITE_CLIENT_IGNORE_XOR_MASK = 0x80
};
#define LWS_WRITE_RAW LWS_WRITE_HTTP

/*
 * Sends `len` bytes at `buf` (LWS_PRE bytes before `buf` must be writable, as in
 * libwebsockets, though wsc does not use them). Returns `len`, or -1 when the connection
 * cannot take it (not established, closing, or a send refused by wsc).
 */
LWS_VISIBLE LWS_EXTERN int lws_write(struct lws *wsi, unsigned char *buf, size_t len,
				     enum lws_write_protocol protocol);

static LWS_INLINE int
lws_write_ws_flags(int initial, int is_start, int is_end)
{
	int r = is_start ? initial : LWS_WRITE_CONTINUATION;

	if (!is_end)
		r |= LWS_WRITE_NO_FIN;
	return r;
}

LWS_VISIBLE LWS_EXTERN int lws_callback_on_writable(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN int lws_callback_on_writable_all_protocol(const struct lws_context *context,
								 const struct lws_protocols *protocol);
LWS_VISIBLE LWS_EXTERN int
lws_callback_on_writable_all_protocol_vhost(const struct lws_vhost *vhost,
					    const struct lws_protocols *protocol);
LWS_VISIBLE LWS_EXTERN int lws_send_pipe_choked(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN int lws_partial_buffered(struct lws *wsi);

/* ---- Receiving -------------------------------------------------------------------- */

enum lws_rxflow_reason {
	LWS_RXFLOW_REASON_USER_BOOL = (1 << 0),
	LWS_RXFLOW_REASON_HTTP_RXBUFFER = (1 << 6),
	LWS_RXFLOW_REASON_H2_PPS_PENDING = (1 << 7),
	LWS_RXFLOW_REASON_APPLIES = (1 << 14),
	LWS_RXFLOW_REASON_APPLIES_ENABLE_BIT = (1 << 13),
	LWS_RXFLOW_REASON_APPLIES_ENABLE = LWS_RXFLOW_REASON_APPLIES |
					   LWS_RXFLOW_REASON_APPLIES_ENABLE_BIT,
	LWS_RXFLOW_REASON_APPLIES_DISABLE = LWS_RXFLOW_REASON_APPLIES,
	LWS_RXFLOW_REASON_FLAG_PROCESS_NOW = (1 << 12),
};

/* 0: stop reading from the server (wsc_pause_reading); 1: read again. */
LWS_VISIBLE LWS_EXTERN int lws_rx_flow_control(struct lws *wsi, int enable);
LWS_VISIBLE LWS_EXTERN void lws_rx_flow_allow_all_protocol(const struct lws_context *context,
							    const struct lws_protocols *protocol);
/* Inside CLIENT_RECEIVE: about the chunk being delivered. */
LWS_VISIBLE LWS_EXTERN int lws_is_first_fragment(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN int lws_is_final_fragment(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN int lws_frame_is_binary(struct lws *wsi);
LWS_VISIBLE LWS_EXTERN size_t lws_remaining_packet_payload(struct lws *wsi);

/* ---- Closing ---------------------------------------------------------------------- */

enum lws_close_status {
	LWS_CLOSE_STATUS_NOSTATUS = 0,
	LWS_CLOSE_STATUS_NORMAL = 1000,
	LWS_CLOSE_STATUS_GOINGAWAY = 1001,
	LWS_CLOSE_STATUS_PROTOCOL_ERR = 1002,
	LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE = 1003,
	LWS_CLOSE_STATUS_RESERVED = 1004,
	LWS_CLOSE_STATUS_NO_STATUS = 1005,
	LWS_CLOSE_STATUS_ABNORMAL_CLOSE = 1006,
	LWS_CLOSE_STATUS_INVALID_PAYLOAD = 1007,
	LWS_CLOSE_STATUS_POLICY_VIOLATION = 1008,
	LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE = 1009,
	LWS_CLOSE_STATUS_EXTENSION_REQUIRED = 1010,
	LWS_CLOSE_STATUS_UNEXPECTED_CONDITION = 1011,
	LWS_CLOSE_STATUS_TLS_FAILURE = 1015,
	LWS_CLOSE_STATUS_CLIENT_TRANSACTION_DONE = 2000,
	LWS_CLOSE_STATUS_NOSTATUS_CONTEXT_DESTROY = 9999,
};

/* The code and reason of the Close frame sent when a callback next returns non-zero. */
LWS_VISIBLE LWS_EXTERN void lws_close_reason(struct lws *wsi, enum lws_close_status status,
					     unsigned char *buf, size_t len);

/* ---- Timeouts and timers ---------------------------------------------------------- */

LWS_VISIBLE LWS_EXTERN void lws_set_timeout(struct lws *wsi, enum pending_timeout reason,
					    int secs);
LWS_VISIBLE LWS_EXTERN void lws_set_timeout_us(struct lws *wsi, enum pending_timeout reason,
					       lws_usec_t us);
LWS_VISIBLE LWS_EXTERN void lws_set_timer_usecs(struct lws *wsi, lws_usec_t usecs);
LWS_VISIBLE LWS_EXTERN void lws_sul_schedule(struct lws_context *ctx, int tsi,
					     lws_sorted_usec_list_t *sul, sul_cb_t _cb,
					     lws_usec_t _us);
LWS_VISIBLE LWS_EXTERN void lws_sul_schedule_wakesuspend(struct lws_context *ctx, int tsi,
							 lws_sorted_usec_list_t *sul,
							 sul_cb_t _cb, lws_usec_t _us);
LWS_VISIBLE LWS_EXTERN void lws_sul_cancel(lws_sorted_usec_list_t *sul);
LWS_VISIBLE LWS_EXTERN lws_usec_t lws_now_usecs(void);
LWS_VISIBLE LWS_EXTERN unsigned long lws_now_secs(void);

LWS_VISIBLE LWS_EXTERN unsigned int lws_retry_get_delay_ms(struct lws_context *context,
							    const lws_retry_bo_t *retry,
							    uint16_t *ctry, char *conceal);
LWS_VISIBLE LWS_EXTERN int lws_retry_sul_schedule(struct lws_context *context, int tid,
						  lws_sorted_usec_list_t *sul,
						  const lws_retry_bo_t *retry, sul_cb_t cb,
						  uint16_t *ctry);
LWS_VISIBLE LWS_EXTERN int lws_retry_sul_schedule_retry_wsi(struct lws *wsi,
							    lws_sorted_usec_list_t *sul,
							    sul_cb_t cb, uint16_t *ctry);

/* ---- Logging ---------------------------------------------------------------------- */

#define LLL_ERR (1 << 0)
#define LLL_WARN (1 << 1)
#define LLL_NOTICE (1 << 2)
#define LLL_INFO (1 << 3)
#define LLL_DEBUG (1 << 4)
#define LLL_PARSER (1 << 5)
#define LLL_HEADER (1 << 6)
#define LLL_EXT (1 << 7)
#define LLL_CLIENT (1 << 8)
#define LLL_LATENCY (1 << 9)
#define LLL_USER (1 << 10)
#define LLL_THREAD (1 << 11)
#define LLL_COUNT (12)
#define LLLF_SECRECY_PII (1 << 16)
#define LLLF_SECRECY_BEARER (1 << 17)
#define LLLF_LOG_TIMESTAMP (1 << 18)
#define LLLF_LOG_CONTEXT_AWARE (1 << 30)

typedef void (*lws_log_emit_t)(int level, const char *line);

/* Which levels are shown (a mask of LLL_*), and where lines go (NULL: keep the current). */
LWS_VISIBLE LWS_EXTERN void lws_set_log_level(int level, lws_log_emit_t log_emit_function);
LWS_VISIBLE LWS_EXTERN void lwsl_emit_stderr(int level, const char *line);
LWS_VISIBLE LWS_EXTERN void lwsl_emit_stderr_notimestamp(int level, const char *line);
LWS_VISIBLE LWS_EXTERN int lwsl_visible(int level);
LWS_VISIBLE LWS_EXTERN void _lws_log(int filter, const char *format, ...) LWS_FORMAT(2);
LWS_VISIBLE LWS_EXTERN void _lws_logv(int filter, const char *format, va_list vl);
LWS_VISIBLE LWS_EXTERN void lwsl_hexdump_level(int level, const void *vbuf, size_t len);
LWS_VISIBLE LWS_EXTERN void lwsl_hexdump(const void *buf, size_t len);

#define lwsl_err(...) _lws_log(LLL_ERR, __VA_ARGS__)
#define lwsl_warn(...) _lws_log(LLL_WARN, __VA_ARGS__)
#define lwsl_notice(...) _lws_log(LLL_NOTICE, __VA_ARGS__)
#define lwsl_info(...) _lws_log(LLL_INFO, __VA_ARGS__)
#define lwsl_debug(...) _lws_log(LLL_DEBUG, __VA_ARGS__)
#define lwsl_parser(...) _lws_log(LLL_PARSER, __VA_ARGS__)
#define lwsl_header(...) _lws_log(LLL_HEADER, __VA_ARGS__)
#define lwsl_ext(...) _lws_log(LLL_EXT, __VA_ARGS__)
#define lwsl_client(...) _lws_log(LLL_CLIENT, __VA_ARGS__)
#define lwsl_latency(...) _lws_log(LLL_LATENCY, __VA_ARGS__)
#define lwsl_thread(...) _lws_log(LLL_THREAD, __VA_ARGS__)
#define lwsl_user(...) _lws_log(LLL_USER, __VA_ARGS__)
#define lwsl_hexdump_err(...) lwsl_hexdump_level(LLL_ERR, __VA_ARGS__)
#define lwsl_hexdump_warn(...) lwsl_hexdump_level(LLL_WARN, __VA_ARGS__)
#define lwsl_hexdump_notice(...) lwsl_hexdump_level(LLL_NOTICE, __VA_ARGS__)
#define lwsl_hexdump_info(...) lwsl_hexdump_level(LLL_INFO, __VA_ARGS__)
#define lwsl_hexdump_debug(...) lwsl_hexdump_level(LLL_DEBUG, __VA_ARGS__)
/* The per-object forms: wsc has one process-wide log, so the object only picks nothing. */
#define lwsl_cx_err(_c, ...) lwsl_err(__VA_ARGS__)
#define lwsl_cx_warn(_c, ...) lwsl_warn(__VA_ARGS__)
#define lwsl_cx_notice(_c, ...) lwsl_notice(__VA_ARGS__)
#define lwsl_cx_info(_c, ...) lwsl_info(__VA_ARGS__)
#define lwsl_cx_debug(_c, ...) lwsl_debug(__VA_ARGS__)
#define lwsl_cx_user(_c, ...) lwsl_user(__VA_ARGS__)
#define lwsl_wsi_err(_w, ...) lwsl_err(__VA_ARGS__)
#define lwsl_wsi_warn(_w, ...) lwsl_warn(__VA_ARGS__)
#define lwsl_wsi_notice(_w, ...) lwsl_notice(__VA_ARGS__)
#define lwsl_wsi_info(_w, ...) lwsl_info(__VA_ARGS__)
#define lwsl_wsi_debug(_w, ...) lwsl_debug(__VA_ARGS__)
#define lwsl_wsi_user(_w, ...) lwsl_user(__VA_ARGS__)
#define lwsl_vhost_err(_v, ...) lwsl_err(__VA_ARGS__)
#define lwsl_vhost_warn(_v, ...) lwsl_warn(__VA_ARGS__)
#define lwsl_vhost_notice(_v, ...) lwsl_notice(__VA_ARGS__)
#define lwsl_vhost_info(_v, ...) lwsl_info(__VA_ARGS__)
#define lwsl_vhost_debug(_v, ...) lwsl_debug(__VA_ARGS__)
#define lwsl_vhost_user(_v, ...) lwsl_user(__VA_ARGS__)

/* ---- Miscellaneous helpers -------------------------------------------------------- */

LWS_VISIBLE LWS_EXTERN int lws_snprintf(char *str, size_t size, const char *format, ...)
	LWS_FORMAT(3);
LWS_VISIBLE LWS_EXTERN char *lws_strncpy(char *dest, const char *src, size_t size);
#define lws_strnncpy(dest, src, size1, destsize) \
	lws_strncpy(dest, src, (size_t)(size1 + 1) < (size_t)(destsize) ? \
			       (size_t)(size1 + 1) : (size_t)(destsize))
LWS_VISIBLE LWS_EXTERN size_t lws_get_random(struct lws_context *context, void *buf, size_t len);
LWS_VISIBLE LWS_EXTERN const char *lws_json_simple_find(const char *buf, size_t len,
							const char *name, size_t *alen);
LWS_VISIBLE LWS_EXTERN int lws_parse_uri(char *p, const char **prot, const char **ads,
					 int *port, const char **path);
LWS_VISIBLE LWS_EXTERN const char *lws_cmdline_option(int argc, const char **argv,
						      const char *val);
LWS_VISIBLE LWS_EXTERN void
lws_cmdline_option_handle_builtin(int argc, const char **argv,
				  struct lws_context_creation_info *info);

struct lws_switches {
	const char *sw;
	const char *doc;
};
LWS_VISIBLE LWS_EXTERN void lws_switches_print_help(const char *prog,
						    const struct lws_switches *switches,
						    size_t count);

/* ---- Ring buffer ------------------------------------------------------------------ */

LWS_VISIBLE LWS_EXTERN struct lws_ring *lws_ring_create(size_t element_len, size_t count,
							void (*destroy_element)(void *element));
LWS_VISIBLE LWS_EXTERN void lws_ring_destroy(struct lws_ring *ring);
LWS_VISIBLE LWS_EXTERN size_t lws_ring_get_count_free_elements(struct lws_ring *ring);
LWS_VISIBLE LWS_EXTERN size_t lws_ring_get_count_waiting_elements(struct lws_ring *ring,
								  uint32_t *tail);
LWS_VISIBLE LWS_EXTERN size_t lws_ring_insert(struct lws_ring *ring, const void *src,
					      size_t max_count);
LWS_VISIBLE LWS_EXTERN size_t lws_ring_consume(struct lws_ring *ring, uint32_t *tail,
					       void *dest, size_t max_count);
LWS_VISIBLE LWS_EXTERN const void *lws_ring_get_element(struct lws_ring *ring, uint32_t *tail);
LWS_VISIBLE LWS_EXTERN void lws_ring_update_oldest_tail(struct lws_ring *ring, uint32_t tail);
LWS_VISIBLE LWS_EXTERN uint32_t lws_ring_get_oldest_tail(struct lws_ring *ring);
LWS_VISIBLE LWS_EXTERN int lws_ring_next_linear_insert_range(struct lws_ring *ring,
							     void **start, size_t *bytes);
LWS_VISIBLE LWS_EXTERN void lws_ring_bump_head(struct lws_ring *ring, size_t bytes);
LWS_VISIBLE LWS_EXTERN void lws_ring_dump(struct lws_ring *ring, uint32_t *tail);

#define lws_ring_consume_single_tail(___ring, ___ptail, ___count) { \
	lws_ring_consume(___ring, ___ptail, NULL, ___count); \
	lws_ring_update_oldest_tail(___ring, *(___ptail)); \
}

#ifdef __cplusplus
}
#endif

#endif
