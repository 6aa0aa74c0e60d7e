/*
 * A receive-only client: it writes nothing but a ping to say it has everything. The server
 * (GET /feed) sends text and binary messages, one of 20000 bytes, then closes with 4000
 * "bye" after that ping. CLIENT_RECEIVE chunks are at
 * most rx_buffer_size bytes, lws_is_first_fragment / lws_is_final_fragment /
 * lws_remaining_packet_payload describe them, and WS_PEER_INITIATED_CLOSE carries the
 * server's code and reason before CLIENT_CLOSED. Rx flow stops (lws_rx_flow_control) at the
 * first message, whose followers were sent with it, and resumes from a lws_sul a little
 * later: nothing is delivered meanwhile, everything after.
 */
#include "lws_test.h"

#define RX_BUFFER 1024

static struct {
	int messages, chunks, oversized, peer_close, closed, order_ok;
	size_t big_bytes;
	unsigned char big_ok;
	char first_text[32];
} seen = { .order_ok = 1, .big_ok = 1 };
static int interrupted, paused, resumed, resume_cancelled, received_while_paused;
static size_t in_message; /* bytes of the current message so far */
static struct lws *client;
static lws_sorted_usec_list_t resume_sul;

static void resume_reading(lws_sorted_usec_list_t *sul) {
	(void)sul;
	/* the flags form of the call, as libwebsockets documents it */
	CHECK_INT(lws_rx_flow_control(client, LWS_RXFLOW_REASON_APPLIES_ENABLE |
						  LWS_RXFLOW_REASON_USER_BOOL), 0);
	resumed++;
}

static int callback_rx(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len) {
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		const unsigned char *p = in;
		if (paused && !resumed)
			received_while_paused++;
		seen.chunks++;
		if (len > RX_BUFFER)
			seen.oversized++;
		if (lws_is_first_fragment(wsi) != (in_message == 0))
			seen.order_ok = 0;
		if (seen.messages == 0 && !lws_frame_is_binary(wsi) && len < sizeof seen.first_text)
			memcpy(seen.first_text, in, len);
		if (!paused) {
			/* at "msg 0" */
			paused++;
			client = wsi;
			CHECK_INT(lws_rx_flow_control(wsi, 0), 0);
			lws_sul_schedule(lws_get_context(wsi), 0, &resume_sul, resume_reading,
					 5 * LWS_US_PER_MS);
		}
		if (lws_frame_is_binary(wsi)) {
			/* the big message: byte k is k % 251 */
			for (size_t k = 0; k < len; k++)
				if (p[k] != (unsigned char)((in_message + k) % 251))
					seen.big_ok = 0;
			seen.big_bytes += len;
			if (!lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
				seen.order_ok = 0;
			if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) != 0)
				seen.order_ok = 0;
		}
		in_message += len;
		if (lws_is_final_fragment(wsi)) {
			seen.messages++;
			in_message = 0;
			if (seen.messages == 4) {
				unsigned char ping[LWS_PRE + 4];
				memcpy(ping + LWS_PRE, "done", 4);
				CHECK_INT(lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING), 4);
			}
		}
		break;
	}
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
		const unsigned char *p = in;
		CHECK_INT(len, 5);
		if (len == 5) {
			CHECK_INT((p[0] << 8) | p[1], 4000);
			CHECK(!memcmp(p + 2, "bye", 3));
		}
		seen.peer_close++;
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		/* (would mean the close came through while rx was off) */
		if (!lws_dll2_is_detached(&resume_sul.list)) {
			lws_sul_cancel(&resume_sul);
			resume_cancelled++;
		}
		seen.closed++;
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
	{ "rx", callback_rx, 0, RX_BUFFER, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct lt_server server;
	int n = 0;

	lt_server_from_args(&server, argc, argv);
	lws_context_info_defaults(&info, NULL);
	info.protocols = protocols;
	struct lws_context *context = lws_create_context(&info);
	REQUIRE(context);

	memset(&i, 0, sizeof i);
	i.context = context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/feed";
	i.host = i.address;
	i.local_protocol_name = "rx";
	REQUIRE(lws_client_connect_via_info(&i));

	while (n >= 0 && !interrupted)
		n = lws_service(context, 0);
	lws_context_destroy(context);

	CHECK(!strcmp(seen.first_text, "msg 0"));
	CHECK_INT(seen.messages, 4);
	CHECK_INT(seen.big_bytes, 20000);
	CHECK(seen.big_ok);
	CHECK(seen.chunks >= 3 + 20);  /* 20000 bytes arrive in chunks of at most 1024 */
	CHECK_INT(seen.oversized, 0);
	CHECK(seen.order_ok);
	CHECK_INT(seen.peer_close, 1);
	CHECK_INT(paused, 1);
	CHECK_INT(resumed, 1);
	CHECK_INT(resume_cancelled, 0);
	CHECK_INT(received_while_paused, 0);
	CHECK_INT(seen.closed, 1);
	return lt_finish("receive");
}
