//! The WebSocket protocol without I/O: bytes in, events out; frames to send out as bytes.
//! No sockets, no clocks, no C types.

pub mod close;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod message;
pub mod sender;
pub mod utf8;

use std::fmt;

/// How a server broke the protocol, which decides the close code we answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolErrorKind {
    /// Close with 1002 (protocol error).
    Protocol,
    /// Close with 1007: "data within a message that was not consistent with the type of the
    /// message (e.g., non-UTF-8 [RFC3629] data within a text message)".
    InvalidUtf8,
    /// Close with 1009: "a message that is too big for it to process" (our configured limits).
    TooBig,
}

/// A violation by the server: the connection must be failed (RFC 6455 §7.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError {
    pub kind: ProtocolErrorKind,
    pub message: &'static str,
}

impl ProtocolError {
    pub const fn new(kind: ProtocolErrorKind, message: &'static str) -> Self {
        ProtocolError { kind, message }
    }

    /// The status code to put in our Close frame.
    pub fn close_code(&self) -> u16 {
        self.kind.close_code()
    }
}

impl ProtocolErrorKind {
    /// The status code to put in our Close frame.
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolErrorKind::Protocol => close::PROTOCOL_ERROR,
            ProtocolErrorKind::InvalidUtf8 => close::INVALID_PAYLOAD,
            ProtocolErrorKind::TooBig => close::MESSAGE_TOO_BIG,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for ProtocolError {}
