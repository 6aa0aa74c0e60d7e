//! Every place Rust calls a function pointer C gave it: the connection callbacks (behind the
//! [`Handler`](crate::Handler) trait), timer callbacks and the release of lent data.
//!
//! None of this code is reached from C directly: C calls exports, which run behind the panic
//! boundary, and this code runs below them. A panic here (none is expected; tests inject one
//! at callback dispatch) unwinds through Rust frames only, to the loop or to the export that
//! called in, never through a C frame: the C call is the last thing each trampoline does, and
//! a wsc function the callback calls back into has its own boundary. (Unwinding the other way,
//! out of a callback, is the application's to prevent: callbacks must not throw.)

use std::ffi::{c_char, c_void, CString};

use super::ptr::{borrowed_connection, bytes, wsc_connection, wsc_context, zeroed, Extensible};
use super::types::{wsc_closed_by, wsc_result};
use crate::handle::MessagePart;
use crate::{CloseInfo, Connection, Error, Handler};

/// The callbacks of a connection. Any may be NULL (not called). All run on the thread that
/// runs `wsc_service`; `conn` is valid during the call (and later only through a handle the
/// application owns). Pointers to data are valid only during the call. Callbacks may call any
/// wsc function except `wsc_service` on the same context; they must not throw C++ exceptions.
///
/// Grows by appending callbacks: start from `wsc_callbacks cb = WSC_CALLBACKS_INIT;` (or, in
/// C, `{ .struct_size = sizeof(wsc_callbacks), .on_open = ... }`); see
/// `wsc_connect_options` for how `struct_size` is read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct wsc_callbacks {
    /// `sizeof(wsc_callbacks)` in the program, set by `WSC_CALLBACKS_INIT`.
    pub struct_size: usize,
    /// The handshake completed; sends are possible from now on.
    pub on_open: Option<extern "C" fn(conn: *mut wsc_connection, user: *mut c_void)>,
    /// A whole message (all fragments reassembled). Text is valid UTF-8 (not NUL-terminated).
    pub on_message: Option<
        extern "C" fn(
            conn: *mut wsc_connection,
            data: *const u8,
            len: usize,
            is_text: bool,
            user: *mut c_void,
        ),
    >,
    /// A ping arrived; wsc has already queued the pong.
    pub on_ping: Option<
        extern "C" fn(conn: *mut wsc_connection, data: *const u8, len: usize, user: *mut c_void),
    >,
    /// A pong arrived (an answer to `wsc_send_ping`, or unsolicited).
    pub on_pong: Option<
        extern "C" fn(conn: *mut wsc_connection, data: *const u8, len: usize, user: *mut c_void),
    >,
    /// The send buffer drained after a send returned `WSC_ERR_WOULD_BLOCK`, or is at or below
    /// `writable_low_water` after `wsc_request_writable`.
    pub on_writable: Option<extern "C" fn(conn: *mut wsc_connection, user: *mut c_void)>,
    /// A failure: `result` says which kind, `message` (NUL-terminated) the details.
    /// `on_close` follows. With `reconnect`, `wsc_connection_retry_in_ms` already says whether
    /// a retry follows (`wsc_close` here cancels it). For `WSC_ERR_HANDSHAKE_STATUS`, the
    /// message quotes the status line and the start of the body, and
    /// `wsc_connection_status`, `wsc_connection_header`, `wsc_connection_header_at` and
    /// `wsc_connection_response_body` read the response that refused the handshake.
    pub on_error: Option<
        extern "C" fn(
            conn: *mut wsc_connection,
            result: wsc_result,
            message: *const c_char,
            user: *mut c_void,
        ),
    >,
    /// The connection ended; always the last callback (with `reconnect` on, once per attempt
    /// that ended: `wsc_connection_retry_in_ms` says whether another follows). `code` is the server's
    /// close code (1005 if its Close frame had none), or the code wsc failed the connection
    /// with (1002, 1007, 1009), or 1006 when no Close frame was received. `reason` is UTF-8,
    /// `reason_len` bytes, also NUL-terminated. `clean`: the closing handshake completed and
    /// nothing failed.
    pub on_close: Option<
        extern "C" fn(
            conn: *mut wsc_connection,
            code: u16,
            reason: *const c_char,
            reason_len: usize,
            closed_by: wsc_closed_by,
            clean: bool,
            user: *mut c_void,
        ),
    >,
    // Appended callbacks: a program built before them has none.
    /// A part of a message, when `stream_messages` is set: `len` bytes at `data` (valid only
    /// during the call), and `flags`: `WSC_PART_TEXT` (a text message: the parts together are
    /// UTF-8, a code point may be split between two parts), `WSC_PART_FIRST`, `WSC_PART_LAST`.
    /// `remaining_in_frame`: payload bytes of the current frame still to come (0 when the
    /// frame ends here, and always for compressed messages). A part is empty only for an empty
    /// message or an empty last frame.
    pub on_message_part: Option<
        extern "C" fn(
            conn: *mut wsc_connection,
            data: *const u8,
            len: usize,
            flags: u32,
            remaining_in_frame: u64,
            user: *mut c_void,
        ),
    >,
    /// With `reconnect`, just before retry number `attempt` (1 for the first retry) starts:
    /// `wsc_connection_set_url` and `wsc_connection_set_header` called here change that
    /// attempt (and the ones after it). `wsc_close` here cancels it: `on_close` follows
    /// (1006, application) and is the last.
    pub on_reconnect:
        Option<extern "C" fn(conn: *mut wsc_connection, attempt: u32, user: *mut c_void)>,
}

pub(crate) struct CallbackHandler {
    pub callbacks: wsc_callbacks,
    pub user: *mut c_void,
}

// SAFETY: the callbacks are only called on the service thread; the user pointer is the
// application's, which promises it may be used from there.
unsafe impl Send for CallbackHandler {}
// SAFETY: as for `Send`: shared references never call the callbacks off the service thread.
unsafe impl Sync for CallbackHandler {}

/// `on_message_part` flag: the part belongs to a text message.
pub const WSC_PART_TEXT: u32 = 1;
/// `on_message_part` flag: the first part of its message.
pub const WSC_PART_FIRST: u32 = 2;
/// `on_message_part` flag: the last part of its message.
pub const WSC_PART_LAST: u32 = 4;

/// A connection callback is about to be called (a place where tests inject a panic).
fn dispatch(conn: &Connection) -> *mut wsc_connection {
    crate::fault::point("callback");
    borrowed_connection(conn)
}

impl Handler for CallbackHandler {
    fn on_open(&self, conn: &Connection) {
        if let Some(f) = self.callbacks.on_open {
            let conn = dispatch(conn);
            f(conn, self.user);
        }
    }

    fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
        if let Some(f) = self.callbacks.on_message {
            let conn = dispatch(conn);
            f(conn, data.as_ptr(), data.len(), is_text, self.user);
        }
    }

    fn on_message_part(&self, conn: &Connection, part: &MessagePart<'_>) {
        if let Some(f) = self.callbacks.on_message_part {
            let flags = [
                (part.is_text, WSC_PART_TEXT),
                (part.first, WSC_PART_FIRST),
                (part.last, WSC_PART_LAST),
            ]
            .iter()
            .filter(|(set, _)| *set)
            .fold(0, |flags, (_, bit)| flags | bit);
            let conn = dispatch(conn);
            let data = part.data;
            f(
                conn,
                data.as_ptr(),
                data.len(),
                flags,
                part.remaining_in_frame,
                self.user,
            );
        }
    }

    fn on_ping(&self, conn: &Connection, data: &[u8]) {
        if let Some(f) = self.callbacks.on_ping {
            let conn = dispatch(conn);
            f(conn, data.as_ptr(), data.len(), self.user);
        }
    }

    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        if let Some(f) = self.callbacks.on_pong {
            let conn = dispatch(conn);
            f(conn, data.as_ptr(), data.len(), self.user);
        }
    }

    fn on_writable(&self, conn: &Connection) {
        if let Some(f) = self.callbacks.on_writable {
            let conn = dispatch(conn);
            f(conn, self.user);
        }
    }

    fn on_error(&self, conn: &Connection, error: &Error) {
        if let Some(f) = self.callbacks.on_error {
            let message = CString::new(error.message.replace('\0', " ")).unwrap_or_default();
            let conn = dispatch(conn);
            f(
                conn,
                wsc_result::from_kind(error.kind),
                message.as_ptr(),
                self.user,
            );
        }
    }

    fn on_reconnect(&self, conn: &Connection, attempt: u32) {
        if let Some(f) = self.callbacks.on_reconnect {
            let conn = dispatch(conn);
            f(conn, attempt, self.user);
        }
    }

    fn on_close(&self, conn: &Connection, info: &CloseInfo) {
        if let Some(f) = self.callbacks.on_close {
            let reason = CString::new(info.reason.replace('\0', " ")).unwrap_or_default();
            let len = reason.as_bytes().len();
            let conn = dispatch(conn);
            f(
                conn,
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

/// A timer callback: runs on the thread that runs `wsc_service`, with the id
/// `wsc_timer_start` returned. It may call any wsc function but `wsc_service`.
pub type wsc_timer_fn =
    Option<extern "C" fn(ctx: *mut wsc_context, timer_id: u64, user: *mut c_void)>;

/// A started timer's callback and what it is called with.
pub(crate) struct TimerTarget {
    pub ctx: *mut wsc_context,
    pub callback: extern "C" fn(ctx: *mut wsc_context, timer_id: u64, user: *mut c_void),
    pub user: *mut c_void,
}

// SAFETY: the callback runs on the service thread only, as documented on wsc_timer_start; the
// pointers are the application's, handed back to it unread.
unsafe impl Send for TimerTarget {}

impl TimerTarget {
    pub fn call(&self, timer_id: u64) {
        (self.callback)(self.ctx, timer_id, self.user);
    }
}

/// Called once wsc is done with the data of a `wsc_send_*_nocopy` call: `data` and `len` as
/// given, and that call's `release_user`.
pub type wsc_release_fn = Option<extern "C" fn(data: *const u8, len: usize, user: *mut c_void)>;

/// Data lent by a `_nocopy` send; dropping it gives it back (calls `release`).
pub(crate) struct LentData {
    data: *const u8,
    len: usize,
    release: wsc_release_fn,
    user: *mut c_void,
}

// SAFETY: the caller of a `_nocopy` send lets wsc read the data from any thread until
// `release`, and `release` be called from any thread.
unsafe impl Send for LentData {}

impl LentData {
    /// Takes `(data, len)` on loan, to be given back through `release`.
    ///
    /// # Safety
    /// `data` points to `len` bytes (or is NULL with `len` 0) that stay readable, unchanged,
    /// from any thread, until `release` is called.
    pub unsafe fn new(
        data: *const u8,
        len: usize,
        release: wsc_release_fn,
        user: *mut c_void,
    ) -> Result<Self, Error> {
        // SAFETY: as promised by the caller; this only applies the NULL policy.
        unsafe { bytes(data, len) }?;
        Ok(LentData {
            data,
            len,
            release,
            user,
        })
    }

    /// Hands the data back without calling `release` (a send that was refused).
    pub fn keep(mut self) {
        self.release = None;
    }
}

impl AsRef<[u8]> for LentData {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: checked by `new`, and readable until released (the lender's promise).
        unsafe { bytes(self.data, self.len) }.unwrap_or_default()
    }
}

impl Drop for LentData {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            release(self.data, self.len, self.user);
        }
    }
}

// SAFETY: `#[repr(C)]`, `struct_size: usize` first, and all-zero is valid: every callback is
// an `Option` of a function pointer, all-zero being `None`.
unsafe impl Extensible for wsc_callbacks {
    const NAME: &'static str = "wsc_callbacks";
    const INIT: &'static str = "WSC_CALLBACKS_INIT";
    const FIRST_SIZE: usize = std::mem::offset_of!(wsc_callbacks, on_close)
        + std::mem::size_of::<Option<extern "C" fn()>>();
}

/// For Rust callers, what `WSC_CALLBACKS_INIT` is in C.
impl Default for wsc_callbacks {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>(),
            ..zeroed()
        }
    }
}
