/*
 * Writing on timers: 6 connections each send 12 messages, each one on a
 * lws_set_timer_usecs timer (LWS_CALLBACK_TIMER -> lws_callback_on_writable -> write);
 * the first timer is set while connecting (CLIENT_APPEND_HANDSHAKE_HEADER), the next ones
 * when the echo arrives. The delays, 1 to 30 ms, come from a seeded
 * generator, so every run asks the same. Each timer is first set to 0.5 ms and at once set
 * again to its real delay (a timer set anew replaces the old one: one TIMER only), and the
 * last one is cancelled with LWS_SET_TIMER_USEC_CANCEL before it fires (an lws_sul ends the
 * connection well after it would have). Checked: every message is echoed in order; each
 * TIMER comes no earlier than its delay after it was set; and timers fire in the order they
 * fall due (a timer due more than 2 ms before another that fired, and set before that one
 * fired, fired first).
 */
#include "lws_test.h"

#define CONNECTIONS 6
#define MESSAGES 12
#define DEADLINE_US (8 * LWS_US_PER_SEC)
#define CANCELLED_DELAY_US (40 * LWS_US_PER_MS)

struct per_session {
	int id;
	int timers, sent, echoed, closed, writeables;
	lws_usec_t set_at, delay, due; /* the armed timer, 0 when none */
	int established, want_write, cancelled_timer;
	struct lws *wsi;
	lws_sorted_usec_list_t end; /* kills the connection once the cancelled timer is past */
};

static struct per_session sessions[CONNECTIONS];
static uint32_t seed = 20260101;
static int early, late_order, errors, finished, wrong_echo, extra_timers;

/* Every timer that fired, to check their order. */
static struct fired {
	lws_usec_t set_at, due, at;
} fired[CONNECTIONS * MESSAGES];
static int fired_count;

static lws_usec_t next_delay(void) {
	seed = seed * 1103515245u + 12345u; /* the classic LCG: the same delays every run */
	return (lws_usec_t)(1000 + (seed >> 8) % 29000);
}

static void arm(struct lws *wsi, struct per_session *pss) {
	/* replaced at once: were it kept, a TIMER would come before the real delay */
	lws_set_timer_usecs(wsi, 500);
	pss->delay = next_delay();
	pss->set_at = lws_now_usecs();
	pss->due = pss->set_at + pss->delay;
	lws_set_timer_usecs(wsi, pss->delay);
}

static void end_connection(lws_sorted_usec_list_t *sul) {
	struct per_session *pss = lws_container_of(sul, struct per_session, end);
	pss->cancelled_timer = 2;
	lws_set_timeout(pss->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	struct per_session *pss = user;
	unsigned char buf[LWS_PRE + 32];
	char text[32];
	int n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* the first timer is set while connecting: a wsi's timer is not the ws link's */
		pss->wsi = wsi;
		arm(wsi, pss);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pss->established = 1;
		if (pss->want_write) /* the first timer fired before the handshake ended */
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_TIMER: {
		lws_usec_t now = lws_now_usecs();
		if (!pss->due) {
			extra_timers++; /* a replaced or cancelled timer fired */
			break;
		}
		pss->timers++;
		REQUIRE(fired_count < CONNECTIONS * MESSAGES);
		if (now < pss->due) {
			early++;
			fprintf(stderr, "connection %d: TIMER %lld us early\n", pss->id,
				(long long)(pss->due - now));
		}
		fired[fired_count].set_at = pss->set_at;
		fired[fired_count].due = pss->due;
		fired[fired_count].at = now;
		fired_count++;
		pss->due = 0;
		pss->want_write = 1;
		if (pss->established)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		pss->writeables++;
		if (!pss->want_write)
			break;
		pss->want_write = 0;
		n = lws_snprintf(text, sizeof text, "c%d m%d", pss->id, pss->sent);
		memcpy(buf + LWS_PRE, text, (size_t)n);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		pss->sent++;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		n = lws_snprintf(text, sizeof text, "c%d m%d", pss->id, pss->echoed);
		if (len != (size_t)n || memcmp(in, text, len))
			wrong_echo++;
		pss->echoed++;
		if (pss->echoed < MESSAGES) {
			arm(wsi, pss);
		} else if (!pss->cancelled_timer) {
			/* one more timer, cancelled: the connection closes once it would have fired */
			lws_set_timer_usecs(wsi, CANCELLED_DELAY_US / 2);
			lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
			pss->cancelled_timer = 1;
			lws_sul_schedule(lws_get_context(wsi), 0, &pss->end, end_connection,
					 CANCELLED_DELAY_US);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		pss->closed++;
		finished++;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
		errors++;
		finished++;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "timers", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lt_server server;

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	struct lws_context *cx = lws_create_context(&info);
	REQUIRE(cx);

	for (int k = 0; k < CONNECTIONS; k++) {
		struct lws_client_connect_info i;
		memset(&i, 0, sizeof i);
		i.context = cx;
		i.address = server.address;
		i.port = server.port;
		i.path = "/";
		i.host = i.address;
		sessions[k].id = k;
		i.userdata = &sessions[k];
		REQUIRE(lws_client_connect_via_info(&i));
	}
	lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;
	while (finished < CONNECTIONS) {
		REQUIRE(lws_service(cx, 0) >= 0);
		if (lws_now_usecs() > deadline) {
			fprintf(stderr, "timers: %d of %d connections done after 8 s\n", finished,
				CONNECTIONS);
			CHECK(0);
			break;
		}
	}
	lws_context_destroy(cx);

	/* Due order: a timer set before another fired, and due clearly (2 ms, wsc's
	 * millisecond rounding) before it, cannot fire after it. */
	for (int a = 0; a < fired_count; a++)
		for (int b = 0; b < fired_count; b++)
			if (fired[a].set_at < fired[b].at && fired[a].due + 2000 < fired[b].due &&
			    fired[a].at > fired[b].at)
				late_order++;

	CHECK_INT(errors, 0);
	CHECK_INT(wrong_echo, 0);
	CHECK_INT(early, 0);
	CHECK_INT(late_order, 0);
	CHECK_INT(extra_timers, 0);
	CHECK_INT(fired_count, CONNECTIONS * MESSAGES);
	for (int k = 0; k < CONNECTIONS; k++) {
		CHECK_INT(sessions[k].timers, MESSAGES);
		CHECK_INT(sessions[k].sent, MESSAGES);
		CHECK_INT(sessions[k].echoed, MESSAGES);
		CHECK_INT(sessions[k].closed, 1);
		CHECK_INT(sessions[k].cancelled_timer, 2);
	}
	return lt_finish("timers");
}
