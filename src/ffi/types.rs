//! Plain C types: result codes, close information, the opaque handles and the option structs.
//! Data only: the conversions that read through their pointers are in `options`.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::log::wsc_log_fn;
use super::ptr::{zeroed, Extensible};
use crate::{ClosedBy, ErrorKind};

/// The result of every wsc call that can fail, and the kind of every failure `on_error`
/// reports. Numbers are stable and never reused; `wsc_result_str` describes each.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsc_result {
    /// Success.
    WSC_OK = 0,
    /// A required pointer argument was NULL.
    WSC_ERR_NULL_ARGUMENT = 1,
    /// An argument was out of range or malformed (see `wsc_last_error`).
    WSC_ERR_INVALID_ARGUMENT = 2,
    /// The URL is not a valid ws:// or wss:// URL.
    WSC_ERR_INVALID_URL = 3,
    /// Not supported by this build or platform.
    WSC_ERR_UNSUPPORTED = 4,
    /// The connection is not open: still connecting, or closing or closed.
    WSC_ERR_NOT_OPEN = 5,
    /// The send buffer is over its limit; `on_writable` is called when it drains.
    WSC_ERR_WOULD_BLOCK = 6,
    /// A fragmented message is in progress (or a continuation was sent without one).
    WSC_ERR_FRAGMENT_STATE = 7,
    /// `wsc_service` is already running for this context (from a callback or another thread).
    WSC_ERR_BUSY = 8,
    /// The context is being freed.
    WSC_ERR_CONTEXT_CLOSED = 9,
    /// An internal error in wsc (a bug); the call had no effect.
    WSC_ERR_PANIC = 10,
    /// No such timer (already stopped, or a one-shot timer that has fired), or no such header.
    WSC_ERR_NOT_FOUND = 11,
    /// The host name could not be resolved.
    WSC_ERR_RESOLVE = 100,
    /// The server refused the TCP connection.
    WSC_ERR_CONNECT_REFUSED = 101,
    /// The network or host is unreachable.
    WSC_ERR_UNREACHABLE = 102,
    /// Connecting took longer than `connect_timeout_ms`.
    WSC_ERR_CONNECT_TIMEOUT = 103,
    /// Another system error (see the message).
    WSC_ERR_IO = 104,
    /// The server closed or reset the TCP connection unexpectedly.
    WSC_ERR_CONNECTION_LOST = 105,
    /// The server did not answer a keepalive ping within `keepalive_timeout_ms`.
    WSC_ERR_KEEPALIVE_TIMEOUT = 106,
    /// The proxy refused the tunnel or misbehaved: an HTTP proxy's status, or a SOCKS5 proxy's
    /// reply code in words (RFC 1928 §6), rejected credentials, no acceptable authentication
    /// method, an answer that is not SOCKS5, or a proxy that closed mid-answer (in the message).
    WSC_ERR_PROXY = 107,
    /// The server answered the handshake with a status other than 101 (in the message).
    WSC_ERR_HANDSHAKE_STATUS = 200,
    /// The handshake response is not a valid WebSocket upgrade.
    WSC_ERR_HANDSHAKE_INVALID = 201,
    /// The handshake response is over `max_handshake_size` or `max_handshake_headers`.
    WSC_ERR_HANDSHAKE_TOO_LARGE = 202,
    /// No handshake response within `handshake_timeout_ms`.
    WSC_ERR_HANDSHAKE_TIMEOUT = 203,
    /// The server broke RFC 6455; the connection was closed with 1002.
    WSC_ERR_PROTOCOL = 300,
    /// The server sent text that is not UTF-8; the connection was closed with 1007.
    WSC_ERR_INVALID_UTF8 = 301,
    /// A frame or message over the configured limits; the connection was closed with 1009.
    WSC_ERR_MESSAGE_TOO_BIG = 302,
    /// The server did not answer our Close frame within `close_timeout_ms`.
    WSC_ERR_CLOSE_TIMEOUT = 303,
    /// The server's certificate was rejected (unknown issuer, expired, wrong name, ...: see
    /// the message).
    WSC_ERR_TLS_CERTIFICATE = 400,
    /// Another TLS failure (handshake, alert, bad record).
    WSC_ERR_TLS = 401,
}

/// Defines, from one list of `variant => description` pairs, what the C API needs besides the
/// enum itself: every code in order, its name and its description. The `match`es are
/// exhaustive and reject repeated arms, so the list holds each variant of `wsc_result` exactly
/// once: adding a code to the enum without a description does not compile.
macro_rules! result_table {
    ($($variant:ident => $description:literal,)*) => {
        impl wsc_result {
            /// Every code, in the order of the list.
            pub fn all() -> &'static [wsc_result] {
                &[$(wsc_result::$variant),*]
            }

            /// The code's name in C, e.g. "WSC_ERR_NOT_OPEN".
            #[deny(unreachable_patterns)]
            pub fn name(self) -> &'static str {
                match self {
                    $(wsc_result::$variant => stringify!($variant),)*
                }
            }

            /// What `wsc_result_str` returns for the code.
            #[deny(unreachable_patterns)]
            pub fn description(self) -> &'static CStr {
                match self {
                    $(wsc_result::$variant => $description,)*
                }
            }
        }
    };
}

result_table! {
    WSC_OK => c"success",
    WSC_ERR_NULL_ARGUMENT => c"a required argument is NULL",
    WSC_ERR_INVALID_ARGUMENT => c"invalid argument",
    WSC_ERR_INVALID_URL => c"invalid WebSocket URL",
    WSC_ERR_UNSUPPORTED => c"not supported by this build",
    WSC_ERR_NOT_OPEN => c"the connection is not open",
    WSC_ERR_WOULD_BLOCK => c"the send buffer is full",
    WSC_ERR_FRAGMENT_STATE => c"wrong fragment sequence",
    WSC_ERR_BUSY => c"wsc_service is already running",
    WSC_ERR_CONTEXT_CLOSED => c"the context is being freed",
    WSC_ERR_PANIC => c"internal error",
    WSC_ERR_NOT_FOUND => c"not found",
    WSC_ERR_RESOLVE => c"cannot resolve the host name",
    WSC_ERR_CONNECT_REFUSED => c"connection refused",
    WSC_ERR_UNREACHABLE => c"network or host unreachable",
    WSC_ERR_CONNECT_TIMEOUT => c"connect timed out",
    WSC_ERR_IO => c"system error",
    WSC_ERR_CONNECTION_LOST => c"connection lost",
    WSC_ERR_KEEPALIVE_TIMEOUT => c"keepalive ping unanswered",
    WSC_ERR_PROXY => c"the proxy refused the tunnel",
    WSC_ERR_HANDSHAKE_STATUS => c"the server did not accept the WebSocket upgrade",
    WSC_ERR_HANDSHAKE_INVALID => c"invalid handshake response",
    WSC_ERR_HANDSHAKE_TOO_LARGE => c"handshake response too large",
    WSC_ERR_HANDSHAKE_TIMEOUT => c"handshake timed out",
    WSC_ERR_PROTOCOL => c"the server violated the WebSocket protocol",
    WSC_ERR_INVALID_UTF8 => c"the server sent invalid UTF-8 text",
    WSC_ERR_MESSAGE_TOO_BIG => c"message too big",
    WSC_ERR_CLOSE_TIMEOUT => c"the closing handshake timed out",
    WSC_ERR_TLS_CERTIFICATE => c"the server certificate was rejected",
    WSC_ERR_TLS => c"TLS failure",
}

impl wsc_result {
    /// The code with this number, if any.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Self::all().iter().copied().find(|r| *r as i32 == raw)
    }

    /// The code for an error of this kind.
    pub fn from_kind(kind: ErrorKind) -> Self {
        use wsc_result::*;
        match kind {
            ErrorKind::NullArgument => WSC_ERR_NULL_ARGUMENT,
            ErrorKind::InvalidArgument => WSC_ERR_INVALID_ARGUMENT,
            ErrorKind::InvalidUrl => WSC_ERR_INVALID_URL,
            ErrorKind::Unsupported => WSC_ERR_UNSUPPORTED,
            ErrorKind::NotOpen => WSC_ERR_NOT_OPEN,
            ErrorKind::WouldBlock => WSC_ERR_WOULD_BLOCK,
            ErrorKind::FragmentState => WSC_ERR_FRAGMENT_STATE,
            ErrorKind::Busy => WSC_ERR_BUSY,
            ErrorKind::ContextClosed => WSC_ERR_CONTEXT_CLOSED,
            ErrorKind::NotFound => WSC_ERR_NOT_FOUND,
            ErrorKind::Panic => WSC_ERR_PANIC,
            ErrorKind::Resolve => WSC_ERR_RESOLVE,
            ErrorKind::ConnectRefused => WSC_ERR_CONNECT_REFUSED,
            ErrorKind::Unreachable => WSC_ERR_UNREACHABLE,
            ErrorKind::ConnectTimeout => WSC_ERR_CONNECT_TIMEOUT,
            ErrorKind::Io => WSC_ERR_IO,
            ErrorKind::ConnectionLost => WSC_ERR_CONNECTION_LOST,
            ErrorKind::KeepaliveTimeout => WSC_ERR_KEEPALIVE_TIMEOUT,
            ErrorKind::Proxy => WSC_ERR_PROXY,
            ErrorKind::HandshakeStatus => WSC_ERR_HANDSHAKE_STATUS,
            ErrorKind::HandshakeInvalid => WSC_ERR_HANDSHAKE_INVALID,
            ErrorKind::HandshakeTooLarge => WSC_ERR_HANDSHAKE_TOO_LARGE,
            ErrorKind::HandshakeTimeout => WSC_ERR_HANDSHAKE_TIMEOUT,
            ErrorKind::Protocol => WSC_ERR_PROTOCOL,
            ErrorKind::InvalidUtf8 => WSC_ERR_INVALID_UTF8,
            ErrorKind::MessageTooBig => WSC_ERR_MESSAGE_TOO_BIG,
            ErrorKind::CloseTimeout => WSC_ERR_CLOSE_TIMEOUT,
            ErrorKind::TlsCertificate => WSC_ERR_TLS_CERTIFICATE,
            ErrorKind::Tls => WSC_ERR_TLS,
        }
    }
}

/// Who ended a connection, as `on_close` reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsc_closed_by {
    /// The server sent a Close frame first.
    WSC_CLOSED_BY_SERVER = 1,
    /// The application called `wsc_close` (or freed the context). If the server then never
    /// answered or dropped TCP, `on_error` came first (`WSC_ERR_CLOSE_TIMEOUT`,
    /// `WSC_ERR_CONNECTION_LOST`).
    WSC_CLOSED_BY_APPLICATION = 2,
    /// The connection failed before anyone closed it; `on_error` said why.
    WSC_CLOSED_BY_FAILURE = 3,
}

impl From<ClosedBy> for wsc_closed_by {
    fn from(by: ClosedBy) -> Self {
        match by {
            ClosedBy::Server => wsc_closed_by::WSC_CLOSED_BY_SERVER,
            ClosedBy::Application => wsc_closed_by::WSC_CLOSED_BY_APPLICATION,
            ClosedBy::Failure => wsc_closed_by::WSC_CLOSED_BY_FAILURE,
        }
    }
}

/// Normal closure.
pub const WSC_CLOSE_NORMAL: u16 = 1000;
/// The endpoint is going away.
pub const WSC_CLOSE_GOING_AWAY: u16 = 1001;
/// A protocol error.
pub const WSC_CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Data of a type the endpoint cannot accept.
pub const WSC_CLOSE_UNSUPPORTED_DATA: u16 = 1003;
/// Reported when the server's Close frame had no code; never sent.
pub const WSC_CLOSE_NO_STATUS: u16 = 1005;
/// Reported when the connection ended without a Close frame; never sent.
pub const WSC_CLOSE_ABNORMAL: u16 = 1006;
/// Data inconsistent with its message type (e.g. invalid UTF-8).
pub const WSC_CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// A message that violates the endpoint's policy.
pub const WSC_CLOSE_POLICY_VIOLATION: u16 = 1008;
/// A message too big to process.
pub const WSC_CLOSE_MESSAGE_TOO_BIG: u16 = 1009;
/// An unexpected condition in the server.
pub const WSC_CLOSE_INTERNAL_ERROR: u16 = 1011;

/// Options for `wsc_context_new` (a NULL pointer means the defaults). Grows by appending
/// fields: start from `wsc_context_options o = WSC_CONTEXT_OPTIONS_INIT;` (see
/// `wsc_connect_options` for how `struct_size` is read).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_context_options {
    /// `sizeof(wsc_context_options)` in the program, set by `WSC_CONTEXT_OPTIONS_INIT`.
    pub struct_size: usize,
    /// Size of the one read buffer the loop shares between its connections.
    /// 0: 262144 (256 KiB: fewer system calls for large messages; one buffer per context).
    /// At least 4096 is used.
    pub read_buffer_size: usize,
    // Logging: this context's own handler, instead of the process-wide one.
    /// This context's connections log to this function (see `wsc_log_fn`) instead of the
    /// process-wide handler (`wsc_log_set_handler`). NULL: the process-wide handler.
    pub log_fn: wsc_log_fn,
    /// Passed to `log_fn`.
    pub log_user: *mut c_void,
    /// With `log_fn`: the most it is given, a `wsc_log_level` (0, WSC_LOG_OFF: nothing;
    /// otherwise `WSC_ERR_INVALID_ARGUMENT` outside 1-5). Ignored without `log_fn`.
    pub log_level: c_int,
    /// Zero (the initialiser sets it): later versions give these bytes a meaning, and this
    /// library refuses a program that sets them.
    pub reserved: [u8; 4],
}

/// One extra HTTP header for the opening handshake. Frozen: this struct never changes (an
/// array of them is read with this size), a header being a name and a value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_header {
    /// A token (letters, digits and !#$%&'*+-.^_`|~), e.g. "Authorization".
    pub name: *const c_char,
    /// No CR, LF or other control characters.
    pub value: *const c_char,
}

/// One permessage-deflate offer (RFC 7692 §7.1). All-zero is the default offer,
/// "permessage-deflate; client_max_window_bits". Frozen: this struct never changes (an array
/// of them is read with this size); it holds the four parameters RFC 7692 defines, and
/// settings that apply to every offer are fields of `wsc_connect_options`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wsc_deflate_offer {
    /// Offer client_no_context_takeover: each message we send is compressed on its own (less
    /// memory kept by the server, less compression).
    pub client_no_context_takeover: bool,
    /// Offer (require) server_no_context_takeover.
    pub server_no_context_takeover: bool,
    /// 8-15: the largest compression window we will use (client_max_window_bits=N).
    /// 0: the parameter without a value (the server may choose; 15 otherwise).
    pub client_max_window_bits: u8,
    /// 8-15: ask the server to use at most this window (server_max_window_bits=N). 0: not asked.
    pub server_max_window_bits: u8,
}

/// Options for `wsc_connect` (a NULL pointer means the defaults). Start from
/// `wsc_connect_options o = WSC_CONNECT_OPTIONS_INIT;` then set fields: a zero field means the
/// default given with it. Everything is copied during `wsc_connect`.
///
/// The struct grows by appending fields; `struct_size` says how much of it the program knows.
/// The library reads no more than `struct_size` bytes: fields past them get their defaults
/// (a program built with an older header). A `struct_size` larger than this library knows is accepted when the bytes it does
/// not know are zero (a newer header's fields left at their defaults), and refused with
/// `WSC_ERR_INVALID_ARGUMENT` otherwise: the program asks for something this library cannot
/// do. A `struct_size` of 0 (the struct not initialised) is refused too.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_connect_options {
    /// `sizeof(wsc_connect_options)` in the program, set by `WSC_CONNECT_OPTIONS_INIT`.
    pub struct_size: usize,
    /// Value of the Origin header; NULL: none is sent.
    pub origin: *const c_char,
    /// Subprotocols to offer, in order of preference (Sec-WebSocket-Protocol).
    pub subprotocols: *const *const c_char,
    pub subprotocol_count: usize,
    /// Extra request headers (e.g. Authorization).
    pub headers: *const wsc_header,
    pub header_count: usize,
    /// Name resolution plus TCP connect: every attempt when a name has several addresses
    /// (Happy Eyeballs, RFC 8305: attempts start 250 ms apart, the first to connect wins).
    /// 0: 10000 ms.
    pub connect_timeout_ms: u32,
    /// From TCP connected to the server's 101 response. 0: 10000 ms.
    pub handshake_timeout_ms: u32,
    /// Waiting for the server's Close frame and for it to close TCP. 0: 5000 ms.
    pub close_timeout_ms: u32,
    /// Largest frame accepted from the server; over it: close 1009. 0: 16 MiB.
    pub max_frame_size: u64,
    /// Largest message (all fragments) accepted; over it: close 1009. 0: 64 MiB.
    pub max_message_size: u64,
    /// Most fragments in one message; over it: close 1009. 0: 1048576.
    pub max_fragments: u32,
    /// Most headers in the handshake response. 0: 64.
    pub max_handshake_headers: u32,
    /// Largest handshake response (status line and headers). 0: 16384 bytes.
    pub max_handshake_size: usize,
    /// Unwritten bytes above which sends return `WSC_ERR_WOULD_BLOCK` (a message is always
    /// accepted into an empty buffer). 0: 16 MiB.
    pub send_buffer_limit: usize,
    /// true: `wsc_send_text` and `wsc_send_text_nocopy` do not check that the text is UTF-8
    /// (a check that costs about as much as receiving it). For text known to be valid, e.g.
    /// from a JSON encoder: invalid text makes the server fail the connection (1007).
    pub trust_outgoing_text: bool,
    /// true: do not offer permessage-deflate (RFC 7692). By default it is offered as
    /// "permessage-deflate; client_max_window_bits" and used when the server accepts.
    pub deflate_disable: bool,
    /// zlib compression level 1-9. 0: 2 (fast, close to the best ratio on typical messages).
    pub deflate_level: u8,
    /// permessage-deflate offers, in order of preference (the server accepts at most one).
    /// NULL/0: the single default offer above.
    pub deflate_offers: *const wsc_deflate_offer,
    pub deflate_offer_count: usize,
    /// wss://: a PEM file of CA certificates to trust instead of the system's store.
    /// NULL: the system store (Mozilla's roots if the system has none).
    pub tls_ca_file: *const c_char,
    /// wss://: PEM CA certificates in memory (`tls_ca_pem_len` bytes), instead of the system's.
    pub tls_ca_pem: *const u8,
    pub tls_ca_pem_len: usize,
    /// DANGER: accept any server certificate for any name. Only for test servers with
    /// self-signed certificates: the connection is encrypted but anyone can impersonate the
    /// server.
    pub tls_insecure_skip_verification: bool,
    /// Send a ping this often while open, to detect a dead peer or half-open TCP connection.
    /// 0: never (the default).
    pub keepalive_interval_ms: u32,
    /// After a keepalive ping, how long the server has to show it is alive (a pong or any
    /// other frame); then the connection fails with `WSC_ERR_KEEPALIVE_TIMEOUT` (1006).
    /// 0: 10000 ms.
    pub keepalive_timeout_ms: u32,
    /// A proxy to tunnel through (wss:// runs TLS inside the tunnel), port 1080 when none is
    /// given:
    /// - "http://user:password@proxy:3128": HTTP CONNECT, the credentials in
    ///   Proxy-Authorization: Basic;
    /// - "socks5://user:password@proxy:1080": SOCKS5 (RFC 1928), the server's name resolved
    ///   here and its address sent; "socks5h://...": the proxy resolves the name (at most 255
    ///   bytes). Credentials use RFC 1929: user name 1 to 255 bytes, password 0 to 255.
    ///
    /// Other schemes, and over-long credentials or names, fail `wsc_connect` with
    /// `WSC_ERR_INVALID_ARGUMENT`.
    /// NULL: `http_proxy` for ws:// and `https_proxy` for wss:// (or their upper-case forms),
    /// else `all_proxy` (`ALL_PROXY`), from the environment, unless the host matches
    /// `no_proxy`.
    pub proxy_url: *const c_char,
    /// true: connect directly, whatever the environment says.
    pub proxy_disable: bool,
    /// HTTP redirects (301, 302, 303, 307, 308 with Location) to follow during the handshake;
    /// 0: none (the default: a redirect is a `WSC_ERR_HANDSHAKE_STATUS` failure). Authorization
    /// and Cookie headers are dropped when a redirect changes host or goes from wss to ws.
    pub max_redirects: u32,
    /// true: when the connection drops or cannot be made, or the server closes it with a code
    /// other than 1000 (e.g. 1001 going away, 1012 restarting), try again after a backoff;
    /// never after `wsc_close` or a server's 1000, nor (unless `reconnect_on_client_error`)
    /// after a handshake refused with a 4xx other than 408 and 429. Each drop still reports
    /// `on_error`/`on_close`; inside both, `wsc_connection_retry_in_ms` says when the next
    /// attempt comes (-1: none), `on_reconnect` comes before it, and `on_open` follows a
    /// success. `wsc_close` from that `on_error` cancels the retry: the `on_close` that
    /// follows reports -1 and is the last. `wsc_close` from that `on_close`, or during the
    /// wait, stops it: a last `on_close` follows (1006, application).
    pub reconnect: bool,
    /// The first wait; it doubles after each failed attempt, with up to half taken off at
    /// random (jitter). 0: 500 ms.
    pub reconnect_min_delay_ms: u32,
    /// The longest wait. 0: 30000 ms.
    pub reconnect_max_delay_ms: u32,
    /// Retries in a row before giving up (an open resets the count): with N, a connection
    /// that keeps failing is tried N + 1 times, the first attempt and N retries, and reports
    /// N + 1 `on_close`. 0: never give up.
    pub reconnect_max_attempts: u32,
    // Appended fields: a program built before them gets their defaults.
    /// `wsc_request_writable` is answered with `on_writable` once the unwritten bytes are at
    /// or below this many. 0: a quarter of `send_buffer_limit`.
    pub writable_low_water: usize,
    /// true: messages reach `on_message_part` in parts as they arrive, and `on_message` is not
    /// called. Nothing is gathered, so memory stays at the read buffer's scale whatever the
    /// message size; `max_frame_size` and `max_fragments` still apply, and `max_message_size`
    /// too (`UINT64_MAX`: no limit; for compressed messages it bounds the inflated size).
    pub stream_messages: bool,
    /// true: with `reconnect`, retry a handshake the server refused with a 4xx status too.
    /// By default (false) a 4xx other than 408 (Request Timeout) and 429 (Too Many Requests)
    /// ends the connection: a request the server calls wrong (401, 403, 404, ...) will not
    /// get better by itself, unless `on_reconnect` changes it.
    pub reconnect_on_client_error: bool,
    /// Zero (the initialiser sets it): later versions give these bytes a meaning, and this
    /// library refuses a program that sets them.
    pub reserved: [u8; 6],
    // Sockets: where the connection goes and where it comes from.
    /// Connect to this address instead of the URL's host, which still names the server in the
    /// `Host` header, SNI and certificate verification (curl's `--connect-to`): "HOST[:PORT]"
    /// with a host name or an IP address ("[IPV6]:PORT" with a port), the URL's port when none
    /// is given; or a comma-separated list of IP addresses, each with an optional port, tried
    /// in turn as the addresses of a name are (Happy Eyeballs). NULL: the URL's host. Not used
    /// through a proxy, nor for `ws+unix://`.
    pub connect_to: *const c_char,
    /// Connect from this local IP address, "ADDR", "ADDR:PORT" or "[IPV6]:PORT" (`bind`
    /// before `connect`; port 0 or none: any). Only addresses of its family are tried. NULL:
    /// the system chooses. A wrong address fails the connection through `on_error`.
    pub local_address: *const c_char,
    /// Connect through this network interface, e.g. "eth0" (`SO_BINDTODEVICE`; Linux only,
    /// and it may need CAP_NET_RAW). An interface that does not exist, or another system:
    /// `WSC_ERR_INVALID_ARGUMENT`. NULL: any.
    pub interface: *const c_char,
    // TLS (wss://): client certificate, server name, narrow relaxations, key logging.
    /// A PEM file with the client's certificate chain for mutual TLS, the client's own
    /// certificate first (it may hold the key too). NULL: no client certificate (the
    /// default). Needs a key (`tls_client_key_file` or `tls_client_key_pem`); give the file
    /// or `tls_client_cert_pem`, not both. Read at `wsc_connect`: an unreadable file, no
    /// certificate in it or a key that is not the certificate's is `WSC_ERR_INVALID_ARGUMENT`.
    pub tls_client_cert_file: *const c_char,
    /// The client's certificate chain as PEM in memory (`tls_client_cert_pem_len` bytes),
    /// instead of `tls_client_cert_file`. Copied at `wsc_connect`. NULL/0: none.
    pub tls_client_cert_pem: *const u8,
    pub tls_client_cert_pem_len: usize,
    /// A PEM file with the private key of the client certificate: PKCS#8 ("PRIVATE KEY"),
    /// PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"); RSA, ECDSA P-256/P-384 or
    /// Ed25519; not encrypted. NULL: none (the default).
    pub tls_client_key_file: *const c_char,
    /// The private key as PEM in memory (`tls_client_key_pem_len` bytes), instead of
    /// `tls_client_key_file`. Copied at `wsc_connect`. NULL/0: none.
    pub tls_client_key_pem: *const u8,
    pub tls_client_key_pem_len: usize,
    /// The name sent in SNI and verified in the server's certificate instead of the URL's
    /// host, e.g. to connect by IP address to a server whose certificate names a host. The
    /// Host header stays the URL's. A DNS name or an IP address (an IP address is verified
    /// against the certificate's IP addresses and not sent in SNI). It stays the name after a
    /// redirect to another host. NULL: the URL's host.
    pub tls_server_name: *const c_char,
    /// true: the CA certificates of `tls_ca_file`/`tls_ca_pem` are trusted in addition to the
    /// system's store instead of replacing it. Default false (they replace it).
    pub tls_ca_add_to_system: bool,
    /// true: accept a self-signed server certificate (its own issuer, signed with its own
    /// key), whoever made it: anyone on the path can present one, so this is for test
    /// servers. Its dates and its name are still verified (with `tls_allow_expired` an
    /// expired one passes too). Default false.
    pub tls_allow_self_signed: bool,
    /// true: do not check that the server's certificate names the host (or
    /// `tls_server_name`). The chain is still verified against the trusted certificates, and
    /// its dates. Default false.
    pub tls_skip_hostname_verification: bool,
    /// true: accept certificates past their notAfter date; the chain is verified as of the
    /// moment it was last valid, so the issuer and the name still count (a certificate not
    /// valid yet still fails). Default false.
    pub tls_allow_expired: bool,
    /// true: append the TLS secrets of each connection to the file named by the
    /// `SSLKEYLOGFILE` environment variable (NSS key log format, for Wireshark); nothing is
    /// written when it is unset. A debugging aid: whoever reads the file can decrypt the
    /// recorded sessions. Default false.
    pub tls_key_log: bool,
    /// Zero, like `reserved`: it fills the TLS group to a multiple of 8 bytes, so that the
    /// struct ends without padding.
    pub tls_reserved: [u8; 3],
}

/// The end of a field (of the type given): where a version whose last field it is ends.
macro_rules! end_of {
    ($type:ty, $field:ident: $field_type:ty) => {
        std::mem::offset_of!($type, $field) + std::mem::size_of::<$field_type>()
    };
}

// SAFETY: `#[repr(C)]`, `struct_size: usize` first, and all-zero is valid: numbers, a NULL
// function pointer (`None`) and a NULL pointer.
unsafe impl Extensible for wsc_context_options {
    const NAME: &'static str = "wsc_context_options";
    const INIT: &'static str = "WSC_CONTEXT_OPTIONS_INIT";
    const FIRST_SIZE: usize = end_of!(wsc_context_options, read_buffer_size: usize);
}

// SAFETY: `#[repr(C)]`, `struct_size: usize` first, and all-zero is valid: NULL pointers,
// zero numbers, false.
unsafe impl Extensible for wsc_connect_options {
    const NAME: &'static str = "wsc_connect_options";
    const INIT: &'static str = "WSC_CONNECT_OPTIONS_INIT";
    const FIRST_SIZE: usize = end_of!(wsc_connect_options, reconnect_max_attempts: u32);
}

/// For Rust callers, what `WSC_CONTEXT_OPTIONS_INIT` is in C.
impl Default for wsc_context_options {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>(),
            ..zeroed()
        }
    }
}

/// For Rust callers, what `WSC_CONNECT_OPTIONS_INIT` is in C.
impl Default for wsc_connect_options {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>(),
            ..zeroed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_round_trips_through_its_number() {
        for &r in wsc_result::all() {
            assert_eq!(wsc_result::from_raw(r as i32), Some(r));
            assert!(!r.description().is_empty());
            assert!(r.name().starts_with("WSC_"));
        }
        let numbers: std::collections::HashSet<i32> =
            wsc_result::all().iter().map(|r| *r as i32).collect();
        assert_eq!(numbers.len(), wsc_result::all().len(), "numbers are unique");
        assert_eq!(wsc_result::from_raw(999), None);
        assert_eq!(wsc_result::from_raw(-1), None);
    }
}
