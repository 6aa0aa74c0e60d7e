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
    /// What happened; with `exceeded`, what went past its limit ("frame").
    pub message: &'static str,
    /// For a limit: the sizes and the option, so the message can say them.
    pub exceeded: Option<Exceeded>,
}

/// A limit the server went past: how much it sent (0: not known yet) and the option that
/// bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub size: u64,
    pub unit: &'static str,
    pub option: &'static str,
    pub limit: u64,
}

impl ProtocolError {
    pub const fn new(kind: ProtocolErrorKind, message: &'static str) -> Self {
        ProtocolError {
            kind,
            message,
            exceeded: None,
        }
    }

    /// `what` went past the option's `limit` (a 1009), e.g. "frame of 104857600 bytes exceeds
    /// max_frame_size (16777216)".
    pub const fn too_big(what: &'static str, exceeded: Exceeded) -> Self {
        ProtocolError {
            kind: ProtocolErrorKind::TooBig,
            message: what,
            exceeded: Some(exceeded),
        }
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
        match self.exceeded {
            None => f.write_str(self.message),
            Some(Exceeded {
                size: 0,
                option,
                limit,
                ..
            }) => write!(f, "{} exceeds {option} ({limit})", self.message),
            Some(Exceeded {
                size,
                unit,
                option,
                limit,
            }) => write!(
                f,
                "{} of {size} {unit} exceeds {option} ({limit})",
                self.message
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_say_the_size_the_option_and_its_value() {
        let frame = ProtocolError::too_big(
            "frame",
            Exceeded {
                size: 104_857_600,
                unit: "bytes",
                option: "max_frame_size",
                limit: 16_777_216,
            },
        );
        assert_eq!(
            frame.to_string(),
            "frame of 104857600 bytes exceeds max_frame_size (16777216)"
        );
        assert_eq!(frame.close_code(), 1009);
        let unknown_size = ProtocolError::too_big(
            "inflated message",
            Exceeded {
                size: 0,
                unit: "bytes",
                option: "max_message_size",
                limit: 1000,
            },
        );
        assert_eq!(
            unknown_size.to_string(),
            "inflated message exceeds max_message_size (1000)"
        );
        let plain = ProtocolError::new(ProtocolErrorKind::Protocol, "masked frame from the server");
        assert_eq!(plain.to_string(), "masked frame from the server");
    }
}
