//! wsc: a WebSocket client library with a C ABI.
//!
//! Layers, from the bottom, each importing only those below it:
//! - [`log`]: what the library says about its connections, and where it goes;
//! - [`protocol`]: RFC 6455 and RFC 7692 without I/O (bytes in, events and bytes out);
//! - [`config`], [`target`], [`tls`], [`proxy`], [`socks`]: what a connection is asked to do
//!   (`socks` also holds the SOCKS5 negotiation, without I/O);
//! - [`handle`]: the thread-safe [`Connection`] the application holds, and its [`Handler`];
//! - [`session`]: one connection's state machine, fed bytes and time, without sockets;
//! - [`context`]: the mio event loop that owns the sockets and drives the sessions;
//! - `ffi`: the C API, the only place with `extern "C"` and raw pointers.
//!
//! Unsafe code is denied unless a `SAFETY:` comment says why it is sound. Outside `ffi` it
//! serves the data path in two ways only: masking a word at a time and writing masked bytes
//! into spare capacity (`protocol::mask`), and reading a large frame's payload straight into
//! the message buffer (`context::transport` reads with recv(2) into spare capacity,
//! `protocol::message` takes the bytes, `session` and `context::engine` pass them on).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// First: its `log!` macro is used everywhere below.
#[macro_use]
pub mod log;
pub mod config;
pub mod context;
pub mod error;
#[doc(hidden)]
pub mod fault;
pub mod ffi;
pub mod handle;
pub mod protocol;
pub mod proxy;
pub mod session;
pub mod socks;
mod sync;
pub mod target;
pub mod tls;

pub use config::Options;
pub use context::Context;
pub use error::{Error, ErrorKind};
pub use handle::{CloseInfo, ClosedBy, Connection, Handler};
pub use log::{Level as LogLevel, LogHandler};
pub use target::Target;
// What the C API reads its options into.
pub use config::Reconnect;
pub use context::DEFAULT_READ_BUFFER;
pub use protocol::deflate::DeflateConfig;
pub use proxy::ProxySetting;
pub use tls::TlsOptions;
