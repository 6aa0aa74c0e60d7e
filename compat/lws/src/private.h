/* The objects behind libwebsockets' opaque handles, shared by the layer's sources. */
#ifndef WSC_LWS_PRIVATE_H
#define WSC_LWS_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <wsc.h>

#include "libwebsockets.h"

/* CLIENT_WRITEABLE comes once at most this many bytes wait to be sent: libwebsockets calls
 * it when the socket takes more, and wsc buffers what a socket does not take yet. */
#define LWS_COMPAT_WRITABLE_AT ((size_t)64 * 1024)

struct lws_vhost {
	struct lws_context *context;
};

/* A scheduled lws_sorted_usec_list_t: the wsc timer that runs it. */
struct sul_timer {
	struct sul_timer *next;
	lws_sorted_usec_list_t *sul;
	uint64_t timer_id;
	struct lws_context *context;
};

struct lws_context {
	wsc_context *wsc;
	struct lws_vhost vhost;
	struct lws_protocols *protocols; /* a copy, ending with a NULL callback */
	size_t protocol_count;
	void **vh_priv;                  /* lws_protocol_vh_priv_zalloc, one per protocol */
	struct lws *protocol_wsi;        /* one stand-in wsi per protocol, for vhost-wide callbacks */
	const struct lws_protocol_vhost_options *pvo;
	void *user;
	void *baggage;
	lws_retry_bo_t default_retry;    /* connections without a policy of their own */

	/* What every connection gets (from the creation info). */
	char *ca_file;
	uint8_t *ca_pem;
	size_t ca_pem_len;
	char *cert_file;                 /* the client certificate (mutual TLS), file or PEM */
	uint8_t *cert_pem;
	size_t cert_pem_len;
	char *key_file;                  /* its private key, file or PEM */
	uint8_t *key_pem;
	size_t key_pem_len;
	char *proxy_url;
	uint32_t connect_timeout_ms;
	uint32_t handshake_timeout_ms;
	size_t rx_chunk_default;
	bool deflate;
	wsc_deflate_offer deflate_offer;
	bool deflate_offer_given;

	struct lws *wsis;                /* live connections */
	struct sul_timer *suls;          /* scheduled suls */
	lws_dll2_owner_t sul_owner;      /* what a scheduled sul's list.owner points to */
	atomic_int cancel_pending;       /* lws_cancel_service was called */
	bool destroying;
};

struct lws {
	struct lws_context *context;
	struct lws *next;
	wsc_connection *conn;            /* owned handle; NULL for a protocol stand-in */
	const struct lws_protocols *protocol;
	void *user_space;
	bool user_space_owned;
	void *opaque_user_data;
	const lws_retry_bo_t *retry_policy;

	bool established;
	bool failed;                     /* CLIENT_CONNECTION_ERROR was reported */
	bool closing;                    /* we asked wsc to close: no more rx/writable callbacks */
	uint16_t close_code;             /* from lws_close_reason, 0: none */
	char close_reason[124];

	/* The chunk CLIENT_RECEIVE is delivering. */
	bool rx_first, rx_final, rx_binary;
	size_t rx_remaining;
	size_t rx_chunk;

	/* lws_rx_flow_control: parts wsc handed over while rx was off, and the timer that
	 * delivers them once it is on again (rx.c). */
	bool rx_paused;
	struct rx_pending *rx_head, *rx_tail;
	uint64_t rx_drain_id;

	/* A message being sent in fragments (LWS_WRITE_NO_FIN). */
	bool tx_in_message, tx_is_text;

	uint64_t timer_id;               /* lws_set_timer_usecs */
	uint64_t timeout_id;             /* lws_set_timeout */

	/* A connection refused before wsc could start it: reported from the loop. */
	char *fail_msg;
	uint64_t fail_timer_id;

	/* Headers from CLIENT_APPEND_HANDSHAKE_HEADER, in one allocation. */
	wsc_header *headers;
	size_t header_count;
};

/* Calls the protocol's callback of `wsi`. */
int lws_compat_call(struct lws *wsi, enum lws_callback_reasons reason, void *in, size_t len);
/* A part of a message from wsc: delivered, or kept while rx flow is off (rx.c). */
void lws_compat_rx_part(struct lws *wsi, const uint8_t *data, size_t len, uint32_t flags,
			uint64_t remaining_in_frame);
/* Delivers every kept part, rx flow or not: the connection is ending. */
void lws_compat_rx_flush(struct lws *wsi);
/* Frees the parts still kept. */
void lws_compat_rx_free(struct lws *wsi);
/* A callback returned non-zero: closes the connection as libwebsockets does. */
void lws_compat_close(struct lws *wsi);
/* Forgets every scheduled sul of a context (its wsc context, and so its timers, are gone). */
void lws_compat_suls_free(struct lws_context *context);
/* Reports and frees the connections refused before wsc started them. */
void lws_compat_wsis_free(struct lws_context *context);
/* Writes one finished log line if `filter` is shown. */
void lws_compat_log_line(int filter, const char *line);
/* Sends wsc's log lines to the emit function, up to the levels of the current mask. */
void lws_compat_route_wsc_log(void);

#endif
