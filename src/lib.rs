//! wsc: a WebSocket client library with a C ABI.
//!
//! Layers, from the bottom: [`protocol`] (RFC 6455 without I/O), [`connection`] (one
//! connection's state machine and the handle applications hold), [`context`] (the mio event
//! loop), and `ffi` (the C API, the only place with `extern "C"` and raw pointers).

pub mod config;
pub mod connection;
pub mod context;
pub mod error;
#[doc(hidden)]
pub mod fault;
pub mod ffi;
pub mod protocol;
pub mod proxy;
pub mod tls;
mod transport;

pub use config::{Options, Target};
pub use connection::{CloseInfo, ClosedBy, Connection, Handler};
pub use context::Context;
pub use error::{Error, ErrorKind};
// What the C API reads its options into.
pub use config::Reconnect;
pub use context::DEFAULT_READ_BUFFER;
pub use protocol::deflate::DeflateConfig;
pub use proxy::ProxySetting;
pub use tls::TlsOptions;
