//! Client side of the WebSocket opening handshake (RFC 6455 §4.1).
//!
//! This module is sans-IO: [`write_request`] serializes the HTTP upgrade
//! request into a buffer and [`parse_response`] validates whatever bytes have
//! been received so far. Sockets, timeouts and retries belong to the caller.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::Rng as _;
use sha1::{Digest, Sha1};

use super::http::{is_field_value, is_token, split_list, trim_ows, HeaderBlock};

/// The GUID appended to the key when computing `Sec-WebSocket-Accept` (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Longest server-supplied text echoed back inside an error message.
const MAX_ECHO: usize = 64;

/// Returns a fresh `Sec-WebSocket-Key`: the base64 encoding of 16 random bytes.
pub fn generate_key() -> String {
    // §4.1: "The value of this header field MUST be a nonce consisting of a
    // randomly selected 16-byte value that has been base64-encoded".
    let mut nonce = [0u8; 16];
    rand::rng().fill(&mut nonce);
    BASE64.encode(nonce)
}

/// Returns the `Sec-WebSocket-Accept` value a server must send for `key`:
/// base64(SHA-1(key + [`GUID`])).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// What goes into the opening handshake request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// Host name or IP address. IPv6 literals come without brackets; they are
    /// added when the `Host` header is written.
    pub host: &'a str,
    /// TCP port; appended to `Host` only when it differs from the scheme default.
    pub port: u16,
    /// `wss` (default port 443) rather than `ws` (default port 80).
    pub secure: bool,
    /// Path plus optional `?query`, e.g. `/chat?x=1`. Empty means `/`.
    pub resource: &'a str,
    /// Value of the `Origin` header, if any.
    pub origin: Option<&'a str>,
    /// Subprotocols to offer, in order of preference.
    pub subprotocols: &'a [&'a str],
    /// Full `Sec-WebSocket-Extensions` offer, e.g.
    /// `permessage-deflate; client_max_window_bits`.
    pub extensions: Option<&'a str>,
    /// Extra headers as `(name, value)` pairs, written after the handshake headers.
    pub headers: &'a [(&'a str, &'a str)],
}

/// Reasons [`write_request`] refuses to build a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// A header name that is not an RFC 7230 token.
    InvalidHeaderName(String),
    /// A header value (or the host) containing CR, LF, NUL or another control
    /// character; carries the header name.
    InvalidHeaderValue(String),
    /// An extra header that the handshake already sets; carries the header name.
    ReservedHeader(String),
    /// A subprotocol that is not a token.
    InvalidSubprotocol(String),
    /// A subprotocol offered more than once.
    DuplicateSubprotocol(String),
    /// A resource that does not start with `/` or contains characters not
    /// allowed in a request target.
    InvalidResource(String),
    /// A `Sec-WebSocket-Key` that is not the base64 encoding of 16 bytes.
    InvalidKey,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeaderName(name) => {
                write!(f, "header name {name:?} is not a valid HTTP token")
            }
            Self::InvalidHeaderValue(name) => write!(
                f,
                "value of header {name:?} contains a control character (CR, LF, NUL, ...)"
            ),
            Self::ReservedHeader(name) => write!(
                f,
                "header {name:?} is set by the WebSocket handshake and cannot be added"
            ),
            Self::InvalidSubprotocol(p) => write!(f, "subprotocol {p:?} is not a valid token"),
            Self::DuplicateSubprotocol(p) => {
                write!(f, "subprotocol {p:?} is offered more than once")
            }
            Self::InvalidResource(r) => write!(
                f,
                "resource {r:?} must start with '/' and contain only visible ASCII characters \
                 (no spaces, control characters or '#')"
            ),
            Self::InvalidKey => {
                f.write_str("Sec-WebSocket-Key must be the base64 encoding of 16 bytes")
            }
        }
    }
}

impl std::error::Error for RequestError {}

fn check_value(name: &str, value: &str) -> Result<(), RequestError> {
    if is_field_value(value) {
        Ok(())
    } else {
        Err(RequestError::InvalidHeaderValue(name.to_owned()))
    }
}

fn validate(req: &Request, key: &str) -> Result<(), RequestError> {
    // §4.1: "The request MUST include a header field with the name
    // |Sec-WebSocket-Key|. The value of this header field MUST be a nonce
    // consisting of a randomly selected 16-byte value that has been base64-encoded".
    if !matches!(BASE64.decode(key), Ok(nonce) if nonce.len() == 16) {
        return Err(RequestError::InvalidKey);
    }
    // §3: "Fragment identifiers are meaningless in the context of WebSocket
    // URIs and MUST NOT be used on these URIs."
    let resource_ok = req.resource.is_empty()
        || (req.resource.starts_with('/')
            && req
                .resource
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'#'));
    if !resource_ok {
        return Err(RequestError::InvalidResource(req.resource.to_owned()));
    }
    check_value("Host", req.host)?;
    if let Some(origin) = req.origin {
        check_value("Origin", origin)?;
    }
    if let Some(extensions) = req.extensions {
        check_value("Sec-WebSocket-Extensions", extensions)?;
    }
    // §4.1: "The elements that comprise this value MUST be non-empty strings
    // with characters in the range U+0021 to U+007E not including separator
    // characters as defined in [RFC2616] and MUST all be unique strings."
    for (i, protocol) in req.subprotocols.iter().enumerate() {
        if !is_token(protocol) {
            return Err(RequestError::InvalidSubprotocol((*protocol).to_owned()));
        }
        if req.subprotocols[..i].contains(protocol) {
            return Err(RequestError::DuplicateSubprotocol((*protocol).to_owned()));
        }
    }
    for &(name, value) in req.headers {
        if !is_token(name) {
            return Err(RequestError::InvalidHeaderName(name.to_owned()));
        }
        let reserved = [
            "Host",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Version",
        ]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
            || (req.origin.is_some() && name.eq_ignore_ascii_case("Origin"))
            || (!req.subprotocols.is_empty()
                && name.eq_ignore_ascii_case("Sec-WebSocket-Protocol"))
            || (req.extensions.is_some() && name.eq_ignore_ascii_case("Sec-WebSocket-Extensions"));
        if reserved {
            return Err(RequestError::ReservedHeader(name.to_owned()));
        }
        check_value(name, value)?;
    }
    Ok(())
}

fn put_header(out: &mut Vec<u8>, name: &str, value: &str) {
    for part in [name, ": ", value, "\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
}

/// Appends the opening handshake request to `out`.
///
/// Writes `GET <resource> HTTP/1.1` followed by `Host`, `Upgrade: websocket`,
/// `Connection: Upgrade`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`,
/// then `Origin`, `Sec-WebSocket-Protocol` (comma-separated) and
/// `Sec-WebSocket-Extensions` when given, then the extra headers, all with
/// CRLF line ends. `key` is normally the output of [`generate_key`] and must
/// be the base64 encoding of 16 bytes.
///
/// Fails on a header name that is not a token, a value containing control
/// characters, an invalid or repeated subprotocol, an extra header that
/// duplicates one written here (case-insensitive), or a resource that is not
/// a valid request target. Nothing is appended when an error is returned.
pub fn write_request(req: &Request, key: &str, out: &mut Vec<u8>) -> Result<(), RequestError> {
    validate(req, key)?;

    // §4.1: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
    let resource = if req.resource.is_empty() {
        "/"
    } else {
        req.resource
    };
    for part in ["GET ", resource, " HTTP/1.1\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }

    // §4.1: "The request MUST contain a |Host| header field whose value
    // contains /host/ plus optionally ":" followed by /port/ (when not using
    // the default port)."
    let default_port = if req.secure { 443 } else { 80 };
    let mut host = if req.host.contains(':') && !req.host.starts_with('[') {
        format!("[{}]", req.host)
    } else {
        req.host.to_owned()
    };
    if req.port != default_port {
        host = format!("{host}:{}", req.port);
    }
    put_header(out, "Host", &host);
    // §4.1: "The request MUST contain an |Upgrade| header field whose value
    // MUST include the "websocket" keyword."
    put_header(out, "Upgrade", "websocket");
    // §4.1: "The request MUST contain a |Connection| header field whose value
    // MUST include the "Upgrade" token."
    put_header(out, "Connection", "Upgrade");
    put_header(out, "Sec-WebSocket-Key", key);
    // §4.1: "The request MUST include a header field with the name
    // |Sec-WebSocket-Version|. The value of this header field MUST be 13."
    put_header(out, "Sec-WebSocket-Version", "13");
    if let Some(origin) = req.origin {
        put_header(out, "Origin", origin);
    }
    if !req.subprotocols.is_empty() {
        put_header(out, "Sec-WebSocket-Protocol", &req.subprotocols.join(", "));
    }
    if let Some(extensions) = req.extensions {
        put_header(out, "Sec-WebSocket-Extensions", extensions);
    }
    for &(name, value) in req.headers {
        put_header(out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Bounds applied to the server's response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted header block, status line included (default 16 KiB).
    pub max_bytes: usize,
    /// Largest accepted number of header fields (default 64).
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// What the client offered, needed to validate the response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expectation<'a> {
    /// The `Sec-WebSocket-Key` that was sent.
    pub key: &'a str,
    /// The subprotocols that were offered.
    pub subprotocols: &'a [&'a str],
    /// Names of the extensions that were offered, e.g. `["permessage-deflate"]`.
    pub extension_names: &'a [&'a str],
}

/// A validated `101 Switching Protocols` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (always 101 once validated).
    pub status: u16,
    /// Reason phrase as sent by the server.
    pub reason: String,
    /// The status line and all header fields as received.
    pub headers: HeaderBlock,
    /// The subprotocol the server selected, if any.
    pub subprotocol: Option<String>,
    /// Each `Sec-WebSocket-Extensions` header value as received (trimmed),
    /// for the extension negotiation to interpret.
    pub extensions: Vec<String>,
}

impl Response {
    /// Value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }
}

/// Progress of [`parse_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseStatus {
    /// The header block has not ended yet; call again with more bytes.
    Incomplete,
    /// The handshake succeeded. `consumed` is the length of the header block;
    /// any bytes after it are WebSocket frames.
    Complete {
        /// The validated response.
        response: Response,
        /// Number of bytes of the buffer taken by the response header.
        consumed: usize,
    },
}

/// Reasons the server's handshake response is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The response header exceeds [`Limits::max_bytes`].
    TooLarge,
    /// The response has more than [`Limits::max_headers`] header fields.
    TooManyHeaders,
    /// The response is not valid HTTP/1.x.
    Malformed(String),
    /// The server answered with a status other than 101.
    Status {
        /// Status code sent by the server.
        code: u16,
        /// Reason phrase sent by the server (may be empty).
        reason: String,
        /// The header fields, when the header block was complete and well-formed (a redirect's
        /// `Location`, a 401's `WWW-Authenticate`); empty otherwise.
        headers: HeaderBlock,
    },
    /// `Upgrade` is missing (`None`) or not `websocket`.
    Upgrade(Option<String>),
    /// `Connection` is missing (`None`) or lacks the `Upgrade` token.
    Connection(Option<String>),
    /// `Sec-WebSocket-Accept` is missing.
    MissingAccept,
    /// `Sec-WebSocket-Accept` appears more than once.
    DuplicateAccept,
    /// `Sec-WebSocket-Accept` does not match the key.
    AcceptMismatch,
    /// The server selected a subprotocol that was not offered.
    UnexpectedSubprotocol(String),
    /// `Sec-WebSocket-Protocol` appears more than once.
    DuplicateSubprotocol,
    /// The server accepted an extension that was not offered.
    UnexpectedExtension(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => f.write_str("handshake response header exceeds the size limit"),
            Self::TooManyHeaders => {
                f.write_str("handshake response has more header fields than allowed")
            }
            Self::Malformed(what) => write!(f, "malformed handshake response: {what}"),
            Self::Status { code, reason, .. } if reason.is_empty() => {
                write!(f, "server answered {code}, not 101 Switching Protocols")
            }
            Self::Status { code, reason, .. } => {
                write!(
                    f,
                    "server answered {code} {reason}, not 101 Switching Protocols"
                )
            }
            Self::Upgrade(None) => f.write_str("handshake response lacks an Upgrade header"),
            Self::Upgrade(Some(v)) => write!(f, "Upgrade header is {v:?}, not \"websocket\""),
            Self::Connection(None) => f.write_str("handshake response lacks a Connection header"),
            Self::Connection(Some(v)) => {
                write!(f, "Connection header {v:?} lacks the \"Upgrade\" token")
            }
            Self::MissingAccept => f.write_str("handshake response lacks Sec-WebSocket-Accept"),
            Self::DuplicateAccept => f.write_str("Sec-WebSocket-Accept appears more than once"),
            Self::AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match the key"),
            Self::UnexpectedSubprotocol(p) => {
                write!(
                    f,
                    "server selected subprotocol {p:?}, which was not offered"
                )
            }
            Self::DuplicateSubprotocol => {
                f.write_str("Sec-WebSocket-Protocol appears more than once")
            }
            Self::UnexpectedExtension(e) => {
                write!(f, "server accepted extension {e:?}, which was not offered")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Server-supplied bytes made safe to embed in an error message.
fn echo(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    match text.char_indices().nth(MAX_ECHO) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.into_owned(),
    }
}

/// Parses and validates the server's handshake response.
///
/// `buf` holds everything received so far. Returns
/// [`ParseStatus::Incomplete`] until the header block is terminated by an
/// empty line; the bytes after it (reported through `consumed`) are
/// WebSocket frames and belong to the caller. A non-101 status is reported as
/// [`HandshakeError::Status`] even when the rest of the header is unusable.
pub fn parse_response(
    buf: &[u8],
    expect: &Expectation,
    limits: &Limits,
) -> Result<ParseStatus, HandshakeError> {
    // Every header line takes at least three bytes, so more slots than this
    // could never be filled within `max_bytes`.
    let slots = limits.max_headers.min(limits.max_bytes / 3 + 1);
    let mut headers = vec![httparse::EMPTY_HEADER; slots];
    let mut parsed = httparse::Response::new(&mut headers);
    let window = &buf[..buf.len().min(limits.max_bytes)];
    let result = parsed.parse(window);

    // §4.1: "If the status code received from the server is not 101, the
    // client handles the response per HTTP [RFC2616] procedures."
    let refused = match (parsed.code, parsed.reason) {
        (Some(code), Some(reason)) if code != 101 => Some((code, reason.to_owned())),
        _ => None,
    };
    let status_error = refused
        .clone()
        .map(|(code, reason)| HandshakeError::Status {
            code,
            reason,
            headers: HeaderBlock::default(),
        });
    let consumed = match result {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() <= limits.max_bytes => {
            return Ok(ParseStatus::Incomplete)
        }
        Ok(httparse::Status::Partial) => {
            return Err(status_error.unwrap_or(HandshakeError::TooLarge))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(status_error.unwrap_or(HandshakeError::TooManyHeaders))
        }
        Err(e) => {
            return Err(status_error.unwrap_or_else(|| HandshakeError::Malformed(e.to_string())))
        }
    };
    if let Some((code, reason)) = refused {
        let headers = HeaderBlock::new(&window[..consumed], parsed.headers);
        return Err(HandshakeError::Status {
            code,
            reason,
            headers,
        });
    }
    let status = parsed.code.unwrap_or_default();
    let reason = parsed.reason.unwrap_or_default().to_owned();
    let fields = &*parsed.headers;
    let values = |name: &'static str| {
        fields
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| trim_ows(h.value))
    };

    // §4.1: "If the response lacks an |Upgrade| header field or the |Upgrade|
    // header field contains a value that is not an ASCII case-insensitive
    // match for the value "websocket", the client MUST _Fail the WebSocket
    // Connection_."
    let mut upgrade = values("Upgrade");
    match (upgrade.next(), upgrade.next()) {
        (Some(v), None) if v.eq_ignore_ascii_case(b"websocket") => {}
        (None, _) => return Err(HandshakeError::Upgrade(None)),
        (Some(v), _) => return Err(HandshakeError::Upgrade(Some(echo(v)))),
    }

    // §4.1: "If the response lacks a |Connection| header field or the
    // |Connection| header field doesn't contain a token that is an ASCII
    // case-insensitive match for the value "Upgrade", the client MUST _Fail
    // the WebSocket Connection_."
    let has_upgrade = values("Connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|token| trim_ows(token).eq_ignore_ascii_case(b"Upgrade"));
    if !has_upgrade {
        return Err(HandshakeError::Connection(
            values("Connection").next().map(echo),
        ));
    }

    // §4.1: "If the response lacks a |Sec-WebSocket-Accept| header field or the
    // |Sec-WebSocket-Accept| contains a value other than the base64-encoded
    // SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not
    // base64-decoded) with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    // but ignoring any leading and trailing whitespace, the client MUST _Fail
    // the WebSocket Connection_."
    // §11.3.3: "The |Sec-WebSocket-Accept| header field MUST NOT appear more
    // than once in an HTTP response."
    let mut accept = values("Sec-WebSocket-Accept");
    match (accept.next(), accept.next()) {
        (None, _) => return Err(HandshakeError::MissingAccept),
        (Some(_), Some(_)) => return Err(HandshakeError::DuplicateAccept),
        (Some(v), None) if v != accept_key(expect.key).as_bytes() => {
            return Err(HandshakeError::AcceptMismatch)
        }
        (Some(_), None) => {}
    }

    // §4.1: "If the response includes a |Sec-WebSocket-Extensions| header
    // field and this header field indicates the use of an extension that was
    // not present in the client's handshake (the server has indicated an
    // extension not requested by the client), the client MUST _Fail the
    // WebSocket Connection_."
    let mut extensions = Vec::new();
    for value in values("Sec-WebSocket-Extensions") {
        let value = std::str::from_utf8(value).map_err(|_| {
            HandshakeError::Malformed("Sec-WebSocket-Extensions is not valid text".into())
        })?;
        for item in split_list(value).into_iter().filter(|i| !i.is_empty()) {
            let name = item.split(';').next().unwrap_or_default().trim();
            if !expect.extension_names.contains(&name) {
                return Err(HandshakeError::UnexpectedExtension(echo(name.as_bytes())));
            }
        }
        extensions.push(value.to_owned());
    }

    // §4.1: "If the response includes a |Sec-WebSocket-Protocol| header field
    // and this header field indicates the use of a subprotocol that was not
    // present in the client's handshake (the server has indicated a
    // subprotocol not requested by the client), the client MUST _Fail the
    // WebSocket Connection_."
    // §11.3.4: "The |Sec-WebSocket-Protocol| header field MUST NOT appear more
    // than once in an HTTP response."
    let mut protocol = values("Sec-WebSocket-Protocol");
    let subprotocol = match (protocol.next(), protocol.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => return Err(HandshakeError::DuplicateSubprotocol),
        (Some(v), None) => match expect.subprotocols.iter().find(|p| p.as_bytes() == v) {
            Some(p) => Some((*p).to_owned()),
            None => return Err(HandshakeError::UnexpectedSubprotocol(echo(v))),
        },
    };

    let headers = HeaderBlock::new(&window[..consumed], fields);
    Ok(ParseStatus::Complete {
        response: Response {
            status,
            reason,
            headers,
            subprotocol,
            extensions,
        },
        consumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    fn request(req: &Request) -> Result<String, RequestError> {
        let mut out = Vec::new();
        write_request(req, KEY, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn host_line(host: &str, port: u16, secure: bool) -> String {
        let req = Request {
            host,
            port,
            secure,
            ..Request::default()
        };
        let text = request(&req).unwrap();
        text.lines().nth(1).unwrap().to_owned()
    }

    const OFFER: Expectation<'static> = Expectation {
        key: KEY,
        subprotocols: &["chat", "superchat"],
        extension_names: &["permessage-deflate"],
    };

    /// A 101 response with the required headers plus `extra` header lines.
    fn ok_response(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
        )
    }

    fn parse(text: &str) -> Result<ParseStatus, HandshakeError> {
        parse_response(text.as_bytes(), &OFFER, &Limits::default())
    }

    fn parse_ok(text: &str) -> Response {
        match parse(text) {
            Ok(ParseStatus::Complete { response, consumed }) => {
                assert_eq!(consumed, text.len());
                response
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn accept_key_matches_rfc_example() {
        assert_eq!(accept_key(KEY), ACCEPT);
    }

    #[test]
    fn generated_keys_are_random_16_byte_nonces() {
        let (a, b) = (generate_key(), generate_key());
        assert_eq!(BASE64.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn writes_typical_request() {
        let req = Request {
            host: "example.com",
            port: 80,
            secure: false,
            resource: "/chat?x=1",
            origin: Some("http://example.com"),
            subprotocols: &["chat", "superchat"],
            extensions: Some("permessage-deflate; client_max_window_bits"),
            headers: &[("User-Agent", "wsc/0.1")],
        };
        let mut out = b"kept".to_vec();
        write_request(&req, KEY, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "keptGET /chat?x=1 HTTP/1.1\r\n\
             Host: example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             User-Agent: wsc/0.1\r\n\
             \r\n"
        );
    }

    #[test]
    fn writes_minimal_request() {
        let req = Request {
            host: "h",
            port: 443,
            secure: true,
            ..Request::default()
        };
        assert_eq!(
            request(&req).unwrap(),
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
    }

    #[test]
    fn host_carries_port_only_when_not_default() {
        assert_eq!(host_line("a.b", 80, false), "Host: a.b");
        assert_eq!(host_line("a.b", 8080, false), "Host: a.b:8080");
        assert_eq!(host_line("a.b", 443, false), "Host: a.b:443");
        assert_eq!(host_line("a.b", 443, true), "Host: a.b");
        assert_eq!(host_line("a.b", 80, true), "Host: a.b:80");
        assert_eq!(host_line("::1", 80, false), "Host: [::1]");
        assert_eq!(host_line("fe80::1", 9001, true), "Host: [fe80::1]:9001");
        assert_eq!(host_line("10.0.0.1", 81, false), "Host: 10.0.0.1:81");
    }

    #[test]
    fn rejects_bad_requests() {
        use RequestError::*;
        let base = Request {
            host: "h",
            port: 80,
            resource: "/",
            ..Request::default()
        };
        let cases: Vec<(Request, RequestError)> = vec![
            (
                Request {
                    headers: &[("Bad Name", "v")],
                    ..base
                },
                InvalidHeaderName("Bad Name".into()),
            ),
            (
                Request {
                    headers: &[("", "v")],
                    ..base
                },
                InvalidHeaderName("".into()),
            ),
            (
                Request {
                    headers: &[("X:Y", "v")],
                    ..base
                },
                InvalidHeaderName("X:Y".into()),
            ),
            (
                Request {
                    headers: &[("X", "a\r\nEvil: 1")],
                    ..base
                },
                InvalidHeaderValue("X".into()),
            ),
            (
                Request {
                    headers: &[("X", "a\nb")],
                    ..base
                },
                InvalidHeaderValue("X".into()),
            ),
            (
                Request {
                    headers: &[("X", "a\0b")],
                    ..base
                },
                InvalidHeaderValue("X".into()),
            ),
            (
                Request {
                    origin: Some("o\r\n"),
                    ..base
                },
                InvalidHeaderValue("Origin".into()),
            ),
            (
                Request {
                    extensions: Some("x\n"),
                    ..base
                },
                InvalidHeaderValue("Sec-WebSocket-Extensions".into()),
            ),
            (
                Request {
                    host: "h\r\nX: y",
                    ..base
                },
                InvalidHeaderValue("Host".into()),
            ),
            (
                Request {
                    subprotocols: &["a b"],
                    ..base
                },
                InvalidSubprotocol("a b".into()),
            ),
            (
                Request {
                    subprotocols: &["a,b"],
                    ..base
                },
                InvalidSubprotocol("a,b".into()),
            ),
            (
                Request {
                    subprotocols: &[""],
                    ..base
                },
                InvalidSubprotocol("".into()),
            ),
            (
                Request {
                    subprotocols: &["a", "b", "a"],
                    ..base
                },
                DuplicateSubprotocol("a".into()),
            ),
            (
                Request {
                    headers: &[("host", "x")],
                    ..base
                },
                ReservedHeader("host".into()),
            ),
            (
                Request {
                    headers: &[("UPGRADE", "x")],
                    ..base
                },
                ReservedHeader("UPGRADE".into()),
            ),
            (
                Request {
                    headers: &[("connection", "x")],
                    ..base
                },
                ReservedHeader("connection".into()),
            ),
            (
                Request {
                    headers: &[("sec-websocket-key", "x")],
                    ..base
                },
                ReservedHeader("sec-websocket-key".into()),
            ),
            (
                Request {
                    headers: &[("Sec-WebSocket-Version", "8")],
                    ..base
                },
                ReservedHeader("Sec-WebSocket-Version".into()),
            ),
            (
                Request {
                    subprotocols: &["chat"],
                    headers: &[("sec-websocket-protocol", "x")],
                    ..base
                },
                ReservedHeader("sec-websocket-protocol".into()),
            ),
            (
                Request {
                    extensions: Some("e"),
                    headers: &[("Sec-WebSocket-Extensions", "x")],
                    ..base
                },
                ReservedHeader("Sec-WebSocket-Extensions".into()),
            ),
            (
                Request {
                    origin: Some("o"),
                    headers: &[("origin", "x")],
                    ..base
                },
                ReservedHeader("origin".into()),
            ),
            (
                Request {
                    resource: "chat",
                    ..base
                },
                InvalidResource("chat".into()),
            ),
            (
                Request {
                    resource: "/a b",
                    ..base
                },
                InvalidResource("/a b".into()),
            ),
            (
                Request {
                    resource: "/a\r\nX: y",
                    ..base
                },
                InvalidResource("/a\r\nX: y".into()),
            ),
            (
                Request {
                    resource: "/a#frag",
                    ..base
                },
                InvalidResource("/a#frag".into()),
            ),
        ];
        for (req, expected) in cases {
            let mut out = Vec::new();
            assert_eq!(write_request(&req, KEY, &mut out), Err(expected), "{req:?}");
            assert!(out.is_empty(), "output written for {req:?}");
        }
        let mut out = Vec::new();
        assert_eq!(write_request(&base, "short", &mut out), Err(InvalidKey));

        // Headers the library does not set are free to add.
        let free = Request {
            headers: &[
                ("Sec-WebSocket-Protocol", "p"),
                ("Origin", "o"),
                ("Cookie", "a=b"),
            ],
            ..base
        };
        assert!(request(&free).is_ok());
    }

    #[test]
    fn request_errors_name_the_bad_item() {
        let msg = RequestError::InvalidHeaderName("Bad Name".into()).to_string();
        assert!(msg.contains("\"Bad Name\""), "{msg}");
        let msg = RequestError::ReservedHeader("host".into()).to_string();
        assert!(msg.contains("\"host\""), "{msg}");
        let msg = RequestError::InvalidResource("/a\r\n".into()).to_string();
        assert!(msg.contains(r#""/a\r\n""#), "{msg}");
    }

    #[test]
    fn parses_valid_response() {
        let text = ok_response("Sec-WebSocket-Protocol: superchat\r\nServer: test\r\n");
        let response = parse_ok(&text);
        assert_eq!(response.status, 101);
        assert_eq!(response.reason, "Switching Protocols");
        assert_eq!(response.subprotocol.as_deref(), Some("superchat"));
        assert!(response.extensions.is_empty());
        assert_eq!(response.headers.len(), 5);
        assert_eq!(
            response.headers.iter().nth(4),
            Some((&b"Server"[..], &b"test"[..]))
        );
        assert_eq!(response.header("server"), Some(&b"test"[..]));
        assert_eq!(
            response.header("SEC-WEBSOCKET-ACCEPT"),
            Some(ACCEPT.as_bytes())
        );
        assert_eq!(response.header("missing"), None);
    }

    #[test]
    fn parses_response_fed_byte_by_byte() {
        let header = ok_response("");
        let mut stream = header.clone().into_bytes();
        stream.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
        for end in 0..header.len() {
            assert_eq!(
                parse_response(&stream[..end], &OFFER, &Limits::default()),
                Ok(ParseStatus::Incomplete),
                "at {end}"
            );
        }
        for end in header.len()..=stream.len() {
            match parse_response(&stream[..end], &OFFER, &Limits::default()) {
                Ok(ParseStatus::Complete { consumed, .. }) => assert_eq!(consumed, header.len()),
                other => panic!("unexpected {other:?} at {end}"),
            }
        }
    }

    #[test]
    fn accepts_lowercase_names_and_case_insensitive_values() {
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: upgrade\r\n\
             sec-websocket-accept:  {ACCEPT} \r\nsec-websocket-protocol: chat\r\n\
             sec-websocket-extensions: permessage-deflate\r\n\r\n"
        );
        let response = parse_ok(&text);
        assert_eq!(response.subprotocol.as_deref(), Some("chat"));
        assert_eq!(response.extensions, ["permessage-deflate"]);
        assert_eq!(response.header("Upgrade"), Some(&b"WebSocket"[..]));
    }

    #[test]
    fn connection_token_list() {
        let accepted = [
            "Connection: Upgrade\r\n",
            "Connection: upgrade\r\n",
            "Connection: keep-alive, Upgrade\r\n",
            "Connection: Upgrade,keep-alive\r\n",
            "Connection: keep-alive ,  UPGRADE  , close\r\n",
            "Connection: keep-alive\r\nConnection: Upgrade\r\n",
        ];
        for connection in accepted {
            let text = format!(
                "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n{connection}\
                 Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            );
            parse_ok(&text);
        }
        let rejected = [
            ("Connection: keep-alive\r\n", Some("keep-alive")),
            ("Connection: Upgrades\r\n", Some("Upgrades")),
            ("Connection: Up grade\r\n", Some("Up grade")),
            ("Connection: \r\n", Some("")),
            ("", None),
        ];
        for (connection, seen) in rejected {
            let text = format!(
                "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n{connection}\
                 Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            );
            assert_eq!(
                parse(&text),
                Err(HandshakeError::Connection(seen.map(String::from)))
            );
        }
    }

    #[test]
    fn rejects_bad_upgrade() {
        let without = format!(
            "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        );
        assert_eq!(parse(&without), Err(HandshakeError::Upgrade(None)));
        for (upgrade, seen) in [
            ("Upgrade: h2c\r\n", "h2c"),
            ("Upgrade: websocket, h2c\r\n", "websocket, h2c"),
            ("Upgrade: websocket\r\nUpgrade: websocket\r\n", "websocket"),
        ] {
            let text = format!(
                "HTTP/1.1 101 OK\r\n{upgrade}Connection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
            );
            assert_eq!(
                parse(&text),
                Err(HandshakeError::Upgrade(Some(seen.into())))
            );
        }
    }

    #[test]
    fn rejects_bad_accept() {
        let base = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
        assert_eq!(
            parse(&format!("{base}\r\n")),
            Err(HandshakeError::MissingAccept)
        );
        let wrong = format!(
            "{base}Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key("other")
        );
        assert_eq!(parse(&wrong), Err(HandshakeError::AcceptMismatch));
        let twice = format!(
            "{base}Sec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n"
        );
        assert_eq!(parse(&twice), Err(HandshakeError::DuplicateAccept));
        assert_eq!(
            HandshakeError::AcceptMismatch.to_string(),
            "Sec-WebSocket-Accept does not match the key"
        );
    }

    #[test]
    fn checks_subprotocol_against_offer() {
        assert_eq!(parse_ok(&ok_response("")).subprotocol, None);
        assert_eq!(
            parse(&ok_response("Sec-WebSocket-Protocol: mqtt\r\n")),
            Err(HandshakeError::UnexpectedSubprotocol("mqtt".into()))
        );
        assert_eq!(
            parse(&ok_response("Sec-WebSocket-Protocol: Chat\r\n")),
            Err(HandshakeError::UnexpectedSubprotocol("Chat".into()))
        );
        assert_eq!(
            parse(&ok_response("Sec-WebSocket-Protocol: chat, superchat\r\n")),
            Err(HandshakeError::UnexpectedSubprotocol(
                "chat, superchat".into()
            ))
        );
        assert_eq!(
            parse(&ok_response(
                "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"
            )),
            Err(HandshakeError::DuplicateSubprotocol)
        );
        let none_offered = Expectation {
            key: KEY,
            ..Expectation::default()
        };
        assert_eq!(
            parse_response(
                ok_response("Sec-WebSocket-Protocol: chat\r\n").as_bytes(),
                &none_offered,
                &Limits::default()
            ),
            Err(HandshakeError::UnexpectedSubprotocol("chat".into()))
        );
    }

    #[test]
    fn checks_extensions_against_offer() {
        let response = parse_ok(&ok_response(
            "Sec-WebSocket-Extensions:  permessage-deflate; server_no_context_takeover \r\n\
             Sec-WebSocket-Extensions: permessage-deflate; x=\"a,b\", permessage-deflate\r\n",
        ));
        assert_eq!(
            response.extensions,
            [
                "permessage-deflate; server_no_context_takeover",
                "permessage-deflate; x=\"a,b\", permessage-deflate"
            ]
        );
        for (value, name) in [
            ("x-webkit-deflate-frame", "x-webkit-deflate-frame"),
            ("permessage-deflate, foo; a=1", "foo"),
            ("permessage-deflate;x=\"a\", foo", "foo"),
            ("; a=1", ""),
        ] {
            let text = ok_response(&format!("Sec-WebSocket-Extensions: {value}\r\n"));
            assert_eq!(
                parse(&text),
                Err(HandshakeError::UnexpectedExtension(name.into()))
            );
        }
        let none_offered = Expectation {
            key: KEY,
            ..Expectation::default()
        };
        let text = ok_response("Sec-WebSocket-Extensions: permessage-deflate\r\n");
        assert_eq!(
            parse_response(text.as_bytes(), &none_offered, &Limits::default()),
            Err(HandshakeError::UnexpectedExtension(
                "permessage-deflate".into()
            ))
        );
    }

    /// The status and reason of a refusal.
    fn refusal(result: Result<ParseStatus, HandshakeError>) -> Option<(u16, String)> {
        match result {
            Err(HandshakeError::Status { code, reason, .. }) => Some((code, reason)),
            _ => None,
        }
    }

    #[test]
    fn reports_non_101_status() {
        let not_found = Some((404, "Not Found".to_string()));
        let result = parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            result.clone().unwrap_err().to_string(),
            "server answered 404 Not Found, not 101 Switching Protocols"
        );
        assert_eq!(refusal(result), not_found);
        // Junk after the status line does not hide the status.
        assert_eq!(
            refusal(parse("HTTP/1.1 404 Not Found\r\nBad Header\r\n")),
            not_found
        );
        let huge = format!("HTTP/1.1 404 Not Found\r\nX: {}", "a".repeat(20_000));
        assert_eq!(refusal(parse(&huge)), not_found);
        // Still incomplete while the header block goes on.
        assert_eq!(
            parse("HTTP/1.1 404 Not Found\r\n"),
            Ok(ParseStatus::Incomplete)
        );
        // A complete refusal keeps its header fields (a redirect's Location).
        match parse("HTTP/1.1 302\r\nLocation: /next \r\n\r\n") {
            Err(HandshakeError::Status {
                code: 302,
                reason,
                headers,
            }) => {
                assert_eq!(reason, "");
                assert_eq!(headers.get("location"), Some(&b"/next"[..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_malformed_http() {
        for text in [
            "HTTP/1.1 abc Nope\r\n\r\n",
            "HTTP/2 101 OK\r\n\r\n",
            "garbage\r\n\r\n",
            "HTTP/1.1 101 OK\r\nBad Header\r\n\r\n",
            "HTTP/1.1 101 OK\r\nX: a\0b\r\n\r\n",
        ] {
            assert!(
                matches!(parse(text), Err(HandshakeError::Malformed(_))),
                "{text:?} -> {:?}",
                parse(text)
            );
        }
        // Extension values must be text.
        let text = ok_response("Sec-WebSocket-Extensions: permessage-deflate; x=\"#\"\r\n");
        let bytes: Vec<u8> = text
            .bytes()
            .map(|b| if b == b'#' { 0xff } else { b })
            .collect();
        assert!(matches!(
            parse_response(&bytes, &OFFER, &Limits::default()),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_bytes: 200,
            max_headers: 4,
        };
        let header = ok_response("");
        let complete = |r| matches!(r, Ok(ParseStatus::Complete { .. }));

        // Up to max_bytes an unfinished header is just incomplete.
        let partial = format!("HTTP/1.1 101 OK\r\nX: {}", "a".repeat(200 - 20));
        assert_eq!(partial.len(), 200);
        assert_eq!(
            parse_response(partial.as_bytes(), &OFFER, &limits),
            Ok(ParseStatus::Incomplete)
        );
        let over = format!("{partial}a");
        assert_eq!(
            parse_response(over.as_bytes(), &OFFER, &limits),
            Err(HandshakeError::TooLarge)
        );

        // A header that fits is accepted however many frame bytes follow it.
        let mut stream = header.clone().into_bytes();
        stream.resize(10_000, 0);
        match parse_response(&stream, &OFFER, &limits) {
            Ok(ParseStatus::Complete { consumed, .. }) => assert_eq!(consumed, header.len()),
            other => panic!("unexpected {other:?}"),
        }
        let exact = Limits {
            max_bytes: header.len(),
            ..limits
        };
        assert!(complete(parse_response(header.as_bytes(), &OFFER, &exact)));
        let short = Limits {
            max_bytes: header.len() - 1,
            ..limits
        };
        assert_eq!(
            parse_response(header.as_bytes(), &OFFER, &short),
            Err(HandshakeError::TooLarge)
        );

        // Header count.
        let four = ok_response("A: 1\r\n");
        assert!(complete(parse_response(four.as_bytes(), &OFFER, &limits)));
        let five = ok_response("A: 1\r\nB: 2\r\n");
        assert_eq!(
            parse_response(five.as_bytes(), &OFFER, &limits),
            Err(HandshakeError::TooManyHeaders)
        );
        let many = ok_response(&"A: 1\r\n".repeat(100));
        assert_eq!(parse(&many), Err(HandshakeError::TooManyHeaders));

        // Degenerate limits do not panic.
        let zero = Limits {
            max_bytes: 0,
            max_headers: 0,
        };
        assert_eq!(
            parse_response(b"", &OFFER, &zero),
            Ok(ParseStatus::Incomplete)
        );
        assert_eq!(
            parse_response(b"H", &OFFER, &zero),
            Err(HandshakeError::TooLarge)
        );
        let huge = Limits {
            max_bytes: 64,
            max_headers: usize::MAX,
        };
        assert_eq!(
            parse_response(b"HTTP/1.1 101", &OFFER, &huge),
            Ok(ParseStatus::Incomplete)
        );
    }

    #[test]
    fn survives_arbitrary_bytes() {
        let mut rng = wsc_testkit::Rng::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next_u64();
        let valid = ok_response("Sec-WebSocket-Extensions: permessage-deflate\r\n").into_bytes();
        for _ in 0..5000 {
            let mut bytes = valid[..next() as usize % (valid.len() + 1)].to_vec();
            for _ in 0..next() % 4 {
                let at = next() as usize % (bytes.len() + 1);
                bytes.insert(at, next() as u8);
            }
            let _ = parse_response(&bytes, &OFFER, &Limits::default());
        }
    }
}
