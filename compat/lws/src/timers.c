/*
 * Time: lws_sorted_usec_list_t (lws_sul_*) and the per-connection timer and timeout, all
 * on wsc timers; the retry backoff helpers.
 */
#include <stdlib.h>
#include <time.h>

#include "private.h"

lws_usec_t lws_now_usecs(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lws_usec_t)ts.tv_sec * LWS_US_PER_SEC + ts.tv_nsec / 1000;
}

unsigned long lws_now_secs(void) {
	return (unsigned long)time(NULL);
}

/* Microseconds to wsc's milliseconds, rounded up so a timer never fires early. */
static uint32_t us_to_ms(lws_usec_t us) {
	if (us <= 0)
		return 0;
	lws_usec_t ms = (us + 999) / 1000;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* ---- lws_sul ------------------------------------------------------------------------ */

static struct sul_timer *sul_detach(struct lws_context *cx, lws_sorted_usec_list_t *sul) {
	for (struct sul_timer **p = &cx->suls; *p; p = &(*p)->next)
		if ((*p)->sul == sul) {
			struct sul_timer *t = *p;
			*p = t->next;
			sul->list.owner = NULL;
			cx->sul_owner.count--;
			return t;
		}
	return NULL;
}

static void sul_fire(wsc_context *w, uint64_t id, void *user) {
	struct sul_timer *t = user;
	(void)w; (void)id;
	lws_sorted_usec_list_t *sul = t->sul;
	/* Detached first: the callback may schedule the same sul again. */
	free(sul_detach(t->context, sul));
	if (sul->cb)
		sul->cb(sul);
}

void lws_sul_cancel(lws_sorted_usec_list_t *sul) {
	if (!sul || !sul->list.owner)
		return;
	struct lws_context *cx = lws_container_of(sul->list.owner, struct lws_context, sul_owner);
	struct sul_timer *t = sul_detach(cx, sul);
	if (t) {
		if (cx->wsc)
			wsc_timer_stop(cx->wsc, t->timer_id);
		free(t);
	}
}

void lws_sul_schedule(struct lws_context *cx, int tsi, lws_sorted_usec_list_t *sul,
		      sul_cb_t cb, lws_usec_t us) {
	(void)tsi;
	if (!cx || !sul)
		return;
	lws_sul_cancel(sul);
	if (us == LWS_SET_TIMER_USEC_CANCEL || cx->destroying)
		return;
	struct sul_timer *t = calloc(1, sizeof *t);
	if (!t)
		return;
	t->sul = sul;
	t->context = cx;
	sul->cb = cb;
	sul->us = lws_now_usecs() + us;
	if (wsc_timer_start(cx->wsc, us_to_ms(us), 0, sul_fire, t, &t->timer_id) != WSC_OK) {
		lwsl_err("lws_sul_schedule: %s\n", wsc_last_error());
		free(t);
		return;
	}
	t->next = cx->suls;
	cx->suls = t;
	sul->list.owner = &cx->sul_owner;
	cx->sul_owner.count++;
}

void lws_sul_schedule_wakesuspend(struct lws_context *cx, int tsi, lws_sorted_usec_list_t *sul,
				  sul_cb_t cb, lws_usec_t us) {
	lws_sul_schedule(cx, tsi, sul, cb, us);
}

void lws_compat_suls_free(struct lws_context *cx) {
	while (cx->suls) {
		struct sul_timer *t = cx->suls;
		cx->suls = t->next;
		t->sul->list.owner = NULL;
		free(t);
	}
	cx->sul_owner.count = 0;
}

/* ---- Per-connection timer and timeout ---------------------------------------------- */

static void timer_fire(wsc_context *w, uint64_t id, void *user) {
	struct lws *wsi = user;
	(void)w; (void)id;
	wsi->timer_id = 0;
	/* As any callback returning non-zero: the connection closes. */
	if (!wsi->closing && lws_compat_call(wsi, LWS_CALLBACK_TIMER, NULL, 0))
		lws_compat_close(wsi);
}

/* A connection's wsi: linked in its context from lws_client_connect_via_info to WSI_DESTROY
 * (protocol stand-ins never are). */
static bool is_connection(const struct lws *wsi) {
	for (const struct lws *w = wsi->context->wsis; w; w = w->next)
		if (w == wsi)
			return true;
	return false;
}

void lws_set_timer_usecs(struct lws *wsi, lws_usec_t usecs) {
	/* libwebsockets' timer belongs to the wsi, not to its ws link: a program may set it
	 * from WSI_CREATE or CLIENT_APPEND_HANDSHAKE_HEADER, before wsc_connect has made
	 * wsi->conn, and TIMER comes all the same (requiring wsi->conn here dropped it). */
	if (!wsi || !wsi->context->wsc || wsi->context->destroying || !is_connection(wsi))
		return;
	if (wsi->timer_id)
		wsc_timer_stop(wsi->context->wsc, wsi->timer_id);
	wsi->timer_id = 0;
	if (usecs == LWS_SET_TIMER_USEC_CANCEL)
		return;
	if (wsc_timer_start(wsi->context->wsc, us_to_ms(usecs), 0, timer_fire, wsi,
			    &wsi->timer_id) != WSC_OK)
		lwsl_err("lws_set_timer_usecs: %s\n", wsc_last_error());
}

static void timeout_fire(wsc_context *w, uint64_t id, void *user) {
	struct lws *wsi = user;
	(void)w; (void)id;
	wsi->timeout_id = 0;
	/* libwebsockets drops a connection whose timeout expires. */
	wsi->closing = true;
	wsc_abort(wsi->conn);
}

void lws_set_timeout_us(struct lws *wsi, enum pending_timeout reason, lws_usec_t us) {
	(void)reason;
	if (!wsi || !wsi->conn || wsi->context->destroying)
		return;
	if (wsi->timeout_id)
		wsc_timer_stop(wsi->context->wsc, wsi->timeout_id);
	wsi->timeout_id = 0;
	if (us == 0)
		return; /* 0 cancels */
	if (wsc_timer_start(wsi->context->wsc, us_to_ms(us), 0, timeout_fire, wsi,
			    &wsi->timeout_id) != WSC_OK)
		lwsl_err("lws_set_timeout: %s\n", wsc_last_error());
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs) {
	if (!wsi)
		return;
	if (secs == LWS_TO_KILL_ASYNC || secs == LWS_TO_KILL_SYNC) {
		/* Dropped at once, without a Close frame; from a callback, when it returns.
		 * CLIENT_CLOSED (or CLIENT_CONNECTION_ERROR) follows from the loop. From
		 * WSI_CREATE, before wsc has the connection, it is never started (client.c). */
		wsi->closing = true;
		if (wsi->conn)
			wsc_abort(wsi->conn);
		return;
	}
	if (!wsi->conn)
		return;
	lws_set_timeout_us(wsi, reason, (lws_usec_t)secs * LWS_US_PER_SEC);
}

/* ---- Retry backoff ------------------------------------------------------------------ */

unsigned int lws_retry_get_delay_ms(struct lws_context *context, const lws_retry_bo_t *retry,
				    uint16_t *ctry, char *conceal) {
	/* Without a table: 3 s; the jitter adds up to jitter_percent (default 30%) at random. */
	uint64_t ms = 3000, percent = 30;
	uint16_t r = 0;
	if (conceal)
		*conceal = 0;
	if (retry) {
		if (retry->retry_ms_table_count && retry->retry_ms_table)
			ms = retry->retry_ms_table[*ctry < retry->retry_ms_table_count
							   ? *ctry
							   : retry->retry_ms_table_count - 1];
		if (retry->jitter_percent)
			percent = retry->jitter_percent;
	}
	lws_get_random(context, &r, sizeof r);
	ms += ((ms * percent * r) >> 16) / 100;
	if (*ctry < 0xffff)
		(*ctry)++;
	if (retry && conceal)
		*conceal = *ctry <= retry->conceal_count;
	return (unsigned int)ms;
}

int lws_retry_sul_schedule(struct lws_context *context, int tid, lws_sorted_usec_list_t *sul,
			   const lws_retry_bo_t *retry, sul_cb_t cb, uint16_t *ctry) {
	char conceal;
	unsigned int ms = lws_retry_get_delay_ms(context, retry, ctry, &conceal);
	if (!conceal)
		return 1; /* out of retries: nothing is scheduled */
	lws_sul_schedule(context, tid, sul, cb, (lws_usec_t)ms * LWS_US_PER_MS);
	return 0;
}

int lws_retry_sul_schedule_retry_wsi(struct lws *wsi, lws_sorted_usec_list_t *sul, sul_cb_t cb,
				     uint16_t *ctry) {
	if (!wsi)
		return 1;
	return lws_retry_sul_schedule(wsi->context, 0, sul, wsi->retry_policy, cb, ctry);
}
