/*
 * http_proxy_address and http_proxy_port: the connection goes through the proxy with
 * CONNECT to the address and port asked for (which the test server, acting as the proxy,
 * names back in an X-Tunnel response header), and echoes as usual.
 */
#include "lws_test.h"

static int interrupted, echoed, tunnel_ok;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	unsigned char buf[LWS_PRE + 16];
	char hdr[64];
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		tunnel_ok = lws_hdr_custom_copy(wsi, hdr, sizeof hdr, "x-tunnel:", 9) > 0 &&
			    !strcmp(hdr, "proxied.invalid:8080");
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		memcpy(buf + LWS_PRE, "via proxy", 9);
		if (lws_write(wsi, buf + LWS_PRE, 9, LWS_WRITE_TEXT) < 9)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		echoed = len == 9 && !memcmp(in, "via proxy", 9);
		return -1;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
		interrupted = 1;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		interrupted = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "proxy", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
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
	info.http_proxy_address = server.address;
	info.http_proxy_port = (unsigned int)server.port;
	struct lws_context *context = lws_create_context(&info);
	REQUIRE(context);

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = "proxied.invalid"; /* only the proxy resolves it */
	i.port = 8080;
	i.path = "/";
	i.host = i.address;
	REQUIRE(lws_client_connect_via_info(&i));
	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);

	CHECK(tunnel_ok);
	CHECK(echoed);
	return lt_finish("proxy");
}
