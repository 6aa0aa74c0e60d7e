//! Plain C types: result codes, close information, option structs.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use super::ptr::{array, optional_string, string_arg};
use crate::config::{Options, Reconnect};
use crate::error::{Error, ErrorKind};
use crate::protocol::deflate::DeflateConfig;
use crate::proxy::ProxySetting;
use crate::tls::TlsOptions;
use crate::ClosedBy;

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
    /// Not supported by this build (e.g. wss://).
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
    /// The HTTP proxy refused the tunnel (its status is in the message) or misbehaved.
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

impl wsc_result {
    const ALL: [wsc_result; 30] = {
        use wsc_result::*;
        [
            WSC_OK,
            WSC_ERR_NULL_ARGUMENT,
            WSC_ERR_INVALID_ARGUMENT,
            WSC_ERR_INVALID_URL,
            WSC_ERR_UNSUPPORTED,
            WSC_ERR_NOT_OPEN,
            WSC_ERR_WOULD_BLOCK,
            WSC_ERR_FRAGMENT_STATE,
            WSC_ERR_BUSY,
            WSC_ERR_CONTEXT_CLOSED,
            WSC_ERR_PANIC,
            WSC_ERR_NOT_FOUND,
            WSC_ERR_RESOLVE,
            WSC_ERR_CONNECT_REFUSED,
            WSC_ERR_UNREACHABLE,
            WSC_ERR_CONNECT_TIMEOUT,
            WSC_ERR_IO,
            WSC_ERR_CONNECTION_LOST,
            WSC_ERR_KEEPALIVE_TIMEOUT,
            WSC_ERR_PROXY,
            WSC_ERR_HANDSHAKE_STATUS,
            WSC_ERR_HANDSHAKE_INVALID,
            WSC_ERR_HANDSHAKE_TOO_LARGE,
            WSC_ERR_HANDSHAKE_TIMEOUT,
            WSC_ERR_PROTOCOL,
            WSC_ERR_INVALID_UTF8,
            WSC_ERR_MESSAGE_TOO_BIG,
            WSC_ERR_CLOSE_TIMEOUT,
            WSC_ERR_TLS_CERTIFICATE,
            WSC_ERR_TLS,
        ]
    };

    /// The variant with this number, if any.
    pub(crate) fn from_raw(raw: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as i32 == raw)
    }

    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
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

    pub(crate) fn description(self) -> &'static CStr {
        use wsc_result::*;
        match self {
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

/// Options for `wsc_context_new`. All-zero (or a NULL pointer) means the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wsc_context_options {
    /// Size of the one read buffer the loop shares between its connections.
    /// 0: 262144 (256 KiB: fewer system calls for large messages; one buffer per context).
    /// At least 4096 is used.
    pub read_buffer_size: usize,
}

/// One extra HTTP header for the opening handshake.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_header {
    /// A token (letters, digits and !#$%&'*+-.^_`|~), e.g. "Authorization".
    pub name: *const c_char,
    /// No CR, LF or other control characters.
    pub value: *const c_char,
}

/// One permessage-deflate offer (RFC 7692 §7.1). All-zero is the default offer,
/// "permessage-deflate; client_max_window_bits".
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

/// Options for `wsc_connect`. All-zero (or a NULL pointer) means the defaults, given with each
/// field. Everything is copied during `wsc_connect`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_connect_options {
    /// Value of the Origin header; NULL: none is sent.
    pub origin: *const c_char,
    /// Subprotocols to offer, in order of preference (Sec-WebSocket-Protocol).
    pub subprotocols: *const *const c_char,
    pub subprotocol_count: usize,
    /// Extra request headers (e.g. Authorization).
    pub headers: *const wsc_header,
    pub header_count: usize,
    /// Name resolution plus TCP connect. 0: 10000 ms.
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
    /// Send a ping this often while open, to detect a dead peer or half-open TCP connection.
    /// 0: never (the default).
    pub keepalive_interval_ms: u32,
    /// After a keepalive ping, how long the server has to show it is alive (a pong or any
    /// other frame); then the connection fails with `WSC_ERR_KEEPALIVE_TIMEOUT` (1006).
    /// 0: 10000 ms.
    pub keepalive_timeout_ms: u32,
    /// An HTTP proxy to tunnel through with CONNECT, e.g. "http://user:password@proxy:3128"
    /// (port 1080 when none is given; credentials go in Proxy-Authorization: Basic).
    /// NULL: `http_proxy` for ws:// and `https_proxy` for wss:// (or their upper-case forms)
    /// from the environment, unless the host matches `no_proxy`.
    pub proxy_url: *const c_char,
    /// true: connect directly, whatever the environment says.
    pub proxy_disable: bool,
    /// HTTP redirects (301, 302, 303, 307, 308 with Location) to follow during the handshake;
    /// 0: none (the default: a redirect is a `WSC_ERR_HANDSHAKE_STATUS` failure). Authorization
    /// and Cookie headers are dropped when a redirect changes host or goes from wss to ws.
    pub max_redirects: u32,
    /// true: when the connection drops or cannot be made, or the server closes it with a code
    /// other than 1000 (e.g. 1001 going away, 1012 restarting), try again after a backoff;
    /// never after `wsc_close` or a server's 1000. Each drop still reports `on_error`/`on_close`; inside them
    /// `wsc_connection_retry_in_ms` says when the next attempt comes, and `on_open` follows a
    /// success. `wsc_close` during the wait stops it (a last `on_close`: 1006, application).
    pub reconnect: bool,
    /// The first wait; it doubles after each failed attempt, with up to half taken off at
    /// random (jitter). 0: 500 ms.
    pub reconnect_min_delay_ms: u32,
    /// The longest wait. 0: 30000 ms.
    pub reconnect_max_delay_ms: u32,
    /// Failed attempts in a row before giving up (an open resets the count). 0: never give up.
    pub reconnect_max_attempts: u32,
    /// DANGER: accept any server certificate for any name. Only for test servers with
    /// self-signed certificates: the connection is encrypted but anyone can impersonate the
    /// server.
    pub tls_insecure_skip_verification: bool,
    /// true: `wsc_send_text` and `wsc_send_text_nocopy` do not check that the text is UTF-8
    /// (a check that costs about as much as receiving it). For text known to be valid, e.g.
    /// from a JSON encoder: invalid text makes the server fail the connection (1007).
    pub trust_outgoing_text: bool,
}

fn or_default<T: PartialEq + Default>(value: T, default: T) -> T {
    if value == T::default() {
        default
    } else {
        value
    }
}

fn millis(ms: u32, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(ms.into())
    }
}

impl wsc_connect_options {
    /// Copies the options into their Rust form.
    ///
    /// # Safety
    /// Every pointer is NULL or valid, as documented on the fields.
    pub(crate) unsafe fn to_options(self) -> Result<Options, Error> {
        let d = Options::default();
        let subprotocols =
            unsafe { array(self.subprotocols, self.subprotocol_count, "subprotocols") }?
                .iter()
                .map(|&p| unsafe { string_arg(p, "a subprotocol") }.map(str::to_string))
                .collect::<Result<_, _>>()?;
        let headers = unsafe { array(self.headers, self.header_count, "headers") }?
            .iter()
            .map(|h| {
                let name = unsafe { string_arg(h.name, "a header name") }?;
                let value = unsafe { string_arg(h.value, "a header value") }?;
                Ok((name.to_string(), value.to_string()))
            })
            .collect::<Result<_, Error>>()?;
        let mut receive = d.receive_limits;
        receive.max_frame_size = or_default(self.max_frame_size, receive.max_frame_size);
        receive.max_message_size = or_default(self.max_message_size, receive.max_message_size);
        receive.max_fragments = or_default(self.max_fragments, receive.max_fragments);
        let mut handshake = d.handshake_limits;
        handshake.max_bytes = or_default(self.max_handshake_size, handshake.max_bytes);
        handshake.max_headers =
            or_default(self.max_handshake_headers as usize, handshake.max_headers);
        if handshake.max_headers > 1024 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "max_handshake_headers is over 1024",
            ));
        }
        let mut tls = TlsOptions {
            ca_pem: None,
            insecure_skip_verification: self.tls_insecure_skip_verification,
        };
        if let Some(path) = unsafe { optional_string(self.tls_ca_file, "tls_ca_file") }? {
            let pem = std::fs::read(&path).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("cannot read CA file {path}: {e}"),
                )
            })?;
            tls.ca_pem = Some(pem);
        }
        if !self.tls_ca_pem.is_null() || self.tls_ca_pem_len > 0 {
            let pem = unsafe { super::ptr::bytes(self.tls_ca_pem, self.tls_ca_pem_len) }?;
            tls.ca_pem
                .get_or_insert_with(Vec::new)
                .extend_from_slice(pem);
        }
        let level = or_default(self.deflate_level.into(), DeflateConfig::default().level);
        let offers = unsafe {
            array(
                self.deflate_offers,
                self.deflate_offer_count,
                "deflate_offers",
            )
        }?;
        let deflate = match (self.deflate_disable, offers) {
            (true, _) => Vec::new(),
            (false, []) => vec![DeflateConfig {
                level,
                ..DeflateConfig::default()
            }],
            (false, offers) => offers
                .iter()
                .map(|o| DeflateConfig {
                    client_no_context_takeover: o.client_no_context_takeover,
                    server_no_context_takeover: o.server_no_context_takeover,
                    client_max_window_bits: (o.client_max_window_bits != 0)
                        .then_some(o.client_max_window_bits),
                    server_max_window_bits: (o.server_max_window_bits != 0)
                        .then_some(o.server_max_window_bits),
                    level,
                })
                .collect(),
        };
        let proxy = match (self.proxy_disable, unsafe {
            optional_string(self.proxy_url, "proxy_url")
        }?) {
            (true, _) => ProxySetting::Direct,
            (false, Some(url)) => ProxySetting::Url(url),
            (false, None) => ProxySetting::FromEnvironment,
        };
        let defaults = Reconnect::default();
        let reconnect = self.reconnect.then(|| Reconnect {
            min_delay: millis(self.reconnect_min_delay_ms, defaults.min_delay),
            max_delay: millis(self.reconnect_max_delay_ms, defaults.max_delay),
            max_attempts: self.reconnect_max_attempts,
        });
        Ok(Options {
            max_redirects: self.max_redirects,
            trust_outgoing_text: self.trust_outgoing_text,
            reconnect,
            proxy,
            tls,
            keepalive_interval: (self.keepalive_interval_ms > 0)
                .then(|| Duration::from_millis(self.keepalive_interval_ms.into())),
            keepalive_timeout: millis(self.keepalive_timeout_ms, d.keepalive_timeout),
            origin: unsafe { optional_string(self.origin, "origin") }?,
            subprotocols,
            headers,
            connect_timeout: millis(self.connect_timeout_ms, d.connect_timeout),
            handshake_timeout: millis(self.handshake_timeout_ms, d.handshake_timeout),
            close_timeout: millis(self.close_timeout_ms, d.close_timeout),
            receive_limits: receive,
            handshake_limits: handshake,
            send_buffer_limit: or_default(self.send_buffer_limit, d.send_buffer_limit),
            deflate,
            ..Options::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_round_trips_through_its_number() {
        for r in wsc_result::ALL {
            assert_eq!(wsc_result::from_raw(r as i32), Some(r));
            assert!(!r.description().is_empty());
        }
        let numbers: std::collections::HashSet<i32> =
            wsc_result::ALL.iter().map(|r| *r as i32).collect();
        assert_eq!(numbers.len(), wsc_result::ALL.len(), "numbers are unique");
        assert_eq!(wsc_result::from_raw(999), None);
        assert_eq!(wsc_result::from_raw(-1), None);
    }
}
