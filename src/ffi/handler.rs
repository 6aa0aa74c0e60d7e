//! C callbacks behind the [`Handler`] trait.

use std::ffi::{c_char, c_void, CString};

use super::types::{wsc_closed_by, wsc_result};
use crate::error::Error;
use crate::{CloseInfo, Connection, Handler};

/// The callbacks of a connection. Any may be NULL (not called). All run on the thread that
/// runs `wsc_service`; `conn` is valid during the call (and later only through a handle the
/// application owns). Pointers to data are valid only during the call. Callbacks may call any
/// wsc function except `wsc_service` on the same context; they must not throw C++ exceptions.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct wsc_callbacks {
    /// The handshake completed; sends are possible from now on.
    pub on_open: Option<extern "C" fn(conn: *mut Connection, user: *mut c_void)>,
    /// A whole message (all fragments reassembled). Text is valid UTF-8 (not NUL-terminated).
    pub on_message: Option<
        extern "C" fn(
            conn: *mut Connection,
            data: *const u8,
            len: usize,
            is_text: bool,
            user: *mut c_void,
        ),
    >,
    /// A ping arrived; wsc has already queued the pong.
    pub on_ping: Option<
        extern "C" fn(conn: *mut Connection, data: *const u8, len: usize, user: *mut c_void),
    >,
    /// A pong arrived (an answer to `wsc_send_ping`, or unsolicited).
    pub on_pong: Option<
        extern "C" fn(conn: *mut Connection, data: *const u8, len: usize, user: *mut c_void),
    >,
    /// The send buffer drained after a send returned `WSC_ERR_WOULD_BLOCK`.
    pub on_writable: Option<extern "C" fn(conn: *mut Connection, user: *mut c_void)>,
    /// A failure: `result` says which kind, `message` (NUL-terminated) the details.
    /// `on_close` follows.
    pub on_error: Option<
        extern "C" fn(
            conn: *mut Connection,
            result: wsc_result,
            message: *const c_char,
            user: *mut c_void,
        ),
    >,
    /// The connection ended; always the last callback, exactly once. `code` is the server's
    /// close code (1005 if its Close frame had none), or the code wsc failed the connection
    /// with (1002, 1007, 1009), or 1006 when no Close frame was received. `reason` is UTF-8,
    /// `reason_len` bytes, also NUL-terminated. `clean`: the closing handshake completed and
    /// nothing failed.
    pub on_close: Option<
        extern "C" fn(
            conn: *mut Connection,
            code: u16,
            reason: *const c_char,
            reason_len: usize,
            closed_by: wsc_closed_by,
            clean: bool,
            user: *mut c_void,
        ),
    >,
}

pub(crate) struct CallbackHandler {
    pub callbacks: wsc_callbacks,
    pub user: *mut c_void,
}

// SAFETY: the callbacks are only called on the service thread; the user pointer is the
// application's, which promises it may be used from there.
unsafe impl Send for CallbackHandler {}
unsafe impl Sync for CallbackHandler {}

fn handle(conn: &Connection) -> *mut Connection {
    conn as *const Connection as *mut Connection
}

impl Handler for CallbackHandler {
    fn on_open(&self, conn: &Connection) {
        if let Some(f) = self.callbacks.on_open {
            f(handle(conn), self.user);
        }
    }

    fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
        if let Some(f) = self.callbacks.on_message {
            f(handle(conn), data.as_ptr(), data.len(), is_text, self.user);
        }
    }

    fn on_ping(&self, conn: &Connection, data: &[u8]) {
        if let Some(f) = self.callbacks.on_ping {
            f(handle(conn), data.as_ptr(), data.len(), self.user);
        }
    }

    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        if let Some(f) = self.callbacks.on_pong {
            f(handle(conn), data.as_ptr(), data.len(), self.user);
        }
    }

    fn on_writable(&self, conn: &Connection) {
        if let Some(f) = self.callbacks.on_writable {
            f(handle(conn), self.user);
        }
    }

    fn on_error(&self, conn: &Connection, error: &Error) {
        if let Some(f) = self.callbacks.on_error {
            let message = CString::new(error.message.replace('\0', " ")).unwrap_or_default();
            f(
                handle(conn),
                wsc_result::from_kind(error.kind),
                message.as_ptr(),
                self.user,
            );
        }
    }

    fn on_close(&self, conn: &Connection, info: &CloseInfo) {
        if let Some(f) = self.callbacks.on_close {
            let reason = CString::new(info.reason.replace('\0', " ")).unwrap_or_default();
            let len = reason.as_bytes().len();
            f(
                handle(conn),
                info.code,
                reason.as_ptr(),
                len,
                info.closed_by.into(),
                info.clean,
                self.user,
            );
        }
    }
}
