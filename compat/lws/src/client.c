/*
 * Client connections: lws_client_connect_via_info on wsc_connect, wsc's callbacks turned
 * into libwebsockets' callback reasons, and what a program calls on a connection
 * (lws_write, lws_callback_on_writable, lws_close_reason, the
 * handshake response headers).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "private.h"

int lws_compat_call(struct lws *wsi, enum lws_callback_reasons reason, void *in, size_t len) {
	if (!wsi || !wsi->protocol || !wsi->protocol->callback)
		return 0;
	return wsi->protocol->callback(wsi, reason, wsi->user_space, in, len);
}

/* ---- Lifetime ---------------------------------------------------------------------- */

static void unlink_wsi(struct lws *wsi) {
	for (struct lws **p = &wsi->context->wsis; *p; p = &(*p)->next)
		if (*p == wsi) {
			*p = wsi->next;
			return;
		}
}

static void stop_timers(struct lws *wsi) {
	wsc_context *w = wsi->context->wsc;
	if (wsi->timer_id)
		wsc_timer_stop(w, wsi->timer_id);
	if (wsi->timeout_id)
		wsc_timer_stop(w, wsi->timeout_id);
	if (wsi->fail_timer_id)
		wsc_timer_stop(w, wsi->fail_timer_id);
	if (wsi->rx_drain_id)
		wsc_timer_stop(w, wsi->rx_drain_id);
	wsi->timer_id = wsi->timeout_id = wsi->fail_timer_id = wsi->rx_drain_id = 0;
}

/* The last step of every connection: WSI_DESTROY, then everything is freed. */
static void destroy_wsi(struct lws *wsi) {
	if (wsi->context->wsc)
		stop_timers(wsi);
	lws_compat_call(wsi, LWS_CALLBACK_WSI_DESTROY, NULL, 0);
	unlink_wsi(wsi);
	if (wsi->user_space_owned)
		free(wsi->user_space);
	wsc_connection_free(wsi->conn);
	lws_compat_rx_free(wsi);
	free(wsi->headers);
	free(wsi->fail_msg);
	free(wsi);
}

/* Reports CLIENT_CONNECTION_ERROR once; nothing but WSI_DESTROY follows it. */
static void report_connection_error(struct lws *wsi, const char *why) {
	if (wsi->failed || wsi->established)
		return;
	wsi->failed = true;
	lws_compat_call(wsi, LWS_CALLBACK_CLIENT_CONNECTION_ERROR, (void *)(uintptr_t)why,
			why ? strlen(why) : 0);
}

/* A callback returned non-zero: close as libwebsockets does, with the code and reason
 * lws_close_reason gave (1000 otherwise), and deliver nothing more but the close. */
void lws_compat_close(struct lws *wsi) {
	if (wsi->closing)
		return;
	wsi->closing = true;
	if (!wsi->established) {
		report_connection_error(wsi, "closed by the protocol callback");
		wsc_abort(wsi->conn);
		return;
	}
	uint16_t code = wsi->close_code ? wsi->close_code : WSC_CLOSE_NORMAL;
	if (wsc_close(wsi->conn, code, wsi->close_reason[0] ? wsi->close_reason : NULL) != WSC_OK)
		wsc_close(wsi->conn, WSC_CLOSE_NORMAL, NULL);
}

void lws_compat_wsis_free(struct lws_context *cx) {
	/* Only connections refused before wsc started them are left once the wsc context is
	 * gone: they still owe their CLIENT_CONNECTION_ERROR. */
	while (cx->wsis) {
		struct lws *wsi = cx->wsis;
		wsi->fail_timer_id = 0;
		report_connection_error(wsi, wsi->fail_msg ? wsi->fail_msg : "context destroyed");
		destroy_wsi(wsi);
	}
}

/* ---- wsc callbacks ------------------------------------------------------------------ */

static void on_open(wsc_connection *conn, void *user) {
	struct lws *wsi = user;
	(void)conn;
	if (wsi->closing)
		return;
	if (lws_compat_call(wsi, LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH, NULL, 0)) {
		wsi->closing = true;
		report_connection_error(wsi, "HS: Rejected by filter cb");
		wsc_abort(wsi->conn);
		return;
	}
	wsi->established = true;
	if (lws_compat_call(wsi, LWS_CALLBACK_CLIENT_ESTABLISHED, NULL, 0))
		lws_compat_close(wsi);
}

static void on_message_part(wsc_connection *conn, const uint8_t *data, size_t len,
			    uint32_t flags, uint64_t remaining_in_frame, void *user) {
	(void)conn;
	lws_compat_rx_part(user, data, len, flags, remaining_in_frame);
}

static void on_pong(wsc_connection *conn, const uint8_t *data, size_t len, void *user) {
	struct lws *wsi = user;
	(void)conn;
	if (!wsi->closing &&
	    lws_compat_call(wsi, LWS_CALLBACK_CLIENT_RECEIVE_PONG, (void *)(uintptr_t)data, len))
		lws_compat_close(wsi);
}

static void on_writable(wsc_connection *conn, void *user) {
	struct lws *wsi = user;
	(void)conn;
	if (!wsi->closing && lws_compat_call(wsi, LWS_CALLBACK_CLIENT_WRITEABLE, NULL, 0))
		lws_compat_close(wsi);
}

static void on_error(wsc_connection *conn, wsc_result result, const char *message, void *user) {
	struct lws *wsi = user;
	(void)conn;
	if (!wsi->established)
		report_connection_error(wsi, message);
	else
		lwsl_info("connection failed: %s: %s\n", wsc_result_str(result), message);
}

static void on_close(wsc_connection *conn, uint16_t code, const char *reason, size_t reason_len,
		     wsc_closed_by closed_by, bool clean, void *user) {
	struct lws *wsi = user;
	(void)conn; (void)clean;
	if (wsi->established) {
		/* What was read before the end is delivered, even with rx flow off. */
		lws_compat_rx_flush(wsi);
		if (closed_by == WSC_CLOSED_BY_SERVER) {
			/* `in` is the Close frame's payload: the code big-endian, then the reason. */
			unsigned char payload[2 + 123];
			size_t n = 0;
			if (code != WSC_CLOSE_NO_STATUS) {
				payload[0] = (unsigned char)(code >> 8);
				payload[1] = (unsigned char)code;
				n = reason_len < 123 ? reason_len : 123;
				memcpy(payload + 2, reason, n);
				n += 2;
			}
			lws_compat_call(wsi, LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, payload, n);
		}
		lws_compat_call(wsi, LWS_CALLBACK_CLIENT_CLOSED, NULL, 0);
	} else {
		report_connection_error(wsi, "closed before the connection was established");
	}
	destroy_wsi(wsi);
}

/* ---- Handshake headers from CLIENT_APPEND_HANDSHAKE_HEADER ------------------------------ */

/* Asks the protocol for its extra request headers and keeps them as wsc headers.
 * Returns non-zero when the callback refused the connection. */
static int collect_headers(struct lws *wsi) {
	char buf[4096];
	char *p = buf;
	free(wsi->headers);
	wsi->headers = NULL;
	wsi->header_count = 0;
	if (lws_compat_call(wsi, LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER, &p,
			    sizeof buf - 1))
		return 1;
	if (p < buf || p > buf + sizeof buf - 1)
		return 1;
	size_t used = (size_t)(p - buf);
	/* One allocation: the header array, then the text with each line's ": " and CRLF
	 * turned into NULs. */
	size_t lines = 1;
	for (size_t i = 0; i < used; i++)
		lines += buf[i] == '\n';
	wsc_header *h = malloc(lines * sizeof *h + used + 1);
	if (!h)
		return 1;
	char *text = (char *)(h + lines);
	memcpy(text, buf, used);
	text[used] = '\0';
	size_t count = 0;
	for (char *line = text; *line;) {
		char *eol = strchr(line, '\n');
		char *next = eol ? eol + 1 : line + strlen(line);
		if (eol) {
			*eol = '\0';
			if (eol > line && eol[-1] == '\r')
				eol[-1] = '\0';
		}
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			char *value = colon + 1;
			while (*value == ' ' || *value == '\t')
				value++;
			h[count].name = line;
			h[count].value = value;
			count++;
		}
		line = next;
	}
	wsi->headers = h;
	wsi->header_count = count;
	return 0;
}

/* Each attempt asks for its headers afresh, as libwebsockets asks per handshake. This layer
 * never turns wsc's reconnect on (libwebsockets leaves reconnecting to the program, which
 * connects anew), so it only runs if a connection is made with `reconnect` set. */
static void on_reconnect(wsc_connection *conn, uint32_t attempt, void *user) {
	struct lws *wsi = user;
	(void)attempt;
	if (collect_headers(wsi)) {
		wsc_close(conn, WSC_CLOSE_NORMAL, NULL);
		return;
	}
	for (size_t i = 0; i < wsi->header_count; i++)
		wsc_connection_set_header(conn, wsi->headers[i].name, wsi->headers[i].value);
}

/* ---- Connecting ---------------------------------------------------------------------- */

static void deliver_refusal(wsc_context *w, uint64_t id, void *user) {
	struct lws *wsi = user;
	(void)w; (void)id;
	wsi->fail_timer_id = 0;
	report_connection_error(wsi, wsi->fail_msg);
	destroy_wsi(wsi);
}

/* Refuses a connection from the loop, as libwebsockets reports connect failures:
 * CLIENT_CONNECTION_ERROR with `why` from lws_service, then WSI_DESTROY. */
static bool is_ip_address(const char *text) {
	unsigned char addr[16];
	return inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1;
}

static struct lws *refuse(struct lws *wsi, const char *why) {
	wsi->fail_msg = strdup(why ? why : "connection refused");
	if (wsc_timer_start(wsi->context->wsc, 0, 0, deliver_refusal, wsi, &wsi->fail_timer_id) !=
	    WSC_OK) {
		lwsl_err("lws_client_connect_via_info: %s\n", why);
		stop_timers(wsi); /* a timer set from WSI_CREATE must not outlive the wsi */
		unlink_wsi(wsi);
		if (wsi->user_space_owned)
			free(wsi->user_space);
		free(wsi->fail_msg);
		free(wsi);
		return NULL;
	}
	return wsi;
}

static const struct lws_protocols *bind_protocol(struct lws_context *cx,
						 const struct lws_client_connect_info *i) {
	const char *want = i->local_protocol_name;
	char first[128] = "";
	if (!want && i->protocol) {
		size_t n = strcspn(i->protocol, ", ");
		if (n >= sizeof first)
			n = sizeof first - 1;
		memcpy(first, i->protocol, n);
		first[n] = '\0';
		want = first;
	}
	for (size_t k = 0; want && k < cx->protocol_count; k++)
		if (cx->protocols[k].name && !strcmp(cx->protocols[k].name, want))
			return &cx->protocols[k];
	return cx->protocol_count ? &cx->protocols[0] : NULL;
}

/* Splits "a, b,c" into at most `max` subprotocol names held in `storage`. */
static size_t split_protocols(const char *list, char *storage, size_t storage_len,
			      const char **out, size_t max) {
	size_t count = 0;
	if (!list || !*list)
		return 0;
	lws_strncpy(storage, list, storage_len);
	for (char *tok = strtok(storage, ", \t"); tok && count < max; tok = strtok(NULL, ", \t"))
		out[count++] = tok;
	return count;
}

static struct lws *connect_via_info(const struct lws_client_connect_info *i) {
	struct lws_context *cx = i->context ? i->context : (i->vhost ? i->vhost->context : NULL);
	if (!cx || cx->destroying || !i->address)
		return NULL;
	struct lws *wsi = calloc(1, sizeof *wsi);
	if (!wsi)
		return NULL;
	wsi->context = cx;
	wsi->protocol = bind_protocol(cx, i);
	wsi->opaque_user_data = i->opaque_user_data;
	wsi->retry_policy = i->retry_and_idle_policy ? i->retry_and_idle_policy : &cx->default_retry;
	wsi->rx_chunk = wsi->protocol && wsi->protocol->rx_buffer_size
				? wsi->protocol->rx_buffer_size
				: cx->rx_chunk_default;
	if (i->userdata) {
		wsi->user_space = i->userdata;
	} else if (wsi->protocol && wsi->protocol->per_session_data_size) {
		wsi->user_space = calloc(1, wsi->protocol->per_session_data_size);
		if (!wsi->user_space) {
			free(wsi);
			return NULL;
		}
		wsi->user_space_owned = true;
	}
	wsi->next = cx->wsis;
	cx->wsis = wsi;
	if (i->pwsi)
		*i->pwsi = wsi;
	lws_compat_call(wsi, LWS_CALLBACK_WSI_CREATE, NULL, 0);
	if (wsi->closing)
		return refuse(wsi, "closed by lws_set_timeout(LWS_TO_KILL_*) from WSI_CREATE");

	bool tls = (i->ssl_connection & LCCSCF_USE_SSL) != 0;
	if (i->method && strcmp(i->method, "GET"))
		return refuse(wsi, "HTTP client connections (method) are not available in this build");

	const char *path = i->path ? i->path : "/";
	size_t url_len = strlen(i->address) + strlen(path) + 32;
	char *url = malloc(url_len);
	if (!url)
		return refuse(wsi, "out of memory");
	bool v6 = strchr(i->address, ':') != NULL && i->address[0] != '[';
	snprintf(url, url_len, "%s://%s%s%s:%d%s%s", tls ? "wss" : "ws", v6 ? "[" : "", i->address,
		 v6 ? "]" : "", i->port, path[0] == '/' ? "" : "/", path);

	if (collect_headers(wsi)) {
		free(url);
		return refuse(wsi, "refused by CLIENT_APPEND_HANDSHAKE_HEADER");
	}

	char protocol_storage[512];
	const char *subprotocols[16];
	size_t subprotocol_count = split_protocols(i->protocol, protocol_storage,
						   sizeof protocol_storage, subprotocols, 16);

	wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT;
	o.origin = i->origin;
	o.subprotocols = subprotocols;
	o.subprotocol_count = subprotocol_count;
	o.headers = wsi->headers;
	o.header_count = wsi->header_count;
	o.connect_timeout_ms = cx->connect_timeout_ms;
	o.handshake_timeout_ms = cx->handshake_timeout_ms;
	o.deflate_disable = !cx->deflate;
	if (cx->deflate_offer_given) {
		o.deflate_offers = &cx->deflate_offer;
		o.deflate_offer_count = 1;
	}
	o.tls_ca_file = cx->ca_file;
	o.tls_ca_pem = cx->ca_pem;
	o.tls_ca_pem_len = cx->ca_pem_len;
	if (tls) {
		o.tls_client_cert_file = cx->cert_file;
		o.tls_client_cert_pem = cx->cert_pem;
		o.tls_client_cert_pem_len = cx->cert_pem_len;
		o.tls_client_key_file = cx->key_file;
		o.tls_client_key_pem = cx->key_pem;
		o.tls_client_key_pem_len = cx->key_pem_len;
		/* Each relaxation allows its own case only, as with OpenSSL in libwebsockets. */
		o.tls_insecure_skip_verification = (i->ssl_connection & LCCSCF_ALLOW_INSECURE) != 0;
		o.tls_allow_self_signed = (i->ssl_connection & LCCSCF_ALLOW_SELFSIGNED) != 0;
		o.tls_skip_hostname_verification =
			(i->ssl_connection & LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK) != 0;
		o.tls_allow_expired = (i->ssl_connection & LCCSCF_ALLOW_EXPIRED) != 0;
	}
	/* libwebsockets' iface is an interface name or a local IP address to bind to. */
	if (i->iface && is_ip_address(i->iface))
		o.local_address = i->iface;
	else
		o.interface = i->iface;
	o.proxy_url = cx->proxy_url;
	/* libwebsockets does not check outgoing text, and buffers what it cannot write. */
	o.trust_outgoing_text = true;
	o.send_buffer_limit = (size_t)1 << 30;
	o.writable_low_water = LWS_COMPAT_WRITABLE_AT;
	o.stream_messages = true;
	o.max_message_size = UINT64_MAX;
	if (wsi->retry_policy && wsi->retry_policy->secs_since_valid_ping) {
		const lws_retry_bo_t *rp = wsi->retry_policy;
		o.keepalive_interval_ms = rp->secs_since_valid_ping * 1000u;
		if (rp->secs_since_valid_hangup > rp->secs_since_valid_ping)
			o.keepalive_timeout_ms =
				(uint32_t)(rp->secs_since_valid_hangup - rp->secs_since_valid_ping) *
				1000u;
	}

	wsc_callbacks cb = WSC_CALLBACKS_INIT;
	cb.on_open = on_open;
	cb.on_message_part = on_message_part;
	cb.on_pong = on_pong;
	cb.on_writable = on_writable;
	cb.on_error = on_error;
	cb.on_close = on_close;
	cb.on_reconnect = on_reconnect;

	wsc_result r = wsc_connect(cx->wsc, url, &o, &cb, wsi, &wsi->conn);
	free(url);
	if (r != WSC_OK)
		return refuse(wsi, wsc_last_error());
	return wsi;
}

struct lws *lws_client_connect_via_info(const struct lws_client_connect_info *i) {
	if (!i)
		return NULL;
	struct lws *wsi = connect_via_info(i);
	/* As libwebsockets: a connection that never started leaves *pwsi NULL. */
	if (!wsi && i->pwsi)
		*i->pwsi = NULL;
	return wsi;
}

/* ---- On a connection ------------------------------------------------------------------ */

struct lws_context *lws_get_context(const struct lws *wsi) {
	return wsi ? wsi->context : NULL;
}

const struct lws_protocols *lws_get_protocol(struct lws *wsi) {
	return wsi ? wsi->protocol : NULL;
}

struct lws_vhost *lws_get_vhost(struct lws *wsi) {
	return wsi ? &wsi->context->vhost : NULL;
}

void *lws_wsi_user(struct lws *wsi) {
	return wsi ? wsi->user_space : NULL;
}

void lws_set_wsi_user(struct lws *wsi, void *user) {
	if (!wsi)
		return;
	if (wsi->user_space_owned)
		free(wsi->user_space);
	wsi->user_space = user;
	wsi->user_space_owned = false;
}

void *lws_get_opaque_user_data(const struct lws *wsi) {
	return wsi ? wsi->opaque_user_data : NULL;
}

void lws_set_opaque_user_data(struct lws *wsi, void *data) {
	if (wsi)
		wsi->opaque_user_data = data;
}

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol protocol) {
	if (!wsi || !wsi->conn || !wsi->established || wsi->closing)
		return -1;
	int kind = (int)protocol & 0x1f;
	bool fin = !((int)protocol & LWS_WRITE_NO_FIN);
	wsc_result r;
	switch (kind) {
	case LWS_WRITE_TEXT:
	case LWS_WRITE_BINARY:
		if (wsi->tx_in_message) {
			lwsl_err("lws_write: a new message before the last one's final fragment\n");
			return -1;
		}
		if (fin) {
			r = kind == LWS_WRITE_TEXT ? wsc_send_text(wsi->conn, (const char *)buf, len)
						   : wsc_send_binary(wsi->conn, buf, len);
		} else {
			r = wsc_send_fragment(wsi->conn, kind == LWS_WRITE_TEXT, buf, len, false);
			if (r == WSC_OK) {
				wsi->tx_in_message = true;
				wsi->tx_is_text = kind == LWS_WRITE_TEXT;
			}
		}
		break;
	case LWS_WRITE_CONTINUATION:
		if (!wsi->tx_in_message) {
			lwsl_err("lws_write: LWS_WRITE_CONTINUATION without a message to continue\n");
			return -1;
		}
		r = wsc_send_fragment(wsi->conn, wsi->tx_is_text, buf, len, fin);
		if (r == WSC_OK && fin)
			wsi->tx_in_message = false;
		break;
	case LWS_WRITE_PING:
		r = wsc_send_ping(wsi->conn, buf, len);
		break;
	case LWS_WRITE_PONG:
		lwsl_err("lws_write: LWS_WRITE_PONG is not available: wsc answers every ping itself\n");
		return -1;
	default:
		lwsl_err("lws_write: write type %d is not available (WebSocket client only)\n", kind);
		return -1;
	}
	if (r != WSC_OK) {
		lwsl_info("lws_write: %s\n", wsc_last_error());
		return -1;
	}
	return (int)len;
}

int lws_callback_on_writable(struct lws *wsi) {
	if (!wsi || !wsi->conn || wsi->closing)
		return 0;
	return wsc_request_writable(wsi->conn) == WSC_OK ? 1 : -1;
}

static bool same_protocol(const struct lws_protocols *a, const struct lws_protocols *b) {
	return a == b || (a && b && a->name && b->name && !strcmp(a->name, b->name));
}

int lws_callback_on_writable_all_protocol(const struct lws_context *cx,
					  const struct lws_protocols *protocol) {
	if (!cx)
		return -1;
	for (struct lws *w = cx->wsis; w; w = w->next)
		if (same_protocol(w->protocol, protocol))
			lws_callback_on_writable(w);
	return 0;
}

int lws_callback_on_writable_all_protocol_vhost(const struct lws_vhost *vhost,
						const struct lws_protocols *protocol) {
	return vhost ? lws_callback_on_writable_all_protocol(vhost->context, protocol) : -1;
}

int lws_send_pipe_choked(struct lws *wsi) {
	/* Choked until CLIENT_WRITEABLE would come. */
	return wsi && wsi->conn &&
	       wsc_connection_buffered_amount(wsi->conn) > LWS_COMPAT_WRITABLE_AT;
}

int lws_partial_buffered(struct lws *wsi) {
	return lws_send_pipe_choked(wsi);
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf,
		      size_t len) {
	if (!wsi)
		return;
	wsi->close_code = (uint16_t)status;
	if (len > sizeof wsi->close_reason - 1)
		len = sizeof wsi->close_reason - 1;
	if (buf && len)
		memcpy(wsi->close_reason, buf, len);
	wsi->close_reason[buf ? len : 0] = '\0';
}

/* ---- The handshake response ------------------------------------------------------------- */

static const char *token_name(enum lws_token_indexes h) {
	switch (h) {
	case WSI_TOKEN_HOST: return "host";
	case WSI_TOKEN_CONNECTION: return "connection";
	case WSI_TOKEN_UPGRADE: return "upgrade";
	case WSI_TOKEN_ORIGIN: return "origin";
	case WSI_TOKEN_EXTENSIONS: return "sec-websocket-extensions";
	case WSI_TOKEN_PROTOCOL: return "sec-websocket-protocol";
	case WSI_TOKEN_ACCEPT: return "sec-websocket-accept";
	case WSI_TOKEN_KEY: return "sec-websocket-key";
	case WSI_TOKEN_VERSION: return "sec-websocket-version";
	case WSI_TOKEN_HTTP_ACCEPT: return "accept";
	case WSI_TOKEN_HTTP_ACCEPT_ENCODING: return "accept-encoding";
	case WSI_TOKEN_HTTP_ACCEPT_LANGUAGE: return "accept-language";
	case WSI_TOKEN_HTTP_PRAGMA: return "pragma";
	case WSI_TOKEN_HTTP_CACHE_CONTROL: return "cache-control";
	case WSI_TOKEN_HTTP_AUTHORIZATION: return "authorization";
	case WSI_TOKEN_HTTP_COOKIE: return "cookie";
	case WSI_TOKEN_HTTP_CONTENT_LENGTH: return "content-length";
	case WSI_TOKEN_HTTP_CONTENT_TYPE: return "content-type";
	case WSI_TOKEN_HTTP_DATE: return "date";
	case WSI_TOKEN_HTTP_ACCEPT_RANGES: return "accept-ranges";
	case WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN: return "access-control-allow-origin";
	case WSI_TOKEN_HTTP_AGE: return "age";
	case WSI_TOKEN_HTTP_ALLOW: return "allow";
	case WSI_TOKEN_HTTP_CONTENT_ENCODING: return "content-encoding";
	case WSI_TOKEN_HTTP_ETAG: return "etag";
	case WSI_TOKEN_HTTP_EXPIRES: return "expires";
	case WSI_TOKEN_HTTP_LAST_MODIFIED: return "last-modified";
	case WSI_TOKEN_HTTP_LINK: return "link";
	case WSI_TOKEN_HTTP_LOCATION: return "location";
	case WSI_TOKEN_HTTP_PROXY_AUTHENTICATE: return "proxy-authenticate";
	case WSI_TOKEN_HTTP_RETRY_AFTER: return "retry-after";
	case WSI_TOKEN_HTTP_SERVER: return "server";
	case WSI_TOKEN_HTTP_SET_COOKIE: return "set-cookie";
	case WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY: return "strict-transport-security";
	case WSI_TOKEN_HTTP_TRANSFER_ENCODING: return "transfer-encoding";
	case WSI_TOKEN_HTTP_USER_AGENT: return "user-agent";
	case WSI_TOKEN_HTTP_VARY: return "vary";
	case WSI_TOKEN_HTTP_VIA: return "via";
	case WSI_TOKEN_HTTP_WWW_AUTHENTICATE: return "www-authenticate";
	case WSI_TOKEN_X_AUTH_TOKEN: return "x-auth-token";
	default: return NULL;
	}
}

/* The value of header `h`: the status code for WSI_TOKEN_HTTP, as libwebsockets keeps it. */
static int header_value(struct lws *wsi, enum lws_token_indexes h, const char *name,
			size_t name_len, const uint8_t **value, size_t *len, char status[8]) {
	if (!wsi || !wsi->conn)
		return -1;
	if (!name && h == WSI_TOKEN_HTTP) {
		uint16_t s = wsc_connection_status(wsi->conn);
		if (!s)
			return -1;
		*len = (size_t)snprintf(status, 8, "%u", s);
		*value = (const uint8_t *)status;
		return 0;
	}
	char lname[128];
	if (!name) {
		name = token_name(h);
		if (!name)
			return -1;
		name_len = strlen(name);
	}
	/* Custom names come as "x-name:" in libwebsockets. */
	if (name_len && name[name_len - 1] == ':')
		name_len--;
	if (name_len >= sizeof lname)
		return -1;
	memcpy(lname, name, name_len);
	lname[name_len] = '\0';
	return wsc_connection_header(wsi->conn, lname, value, len) == WSC_OK ? 0 : -1;
}

int lws_hdr_total_length(struct lws *wsi, enum lws_token_indexes h) {
	const uint8_t *v;
	size_t len;
	char status[8];
	return header_value(wsi, h, NULL, 0, &v, &len, status) ? 0 : (int)len;
}

static int copy_out(char *dest, int dlen, const uint8_t *v, size_t len) {
	if (dlen <= 0 || len + 1 > (size_t)dlen)
		return -1;
	memcpy(dest, v, len);
	dest[len] = '\0';
	return (int)len;
}

int lws_hdr_copy(struct lws *wsi, char *dest, int len, enum lws_token_indexes h) {
	const uint8_t *v;
	size_t n;
	char status[8];
	if (dest && len > 0)
		dest[0] = '\0';
	if (header_value(wsi, h, NULL, 0, &v, &n, status))
		return 0;
	return copy_out(dest, len, v, n);
}

int lws_hdr_custom_length(struct lws *wsi, const char *name, int nlen) {
	const uint8_t *v;
	size_t n;
	char status[8];
	if (!name || nlen <= 0)
		return -1;
	return header_value(wsi, WSI_TOKEN_COUNT, name, (size_t)nlen, &v, &n, status) ? -1
										   : (int)n;
}

int lws_hdr_custom_copy(struct lws *wsi, char *dst, int len, const char *name, int nlen) {
	const uint8_t *v;
	size_t n;
	char status[8];
	if (!name || nlen <= 0)
		return -1;
	if (dst && len > 0)
		dst[0] = '\0';
	if (header_value(wsi, WSI_TOKEN_COUNT, name, (size_t)nlen, &v, &n, status))
		return -1;
	return copy_out(dst, len, v, n);
}

int lws_http_client_http_response(struct lws *wsi) {
	return wsi && wsi->conn ? wsc_connection_status(wsi->conn) : 0;
}
