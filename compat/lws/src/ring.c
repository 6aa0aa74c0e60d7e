/*
 * lws_ring: a ring of fixed-size elements with one writer (head) and any number of
 * readers, each with its own tail; the oldest tail bounds what may be overwritten. One
 * element's room is kept free so that head == tail always means empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

struct lws_ring {
	uint8_t *buf;
	size_t buflen;       /* element_len * count */
	size_t element_len;
	uint32_t head;       /* byte offset of the next insert */
	uint32_t oldest_tail;
	void (*destroy_element)(void *element);
};

struct lws_ring *lws_ring_create(size_t element_len, size_t count,
				 void (*destroy_element)(void *element)) {
	if (!element_len || count < 2 || element_len * count > UINT32_MAX)
		return NULL;
	struct lws_ring *ring = calloc(1, sizeof *ring);
	if (!ring)
		return NULL;
	ring->buf = malloc(element_len * count);
	if (!ring->buf) {
		free(ring);
		return NULL;
	}
	ring->buflen = element_len * count;
	ring->element_len = element_len;
	ring->destroy_element = destroy_element;
	return ring;
}

void lws_ring_destroy(struct lws_ring *ring) {
	if (!ring)
		return;
	if (ring->destroy_element)
		while (ring->oldest_tail != ring->head) {
			ring->destroy_element(ring->buf + ring->oldest_tail);
			ring->oldest_tail = (uint32_t)((ring->oldest_tail + ring->element_len) %
						       ring->buflen);
		}
	free(ring->buf);
	free(ring);
}

static size_t used_bytes(const struct lws_ring *ring, uint32_t tail) {
	return (ring->head + ring->buflen - tail) % ring->buflen;
}

size_t lws_ring_get_count_free_elements(struct lws_ring *ring) {
	return (ring->buflen - used_bytes(ring, ring->oldest_tail)) / ring->element_len - 1;
}

size_t lws_ring_get_count_waiting_elements(struct lws_ring *ring, uint32_t *tail) {
	return used_bytes(ring, tail ? *tail : ring->oldest_tail) / ring->element_len;
}

size_t lws_ring_insert(struct lws_ring *ring, const void *src, size_t max_count) {
	size_t n = lws_ring_get_count_free_elements(ring);
	if (n > max_count)
		n = max_count;
	const uint8_t *s = src;
	for (size_t i = 0; i < n; i++) {
		memcpy(ring->buf + ring->head, s + i * ring->element_len, ring->element_len);
		ring->head = (uint32_t)((ring->head + ring->element_len) % ring->buflen);
	}
	return n;
}

size_t lws_ring_consume(struct lws_ring *ring, uint32_t *tail, void *dest, size_t max_count) {
	uint32_t *t = tail ? tail : &ring->oldest_tail;
	uint32_t start = *t;
	size_t n = used_bytes(ring, *t) / ring->element_len;
	if (n > max_count)
		n = max_count;
	uint8_t *d = dest;
	for (size_t i = 0; i < n; i++) {
		if (d)
			memcpy(d + i * ring->element_len, ring->buf + *t, ring->element_len);
		*t = (uint32_t)((*t + ring->element_len) % ring->buflen);
	}
	if (!tail && ring->destroy_element) {
		/* Consumed through the oldest tail: those elements are gone. */
		for (uint32_t p = start; p != *t; p = (uint32_t)((p + ring->element_len) % ring->buflen))
			ring->destroy_element(ring->buf + p);
	}
	return n;
}

const void *lws_ring_get_element(struct lws_ring *ring, uint32_t *tail) {
	uint32_t t = tail ? *tail : ring->oldest_tail;
	return t == ring->head ? NULL : ring->buf + t;
}

void lws_ring_update_oldest_tail(struct lws_ring *ring, uint32_t tail) {
	if (ring->destroy_element)
		while (ring->oldest_tail != tail && ring->oldest_tail != ring->head) {
			ring->destroy_element(ring->buf + ring->oldest_tail);
			ring->oldest_tail = (uint32_t)((ring->oldest_tail + ring->element_len) %
						       ring->buflen);
		}
	ring->oldest_tail = tail;
}

uint32_t lws_ring_get_oldest_tail(struct lws_ring *ring) {
	return ring->oldest_tail;
}

int lws_ring_next_linear_insert_range(struct lws_ring *ring, void **start, size_t *bytes) {
	size_t free_bytes = lws_ring_get_count_free_elements(ring) * ring->element_len;
	size_t to_end = ring->buflen - ring->head;
	*start = ring->buf + ring->head;
	*bytes = free_bytes < to_end ? free_bytes : to_end;
	return *bytes == 0;
}

void lws_ring_bump_head(struct lws_ring *ring, size_t bytes) {
	ring->head = (uint32_t)((ring->head + bytes) % ring->buflen);
}

void lws_ring_dump(struct lws_ring *ring, uint32_t *tail) {
	uint32_t t = tail ? *tail : ring->oldest_tail;
	lwsl_notice("ring %p: buflen %zu, element_len %zu, head %u, oldest_tail %u, tail %u, "
		    "waiting %zu, free %zu\n", (void *)ring, ring->buflen, ring->element_len,
		    ring->head, ring->oldest_tail, t, lws_ring_get_count_waiting_elements(ring, &t),
		    lws_ring_get_count_free_elements(ring));
}
