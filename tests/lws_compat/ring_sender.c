/*
 * A sender fed by other threads, as libwebsockets' minimal-ws-client-tx and
 * minimal-ws-server-threads are: two producer threads put messages in an lws_ring (under a
 * pthread mutex: the ring is not thread-safe) and call lws_cancel_service; the service
 * thread, on LWS_CALLBACK_EVENT_WAIT_CANCELLED, asks for CLIENT_WRITEABLE and writes one
 * queued message per WRITEABLE, consuming it through its own tail so that the ring's
 * destroy callback frees the payload. The producers start before the connection is open
 * and the ring is small, so they also wait for room. Every message of both threads must be
 * echoed exactly once, each thread's in the order it produced them.
 */
#include "lws_test.h"

#include <pthread.h>

#define PRODUCERS 2
#define PER_THREAD 300
#define RING_ELEMENTS 16 /* one is kept free: 15 messages wait at most */
#define DEADLINE_US (8 * LWS_US_PER_SEC)

struct msg {
	char *payload; /* malloc'd by the producer, freed by the ring's destroy callback */
	size_t len;
};

static struct {
	struct lws_context *context;
	struct lws *client;
	int established, closed, errors;
	pthread_t service_thread;
	int wrong_thread, cancelled;
} app;

/* What the mutex protects. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t room = PTHREAD_COND_INITIALIZER;
static struct lws_ring *ring;
static uint32_t tail;
static int destroyed_elements;

/* Service thread only. */
static int sent, received, writeables_without_message, next_seq[PRODUCERS], out_of_order, malformed;
static int done;

static void destroy_message(void *element) {
	struct msg *m = element;
	free(m->payload);
	m->payload = NULL;
	destroyed_elements++; /* under the lock: only consume/destroy call it */
}

static void *producer(void *arg) {
	int id = (int)(intptr_t)arg;
	for (int seq = 0; seq < PER_THREAD; seq++) {
		struct msg m;
		char text[32];
		int n = lws_snprintf(text, sizeof text, "t%d %d", id, seq);
		m.payload = malloc(LWS_PRE + (size_t)n);
		REQUIRE(m.payload);
		memcpy(m.payload + LWS_PRE, text, (size_t)n);
		m.len = (size_t)n;
		pthread_mutex_lock(&lock);
		while (!lws_ring_get_count_free_elements(ring))
			pthread_cond_wait(&room, &lock);
		REQUIRE(lws_ring_insert(ring, &m, 1) == 1);
		pthread_mutex_unlock(&lock);
		/* wakes lws_service, which tells every protocol on the service thread */
		lws_cancel_service(app.context);
	}
	return NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (!pthread_equal(pthread_self(), app.service_thread))
			app.wrong_thread++;
		app.cancelled++;
		/* the protocol's own wsi, not the connection: ask for the client's WRITEABLE */
		if (app.client && app.established && !done)
			lws_callback_on_writable(app.client);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		app.established++;
		lws_callback_on_writable(wsi); /* messages may be waiting already */
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		unsigned char buf[LWS_PRE + 32];
		const struct msg *m;
		size_t n = 0;
		int more;

		pthread_mutex_lock(&lock);
		m = lws_ring_get_element(ring, &tail);
		if (m) {
			n = m->len;
			memcpy(buf + LWS_PRE, m->payload + LWS_PRE, n);
			/* advances our tail; the oldest tail follows and the element is destroyed */
			lws_ring_consume_single_tail(ring, &tail, 1);
			pthread_cond_broadcast(&room);
		}
		more = (int)lws_ring_get_count_waiting_elements(ring, &tail);
		pthread_mutex_unlock(&lock);
		if (!m) {
			writeables_without_message++; /* several cancels, one message: harmless */
			break;
		}
		if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
			return -1;
		sent++;
		if (more)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		char text[32];
		int id, seq;
		if (len >= sizeof text) {
			malformed++;
			break;
		}
		memcpy(text, in, len);
		text[len] = '\0';
		if (sscanf(text, "t%d %d", &id, &seq) != 2 || id < 0 || id >= PRODUCERS) {
			malformed++;
			break;
		}
		if (seq != next_seq[id]) {
			if (out_of_order++ < 5)
				fprintf(stderr, "thread %d: got %d, expected %d\n", id, seq,
					next_seq[id]);
		}
		next_seq[id] = seq + 1;
		received++;
		int all = 1;
		for (int k = 0; k < PRODUCERS; k++)
			all &= next_seq[k] == PER_THREAD;
		if (all) {
			done = 1;
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
			return -1;
		}
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		app.closed++;
		app.client = NULL;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
		app.errors++;
		app.client = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "ring-sender", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	struct lt_server server;
	pthread_t threads[PRODUCERS];

	lt_server_from_args(&server, argc, argv);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	app.context = lws_create_context(&info);
	REQUIRE(app.context);
	app.service_thread = pthread_self();
	ring = lws_ring_create(sizeof(struct msg), RING_ELEMENTS, destroy_message);
	REQUIRE(ring);
	tail = lws_ring_get_oldest_tail(ring);

	memset(&i, 0, sizeof i);
	i.context = app.context;
	i.address = server.address;
	i.port = server.port;
	i.path = "/";
	i.host = i.address;
	i.pwsi = &app.client;
	REQUIRE(lws_client_connect_via_info(&i));

	for (int k = 0; k < PRODUCERS; k++)
		REQUIRE(!pthread_create(&threads[k], NULL, producer, (void *)(intptr_t)k));

	lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;
	while (!app.closed && !app.errors) {
		REQUIRE(lws_service(app.context, 0) >= 0);
		if (lws_now_usecs() > deadline) {
			fprintf(stderr, "ring_sender: no end after 8 s (%d sent)\n", sent);
			CHECK(0);
			break;
		}
	}
	/* a producer stuck on a full ring would never return */
	pthread_mutex_lock(&lock);
	int waiting = (int)lws_ring_get_count_waiting_elements(ring, &tail);
	pthread_mutex_unlock(&lock);
	if (!waiting)
		for (int k = 0; k < PRODUCERS; k++)
			pthread_join(threads[k], NULL);
	lws_context_destroy(app.context);

	CHECK_INT(app.established, 1);
	CHECK_INT(app.closed, 1);
	CHECK_INT(app.errors, 0);
	CHECK_INT(sent, PRODUCERS * PER_THREAD);
	CHECK_INT(received, PRODUCERS * PER_THREAD);
	CHECK_INT(waiting, 0);
	for (int k = 0; k < PRODUCERS; k++)
		CHECK_INT(next_seq[k], PER_THREAD);
	CHECK_INT(out_of_order, 0);
	CHECK_INT(malformed, 0);
	CHECK_INT(destroyed_elements, PRODUCERS * PER_THREAD);
	CHECK(app.cancelled > 0);
	CHECK_INT(app.wrong_thread, 0);
	lws_ring_destroy(ring);
	return lt_finish("ring_sender");
}
