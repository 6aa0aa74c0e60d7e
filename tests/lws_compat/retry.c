/*
 * Reconnecting the libwebsockets way: each CLIENT_CONNECTION_ERROR schedules the next
 * attempt with lws_retry_sul_schedule_retry_wsi and the connection's retry policy. The
 * first two attempts go to a port that refuses; the third reaches the echo server. Also
 * the backoff arithmetic of lws_retry_get_delay_ms and a cancelled lws_sul.
 */
#include "lws_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint32_t backoff_ms[] = { 5, 10 };
static const lws_retry_bo_t retry = {
	.retry_ms_table = backoff_ms,
	.retry_ms_table_count = LWS_ARRAY_SIZE(backoff_ms),
	.conceal_count = 4,
	.jitter_percent = 20,
};

static struct {
	struct lws_context *context;
	lws_sorted_usec_list_t sul;
	uint16_t retry_count;
	int attempts, errors, established, echoed, closed, gave_up;
	int refusing_port, server_port;
	const char *address;
} app;
static int interrupted, cancelled_fired;

static void connect_client(lws_sorted_usec_list_t *sul) {
	struct lws_client_connect_info i;
	(void)sul;
	memset(&i, 0, sizeof i);
	i.context = app.context;
	i.address = app.address;
	/* the first two attempts are refused */
	i.port = app.attempts < 2 ? app.refusing_port : app.server_port;
	i.path = "/";
	i.host = i.address;
	i.retry_and_idle_policy = &retry;
	app.attempts++;
	if (!lws_client_connect_via_info(&i))
		lws_retry_sul_schedule(app.context, 0, &app.sul, &retry, connect_client,
				       &app.retry_count);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	unsigned char buf[LWS_PRE + 8];
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		app.errors++;
		if (lws_retry_sul_schedule_retry_wsi(wsi, &app.sul, connect_client,
						     &app.retry_count)) {
			app.gave_up = 1;
			interrupted = 1;
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		app.established++;
		app.retry_count = 0; /* a success resets the backoff */
		memcpy(buf + LWS_PRE, "again", 5);
		if (lws_write(wsi, buf + LWS_PRE, 5, LWS_WRITE_TEXT) < 5)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (len == 5 && !memcmp(in, "again", 5))
			app.echoed++;
		return -1;
	case LWS_CALLBACK_CLIENT_CLOSED:
		app.closed++;
		interrupted = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "retry", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static void must_not_fire(lws_sorted_usec_list_t *sul) {
	(void)sul;
	cancelled_fired++;
}

static void check_backoff(struct lws_context *cx) {
	uint16_t ctry = 0;
	char conceal;
	unsigned int ms;

	ms = lws_retry_get_delay_ms(cx, &retry, &ctry, &conceal);
	CHECK(ms >= 5 && ms <= 6);
	CHECK_INT(ctry, 1);
	CHECK(conceal);
	ms = lws_retry_get_delay_ms(cx, &retry, &ctry, &conceal);
	CHECK(ms >= 10 && ms <= 12);
	ms = lws_retry_get_delay_ms(cx, &retry, &ctry, &conceal); /* past the table: its last */
	CHECK(ms >= 10 && ms <= 12);
	lws_retry_get_delay_ms(cx, &retry, &ctry, &conceal);
	CHECK(conceal); /* 4th try: still concealed */
	lws_retry_get_delay_ms(cx, &retry, &ctry, &conceal);
	CHECK(!conceal); /* 5th: over conceal_count */
	ctry = 0;
	ms = lws_retry_get_delay_ms(cx, NULL, &ctry, &conceal); /* no table: 3 s + up to 30% */
	CHECK(ms >= 3000 && ms <= 3900);
	CHECK(!conceal);
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lt_server server;
	lws_sorted_usec_list_t cancelled;
	int n = 0;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	app.context = lws_create_context(&info);
	REQUIRE(app.context);
	check_backoff(app.context);

	/* bound, never listening: connections to it are refused */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	REQUIRE(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof sa) &&
		!getsockname(fd, (struct sockaddr *)&sa, &sl));
	app.refusing_port = ntohs(sa.sin_port);
	app.server_port = server.port;
	app.address = server.address;

	memset(&cancelled, 0, sizeof cancelled);
	lws_sul_schedule(app.context, 0, &cancelled, must_not_fire, 1);
	lws_sul_cancel(&cancelled);
	CHECK(lws_dll2_is_detached(&cancelled.list));

	memset(&app.sul, 0, sizeof app.sul);
	lws_sul_schedule(app.context, 0, &app.sul, connect_client, 1);
	while (n >= 0 && !interrupted)
		n = lws_service(app.context, 0);
	lws_context_destroy(app.context);
	close(fd);

	CHECK_INT(app.attempts, 3);
	CHECK_INT(app.errors, 2);
	CHECK_INT(app.established, 1);
	CHECK_INT(app.echoed, 1);
	CHECK_INT(app.closed, 1);
	CHECK(!app.gave_up);
	CHECK_INT(cancelled_fired, 0);
	return lt_finish("retry");
}
