/*
 * The option structs as wsc 0.2.0, the first version with struct_size, lays them out: a
 * frozen copy of include/wsc.h's wsc_context_options, wsc_connect_options and wsc_callbacks,
 * renamed *_v1. Programs compiled against that header keep passing these layouts to every
 * later library, so this file never changes: new fields are appended to the structs in
 * include/wsc.h, never inserted, and layout.c checks at compile time that every field here
 * is where include/wsc.h has it.
 *
 * (wsc_header and wsc_deflate_offer are frozen in include/wsc.h itself: arrays of them are
 * read with their size, so they never change.)
 */
#ifndef WSC_V1_H
#define WSC_V1_H

#include <wsc.h>

typedef struct wsc_context_options_v1 {
    size_t struct_size;
    size_t read_buffer_size;
} wsc_context_options_v1;

typedef struct wsc_connect_options_v1 {
    size_t struct_size;
    const char *origin;
    const char *const *subprotocols;
    size_t subprotocol_count;
    const struct wsc_header *headers;
    size_t header_count;
    uint32_t connect_timeout_ms;
    uint32_t handshake_timeout_ms;
    uint32_t close_timeout_ms;
    uint64_t max_frame_size;
    uint64_t max_message_size;
    uint32_t max_fragments;
    uint32_t max_handshake_headers;
    size_t max_handshake_size;
    size_t send_buffer_limit;
    bool trust_outgoing_text;
    bool deflate_disable;
    uint8_t deflate_level;
    const struct wsc_deflate_offer *deflate_offers;
    size_t deflate_offer_count;
    const char *tls_ca_file;
    const uint8_t *tls_ca_pem;
    size_t tls_ca_pem_len;
    bool tls_insecure_skip_verification;
    uint32_t keepalive_interval_ms;
    uint32_t keepalive_timeout_ms;
    const char *proxy_url;
    bool proxy_disable;
    uint32_t max_redirects;
    bool reconnect;
    uint32_t reconnect_min_delay_ms;
    uint32_t reconnect_max_delay_ms;
    uint32_t reconnect_max_attempts;
} wsc_connect_options_v1;

typedef struct wsc_callbacks_v1 {
    size_t struct_size;
    void (*on_open)(struct wsc_connection *conn, void *user);
    void (*on_message)(struct wsc_connection *conn, const uint8_t *data, size_t len,
                       bool is_text, void *user);
    void (*on_ping)(struct wsc_connection *conn, const uint8_t *data, size_t len, void *user);
    void (*on_pong)(struct wsc_connection *conn, const uint8_t *data, size_t len, void *user);
    void (*on_writable)(struct wsc_connection *conn, void *user);
    void (*on_error)(struct wsc_connection *conn, wsc_result result, const char *message,
                     void *user);
    void (*on_close)(struct wsc_connection *conn, uint16_t code, const char *reason,
                     size_t reason_len, wsc_closed_by closed_by, bool clean, void *user);
} wsc_callbacks_v1;

/* Every field of each v1 struct, for the layout checks. */
#define WSC_V1_CONTEXT_OPTIONS_FIELDS(X) X(struct_size) X(read_buffer_size)

#define WSC_V1_CONNECT_OPTIONS_FIELDS(X)                                                     \
    X(struct_size) X(origin) X(subprotocols) X(subprotocol_count) X(headers) X(header_count) \
    X(connect_timeout_ms) X(handshake_timeout_ms) X(close_timeout_ms) X(max_frame_size)      \
    X(max_message_size) X(max_fragments) X(max_handshake_headers) X(max_handshake_size)      \
    X(send_buffer_limit) X(trust_outgoing_text) X(deflate_disable) X(deflate_level)          \
    X(deflate_offers) X(deflate_offer_count) X(tls_ca_file) X(tls_ca_pem) X(tls_ca_pem_len)  \
    X(tls_insecure_skip_verification) X(keepalive_interval_ms) X(keepalive_timeout_ms)       \
    X(proxy_url) X(proxy_disable) X(max_redirects) X(reconnect) X(reconnect_min_delay_ms)    \
    X(reconnect_max_delay_ms) X(reconnect_max_attempts)

#define WSC_V1_CALLBACKS_FIELDS(X)                                                           \
    X(struct_size) X(on_open) X(on_message) X(on_ping) X(on_pong) X(on_writable) X(on_error) \
    X(on_close)

#endif /* WSC_V1_H */
