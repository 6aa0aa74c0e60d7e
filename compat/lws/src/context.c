/*
 * Contexts, the service loop and protocol bookkeeping: lws_create_context,
 * lws_service, lws_cancel_service, lws_context_destroy and the per-protocol
 * vhost data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "private.h"

static size_t protocol_index(const struct lws_context *cx, const struct lws_protocols *p) {
	for (size_t i = 0; i < cx->protocol_count; i++)
		if (&cx->protocols[i] == p || (p && p->name && cx->protocols[i].name &&
						!strcmp(p->name, cx->protocols[i].name)))
			return i;
	return (size_t)-1;
}

/* Parses a client_offer such as "permessage-deflate; client_no_context_takeover;
 * client_max_window_bits=10" into wsc's offer. */
static void parse_deflate_offer(const char *offer, wsc_deflate_offer *out) {
	const char *p = offer;
	memset(out, 0, sizeof *out);
	while (p && *p) {
		while (*p == ' ' || *p == ';' || *p == '\t')
			p++;
		const char *end = p;
		while (*end && *end != ';')
			end++;
		size_t n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		const char *eq = memchr(p, '=', n);
		size_t name_len = eq ? (size_t)(eq - p) : n;
		int value = eq ? atoi(eq + 1) : 0;
		if (name_len == 26 && !strncmp(p, "client_no_context_takeover", name_len))
			out->client_no_context_takeover = true;
		else if (name_len == 26 && !strncmp(p, "server_no_context_takeover", name_len))
			out->server_no_context_takeover = true;
		else if (name_len == 22 && !strncmp(p, "client_max_window_bits", name_len))
			out->client_max_window_bits = (uint8_t)value;
		else if (name_len == 22 && !strncmp(p, "server_max_window_bits", name_len))
			out->server_max_window_bits = (uint8_t)value;
		p = end;
	}
}

static void read_extensions(struct lws_context *cx, const struct lws_extension *ext) {
	for (; ext && ext->name; ext++) {
		if (ext->callback == lws_extension_callback_pm_deflate ||
		    !strcasecmp(ext->name, "permessage-deflate")) {
			cx->deflate = true;
			if (ext->client_offer) {
				parse_deflate_offer(ext->client_offer, &cx->deflate_offer);
				cx->deflate_offer_given = true;
			}
		} else {
			lwsl_warn("extension %s is not available; only permessage-deflate is\n",
				  ext->name);
		}
	}
}

static const struct lws_protocol_vhost_options *
protocol_pvo(const struct lws_context *cx, const char *name) {
	for (const struct lws_protocol_vhost_options *p = cx->pvo; p; p = p->next)
		if (name && p->name && !strcmp(p->name, name))
			return p->options;
	return NULL;
}

/* Copies a file name and PEM bytes in memory (either may be absent); non-zero when out of
 * memory. */
static int copy_file_or_pem(const char *file, const void *pem, size_t len, char **file_out,
			    uint8_t **pem_out, size_t *len_out) {
	if (file && !(*file_out = strdup(file)))
		return 1;
	if (pem && len) {
		if (!(*pem_out = malloc(len)))
			return 1;
		memcpy(*pem_out, pem, len);
		*len_out = len;
	}
	return 0;
}

static void context_free(struct lws_context *cx) {
	lws_compat_suls_free(cx);
	if (cx->vh_priv)
		for (size_t i = 0; i < cx->protocol_count; i++)
			free(cx->vh_priv[i]);
	free(cx->vh_priv);
	free(cx->protocol_wsi);
	free(cx->protocols);
	free(cx->ca_file);
	free(cx->ca_pem);
	free(cx->cert_file);
	free(cx->cert_pem);
	free(cx->key_file);
	free(cx->key_pem);
	free(cx->proxy_url);
	free(cx->baggage);
	free(cx);
}

struct lws_context *lws_create_context(const struct lws_context_creation_info *info) {
	if (!info)
		return NULL;
	if (info->port != CONTEXT_PORT_NO_LISTEN && info->port != CONTEXT_PORT_NO_LISTEN_SERVER &&
	    info->port != 0) {
		lwsl_err("lws_create_context: port %d: this build has no server side; use "
			 "CONTEXT_PORT_NO_LISTEN\n", info->port);
		return NULL;
	}
	lws_compat_route_wsc_log();
	struct lws_context *cx = calloc(1, sizeof *cx);
	if (!cx)
		return NULL;
	cx->vhost.context = cx;
	cx->user = info->user;
	cx->baggage = info->external_baggage_free_on_destroy;
	cx->pvo = info->pvo;
	/* libwebsockets' default policy: back off 1, 3, 9 then 17 s, a ping after 5 idle
	 * minutes, dropped 10 s later without an answer; the idle times can come from the
	 * creation info's policy. */
	static const uint32_t default_backoff_ms[] = { 1000, 3000, 9000, 17000 };
	cx->default_retry.retry_ms_table = default_backoff_ms;
	cx->default_retry.retry_ms_table_count = LWS_ARRAY_SIZE(default_backoff_ms);
	cx->default_retry.conceal_count = LWS_ARRAY_SIZE(default_backoff_ms);
	cx->default_retry.jitter_percent = 20;
	cx->default_retry.secs_since_valid_ping = 300;
	cx->default_retry.secs_since_valid_hangup = 310;
	if (info->retry_and_idle_policy && info->retry_and_idle_policy->secs_since_valid_ping) {
		cx->default_retry.secs_since_valid_ping =
			info->retry_and_idle_policy->secs_since_valid_ping;
		cx->default_retry.secs_since_valid_hangup =
			info->retry_and_idle_policy->secs_since_valid_hangup;
	}
	/* libwebsockets gives up connecting after 20 s unless told otherwise. */
	cx->connect_timeout_ms = (info->connect_timeout_secs ? info->connect_timeout_secs : 20) * 1000u;
	cx->handshake_timeout_ms = info->timeout_secs * 1000u;
	cx->rx_chunk_default = info->pt_serv_buf_size ? info->pt_serv_buf_size : 4096;
	read_extensions(cx, info->extensions);

	size_t n = 0;
	if (info->pprotocols)
		while (info->pprotocols[n])
			n++;
	else if (info->protocols)
		while (info->protocols[n].callback || info->protocols[n].name)
			n++;
	cx->protocols = calloc(n + 1, sizeof *cx->protocols);
	cx->vh_priv = calloc(n + 1, sizeof *cx->vh_priv);
	cx->protocol_wsi = calloc(n + 1, sizeof *cx->protocol_wsi);
	if (!cx->protocols || !cx->vh_priv || !cx->protocol_wsi)
		goto fail;
	for (size_t i = 0; i < n; i++)
		cx->protocols[i] = info->pprotocols ? *info->pprotocols[i] : info->protocols[i];
	cx->protocol_count = n;

	/* The TLS material, copied: wsc reads the files (and checks the key against the
	 * certificate) at each connect. */
	if (copy_file_or_pem(info->client_ssl_ca_filepath, info->client_ssl_ca_mem,
			     info->client_ssl_ca_mem_len, &cx->ca_file, &cx->ca_pem, &cx->ca_pem_len) ||
	    copy_file_or_pem(info->client_ssl_cert_filepath, info->client_ssl_cert_mem,
			     info->client_ssl_cert_mem_len, &cx->cert_file, &cx->cert_pem,
			     &cx->cert_pem_len) ||
	    copy_file_or_pem(info->client_ssl_private_key_filepath, info->client_ssl_key_mem,
			     info->client_ssl_key_mem_len, &cx->key_file, &cx->key_pem,
			     &cx->key_pem_len))
		goto fail;
	if (info->http_proxy_address) {
		size_t len = strlen(info->http_proxy_address) + 32;
		cx->proxy_url = malloc(len);
		if (!cx->proxy_url)
			goto fail;
		if (info->http_proxy_port)
			snprintf(cx->proxy_url, len, "http://%s:%u", info->http_proxy_address,
				 info->http_proxy_port);
		else
			snprintf(cx->proxy_url, len, "http://%s", info->http_proxy_address);
	}

	wsc_result r = wsc_context_new(NULL, &cx->wsc);
	if (r != WSC_OK) {
		lwsl_err("lws_create_context: %s\n", wsc_last_error());
		goto fail;
	}
	if (info->pcontext)
		*info->pcontext = cx;

	/* As libwebsockets does for its vhost: each protocol hears PROTOCOL_INIT, with the
	 * per-vhost options named after it as `in`. Non-zero fails the creation. */
	for (size_t i = 0; i < n; i++) {
		struct lws *pw = &cx->protocol_wsi[i];
		pw->context = cx;
		pw->protocol = &cx->protocols[i];
		const struct lws_protocol_vhost_options *pvo = protocol_pvo(cx, cx->protocols[i].name);
		if (lws_compat_call(pw, LWS_CALLBACK_PROTOCOL_INIT, (void *)(uintptr_t)pvo, 0)) {
			lwsl_err("lws_create_context: protocol %s refused PROTOCOL_INIT\n",
				 cx->protocols[i].name ? cx->protocols[i].name : "");
			for (size_t j = 0; j < i; j++)
				lws_compat_call(&cx->protocol_wsi[j], LWS_CALLBACK_PROTOCOL_DESTROY,
						NULL, 0);
			wsc_context_free(cx->wsc);
			goto fail;
		}
	}
	return cx;

fail:
	cx->baggage = NULL; /* stays the caller's when creation fails */
	context_free(cx);
	return NULL;
}

void lws_context_destroy(struct lws_context *cx) {
	if (!cx || cx->destroying)
		return;
	cx->destroying = true;
	/* Every connection still open closes now and hears CLIENT_CLOSED (or
	 * CLIENT_CONNECTION_ERROR) and WSI_DESTROY from wsc's on_close. */
	wsc_context_free(cx->wsc);
	cx->wsc = NULL;
	lws_compat_wsis_free(cx);
	for (size_t i = 0; i < cx->protocol_count; i++)
		lws_compat_call(&cx->protocol_wsi[i], LWS_CALLBACK_PROTOCOL_DESTROY, NULL, 0);
	context_free(cx);
}

int lws_service(struct lws_context *cx, int timeout_ms) {
	if (!cx || cx->destroying)
		return -1;
	/* libwebsockets 4 waits for the next event whatever a non-negative timeout says, and
	 * only services what is pending for a negative one. The wait is capped at a second so
	 * that a program checking a flag between calls (set by a thread that did not call
	 * lws_cancel_service, say) sees it. */
	wsc_result r = wsc_service(cx->wsc, timeout_ms < 0 ? 0 : 1000);
	if (atomic_exchange(&cx->cancel_pending, 0))
		for (size_t i = 0; i < cx->protocol_count && !cx->destroying; i++)
			lws_compat_call(&cx->protocol_wsi[i], LWS_CALLBACK_EVENT_WAIT_CANCELLED, NULL,
					0);
	return r == WSC_OK ? 0 : -1;
}

int lws_service_tsi(struct lws_context *cx, int timeout_ms, int tsi) {
	(void)tsi;
	return lws_service(cx, timeout_ms);
}

void lws_cancel_service(struct lws_context *cx) {
	if (!cx)
		return;
	atomic_store(&cx->cancel_pending, 1);
	wsc_context_wake(cx->wsc);
}

void lws_cancel_service_pt(struct lws *wsi) {
	if (wsi)
		lws_cancel_service(wsi->context);
}

const char *lws_get_library_version(void) {
	return LWS_LIBRARY_VERSION " (wsc " WSC_VERSION_STRING ")";
}

void *lws_context_user(struct lws_context *cx) {
	return cx ? cx->user : NULL;
}

struct lws_vhost *lws_get_vhost_by_name(struct lws_context *cx, const char *name) {
	(void)name;
	return cx ? &cx->vhost : NULL;
}

struct lws_context *lws_vhost_get_context(struct lws_vhost *vh) {
	return vh ? vh->context : NULL;
}

void _lws_context_info_defaults(struct lws_context_creation_info *info, const char *sspol) {
	(void)sspol;
	memset(info, 0, sizeof *info);
	info->port = CONTEXT_PORT_NO_LISTEN;
	info->options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
}

const struct lws_protocols *lws_vhost_name_to_protocol(struct lws_vhost *vh, const char *name) {
	if (!vh || !name)
		return NULL;
	for (size_t i = 0; i < vh->context->protocol_count; i++)
		if (vh->context->protocols[i].name && !strcmp(vh->context->protocols[i].name, name))
			return &vh->context->protocols[i];
	return NULL;
}

void *lws_protocol_vh_priv_zalloc(struct lws_vhost *vh, const struct lws_protocols *prot,
				  int size) {
	if (!vh || size < 0)
		return NULL;
	size_t i = protocol_index(vh->context, prot);
	if (i == (size_t)-1)
		return NULL;
	if (!vh->context->vh_priv[i])
		vh->context->vh_priv[i] = calloc(1, (size_t)size ? (size_t)size : 1);
	return vh->context->vh_priv[i];
}

void *lws_protocol_vh_priv_get(struct lws_vhost *vh, const struct lws_protocols *prot) {
	if (!vh)
		return NULL;
	size_t i = protocol_index(vh->context, prot);
	return i == (size_t)-1 ? NULL : vh->context->vh_priv[i];
}

const struct lws_protocol_vhost_options *
lws_pvo_search(const struct lws_protocol_vhost_options *pvo, const char *name) {
	for (; pvo; pvo = pvo->next)
		if (pvo->name && name && !strcmp(pvo->name, name))
			return pvo;
	return NULL;
}

int lws_pvo_get_str(void *in, const char *name, const char **result) {
	const struct lws_protocol_vhost_options *pv = lws_pvo_search(in, name);
	if (!pv)
		return 1;
	*result = pv->value;
	return 0;
}

int lws_callback_http_dummy(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			    void *in, size_t len) {
	(void)wsi; (void)reason; (void)user; (void)in; (void)len;
	return 0;
}

int lws_extension_callback_pm_deflate(struct lws_context *context,
				      const struct lws_extension *ext, struct lws *wsi,
				      enum lws_extension_callback_reasons reason, void *user,
				      void *in, size_t len) {
	(void)context; (void)ext; (void)wsi; (void)reason; (void)user; (void)in; (void)len;
	return 0;
}
