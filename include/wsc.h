/*
 * wsc: a WebSocket client library. Generated from the Rust sources by cbindgen; do not edit.
 *
 * Threads: wsc_send_*, wsc_close, wsc_connect, wsc_connection_free, wsc_context_wake,
 * wsc_context_connection_count, wsc_context_fd, wsc_timer_start/stop,
 * wsc_connection_buffered_amount, wsc_connection_retry_in_ms, wsc_log_set_handler, and
 * (once on_open has run) wsc_connection_subprotocol/header are safe from any thread.
 * wsc_service runs on one thread at a time per context, and every callback (timers
 * included) runs on that thread; wsc_next_timeout_ms and wsc_context_new/free belong to
 * that thread too.
 *
 * Ownership: every wsc_*_new has a wsc_*_free; wsc_*_free(NULL) does nothing. Pointers
 * passed to callbacks are valid only during the callback.
 *
 * Errors: a NULL handle or required argument gives WSC_ERR_NULL_ARGUMENT, never a crash. An
 * internal error (a bug in wsc) never crashes the program either: the call returns
 * WSC_ERR_PANIC, or -1, NULL, 0 or nothing where it returns no wsc_result (each function
 * says which), and wsc_last_error() says it was an internal error.
 */

#ifndef WSC_H
#define WSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
// The version this header belongs to, as text (wsc_version() gives the loaded library's).
#define WSC_VERSION_STRING "0.2.0"

// Initialisers of the structs a program fills in that grow in new versions (wsc_connect_options,
// wsc_context_options, wsc_callbacks): struct_size is the size the program was compiled with,
// every other field is zero (its default). In C and C++:
//   wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT; o.connect_timeout_ms = 3000;
// (in C, later assignments need a compound literal: o = (wsc_connect_options)WSC_CONNECT_OPTIONS_INIT;)
#ifdef __cplusplus
#define WSC_STRUCT_INIT_(T) ([] { T wsc_value_{}; wsc_value_.struct_size = sizeof(T); return wsc_value_; }())
#else
#define WSC_STRUCT_INIT_(T) { .struct_size = sizeof(T) }
#endif
#define WSC_CONNECT_OPTIONS_INIT WSC_STRUCT_INIT_(wsc_connect_options)
#define WSC_CONTEXT_OPTIONS_INIT WSC_STRUCT_INIT_(wsc_context_options)
#define WSC_CALLBACKS_INIT WSC_STRUCT_INIT_(wsc_callbacks)


// Major version of the library this header belongs to.
#define WSC_VERSION_MAJOR 0

// Minor version of the library this header belongs to.
#define WSC_VERSION_MINOR 2

// Patch version of the library this header belongs to.
#define WSC_VERSION_PATCH 0

// `on_message_part` flag: the part belongs to a text message.
#define WSC_PART_TEXT 1

// `on_message_part` flag: the first part of its message.
#define WSC_PART_FIRST 2

// `on_message_part` flag: the last part of its message.
#define WSC_PART_LAST 4

// Normal closure.
#define WSC_CLOSE_NORMAL 1000

// The endpoint is going away.
#define WSC_CLOSE_GOING_AWAY 1001

// A protocol error.
#define WSC_CLOSE_PROTOCOL_ERROR 1002

// Data of a type the endpoint cannot accept.
#define WSC_CLOSE_UNSUPPORTED_DATA 1003

// Reported when the server's Close frame had no code; never sent.
#define WSC_CLOSE_NO_STATUS 1005

// Reported when the connection ended without a Close frame; never sent.
#define WSC_CLOSE_ABNORMAL 1006

// Data inconsistent with its message type (e.g. invalid UTF-8).
#define WSC_CLOSE_INVALID_PAYLOAD 1007

// A message that violates the endpoint's policy.
#define WSC_CLOSE_POLICY_VIOLATION 1008

// A message too big to process.
#define WSC_CLOSE_MESSAGE_TOO_BIG 1009

// An unexpected condition in the server.
#define WSC_CLOSE_INTERNAL_ERROR 1011

// The result of every wsc call that can fail, and the kind of every failure `on_error`
// reports. Numbers are stable and never reused; `wsc_result_str` describes each.
typedef enum wsc_result {
  // Success.
  WSC_OK = 0,
  // A required pointer argument was NULL.
  WSC_ERR_NULL_ARGUMENT = 1,
  // An argument was out of range or malformed (see `wsc_last_error`).
  WSC_ERR_INVALID_ARGUMENT = 2,
  // The URL is not a valid ws:// or wss:// URL.
  WSC_ERR_INVALID_URL = 3,
  // Not supported by this build or platform.
  WSC_ERR_UNSUPPORTED = 4,
  // The connection is not open: still connecting, or closing or closed.
  WSC_ERR_NOT_OPEN = 5,
  // The send buffer is over its limit; `on_writable` is called when it drains.
  WSC_ERR_WOULD_BLOCK = 6,
  // A fragmented message is in progress (or a continuation was sent without one).
  WSC_ERR_FRAGMENT_STATE = 7,
  // `wsc_service` is already running for this context (from a callback or another thread).
  WSC_ERR_BUSY = 8,
  // The context is being freed.
  WSC_ERR_CONTEXT_CLOSED = 9,
  // An internal error in wsc (a bug); the call had no effect.
  WSC_ERR_PANIC = 10,
  // No such timer (already stopped, or a one-shot timer that has fired), or no such header.
  WSC_ERR_NOT_FOUND = 11,
  // The host name could not be resolved.
  WSC_ERR_RESOLVE = 100,
  // The server refused the TCP connection.
  WSC_ERR_CONNECT_REFUSED = 101,
  // The network or host is unreachable.
  WSC_ERR_UNREACHABLE = 102,
  // Connecting took longer than `connect_timeout_ms`.
  WSC_ERR_CONNECT_TIMEOUT = 103,
  // Another system error (see the message).
  WSC_ERR_IO = 104,
  // The server closed or reset the TCP connection unexpectedly.
  WSC_ERR_CONNECTION_LOST = 105,
  // The server did not answer a keepalive ping within `keepalive_timeout_ms`.
  WSC_ERR_KEEPALIVE_TIMEOUT = 106,
  // The proxy refused the tunnel or misbehaved: an HTTP proxy's status, or a SOCKS5 proxy's
  // reply code in words (RFC 1928 §6), rejected credentials, no acceptable authentication
  // method, an answer that is not SOCKS5, or a proxy that closed mid-answer (in the message).
  WSC_ERR_PROXY = 107,
  // The server answered the handshake with a status other than 101 (in the message).
  WSC_ERR_HANDSHAKE_STATUS = 200,
  // The handshake response is not a valid WebSocket upgrade.
  WSC_ERR_HANDSHAKE_INVALID = 201,
  // The handshake response is over `max_handshake_size` or `max_handshake_headers`.
  WSC_ERR_HANDSHAKE_TOO_LARGE = 202,
  // No handshake response within `handshake_timeout_ms`.
  WSC_ERR_HANDSHAKE_TIMEOUT = 203,
  // The server broke RFC 6455; the connection was closed with 1002.
  WSC_ERR_PROTOCOL = 300,
  // The server sent text that is not UTF-8; the connection was closed with 1007.
  WSC_ERR_INVALID_UTF8 = 301,
  // A frame or message over the configured limits; the connection was closed with 1009.
  WSC_ERR_MESSAGE_TOO_BIG = 302,
  // The server did not answer our Close frame within `close_timeout_ms`.
  WSC_ERR_CLOSE_TIMEOUT = 303,
  // The server's certificate was rejected (unknown issuer, expired, wrong name, ...: see
  // the message).
  WSC_ERR_TLS_CERTIFICATE = 400,
  // Another TLS failure (handshake, alert, bad record).
  WSC_ERR_TLS = 401,
} wsc_result;

// How much the library logs. A line has one of these levels; a handler takes the lines up
// to its maximum.
typedef enum wsc_log_level {
  // Nothing (as a maximum only).
  WSC_LOG_OFF = 0,
  // Failures: what `on_error` reports.
  WSC_LOG_ERROR = 1,
  // Trouble the connection survives, such as a reconnect being scheduled.
  WSC_LOG_WARN = 2,
  // The milestones of a connection: connecting, connected, proxy tunnel, TLS version,
  // cipher suite and ALPN, open, closed (code, reason, who, clean).
  WSC_LOG_INFO = 3,
  // Also: the addresses a name resolved to and each one tried, the handshake's request
  // and response headers (values of Authorization, Cookie, Proxy-Authorization and
  // Set-Cookie shown as "[redacted]"), close frames sent.
  WSC_LOG_DEBUG = 4,
  // Also: every frame sent and received (opcode, fin, length, masked), and rustls' lines.
  WSC_LOG_TRACE = 5,
} wsc_log_level;

// Who ended a connection, as `on_close` reports it.
typedef enum wsc_closed_by {
  // The server sent a Close frame first.
  WSC_CLOSED_BY_SERVER = 1,
  // The application called `wsc_close` (or freed the context). If the server then never
  // answered or dropped TCP, `on_error` came first (`WSC_ERR_CLOSE_TIMEOUT`,
  // `WSC_ERR_CONNECTION_LOST`).
  WSC_CLOSED_BY_APPLICATION = 2,
  // The connection failed before anyone closed it; `on_error` said why.
  WSC_CLOSED_BY_FAILURE = 3,
} wsc_closed_by;

// A connection, as the callbacks see it (valid during the callback) and as `wsc_connect`
// hands it out (valid until `wsc_connection_free`).
typedef struct wsc_connection wsc_connection;

// A context: an event loop for any number of connections, from `wsc_context_new` until
// `wsc_context_free`.
typedef struct wsc_context wsc_context;

// A log handler: `line` (NUL-terminated, no trailing newline, valid only during the call)
// at `level`, and the `user` pointer given with the handler. It runs on the thread that
// runs `wsc_service`, and at `WSC_LOG_TRACE` also on threads that send (each frame is logged
// by the thread that queues it), possibly at the same time: it must be thread-safe. It must
// not call `wsc_log_set_handler`. A context's handler is not called once `wsc_context_free`
// has returned.
//
// Each line begins with the connection it concerns, as `[#N host]`: N is a number unique in
// the process (kept across reconnects).
typedef void (*wsc_log_fn)(enum wsc_log_level level,
                           const char *line,
                           void *user);

// Options for `wsc_context_new` (a NULL pointer means the defaults). Grows by appending
// fields: start from `wsc_context_options o = WSC_CONTEXT_OPTIONS_INIT;` (see
// `wsc_connect_options` for how `struct_size` is read).
typedef struct wsc_context_options {
  // `sizeof(wsc_context_options)` in the program, set by `WSC_CONTEXT_OPTIONS_INIT`.
  size_t struct_size;
  // Size of the one read buffer the loop shares between its connections.
  // 0: 262144 (256 KiB: fewer system calls for large messages; one buffer per context).
  // At least 4096 is used.
  size_t read_buffer_size;
  // This context's connections log to this function (see `wsc_log_fn`) instead of the
  // process-wide handler (`wsc_log_set_handler`). NULL: the process-wide handler.
  wsc_log_fn log_fn;
  // Passed to `log_fn`.
  void *log_user;
  // With `log_fn`: the most it is given, a `wsc_log_level` (0, WSC_LOG_OFF: nothing;
  // otherwise `WSC_ERR_INVALID_ARGUMENT` outside 1-5). Ignored without `log_fn`.
  int log_level;
  // Zero (the initialiser sets it): later versions give these bytes a meaning, and this
  // library refuses a program that sets them.
  uint8_t reserved[4];
} wsc_context_options;

// A timer callback: runs on the thread that runs `wsc_service`, with the id
// `wsc_timer_start` returned. It may call any wsc function but `wsc_service`.
typedef void (*wsc_timer_fn)(struct wsc_context *ctx,
                             uint64_t timer_id,
                             void *user);

// One extra HTTP header for the opening handshake. Frozen: this struct never changes (an
// array of them is read with this size), a header being a name and a value.
typedef struct wsc_header {
  // A token (letters, digits and !#$%&'*+-.^_`|~), e.g. "Authorization".
  const char *name;
  // No CR, LF or other control characters.
  const char *value;
} wsc_header;

// One permessage-deflate offer (RFC 7692 §7.1). All-zero is the default offer,
// "permessage-deflate; client_max_window_bits". Frozen: this struct never changes (an array
// of them is read with this size); it holds the four parameters RFC 7692 defines, and
// settings that apply to every offer are fields of `wsc_connect_options`.
typedef struct wsc_deflate_offer {
  // Offer client_no_context_takeover: each message we send is compressed on its own (less
  // memory kept by the server, less compression).
  bool client_no_context_takeover;
  // Offer (require) server_no_context_takeover.
  bool server_no_context_takeover;
  // 8-15: the largest compression window we will use (client_max_window_bits=N).
  // 0: the parameter without a value (the server may choose; 15 otherwise).
  uint8_t client_max_window_bits;
  // 8-15: ask the server to use at most this window (server_max_window_bits=N). 0: not asked.
  uint8_t server_max_window_bits;
} wsc_deflate_offer;

// Options for `wsc_connect` (a NULL pointer means the defaults). Start from
// `wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT;` then set fields: a zero field means the
// default given with it. Everything is copied during `wsc_connect`.
//
// The struct grows by appending fields; `struct_size` says how much of it the program knows.
// The library reads no more than `struct_size` bytes: fields past them get their defaults
// (a program built with an older header). A `struct_size` larger than this library knows is accepted when the bytes it does
// not know are zero (a newer header's fields left at their defaults), and refused with
// `WSC_ERR_INVALID_ARGUMENT` otherwise: the program asks for something this library cannot
// do. A `struct_size` of 0 (the struct not initialised) is refused too.
typedef struct wsc_connect_options {
  // `sizeof(wsc_connect_options)` in the program, set by `WSC_CONNECT_OPTIONS_INIT`.
  size_t struct_size;
  // Value of the Origin header; NULL: none is sent.
  const char *origin;
  // Subprotocols to offer, in order of preference (Sec-WebSocket-Protocol).
  const char *const *subprotocols;
  size_t subprotocol_count;
  // Extra request headers (e.g. Authorization).
  const struct wsc_header *headers;
  size_t header_count;
  // Name resolution plus TCP connect: every attempt when a name has several addresses
  // (Happy Eyeballs, RFC 8305: attempts start 250 ms apart, the first to connect wins).
  // 0: 10000 ms.
  uint32_t connect_timeout_ms;
  // From TCP connected to the server's 101 response. 0: 10000 ms.
  uint32_t handshake_timeout_ms;
  // Waiting for the server's Close frame and for it to close TCP. 0: 5000 ms.
  uint32_t close_timeout_ms;
  // Largest frame accepted from the server; over it: close 1009. 0: 16 MiB.
  uint64_t max_frame_size;
  // Largest message (all fragments) accepted; over it: close 1009. 0: 64 MiB.
  uint64_t max_message_size;
  // Most fragments in one message; over it: close 1009. 0: 1048576.
  uint32_t max_fragments;
  // Most headers in the handshake response. 0: 64.
  uint32_t max_handshake_headers;
  // Largest handshake response (status line and headers). 0: 16384 bytes.
  size_t max_handshake_size;
  // Unwritten bytes above which sends return `WSC_ERR_WOULD_BLOCK` (a message is always
  // accepted into an empty buffer). 0: 16 MiB.
  size_t send_buffer_limit;
  // true: `wsc_send_text` and `wsc_send_text_nocopy` do not check that the text is UTF-8
  // (a check that costs about as much as receiving it). For text known to be valid, e.g.
  // from a JSON encoder: invalid text makes the server fail the connection (1007).
  bool trust_outgoing_text;
  // true: do not offer permessage-deflate (RFC 7692). By default it is offered as
  // "permessage-deflate; client_max_window_bits" and used when the server accepts.
  bool deflate_disable;
  // zlib compression level 1-9. 0: 2 (fast, close to the best ratio on typical messages).
  uint8_t deflate_level;
  // permessage-deflate offers, in order of preference (the server accepts at most one).
  // NULL/0: the single default offer above.
  const struct wsc_deflate_offer *deflate_offers;
  size_t deflate_offer_count;
  // wss://: a PEM file of CA certificates to trust instead of the system's store.
  // NULL: the system store (Mozilla's roots if the system has none).
  const char *tls_ca_file;
  // wss://: PEM CA certificates in memory (`tls_ca_pem_len` bytes), instead of the system's.
  const uint8_t *tls_ca_pem;
  size_t tls_ca_pem_len;
  // DANGER: accept any server certificate for any name. Only for test servers with
  // self-signed certificates: the connection is encrypted but anyone can impersonate the
  // server.
  bool tls_insecure_skip_verification;
  // Send a ping this often while open, to detect a dead peer or half-open TCP connection.
  // 0: never (the default).
  uint32_t keepalive_interval_ms;
  // After a keepalive ping, how long the server has to show it is alive (a pong or any
  // other frame); then the connection fails with `WSC_ERR_KEEPALIVE_TIMEOUT` (1006).
  // 0: 10000 ms.
  uint32_t keepalive_timeout_ms;
  // A proxy to tunnel through (wss:// runs TLS inside the tunnel), port 1080 when none is
  // given:
  // - "http://user:password@proxy:3128": HTTP CONNECT, the credentials in
  //   Proxy-Authorization: Basic;
  // - "socks5://user:password@proxy:1080": SOCKS5 (RFC 1928), the server's name resolved
  //   here and its address sent; "socks5h://...": the proxy resolves the name (at most 255
  //   bytes). Credentials use RFC 1929: user name 1 to 255 bytes, password 0 to 255.
  //
  // Other schemes, and over-long credentials or names, fail `wsc_connect` with
  // `WSC_ERR_INVALID_ARGUMENT`.
  // NULL: `http_proxy` for ws:// and `https_proxy` for wss:// (or their upper-case forms),
  // else `all_proxy` (`ALL_PROXY`), from the environment, unless the host matches
  // `no_proxy`.
  const char *proxy_url;
  // true: connect directly, whatever the environment says.
  bool proxy_disable;
  // HTTP redirects (301, 302, 303, 307, 308 with Location) to follow during the handshake;
  // 0: none (the default: a redirect is a `WSC_ERR_HANDSHAKE_STATUS` failure). Authorization
  // and Cookie headers are dropped when a redirect changes host or goes from wss to ws.
  uint32_t max_redirects;
  // true: when the connection drops or cannot be made, or the server closes it with a code
  // other than 1000 (e.g. 1001 going away, 1012 restarting), try again after a backoff;
  // never after `wsc_close` or a server's 1000, nor (unless `reconnect_on_client_error`)
  // after a handshake refused with a 4xx other than 408 and 429. Each drop still reports
  // `on_error`/`on_close`; inside both, `wsc_connection_retry_in_ms` says when the next
  // attempt comes (-1: none), `on_reconnect` comes before it, and `on_open` follows a
  // success. `wsc_close` from that `on_error` cancels the retry: the `on_close` that
  // follows reports -1 and is the last. `wsc_close` from that `on_close`, or during the
  // wait, stops it: a last `on_close` follows (1006, application).
  bool reconnect;
  // The first wait; it doubles after each failed attempt, with up to half taken off at
  // random (jitter). 0: 500 ms.
  uint32_t reconnect_min_delay_ms;
  // The longest wait. 0: 30000 ms.
  uint32_t reconnect_max_delay_ms;
  // Retries in a row before giving up (an open resets the count): with N, a connection
  // that keeps failing is tried N + 1 times, the first attempt and N retries, and reports
  // N + 1 `on_close`. 0: never give up.
  uint32_t reconnect_max_attempts;
  // `wsc_request_writable` is answered with `on_writable` once the unwritten bytes are at
  // or below this many. 0: a quarter of `send_buffer_limit`.
  size_t writable_low_water;
  // true: messages reach `on_message_part` in parts as they arrive, and `on_message` is not
  // called. Nothing is gathered, so memory stays at the read buffer's scale whatever the
  // message size; `max_frame_size` and `max_fragments` still apply, and `max_message_size`
  // too (`UINT64_MAX`: no limit; for compressed messages it bounds the inflated size).
  bool stream_messages;
  // true: with `reconnect`, retry a handshake the server refused with a 4xx status too.
  // By default (false) a 4xx other than 408 (Request Timeout) and 429 (Too Many Requests)
  // ends the connection: a request the server calls wrong (401, 403, 404, ...) will not
  // get better by itself, unless `on_reconnect` changes it.
  bool reconnect_on_client_error;
  // Zero (the initialiser sets it): later versions give these bytes a meaning, and this
  // library refuses a program that sets them.
  uint8_t reserved[6];
  // Connect to this address instead of the URL's host, which still names the server in the
  // `Host` header, SNI and certificate verification (curl's `--connect-to`): "HOST[:PORT]"
  // with a host name or an IP address ("[IPV6]:PORT" with a port), the URL's port when none
  // is given; or a comma-separated list of IP addresses, each with an optional port, tried
  // in turn as the addresses of a name are (Happy Eyeballs). NULL: the URL's host. Not used
  // through a proxy, nor for `ws+unix://`.
  const char *connect_to;
  // Connect from this local IP address, "ADDR", "ADDR:PORT" or "[IPV6]:PORT" (`bind`
  // before `connect`; port 0 or none: any). Only addresses of its family are tried. NULL:
  // the system chooses. A wrong address fails the connection through `on_error`.
  const char *local_address;
  // Connect through this network interface, e.g. "eth0" (`SO_BINDTODEVICE`; Linux only,
  // and it may need CAP_NET_RAW). An interface that does not exist, or another system:
  // `WSC_ERR_INVALID_ARGUMENT`. NULL: any.
  const char *interface;
  // A PEM file with the client's certificate chain for mutual TLS, the client's own
  // certificate first (it may hold the key too). NULL: no client certificate (the
  // default). Needs a key (`tls_client_key_file` or `tls_client_key_pem`); give the file
  // or `tls_client_cert_pem`, not both. Read at `wsc_connect`: an unreadable file, no
  // certificate in it or a key that is not the certificate's is `WSC_ERR_INVALID_ARGUMENT`.
  const char *tls_client_cert_file;
  // The client's certificate chain as PEM in memory (`tls_client_cert_pem_len` bytes),
  // instead of `tls_client_cert_file`. Copied at `wsc_connect`. NULL/0: none.
  const uint8_t *tls_client_cert_pem;
  size_t tls_client_cert_pem_len;
  // A PEM file with the private key of the client certificate: PKCS#8 ("PRIVATE KEY"),
  // PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"); RSA, ECDSA P-256/P-384 or
  // Ed25519; not encrypted. NULL: none (the default).
  const char *tls_client_key_file;
  // The private key as PEM in memory (`tls_client_key_pem_len` bytes), instead of
  // `tls_client_key_file`. Copied at `wsc_connect`. NULL/0: none.
  const uint8_t *tls_client_key_pem;
  size_t tls_client_key_pem_len;
  // The name sent in SNI and verified in the server's certificate instead of the URL's
  // host, e.g. to connect by IP address to a server whose certificate names a host. The
  // Host header stays the URL's. A DNS name or an IP address (an IP address is verified
  // against the certificate's IP addresses and not sent in SNI). It stays the name after a
  // redirect to another host. NULL: the URL's host.
  const char *tls_server_name;
  // true: the CA certificates of `tls_ca_file`/`tls_ca_pem` are trusted in addition to the
  // system's store instead of replacing it. Default false (they replace it).
  bool tls_ca_add_to_system;
  // true: accept a self-signed server certificate (its own issuer, signed with its own
  // key), whoever made it: anyone on the path can present one, so this is for test
  // servers. Its dates and its name are still verified (with `tls_allow_expired` an
  // expired one passes too). Default false.
  bool tls_allow_self_signed;
  // true: do not check that the server's certificate names the host (or
  // `tls_server_name`). The chain is still verified against the trusted certificates, and
  // its dates. Default false.
  bool tls_skip_hostname_verification;
  // true: accept certificates past their notAfter date; the chain is verified as of the
  // moment it was last valid, so the issuer and the name still count (a certificate not
  // valid yet still fails). Default false.
  bool tls_allow_expired;
  // true: append the TLS secrets of each connection to the file named by the
  // `SSLKEYLOGFILE` environment variable (NSS key log format, for Wireshark); nothing is
  // written when it is unset. A debugging aid: whoever reads the file can decrypt the
  // recorded sessions. Default false.
  bool tls_key_log;
  // Zero, like `reserved`: it fills the TLS group to a multiple of 8 bytes, so that the
  // struct ends without padding.
  uint8_t tls_reserved[3];
} wsc_connect_options;

// The callbacks of a connection. Any may be NULL (not called). All run on the thread that
// runs `wsc_service`; `conn` is valid during the call (and later only through a handle the
// application owns). Pointers to data are valid only during the call. Callbacks may call any
// wsc function except `wsc_service` on the same context; they must not throw C++ exceptions.
//
// Grows by appending callbacks: start from `wsc_callbacks cb = WSC_CALLBACKS_INIT;` (or, in
// C, `{ .struct_size = sizeof(wsc_callbacks), .on_open = ... }`); see
// `wsc_connect_options` for how `struct_size` is read.
typedef struct wsc_callbacks {
  // `sizeof(wsc_callbacks)` in the program, set by `WSC_CALLBACKS_INIT`.
  size_t struct_size;
  // The handshake completed; sends are possible from now on.
  void (*on_open)(struct wsc_connection *conn,
                  void *user);
  // A whole message (all fragments reassembled). Text is valid UTF-8 (not NUL-terminated).
  void (*on_message)(struct wsc_connection *conn,
                     const uint8_t *data,
                     size_t len,
                     bool is_text,
                     void *user);
  // A ping arrived; wsc has already queued the pong.
  void (*on_ping)(struct wsc_connection *conn,
                  const uint8_t *data,
                  size_t len,
                  void *user);
  // A pong arrived (an answer to `wsc_send_ping`, or unsolicited).
  void (*on_pong)(struct wsc_connection *conn,
                  const uint8_t *data,
                  size_t len,
                  void *user);
  // The send buffer drained after a send returned `WSC_ERR_WOULD_BLOCK`, or is at or below
  // `writable_low_water` after `wsc_request_writable`.
  void (*on_writable)(struct wsc_connection *conn,
                      void *user);
  // A failure: `result` says which kind, `message` (NUL-terminated) the details.
  // `on_close` follows. With `reconnect`, `wsc_connection_retry_in_ms` already says whether
  // a retry follows (`wsc_close` here cancels it). For `WSC_ERR_HANDSHAKE_STATUS`, the
  // message quotes the status line and the start of the body, and
  // `wsc_connection_status`, `wsc_connection_header`, `wsc_connection_header_at` and
  // `wsc_connection_response_body` read the response that refused the handshake.
  void (*on_error)(struct wsc_connection *conn,
                   enum wsc_result result,
                   const char *message,
                   void *user);
  // The connection ended; always the last callback (with `reconnect` on, once per attempt
  // that ended: `wsc_connection_retry_in_ms` says whether another follows). `code` is the server's
  // close code (1005 if its Close frame had none), or the code wsc failed the connection
  // with (1002, 1007, 1009), or 1006 when no Close frame was received. `reason` is UTF-8,
  // `reason_len` bytes, also NUL-terminated. `clean`: the closing handshake completed and
  // nothing failed.
  void (*on_close)(struct wsc_connection *conn,
                   uint16_t code,
                   const char *reason,
                   size_t reason_len,
                   enum wsc_closed_by closed_by,
                   bool clean,
                   void *user);
  // A part of a message, when `stream_messages` is set: `len` bytes at `data` (valid only
  // during the call), and `flags`: `WSC_PART_TEXT` (a text message: the parts together are
  // UTF-8, a code point may be split between two parts), `WSC_PART_FIRST`, `WSC_PART_LAST`.
  // `remaining_in_frame`: payload bytes of the current frame still to come (0 when the
  // frame ends here, and always for compressed messages). A part is empty only for an empty
  // message or an empty last frame.
  void (*on_message_part)(struct wsc_connection *conn,
                          const uint8_t *data,
                          size_t len,
                          uint32_t flags,
                          uint64_t remaining_in_frame,
                          void *user);
  // With `reconnect`, just before retry number `attempt` (1 for the first retry) starts:
  // `wsc_connection_set_url` and `wsc_connection_set_header` called here change that
  // attempt (and the ones after it). `wsc_close` here cancels it: `on_close` follows
  // (1006, application) and is the last.
  void (*on_reconnect)(struct wsc_connection *conn,
                       uint32_t attempt,
                       void *user);
} wsc_callbacks;

// Called once wsc is done with the data of a `wsc_send_*_nocopy` call: `data` and `len` as
// given, and that call's `release_user`.
typedef void (*wsc_release_fn)(const uint8_t *data,
                               size_t len,
                               void *user);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The version of the loaded library, e.g. "0.2.0" (compare with `WSC_VERSION_STRING` to
// detect a header/library mismatch). Static storage; never NULL.
const char *wsc_version(void);

// A short English description of a `wsc_result` value ("unknown result" for a number that is
// none). Static storage; never NULL (on an internal error, the text of `wsc_last_error`).
const char *wsc_result_str(int result);

// The message of the last call on this thread that returned an error: more precise than
// `wsc_result_str` (e.g. why a URL is invalid). Valid until the next wsc call on this thread;
// never NULL ("" when there was none; on an internal error, static text saying so).
const char *wsc_last_error(void);

// Creates a context: an event loop for any number of connections. `options` may be NULL for
// the defaults, or start from `WSC_CONTEXT_OPTIONS_INIT` (`WSC_ERR_INVALID_ARGUMENT` when its
// `struct_size` is wrong). On success `*out` receives the context; free it with
// `wsc_context_free`.
//
// # Safety
// `options` is NULL or points to a valid `wsc_context_options` of `struct_size` bytes; `out`
// is a valid pointer.
enum wsc_result wsc_context_new(const struct wsc_context_options *options,
                                struct wsc_context **out);

// Frees a context. Every connection still open is dropped and hears `on_close` (code 1006,
// `WSC_CLOSED_BY_APPLICATION`, not clean) before this returns. NULL is ignored. Called from a
// callback, the context is freed when the running `wsc_service` returns.
// Not thread-safe: call it on the thread that runs `wsc_service`.
//
// # Safety
// `ctx` is NULL or a context from `wsc_context_new` not yet freed.
void wsc_context_free(struct wsc_context *ctx);

// Runs the loop once: waits up to `timeout_ms` milliseconds (negative: until something
// happens; 0: not at all) for network events, then calls the callbacks for what happened.
// Returns `WSC_ERR_BUSY` when called from a callback or while another thread runs it, and
// `WSC_ERR_CONTEXT_CLOSED` while the context is being freed (from a callback of the free).
//
// # Safety
// `ctx` is NULL or a live context.
enum wsc_result wsc_service(struct wsc_context *ctx,
                            int32_t timeout_ms);

// Makes a `wsc_service` blocked in another thread return soon. Safe from any thread, and the
// one wsc function a signal handler may call (async-signal-safe for a live context: it only
// writes to an eventfd): set a flag in the handler, wake, act on the flag after
// `wsc_service` returns.
//
// # Safety
// `ctx` is NULL or a live context.
enum wsc_result wsc_context_wake(const struct wsc_context *ctx);

// The number of connections started with `wsc_connect` whose `on_close` has not yet
// returned: loop `while (wsc_context_connection_count(ctx) > 0) wsc_service(ctx, -1);`.
// 0 for NULL, and on an internal error. Safe from any thread.
//
// # Safety
// `ctx` is NULL or a live context.
size_t wsc_context_connection_count(const struct wsc_context *ctx);

// A descriptor for programs with their own event loop (poll, epoll, libuv, GLib, ...): it
// becomes readable when the context has work. Watch it for reading, and when it fires (or
// when `wsc_next_timeout_ms` has passed) call `wsc_service(ctx, 0)`. Do not read from it or
// close it. -1 for NULL, and on an internal error. Safe from any thread.
//
// # Safety
// `ctx` is NULL or a live context.
int wsc_context_fd(const struct wsc_context *ctx);

// How many milliseconds a foreign event loop may wait before calling `wsc_service(ctx, 0)`
// even if `wsc_context_fd` stays quiet (the next timer): -1 when nothing is scheduled, 0 when
// work is already waiting. Call it again after every `wsc_service`. -1 for NULL, and on an
// internal error.
//
// # Safety
// `ctx` is NULL or a live context.
int32_t wsc_next_timeout_ms(const struct wsc_context *ctx);

// Starts a timer on the context's loop: `callback` runs after `delay_ms`, then every
// `interval_ms` (0: once), until `wsc_timer_stop`. `*out_id` (optional) receives its id,
// never 0. Timers end with the context. Safe from any thread and from callbacks.
//
// # Safety
// `ctx` is a live context; `out_id` NULL or valid.
enum wsc_result wsc_timer_start(struct wsc_context *ctx,
                                uint32_t delay_ms,
                                uint32_t interval_ms,
                                wsc_timer_fn callback,
                                void *user,
                                uint64_t *out_id);

// Stops a timer: it will not run again (even if it was due). `WSC_ERR_NOT_FOUND` when it had
// already stopped or fired once and for all. Safe from any thread and from callbacks,
// including the timer's own.
//
// # Safety
// `ctx` is a live context.
enum wsc_result wsc_timer_stop(struct wsc_context *ctx,
                               uint64_t timer_id);

// Starts connecting to `url` (`ws://` or `wss://host[:port]/path[?query]`). Never blocks: name
// resolution, connect and handshake happen in `wsc_service`, and every failure from then on
// reaches `on_error`, followed by `on_close`.
//
// `options` may be NULL (defaults); `callbacks` may be NULL (no callbacks); both are copied,
// as are the strings they point to. `user` is passed to every callback.
//
// When this returns `WSC_OK`, `on_close` is called once for the connection, as its last
// callback (with `reconnect` on: once per attempt that ended, the last one with
// `wsc_connection_retry_in_ms` -1). If `out` is not NULL it receives a handle the caller owns, which stays
// valid (calls on it fail with `WSC_ERR_NOT_OPEN` once closed) until `wsc_connection_free`.
// With `out` NULL the connection is reached only through the callbacks' `conn` argument.
// Safe from any thread and from callbacks.
//
// Errors returned here: `WSC_ERR_INVALID_URL`, `WSC_ERR_INVALID_ARGUMENT` (bad header or
// subprotocol, an unreadable CA file, an option out of range, or a `struct_size` in `options` or
// `callbacks` that is 0, too small, or larger with fields this library does not know set:
// start them from `WSC_CONNECT_OPTIONS_INIT` and `WSC_CALLBACKS_INIT`), `WSC_ERR_NULL_ARGUMENT`,
// `WSC_ERR_CONTEXT_CLOSED`; `wsc_last_error` says more.
//
// # Safety
// `ctx` is a live context; `url` a NUL-terminated string; `options` and `callbacks` NULL or
// valid structs of their `struct_size` bytes (with the strings and arrays they point to);
// `out` NULL or valid.
enum wsc_result wsc_connect(struct wsc_context *ctx,
                            const char *url,
                            const struct wsc_connect_options *options,
                            const struct wsc_callbacks *callbacks,
                            void *user,
                            struct wsc_connection **out);

// Releases the handle `wsc_connect` gave through `out`. It does not close the connection
// (use `wsc_close`); callbacks keep coming until `on_close`. NULL is ignored. Allowed in
// callbacks. Never pass the `conn` a callback received unless it is that same owned handle.
//
// # Safety
// `conn` is NULL or a handle from `wsc_connect`'s `out`, released once.
void wsc_connection_free(struct wsc_connection *conn);

// Sends a text message (`len` bytes of UTF-8, which is checked: `WSC_ERR_INVALID_ARGUMENT`
// otherwise, unless the connection's options set `trust_outgoing_text`). The bytes are
// copied; `text` may be NULL when `len` is 0. Returns `WSC_ERR_NOT_OPEN` before `on_open` or
// after a Close frame, `WSC_ERR_WOULD_BLOCK` when the send buffer is over its limit
// (`on_writable` follows when it drains). Safe from any thread and from callbacks.
//
// # Safety
// `conn` is a live handle; `text` points to `len` readable bytes.
enum wsc_result wsc_send_text(struct wsc_connection *conn,
                              const char *text,
                              size_t len);

// Sends a binary message; as `wsc_send_text` otherwise.
//
// # Safety
// `conn` is a live handle; `data` points to `len` readable bytes.
enum wsc_result wsc_send_binary(struct wsc_connection *conn,
                                const uint8_t *data,
                                size_t len);

// Sends a binary message without copying `data` (from 4 KiB on; shorter messages, and every
// message when permessage-deflate is in use, are copied at once). wsc reads `data`, never
// writes it, until it calls `release(data, len, release_user)`: exactly once, after the last
// byte is written to the socket, or when the message will not be sent because the connection
// ended first. Keep the data unchanged until then; the same data may be lent to many
// connections at once. With `release` NULL, the data must outlive the connection (static
// data, say).
//
// `release` runs with no wsc lock held, on the thread that runs `wsc_service`, in the thread
// that frees the connection or its context, or inside this call (copied data); it may call
// wsc functions. On any result but `WSC_OK` it is not called and the data stays yours.
// Results as for `wsc_send_binary`. Safe from any thread and from callbacks.
//
// # Safety
// `conn` is a live handle; `data` points to `len` bytes that stay readable from any thread,
// unchanged, until released.
enum wsc_result wsc_send_binary_nocopy(struct wsc_connection *conn,
                                       const uint8_t *data,
                                       size_t len,
                                       wsc_release_fn release,
                                       void *release_user);

// Sends a text message without copying `text`: as `wsc_send_binary_nocopy`, after checking
// that the text is UTF-8 (`WSC_ERR_INVALID_ARGUMENT` otherwise, and `release` not called;
// no check with `trust_outgoing_text`).
//
// # Safety
// As for `wsc_send_binary_nocopy`.
enum wsc_result wsc_send_text_nocopy(struct wsc_connection *conn,
                                     const char *text,
                                     size_t len,
                                     wsc_release_fn release,
                                     void *release_user);

// Sends one fragment of a message: the first call starts a text or binary message, later
// calls continue it (with the same `is_text`), and `is_final` ends it. Other messages cannot
// be sent in between (`WSC_ERR_FRAGMENT_STATE`); pings can. Safe from any thread, but the
// fragments of one message must come from one thread at a time.
//
// # Safety
// `conn` is a live handle; `data` points to `len` readable bytes.
enum wsc_result wsc_send_fragment(struct wsc_connection *conn,
                                  bool is_text,
                                  const uint8_t *data,
                                  size_t len,
                                  bool is_final);

// Sends a ping with up to 125 bytes of payload; the pong reaches `on_pong`.
// Safe from any thread and from callbacks.
//
// # Safety
// `conn` is a live handle; `data` points to `len` readable bytes.
enum wsc_result wsc_send_ping(struct wsc_connection *conn,
                              const uint8_t *data,
                              size_t len);

// Starts the closing handshake with `code` (1000-1003, 1007-1014 or 3000-4999) and an
// optional `reason` (NUL-terminated UTF-8, at most 123 bytes; NULL for none). `on_close`
// follows once the server answers (or `close_timeout_ms` passes). Before the connection is
// open, abandons it. Closing again is harmless. Safe from any thread and from callbacks.
//
// # Safety
// `conn` is a live handle; `reason` NULL or NUL-terminated.
enum wsc_result wsc_close(struct wsc_connection *conn,
                          uint16_t code,
                          const char *reason);

// Drops the connection at once, without a Close frame, discarding what is unwritten; for
// programs that must not wait for a closing handshake. `on_close` follows with 1006,
// `WSC_CLOSED_BY_APPLICATION`, not clean (no `on_error`), and no reconnect. Before the
// connection is open it abandons it, as `wsc_close` does. Called from one of the
// connection's callbacks it takes effect when the callback returns. Harmless on a connection
// that is over. Safe from any thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle.
enum wsc_result wsc_abort(struct wsc_connection *conn);

// Stops reading from the server: nothing more is read from the socket, so once the kernel's
// buffers fill the server's sends block (TCP flow control). What was already read is still
// delivered (called from a callback, the pause takes effect after the current read is
// dispatched); pings already read are answered, and keepalive does not fail the connection
// for the silence the pause causes. The opening and closing handshakes are read regardless.
// Safe from any thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle.
enum wsc_result wsc_pause_reading(struct wsc_connection *conn);

// Reads again after `wsc_pause_reading`, from the next loop iteration, including what
// arrived meanwhile. Harmless when not paused. Safe from any thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle.
enum wsc_result wsc_resume_reading(struct wsc_connection *conn);

// Asks for one `on_writable` as soon as the unwritten bytes are at or below
// `writable_low_water` (by default a quarter of `send_buffer_limit`): at the next loop
// iteration if that is already so. The pacing idiom of a producer: write a chunk, ask, write
// the next chunk in `on_writable`. Asking again before the callback came changes nothing;
// before open, the callback comes after `on_open`. `WSC_ERR_NOT_OPEN` once the connection is
// closing or over. Safe from any thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle.
enum wsc_result wsc_request_writable(struct wsc_connection *conn);

// The subprotocol the server chose (NUL-terminated), or NULL when it chose none, the
// connection is not open yet (or a new attempt started), `conn` is NULL, or on an internal
// error. Valid until the server answers another handshake (after a reconnect) or the handle
// is freed. Safe from any thread
// once `on_open` has run.
//
// # Safety
// `conn` is NULL or a live handle.
const char *wsc_connection_subprotocol(const struct wsc_connection *conn);

// A header of the server's answer to this attempt's handshake (the first with this name,
// ASCII case-insensitive): its 101 once open, or the response that refused the handshake
// (from that attempt's `on_error` and `on_close` until the next attempt starts). `*value`
// and `*len` receive its bytes (not NUL-terminated), valid until the server answers another
// handshake (after a reconnect) or the handle is freed. `WSC_ERR_NOT_FOUND` when there is no
// such header or no answer yet. Safe from any thread once `on_open` (or `on_error`) ran.
//
// # Safety
// `conn` is a live handle; `name` NUL-terminated; `value` and `len` valid.
enum wsc_result wsc_connection_header(const struct wsc_connection *conn,
                                      const char *name,
                                      const uint8_t **value,
                                      size_t *len);

// The header field number `index` (from 0, in the order received) of the server's answer
// to this attempt's handshake, its 101 or the response that refused it (as for
// `wsc_connection_header`): `*name`/`*name_len` and `*value`/`*value_len` receive its name
// and value (not NUL-terminated, the value without surrounding blanks), valid until the
// server answers another handshake or the handle is freed. `WSC_ERR_NOT_FOUND` past the last
// field or before an answer: count up from 0 until then to list them all. Safe from any
// thread.
//
// # Safety
// `conn` is a live handle; `name`, `name_len`, `value` and `value_len` valid.
enum wsc_result wsc_connection_header_at(const struct wsc_connection *conn,
                                         size_t index,
                                         const uint8_t **name,
                                         size_t *name_len,
                                         const uint8_t **value,
                                         size_t *value_len);

// The status code of the server's answer to this attempt's handshake: 101 once open, or the
// status that refused the handshake (401, 403, 503, ...) inside that attempt's `on_error` and
// `on_close` and until the next attempt starts; 0 before an answer (refused, timed out, not
// yet answered), for NULL, and on an internal error. Safe from any thread.
//
// # Safety
// `conn` is NULL or a live handle.
uint16_t wsc_connection_status(const struct wsc_connection *conn);

// The start of the body of the response that refused this attempt's handshake: what arrived
// with its header, or as much as its `Content-Length` announces within the handshake timeout,
// at most 1024 bytes. `*data` and `*len` receive it (not NUL-terminated; `*len` may be 0),
// valid until the server answers another handshake or the handle is freed.
// `WSC_ERR_NOT_FOUND` when the handshake was not refused (no answer, or a 101). Readable
// inside `on_error` and `on_close` of that attempt, and until the next one starts. Safe from
// any thread.
//
// # Safety
// `conn` is a live handle; `data` and `len` valid.
enum wsc_result wsc_connection_response_body(const struct wsc_connection *conn,
                                             const uint8_t **data,
                                             size_t *len);

// While the connection waits to reconnect (from inside `on_close`/`on_error` on), the
// milliseconds until the next attempt; -1 when no attempt is scheduled (the `on_close` you
// are in is the last one, and on an internal error). 0 for a due attempt. Safe from any
// thread.
//
// # Safety
// `conn` is NULL or a live handle.
int64_t wsc_connection_retry_in_ms(const struct wsc_connection *conn);

// The descriptor of the connection's socket (TCP, or Unix domain for `ws+unix://`), for
// `setsockopt` and `getsockopt` only: do not read, write or close it, nor change its flags
// (wsc owns it, and TLS records pass through it). -1 until the socket connects (in the
// `on_error` of an attempt that could not connect, say), once it is closed, and for NULL.
// Meant for callbacks (`on_open` and later): from another thread the socket may close at any
// moment. Safe from any thread.
//
// # Safety
// `conn` is NULL or a live handle.
int wsc_connection_fd(const struct wsc_connection *conn);

// The URL of the next reconnect attempt and the ones after it (`ws://` or `wss://`). Meant
// for `on_reconnect` (the attempt about to start takes it), and valid at any time: it takes
// effect when the next attempt starts; the connection open now, if any, is not affected.
// `WSC_ERR_INVALID_URL` for a URL wsc cannot use (nothing changes then). Safe from any
// thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle; `url` NULL or NUL-terminated.
enum wsc_result wsc_connection_set_url(struct wsc_connection *conn,
                                       const char *url);

// Sets a request header of the next reconnect attempt and the ones after it: replaces every
// header called `name` (ASCII case-insensitive) given in the options or set before, or adds
// it; a NULL `value` removes it. Meant for `on_reconnect` (a fresh token, say), and valid at
// any time, taking effect when the next attempt starts. `WSC_ERR_INVALID_ARGUMENT` for a
// name that is not an HTTP token or a value with control characters; a header wsc sets
// itself (`Host`, `Upgrade`, `Sec-WebSocket-*`, ...) fails that attempt instead (`on_error`,
// then its last `on_close`). Safe from any thread and from callbacks.
//
// # Safety
// `conn` is NULL or a live handle; `name` NULL or NUL-terminated; `value` NULL or
// NUL-terminated.
enum wsc_result wsc_connection_set_header(struct wsc_connection *conn,
                                          const char *name,
                                          const char *value);

// Bytes queued on the connection and not yet written to the network. 0 for NULL, and on an
// internal error.
// Safe from any thread.
//
// # Safety
// `conn` is NULL or a live handle.
size_t wsc_connection_buffered_amount(const struct wsc_connection *conn);

// Sets the process-wide log handler: every connection of a context without its own
// (`wsc_context_options.log_fn`) logs to `log_fn`, lines up to `max_level` (a `wsc_log_level`;
// an int so that any number is checked: `WSC_ERR_INVALID_ARGUMENT` outside 0-5).
//
// `log_fn` NULL goes back to the default: nothing is logged, unless the environment variable
// `WSC_LOG` is error, warn, info, debug or trace; then lines up to that level go to stderr,
// each with a UTC timestamp and its level. Safe from any thread, at any time; once this
// returns, the previous handler is no longer called. Checking whether a line is wanted costs
// one atomic load: logging that is off costs nothing measurable.
enum wsc_result wsc_log_set_handler(wsc_log_fn log_fn,
                                    void *user,
                                    int max_level);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* WSC_H */
