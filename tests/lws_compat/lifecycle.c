/*
 * How connections end besides a closing handshake: lws_set_timeout(LWS_TO_KILL_ASYNC)
 * drops one (CLIENT_CLOSED follows, no WS_PEER_INITIATED_CLOSE); lws_context_destroy
 * closes one that is open (CLIENT_CLOSED) and one still connecting
 * (CLIENT_CONNECTION_ERROR), every connection hears WSI_DESTROY, and PROTOCOL_DESTROY
 * comes last. Writes that cannot be made return -1.
 */
#include "lws_test.h"

struct per_session {
	int id;
	int established, closed, errors, destroyed, peer_close;
};

static struct per_session sessions[3];
static int protocol_destroy_after_wsis = -1, destroyed_total, early_write, pong_write;
static int step;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	struct per_session *pss = user;
	unsigned char buf[LWS_PRE + 4];
	(void)in; (void)len;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		early_write = lws_write(wsi, buf + LWS_PRE, 1, LWS_WRITE_TEXT);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pss->established++;
		if (pss->id == 0) {
			pong_write = lws_write(wsi, buf + LWS_PRE, 1, LWS_WRITE_PONG);
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else {
			step = 2; /* the second is open: time to destroy the context */
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		pss->peer_close++;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		pss->closed++;
		if (pss->id == 0)
			step = 1;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		pss->errors++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		pss->destroyed++;
		destroyed_total++;
		break;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		protocol_destroy_after_wsis = destroyed_total;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "lifecycle", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static void connect_one(struct lws_context *cx, const struct lt_server *s, int id) {
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof i);
	i.context = cx;
	i.address = s->address;
	i.port = s->port;
	i.path = "/";
	i.host = i.address;
	sessions[id].id = id;
	i.userdata = &sessions[id]; /* instead of an allocated per-session struct */
	REQUIRE(lws_client_connect_via_info(&i));
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lt_server server;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	struct lws_context *cx = lws_create_context(&info);
	REQUIRE(cx);

	connect_one(cx, &server, 0);
	while (step < 1)
		REQUIRE(lws_service(cx, 0) >= 0);
	connect_one(cx, &server, 1);
	while (step < 2)
		REQUIRE(lws_service(cx, 0) >= 0);
	connect_one(cx, &server, 2); /* never serviced: still connecting */
	lws_context_destroy(cx);

	CHECK_INT(early_write, -1);
	CHECK_INT(pong_write, -1);
	CHECK_INT(sessions[0].established, 1);
	CHECK_INT(sessions[0].closed, 1);
	CHECK_INT(sessions[0].peer_close, 0);
	CHECK_INT(sessions[1].established, 1);
	CHECK_INT(sessions[1].closed, 1);
	CHECK_INT(sessions[1].errors, 0);
	CHECK_INT(sessions[2].established, 0);
	CHECK_INT(sessions[2].closed, 0);
	CHECK_INT(sessions[2].errors, 1);
	for (int k = 0; k < 3; k++)
		CHECK_INT(sessions[k].destroyed, 1);
	CHECK_INT(protocol_destroy_after_wsis, 3);
	return lt_finish("lifecycle");
}
