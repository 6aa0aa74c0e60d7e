/*
 * A bulk sender: a 133,700-byte binary message in 1 KiB fragments, one fragment per
 * CLIENT_WRITEABLE (lws_write_ws_flags: LWS_WRITE_BINARY, then LWS_WRITE_CONTINUATION, with
 * LWS_WRITE_NO_FIN until the last), over permessage-deflate offered through the extensions
 * table. The echo must match byte for byte, and the server's "stats" must say it received
 * 131 compressed frames making 133,700 bytes.
 */
#include "lws_test.h"

#define TOTAL 133700
#define FRAGMENT 1024

struct per_session {
	size_t sent, received;
	int asked_stats, mismatch;
};

static int interrupted, closed, deflate_accepted, stats_ok;

static unsigned char pattern(size_t k) {
	return (unsigned char)((k * 7 + k / 1000) & 0xff);
}

static int callback_bulk(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len) {
	struct per_session *pss = user;
	static unsigned char buf[LWS_PRE + FRAGMENT];
	char ext[128];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		if (lws_hdr_copy(wsi, ext, sizeof ext, WSI_TOKEN_EXTENSIONS) > 0 &&
		    strstr(ext, "permessage-deflate"))
			deflate_accepted = 1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (pss->asked_stats == 1) {
			memcpy(buf + LWS_PRE, "stats", 5);
			if (lws_write(wsi, buf + LWS_PRE, 5, LWS_WRITE_TEXT) < 5)
				return -1;
			pss->asked_stats = 2;
			break;
		}
		size_t n = TOTAL - pss->sent < FRAGMENT ? TOTAL - pss->sent : FRAGMENT;
		for (size_t k = 0; k < n; k++)
			buf[LWS_PRE + k] = pattern(pss->sent + k);
		int flags = lws_write_ws_flags(LWS_WRITE_BINARY, pss->sent == 0,
					       pss->sent + n == TOTAL);
		if (lws_write(wsi, buf + LWS_PRE, n, (enum lws_write_protocol)flags) < (int)n)
			return -1;
		pss->sent += n;
		if (pss->sent < TOTAL)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		if (pss->asked_stats == 2) {
			/* {"frames": 131, "bytes": 133700, "compressed": true, ...} */
			size_t alen;
			const char *v = lws_json_simple_find(in, len, "\"frames\":", &alen);
			int frames = v ? atoi(v) : -1;
			v = lws_json_simple_find(in, len, "\"bytes\":", &alen);
			int bytes = v ? atoi(v) : -1;
			v = lws_json_simple_find(in, len, "\"compressed\":", &alen);
			int compressed = v && alen == 4 && !strncmp(v, "true", 4);
			CHECK_INT(frames, (TOTAL + FRAGMENT - 1) / FRAGMENT);
			CHECK_INT(bytes, TOTAL);
			CHECK(compressed);
			stats_ok = frames == (TOTAL + FRAGMENT - 1) / FRAGMENT && bytes == TOTAL &&
				   compressed;
			return -1;
		}
		CHECK(lws_frame_is_binary(wsi));
		const unsigned char *p = in;
		for (size_t k = 0; k < len; k++)
			if (p[k] != pattern(pss->received + k))
				pss->mismatch++;
		pss->received += len;
		if (lws_is_final_fragment(wsi)) {
			CHECK_INT(pss->received, TOTAL);
			CHECK_INT(pss->mismatch, 0);
			pss->asked_stats = 1;
			lws_callback_on_writable(wsi);
		}
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		closed++;
		interrupted = 1;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
		interrupted = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "bulk", callback_bulk, sizeof(struct per_session), 4096, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static const struct lws_extension extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct lt_server server;
	int n = 0;

	lt_server_from_args(&server, argc, argv);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.extensions = extensions;
	struct lws_context *context = lws_create_context(&info);
	REQUIRE(context);

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/";
	i.host = i.address;
	i.protocol = "bulk";
	REQUIRE(lws_client_connect_via_info(&i));

	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);

	CHECK(deflate_accepted);
	CHECK(stats_ok);
	CHECK_INT(closed, 1);
	return lt_finish("bulk");
}
