//! Errors as the library reports them: a kind (which the C layer turns into a `wsc_result`) and
//! a message for people.

use std::fmt;
use std::io;

use crate::protocol::handshake::HandshakeError;
use crate::protocol::{ProtocolError, ProtocolErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NullArgument,
    InvalidArgument,
    InvalidUrl,
    Unsupported,
    NotOpen,
    WouldBlock,
    FragmentState,
    Busy,
    ContextClosed,
    NotFound,
    /// A panic inside wsc (a bug); the context it happened in has stopped for good.
    Panic,
    Resolve,
    ConnectRefused,
    Unreachable,
    ConnectTimeout,
    Io,
    ConnectionLost,
    KeepaliveTimeout,
    Proxy,
    HandshakeStatus,
    HandshakeInvalid,
    HandshakeTooLarge,
    HandshakeTimeout,
    Protocol,
    InvalidUtf8,
    MessageTooBig,
    CloseTimeout,
    Tls,
    TlsCertificate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// A connect-phase socket error, classified for the application.
    pub fn connect(err: &io::Error, addr: std::net::SocketAddr) -> Self {
        let kind = match err.kind() {
            io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
            io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                ErrorKind::Unreachable
            }
            io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
            _ => match err.raw_os_error() {
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL) => {
                    ErrorKind::Unreachable
                }
                _ => ErrorKind::Io,
            },
        };
        Error::new(kind, format!("connect to {addr}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The failures that are the server's protocol violations, each with the kind that decides
/// our close code.
const VIOLATIONS: [(ProtocolErrorKind, ErrorKind); 3] = [
    (ProtocolErrorKind::Protocol, ErrorKind::Protocol),
    (ProtocolErrorKind::InvalidUtf8, ErrorKind::InvalidUtf8),
    (ProtocolErrorKind::TooBig, ErrorKind::MessageTooBig),
];

impl ErrorKind {
    /// The violation this failure is, if the server broke the protocol.
    pub fn violation(self) -> Option<ProtocolErrorKind> {
        VIOLATIONS.iter().find(|(_, k)| *k == self).map(|(v, _)| *v)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        let (_, kind) = VIOLATIONS
            .iter()
            .find(|(v, _)| *v == e.kind)
            .expect("every violation has a kind");
        Error::new(*kind, e.to_string())
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        let kind = match e {
            HandshakeError::Status { .. } => ErrorKind::HandshakeStatus,
            HandshakeError::TooLarge | HandshakeError::TooManyHeaders => {
                ErrorKind::HandshakeTooLarge
            }
            _ => ErrorKind::HandshakeInvalid,
        };
        Error::new(kind, e.to_string())
    }
}
