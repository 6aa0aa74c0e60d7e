/*
 * Receiving: wsc's message parts become CLIENT_RECEIVE chunks of at most rx_buffer_size,
 * and lws_rx_flow_control holds them back. wsc stops reading when paused but still hands
 * over what it had already read; libwebsockets delivers nothing while a connection's rx
 * flow is off, so those parts wait here, in order, until the program allows rx again.
 */
#include <stdlib.h>
#include <string.h>

#include "private.h"

struct rx_pending {
	struct rx_pending *next;
	uint32_t flags;
	uint64_t remaining_in_frame;
	size_t len;
	uint8_t data[];
};

static struct rx_pending *pending_new(const uint8_t *data, size_t len, uint32_t flags,
				      uint64_t remaining) {
	struct rx_pending *p = malloc(sizeof *p + len);
	if (!p)
		return NULL;
	p->next = NULL;
	p->flags = flags;
	p->remaining_in_frame = remaining;
	p->len = len;
	if (len)
		memcpy(p->data, data, len);
	return p;
}

static bool queue_back(struct lws *wsi, const uint8_t *data, size_t len, uint32_t flags,
		       uint64_t remaining) {
	struct rx_pending *p = pending_new(data, len, flags, remaining);
	if (!p)
		return false;
	if (wsi->rx_tail)
		wsi->rx_tail->next = p;
	else
		wsi->rx_head = p;
	wsi->rx_tail = p;
	return true;
}

static bool queue_front(struct lws *wsi, const uint8_t *data, size_t len, uint32_t flags,
			uint64_t remaining) {
	struct rx_pending *p = pending_new(data, len, flags, remaining);
	if (!p)
		return false;
	p->next = wsi->rx_head;
	wsi->rx_head = p;
	if (!wsi->rx_tail)
		wsi->rx_tail = p;
	return true;
}

/* Delivers one part in chunks. If the program turns rx off in the middle, the rest goes
 * back to the front of the queue (unless `force`: the connection is ending). */
static void deliver(struct lws *wsi, const uint8_t *data, size_t len, uint32_t flags,
		    uint64_t remaining_in_frame, bool force) {
	size_t off = 0;
	/* An empty part (an empty message) is delivered as one empty chunk. */
	do {
		if (wsi->closing)
			return;
		if (wsi->rx_paused && !force && off > 0) {
			if (!queue_front(wsi, data + off, len - off, flags & ~(uint32_t)WSC_PART_FIRST,
					 remaining_in_frame))
				lws_compat_close(wsi);
			return;
		}
		size_t n = len - off < wsi->rx_chunk ? len - off : wsi->rx_chunk;
		wsi->rx_first = (flags & WSC_PART_FIRST) && off == 0;
		wsi->rx_final = (flags & WSC_PART_LAST) && off + n == len;
		wsi->rx_binary = !(flags & WSC_PART_TEXT);
		wsi->rx_remaining = (len - off - n) + (size_t)remaining_in_frame;
		if (lws_compat_call(wsi, LWS_CALLBACK_CLIENT_RECEIVE, (void *)(uintptr_t)(data + off),
				    n)) {
			lws_compat_close(wsi);
			return;
		}
		off += n;
	} while (off < len);
}

void lws_compat_rx_part(struct lws *wsi, const uint8_t *data, size_t len, uint32_t flags,
			uint64_t remaining_in_frame) {
	if (wsi->closing)
		return;
	if (wsi->rx_paused || wsi->rx_head) {
		if (!queue_back(wsi, data, len, flags, remaining_in_frame))
			lws_compat_close(wsi);
		return;
	}
	deliver(wsi, data, len, flags, remaining_in_frame, false);
}

/* Delivers what waits while rx stays on; then lets wsc read again. */
static void drain(wsc_context *w, uint64_t id, void *user) {
	struct lws *wsi = user;
	(void)w; (void)id;
	wsi->rx_drain_id = 0;
	while (wsi->rx_head && !wsi->rx_paused && !wsi->closing) {
		struct rx_pending *p = wsi->rx_head;
		wsi->rx_head = p->next;
		if (!wsi->rx_head)
			wsi->rx_tail = NULL;
		deliver(wsi, p->data, p->len, p->flags, p->remaining_in_frame, false);
		free(p);
	}
	if (!wsi->rx_head && !wsi->rx_paused && !wsi->closing)
		wsc_resume_reading(wsi->conn);
}

void lws_compat_rx_flush(struct lws *wsi) {
	while (wsi->rx_head && !wsi->closing) {
		struct rx_pending *p = wsi->rx_head;
		wsi->rx_head = p->next;
		if (!wsi->rx_head)
			wsi->rx_tail = NULL;
		deliver(wsi, p->data, p->len, p->flags, p->remaining_in_frame, true);
		free(p);
	}
}

void lws_compat_rx_free(struct lws *wsi) {
	while (wsi->rx_head) {
		struct rx_pending *p = wsi->rx_head;
		wsi->rx_head = p->next;
		free(p);
	}
	wsi->rx_tail = NULL;
}

int lws_rx_flow_control(struct lws *wsi, int enable) {
	if (!wsi || !wsi->conn)
		return -1;
	if (enable & LWS_RXFLOW_REASON_APPLIES)
		enable = (enable & LWS_RXFLOW_REASON_APPLIES_ENABLE_BIT) != 0;
	if (!enable) {
		wsi->rx_paused = true;
		return wsc_pause_reading(wsi->conn) == WSC_OK ? 0 : -1;
	}
	wsi->rx_paused = false;
	if (!wsi->rx_head)
		return wsc_resume_reading(wsi->conn) == WSC_OK ? 0 : -1;
	/* What waits is delivered from the loop, as libwebsockets delivers rx, not from
	 * inside this call. */
	if (!wsi->rx_drain_id &&
	    wsc_timer_start(wsi->context->wsc, 0, 0, drain, wsi, &wsi->rx_drain_id) != WSC_OK)
		return -1;
	return 0;
}

void lws_rx_flow_allow_all_protocol(const struct lws_context *cx,
				    const struct lws_protocols *protocol) {
	if (!cx)
		return;
	for (struct lws *w = cx->wsis; w; w = w->next)
		if (w->protocol == protocol ||
		    (w->protocol && protocol && w->protocol->name && protocol->name &&
		     !strcmp(w->protocol->name, protocol->name)))
			lws_rx_flow_control(w, 1);
}

int lws_is_first_fragment(struct lws *wsi) {
	return wsi && wsi->rx_first;
}

int lws_is_final_fragment(struct lws *wsi) {
	return wsi && wsi->rx_final;
}

int lws_frame_is_binary(struct lws *wsi) {
	return wsi && wsi->rx_binary;
}

size_t lws_remaining_packet_payload(struct lws *wsi) {
	return wsi ? wsi->rx_remaining : 0;
}
