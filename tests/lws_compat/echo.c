/*
 * A minimal echo client in libwebsockets' documented style: a protocols table with
 * per-session data, a handshake header from CLIENT_APPEND_HANDSHAKE_HEADER checked in
 * CLIENT_FILTER_PRE_ESTABLISH, messages sent from CLIENT_WRITEABLE with LWS_PRE headroom,
 * the echoes checked in CLIENT_RECEIVE, a close with lws_close_reason; PROTOCOL_INIT with
 * per-vhost options and data, lws_set_timer_usecs, lws_cancel_service, WSI_CREATE/DESTROY;
 * the library's own log lines reaching the program's emit function at LLL_INFO.
 */
#include "lws_test.h"

#define MESSAGES 3

struct per_session {          /* per_session_data_size: zeroed per connection */
	int sent, received;
	int established;
};

struct per_vhost {            /* lws_protocol_vh_priv_zalloc */
	int pvo_value;
};

static struct {
	int protocol_init, protocol_destroy, wsi_create, wsi_destroy;
	int timer, cancelled, closed, connection_error;
	int psd_was_zero;
} seen;
static int interrupted;

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len) {
	struct per_session *pss = user;
	struct per_vhost *vhd = lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
	unsigned char buf[LWS_PRE + 64];
	char hdr[64];

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT: {
		const struct lws_protocol_vhost_options *pvo = in;
		vhd = lws_protocol_vh_priv_zalloc(lws_get_vhost(wsi), lws_get_protocol(wsi),
						  sizeof *vhd);
		CHECK(vhd != NULL);
		const struct lws_protocol_vhost_options *v = lws_pvo_search(pvo, "answer");
		CHECK(v != NULL);
		if (vhd && v)
			vhd->pvo_value = atoi(v->value);
		CHECK(lws_get_context(wsi) != NULL);
		seen.protocol_init++;
		break;
	}
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		seen.protocol_destroy++;
		break;
	case LWS_CALLBACK_WSI_CREATE:
		seen.wsi_create++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		seen.wsi_destroy++;
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		char **p = in;
		/* per-session data exists and is zeroed before the first callback about it */
		seen.psd_was_zero = pss && !pss->sent && !pss->received && !pss->established;
		*p += lws_snprintf(*p, len, "X-Echo: from-lws\r\n");
		break;
	}
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		CHECK_INT(lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_PROTOCOL), 13);
		CHECK(!strcmp(hdr, "lws-echo-test"));
		CHECK_INT(lws_hdr_custom_copy(wsi, hdr, sizeof hdr, "x-echo:", 7), 8);
		CHECK(!strcmp(hdr, "from-lws"));
		CHECK_INT(lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE), 9);
		CHECK_INT(lws_hdr_copy(wsi, hdr, 4, WSI_TOKEN_UPGRADE), -1); /* too small */
		CHECK_INT(lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_SET_COOKIE), 0);
		CHECK_INT(lws_http_client_http_response(wsi), 101);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pss->established = 1;
		CHECK(vhd && vhd->pvo_value == 42);
		CHECK(lws_wsi_user(wsi) == pss);
		/* sending starts from the timer */
		lws_set_timer_usecs(wsi, 2 * LWS_US_PER_MS);
		lws_cancel_service(lws_get_context(wsi));
		break;
	case LWS_CALLBACK_TIMER:
		seen.timer++;
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		int n = lws_snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE, "hello %d",
				     pss->sent);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		if (++pss->sent < MESSAGES)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		lws_snprintf(hdr, sizeof hdr, "hello %d", pss->received);
		CHECK_INT(len, strlen(hdr));
		CHECK(!memcmp(in, hdr, len));
		CHECK(lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi));
		CHECK(!lws_frame_is_binary(wsi));
		CHECK_INT(lws_remaining_packet_payload(wsi), 0);
		if (++pss->received == MESSAGES) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
			return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
		seen.connection_error++;
		interrupted = 1;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		CHECK_INT(pss->received, MESSAGES);
		seen.closed++;
		interrupted = 1;
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		CHECK(wsi != NULL && lws_get_protocol(wsi) != NULL);
		seen.cancelled++;
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "lws-echo-test", callback_echo, sizeof(struct per_session), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static const struct lws_protocol_vhost_options pvo_answer = { NULL, NULL, "answer", "42" };
static const struct lws_protocol_vhost_options pvo = { NULL, &pvo_answer, "lws-echo-test", "" };

/* What the emit function was given: the library's lines among them. */
static struct {
	int levels;
	int connected_line, open_line;
} logged;

static void emit(int level, const char *line) {
	logged.levels |= level;
	size_t len = strlen(line);
	REQUIRE(len > 0 && line[len - 1] == '\n');
	if (level == LLL_INFO && strstr(line, "connected to "))
		logged.connected_line = 1;
	if (level == LLL_INFO && strstr(line, "open"))
		logged.open_line = 1;
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct lws_context *context;
	struct lws *client_wsi = NULL;
	struct lt_server server;
	int n = 0;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_INFO, emit);

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.pvo = &pvo;
	info.fd_limit_per_thread = 1 + 1 + 1;
	context = lws_create_context(&info);
	REQUIRE(context);
	CHECK_INT(seen.protocol_init, 1);

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/";
	i.host = i.address;
	i.origin = i.address;
	i.protocol = protocols[0].name;
	i.pwsi = &client_wsi;
	REQUIRE(lws_client_connect_via_info(&i));
	CHECK(client_wsi != NULL);
	CHECK(seen.psd_was_zero);

	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);

	CHECK_INT(seen.connection_error, 0);
	CHECK_INT(seen.closed, 1);
	CHECK_INT(seen.timer, 1);
	CHECK(seen.cancelled >= 1);
	CHECK_INT(seen.wsi_create, 1);
	CHECK_INT(seen.wsi_destroy, 1);
	CHECK_INT(seen.protocol_destroy, 1);
	CHECK(logged.connected_line && logged.open_line);
	CHECK_INT(logged.levels & ~(LLL_ERR | LLL_WARN | LLL_INFO), 0);
	return lt_finish("echo");
}
