/*
 * lws_cancel_service from another thread: lws_service, blocked with nothing to do, returns
 * and every protocol hears LWS_CALLBACK_EVENT_WAIT_CANCELLED on the service thread, the way
 * programs hand work to the loop (as libwebsockets' minimal-ws-client-tx does).
 */
#include "lws_test.h"

#include <pthread.h>

static pthread_t service_thread;
static int cancelled[2], wrong_thread;
#define ROUNDS 3

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	(void)user; (void)in; (void)len;
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		if (!pthread_equal(pthread_self(), service_thread))
			wrong_thread++;
		cancelled[lws_get_protocol(wsi)->id]++;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "first", callback, 0, 0, 0, NULL, 0 },
	{ "second", callback, 0, 0, 1, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static struct lws_context *context;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int round_done;

static void *canceller(void *arg) {
	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		lws_cancel_service(context);
		/* the next cancel only once this one was seen */
		pthread_mutex_lock(&lock);
		while (round_done <= r)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(int argc, const char **argv) {
	struct lws_context_creation_info info;
	pthread_t t;
	(void)argc; (void)argv;

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	context = lws_create_context(&info);
	REQUIRE(context);
	service_thread = pthread_self();
	REQUIRE(!pthread_create(&t, NULL, canceller, NULL));
	for (int r = 0; r < ROUNDS; r++) {
		while (cancelled[0] <= r)
			REQUIRE(lws_service(context, 0) >= 0);
		pthread_mutex_lock(&lock);
		round_done = r + 1;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_join(t, NULL);
	lws_context_destroy(context);

	CHECK_INT(cancelled[0], ROUNDS);
	CHECK_INT(cancelled[1], ROUNDS);
	CHECK_INT(wrong_thread, 0);
	return lt_finish("cancel");
}
