/*
 * Failures before a connection is established reach CLIENT_CONNECTION_ERROR, with the
 * reason as `in`, and nothing else but WSI_DESTROY follows (no CLIENT_CLOSED): a refused
 * TCP connection, a handshake answered 403, a FILTER_PRE_ESTABLISH that says no, an
 * APPEND_HANDSHAKE_HEADER that says no, an interface that does not exist, and
 * lws_set_timeout(LWS_TO_KILL_ASYNC) from WSI_CREATE, before anything was sent.
 */
#include "lws_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

struct per_session {
	int which;
};

static struct {
	int errors, closed, established, destroyed;
	char last_error[256];
} seen;
static int mode; /* what the next connection's callback does */

enum { PLAIN, REJECT_FILTER, REJECT_APPEND, KILL_AT_CREATE };

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		if (mode == KILL_AT_CREATE)
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return mode == REJECT_APPEND;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		return mode == REJECT_FILTER;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		seen.established++;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		seen.errors++;
		lws_snprintf(seen.last_error, sizeof seen.last_error, "%.*s", (int)len,
			     in ? (const char *)in : "");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		seen.closed++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		seen.destroyed++;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "errors", callback, sizeof(struct per_session), 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

/* Connects with `i` and services until the connection is gone; returns the error text. */
static const char *attempt(struct lws_context *cx, struct lws_client_connect_info *i, int m) {
	int before = seen.destroyed;
	mode = m;
	seen.last_error[0] = '\0';
	REQUIRE(lws_client_connect_via_info(i));
	while (seen.destroyed == before)
		REQUIRE(lws_service(cx, 0) >= 0);
	return seen.last_error;
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct lt_server server;
	const char *e;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	struct lws_context *cx = lws_create_context(&info);
	REQUIRE(cx);

	/* A port that is bound but not listening refuses connections. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	REQUIRE(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof sa) &&
		!getsockname(fd, (struct sockaddr *)&sa, &sl));

	memset(&i, 0, sizeof i);
	i.context = cx;
	i.address = "127.0.0.1";
	i.port = ntohs(sa.sin_port);
	i.path = "/";
	e = attempt(cx, &i, PLAIN);
	CHECK(strstr(e, "refused") != NULL);

	i.port = server.port;
	i.path = "/refuse";
	e = attempt(cx, &i, PLAIN);
	CHECK(strstr(e, "403") != NULL);

	i.path = "/";
	e = attempt(cx, &i, REJECT_FILTER);
	CHECK(!strcmp(e, "HS: Rejected by filter cb"));

	e = attempt(cx, &i, REJECT_APPEND);
	CHECK(strstr(e, "APPEND_HANDSHAKE_HEADER") != NULL);

	i.iface = "no-such-if0";
	e = attempt(cx, &i, PLAIN);
	CHECK(strstr(e, "no-such-if0") != NULL && strstr(e, "no such network interface") != NULL);
	i.iface = NULL;

	e = attempt(cx, &i, KILL_AT_CREATE);
	CHECK(strstr(e, "LWS_TO_KILL") != NULL);

	CHECK_INT(seen.errors, 6);
	CHECK_INT(seen.destroyed, 6);
	CHECK_INT(seen.closed, 0);
	CHECK_INT(seen.established, 0);
	lws_context_destroy(cx);
	close(fd);
	return lt_finish("errors");
}
