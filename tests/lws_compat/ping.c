/*
 * A ping client: a lws_sorted_usec_list_t timer asks for CLIENT_WRITEABLE, which sends a
 * ping with LWS_WRITE_PING; each CLIENT_RECEIVE_PONG must carry that ping's payload. The
 * connection's retry_and_idle_policy turns on wsc's keepalive, which must not disturb it.
 */
#include "lws_test.h"

#define PINGS 3

struct per_session {
	lws_sorted_usec_list_t sul;
	struct lws *wsi;
	int pings, pongs;
};

static int interrupted, pongs_ok, closed;

static void ping_timer(lws_sorted_usec_list_t *sul) {
	struct per_session *pss = lws_container_of(sul, struct per_session, sul);
	lws_callback_on_writable(pss->wsi);
}

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 30,
	.secs_since_valid_hangup = 40,
};

static int callback_ping(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len) {
	struct per_session *pss = user;
	unsigned char buf[LWS_PRE + 32];
	char expect[32];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pss->wsi = wsi;
		lws_sul_schedule(lws_get_context(wsi), 0, &pss->sul, ping_timer, 1 * LWS_US_PER_MS);
		CHECK(!lws_dll2_is_detached(&pss->sul.list));
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		int n = lws_snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE, "ping %d",
				     pss->pings);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_PING) < n)
			return -1;
		pss->pings++;
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		lws_snprintf(expect, sizeof expect, "ping %d", pss->pongs);
		if (len == strlen(expect) && !memcmp(in, expect, len))
			pongs_ok++;
		if (++pss->pongs == PINGS)
			return -1; /* done: close */
		lws_sul_schedule(lws_get_context(wsi), 0, &pss->sul, ping_timer, 1 * LWS_US_PER_MS);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		lws_sul_cancel(&pss->sul);
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
	{ "ping", callback_ping, sizeof(struct per_session), 0, 0, NULL, 0 },
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
	struct lws_context *context = lws_create_context(&info);
	REQUIRE(context);

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/";
	i.host = i.address;
	i.protocol = "ping";
	i.retry_and_idle_policy = &idle_policy;
	REQUIRE(lws_client_connect_via_info(&i));

	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);

	CHECK_INT(pongs_ok, PINGS);
	CHECK_INT(closed, 1);
	return lt_finish("ping");
}
