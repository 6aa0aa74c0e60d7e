//! wsc: a WebSocket client library with a C ABI.
//!
//! Layers, from the bottom, each importing only those below it:
//! - [`protocol`]: RFC 6455 and RFC 7692 without I/O (bytes in, events and bytes out);
//! - [`config`], [`target`], [`tls`], [`proxy`]: what a connection is asked to do;
//! - [`handle`]: the thread-safe [`Connection`] the application holds, and its [`Handler`];
//! - [`session`]: one connection's state machine, fed bytes and time, without sockets;
//! - [`context`]: the mio event loop that owns the sockets and drives the sessions;
//! - `ffi`: the C API, the only place with `extern "C"` and raw pointers.

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
pub mod target;
pub mod tls;

pub use config::Options;
pub use context::Context;
pub use error::{Error, ErrorKind};
pub use handle::{CloseInfo, ClosedBy, Connection, Handler};
pub use target::Target;
