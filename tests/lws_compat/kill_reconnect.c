/*
 * Connections killed and reconnected, many at once: 8 connections each send one message,
 * and once it is echoed the connection is killed, half of them at once with
 * lws_set_timeout(LWS_TO_KILL_ASYNC), half by a 20 ms lws_set_timeout_us; from
 * CLIENT_CLOSED the next connection is scheduled with lws_retry_sul_schedule and a retry
 * table, 4 rounds each. Each slot follows its connection through the callbacks in order
 * (WSI_CREATE, ESTABLISHED, RECEIVE, CLIENT_CLOSED, WSI_DESTROY): a callback out of that
 * order, or for a connection already destroyed, fails; the counts must balance.
 *
 * Besides, a watchdog set while connecting, as a program guards a handshake: a 300 ms
 * lws_set_timer_usecs from CLIENT_APPEND_HANDSHAKE_HEADER whose TIMER, still unestablished,
 * returns -1 (not lws_set_timeout: libwebsockets replaces a connecting wsi's timeout with
 * its own for each phase). The first attempt goes to a listener that never answers, and the
 * watchdog ends it (CLIENT_CONNECTION_ERROR, long before the context's 30 s handshake
 * timeout); lws_retry_sul_schedule_retry_wsi then reaches the echo server, where the
 * watchdog is cancelled at CLIENT_ESTABLISHED and the connection stays open past it until
 * closed by us.
 */
#include "lws_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOTS 8
#define ROUNDS 4
#define DEADLINE_US (8 * LWS_US_PER_SEC)

static const uint32_t backoff_ms[] = { 10, 20, 40 };
static const lws_retry_bo_t retry = {
	.retry_ms_table = backoff_ms,
	.retry_ms_table_count = LWS_ARRAY_SIZE(backoff_ms),
	.conceal_count = 10,
	.jitter_percent = 20,
};

enum slot_state { IDLE, CONNECTING, CREATED, ESTABLISHED, KILLED, CLOSED };

struct slot {
	int id;
	lws_sorted_usec_list_t sul;
	uint16_t retry_count;
	struct lws *wsi;          /* the connection of this round, from WSI_CREATE to WSI_DESTROY */
	enum slot_state state;
	int connects, reconnects, created, established, echoed, closed, destroyed;
};

static struct slot slots[SLOTS];
static struct lws_context *context;
static struct lt_server server;
static int out_of_order, unknown_wsi, errors, finished;

#define WATCHDOG_US (300 * LWS_US_PER_MS)

static struct {
	lws_sorted_usec_list_t sul;
	uint16_t retry_count;
	struct lws *wsi;
	int silent_port;
	int attempts, errors, established, echoed, closed, destroyed, closing_by_us;
	int fired, wrong_error;
} watchdog;

static void watchdog_connect(lws_sorted_usec_list_t *sul) {
	struct lws_client_connect_info i;
	(void)sul;
	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	/* the first attempt goes to the listener that never answers */
	i.port = watchdog.attempts ? server.port : watchdog.silent_port;
	i.path = "/";
	i.host = i.address;
	i.local_protocol_name = "watchdog";
	i.retry_and_idle_policy = &retry;
	watchdog.attempts++;
	CHECK(lws_client_connect_via_info(&i));
}

/* Well past the cancelled watchdog: our own close. */
static void watchdog_close(lws_sorted_usec_list_t *sul) {
	(void)sul;
	watchdog.closing_by_us = 1;
	if (watchdog.wsi)
		lws_callback_on_writable(watchdog.wsi);
}

static int callback_watchdog(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			     void *in, size_t len) {
	unsigned char buf[LWS_PRE + 16];
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		lws_set_timer_usecs(wsi, WATCHDOG_US);
		break;
	case LWS_CALLBACK_TIMER:
		watchdog.fired++;
		return -1; /* still connecting: CLIENT_CONNECTION_ERROR follows */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		watchdog.errors++;
		if (watchdog.attempts != 1)
			watchdog.wrong_error++; /* only the silent listener's attempt may fail */
		else if (lws_retry_sul_schedule_retry_wsi(wsi, &watchdog.sul, watchdog_connect,
							  &watchdog.retry_count))
			watchdog.wrong_error++;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		watchdog.established++;
		watchdog.wsi = wsi;
		lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
		memcpy(buf + LWS_PRE, "watchdog", 8);
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_TEXT) < 8)
			return -1;
		lws_sul_schedule(context, 0, &watchdog.sul, watchdog_close, 2 * WATCHDOG_US);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		CHECK(len == 8 && !memcmp(in, "watchdog", 8));
		watchdog.echoed++;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!watchdog.closing_by_us)
			break;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	case LWS_CALLBACK_CLIENT_CLOSED:
		watchdog.closed++;
		CHECK(watchdog.closing_by_us); /* not the cancelled watchdog */
		watchdog.wsi = NULL;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		watchdog.destroyed++;
		break;
	default:
		break;
	}
	return 0;
}

static void connect_slot(struct slot *s) {
	struct lws_client_connect_info i;
	struct lws *wsi;
	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/";
	i.host = i.address;
	i.userdata = s;
	i.retry_and_idle_policy = &retry;
	s->connects++;
	if (s->state != IDLE)
		out_of_order++; /* the last connection is not gone yet */
	wsi = lws_client_connect_via_info(&i);
	CHECK(wsi);
	/* WSI_CREATE may come from inside the call (wsc) or later, from the loop */
	if (s->wsi && s->wsi != wsi)
		unknown_wsi++;
	s->wsi = wsi;
	if (s->state == IDLE)
		s->state = CONNECTING;
}

static void reconnect(lws_sorted_usec_list_t *sul) {
	struct slot *s = lws_container_of(sul, struct slot, sul);
	s->reconnects++;
	connect_slot(s);
}

/* A callback for `wsi` in slot `s`, which must be in `want`. */
static int expect(struct slot *s, struct lws *wsi, enum slot_state want, const char *what) {
	if (s->wsi != wsi) {
		unknown_wsi++;
		fprintf(stderr, "slot %d: %s for a connection that is not its own\n", s->id, what);
		return 0;
	}
	if (s->state != want) {
		out_of_order++;
		fprintf(stderr, "slot %d: %s in state %d\n", s->id, what, (int)s->state);
		return 0;
	}
	return 1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	struct slot *s = user;
	unsigned char buf[LWS_PRE + 32];
	char text[32];
	int n;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
	case LWS_CALLBACK_PROTOCOL_DESTROY:
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		return 0; /* the protocol's, not a connection's */
	default:
		if (!s) {
			unknown_wsi++;
			fprintf(stderr, "reason %d without the slot\n", (int)reason);
			return 0;
		}
		break;
	}

	switch (reason) {
	case LWS_CALLBACK_WSI_CREATE:
		if ((s->state != IDLE && s->state != CONNECTING) || (s->wsi && s->wsi != wsi))
			out_of_order++;
		s->wsi = wsi;
		s->state = CREATED;
		s->created++;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!expect(s, wsi, CREATED, "ESTABLISHED"))
			break;
		s->state = ESTABLISHED;
		s->established++;
		s->retry_count = 0; /* a success resets the backoff */
		n = lws_snprintf(text, sizeof text, "slot %d round %d", s->id, s->established);
		memcpy(buf + LWS_PRE, text, (size_t)n);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!expect(s, wsi, ESTABLISHED, "RECEIVE"))
			break;
		n = lws_snprintf(text, sizeof text, "slot %d round %d", s->id, s->established);
		CHECK(len == (size_t)n && !memcmp(in, text, len));
		s->echoed++;
		s->state = KILLED;
		if (s->id % 2)
			lws_set_timeout_us(wsi, PENDING_TIMEOUT_USER_OK, 20 * LWS_US_PER_MS);
		else
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		out_of_order++; /* the server never closes first here */
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!expect(s, wsi, KILLED, "CLIENT_CLOSED"))
			break;
		s->state = CLOSED;
		s->closed++;
		if (s->established < ROUNDS &&
		    lws_retry_sul_schedule(context, 0, &s->sul, &retry, reconnect, &s->retry_count)) {
			fprintf(stderr, "slot %d: out of retries\n", s->id);
			errors++;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "slot %d: connection error: %s\n", s ? s->id : -1,
			in ? (const char *)in : "(null)");
		errors++;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (!expect(s, wsi, CLOSED, "WSI_DESTROY"))
			break;
		s->destroyed++;
		s->wsi = NULL;
		s->state = IDLE;
		if (s->established == ROUNDS)
			finished++;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
	case LWS_CALLBACK_TIMER:
		out_of_order++; /* never asked for */
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "kill-reconnect", callback, 0, 0, 0, NULL, 0 },
	{ "watchdog", callback_watchdog, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	int created = 0, destroyed = 0, established = 0, closed = 0;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.timeout_secs = 30; /* the handshake timeout: only the watchdog can end it sooner */
	context = lws_create_context(&info);
	REQUIRE(context);

	/* listening, never accepting: the TCP connection is made, the handshake never answered */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	REQUIRE(fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof sa) && !listen(fd, 4) &&
		!getsockname(fd, (struct sockaddr *)&sa, &sl));
	watchdog.silent_port = ntohs(sa.sin_port);
	watchdog_connect(NULL);

	for (int k = 0; k < SLOTS; k++) {
		slots[k].id = k;
		connect_slot(&slots[k]);
	}
	lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;
	while ((finished < SLOTS || watchdog.destroyed < 2) && !errors && !watchdog.wrong_error) {
		REQUIRE(lws_service(context, 0) >= 0);
		if (lws_now_usecs() > deadline) {
			fprintf(stderr, "kill_reconnect: %d of %d slots done after 8 s, watchdog %d/2\n",
				finished, SLOTS, watchdog.destroyed);
			CHECK(0);
			break;
		}
	}
	lws_context_destroy(context);
	close(fd);

	CHECK_INT(errors, 0);
	CHECK_INT(out_of_order, 0);
	CHECK_INT(unknown_wsi, 0);
	for (int k = 0; k < SLOTS; k++) {
		struct slot *s = &slots[k];
		CHECK_INT(s->connects, ROUNDS);
		CHECK_INT(s->reconnects, ROUNDS - 1);
		CHECK_INT(s->echoed, ROUNDS);
		CHECK_INT(s->state, IDLE);
		CHECK(!s->wsi);
		created += s->created;
		destroyed += s->destroyed;
		established += s->established;
		closed += s->closed;
	}
	CHECK_INT(created, SLOTS * ROUNDS);
	CHECK_INT(destroyed, created);
	CHECK_INT(established, SLOTS * ROUNDS);
	CHECK_INT(closed, established);

	CHECK_INT(watchdog.attempts, 2);
	CHECK_INT(watchdog.errors, 1);
	CHECK_INT(watchdog.fired, 1);
	CHECK_INT(watchdog.wrong_error, 0);
	CHECK_INT(watchdog.established, 1);
	CHECK_INT(watchdog.echoed, 1);
	CHECK_INT(watchdog.closed, 1);
	CHECK_INT(watchdog.destroyed, 2);
	return lt_finish("kill_reconnect");
}
