//! The log's C API: the levels, the handler type, and the process-wide handler.

use std::ffi::{c_char, c_int, c_void, CString};

use crate::log::{Level, LogHandler};
use crate::{Error, ErrorKind};

/// How much the library logs. A line has one of these levels; a handler takes the lines up
/// to its maximum.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum wsc_log_level {
    /// Nothing (as a maximum only).
    WSC_LOG_OFF = 0,
    /// Failures: what `on_error` reports.
    WSC_LOG_ERROR = 1,
    /// Trouble the connection survives, such as a reconnect being scheduled.
    WSC_LOG_WARN = 2,
    /// The milestones of a connection: connecting, connected, proxy tunnel, TLS version,
    /// cipher suite and ALPN, open, closed (code, reason, who, clean).
    WSC_LOG_INFO = 3,
    /// Also: the addresses a name resolved to and each one tried, the handshake's request
    /// and response headers (values of Authorization, Cookie, Proxy-Authorization and
    /// Set-Cookie shown as "[redacted]"), close frames sent.
    WSC_LOG_DEBUG = 4,
    /// Also: every frame sent and received (opcode, fin, length, masked), and rustls' lines.
    WSC_LOG_TRACE = 5,
}

impl From<Level> for wsc_log_level {
    fn from(level: Level) -> Self {
        match level {
            Level::Off => wsc_log_level::WSC_LOG_OFF,
            Level::Error => wsc_log_level::WSC_LOG_ERROR,
            Level::Warn => wsc_log_level::WSC_LOG_WARN,
            Level::Info => wsc_log_level::WSC_LOG_INFO,
            Level::Debug => wsc_log_level::WSC_LOG_DEBUG,
            Level::Trace => wsc_log_level::WSC_LOG_TRACE,
        }
    }
}

/// A log handler: `line` (NUL-terminated, no trailing newline, valid only during the call)
/// at `level`, and the `user` pointer given with the handler. It runs on the thread that
/// runs `wsc_service`, and at `WSC_LOG_TRACE` also on threads that send (each frame is logged
/// by the thread that queues it), possibly at the same time: it must be thread-safe. It must
/// not call `wsc_log_set_handler`. A context's handler is not called once `wsc_context_free`
/// has returned.
///
/// Each line begins with the connection it concerns, as `[#N host]`: N is a number unique in
/// the process (kept across reconnects).
pub type wsc_log_fn =
    Option<extern "C" fn(level: wsc_log_level, line: *const c_char, user: *mut c_void)>;

/// A C handler and its user pointer.
struct CLogFn {
    write: extern "C" fn(level: wsc_log_level, line: *const c_char, user: *mut c_void),
    user: *mut c_void,
}

// SAFETY: `wsc_log_fn` is documented to be called from the loop's and sending threads at
// once; the application promises its function and `user` allow that.
unsafe impl Send for CLogFn {}
// SAFETY: as for `Send`: the handler is thread-safe by contract.
unsafe impl Sync for CLogFn {}

impl CLogFn {
    fn call(&self, level: Level, line: &str) {
        let line = CString::new(line.replace('\0', " ")).unwrap_or_default();
        (self.write)(level.into(), line.as_ptr(), self.user);
    }
}

/// A log level as C passes it (an int: C may pass any number, which Rust must not trust).
pub(crate) fn level_arg(level: c_int, name: &str) -> Result<Level, Error> {
    u8::try_from(level)
        .ok()
        .and_then(Level::from_u8)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{name} is {level}: a wsc_log_level is 0 (WSC_LOG_OFF) to 5 (WSC_LOG_TRACE)"
                ),
            )
        })
}

/// The handler for a C function, `None` for NULL.
pub(crate) fn handler(write: wsc_log_fn, user: *mut c_void, max: Level) -> Option<LogHandler> {
    let c = CLogFn {
        write: write?,
        user,
    };
    Some(LogHandler::new(max, move |level, line| c.call(level, line)))
}
