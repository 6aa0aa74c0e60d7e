//! The C API: the only module with `extern "C"`, raw pointers and `unsafe`. The header
//! include/wsc.h is generated from this module alone (cbindgen reads src/ffi/mod.rs and the
//! files it declares), so everything it declares is named `wsc_`/`WSC_`.
//!
//! Every export is a thin `extern "C"` function whose body is written through [`boundary!`]:
//! a panic never crosses into C, and each export states what it returns instead. Every pointer
//! C hands in goes through [`ptr`], which holds the casts and the NULL policy.

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[macro_use]
mod macros;
mod boundary;
mod handler;
mod log;
mod options;
mod ptr;
mod types;

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use crate::{Connection, Context, Error, ErrorKind, Options};
pub use handler::{
    wsc_callbacks, wsc_release_fn, wsc_timer_fn, WSC_PART_FIRST, WSC_PART_LAST, WSC_PART_TEXT,
};
use handler::{CallbackHandler, LentData, TimerTarget};
pub use log::{wsc_log_fn, wsc_log_level};
use ptr::{optional_string, string_arg};
pub use ptr::{wsc_connection, wsc_context};
pub use types::*;

/// Major version of the library this header belongs to.
pub const WSC_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const WSC_VERSION_MINOR: u32 = 2;
/// Patch version of the library this header belongs to.
pub const WSC_VERSION_PATCH: u32 = 0;
/// The version this header belongs to, as text (in C, a macro from cbindgen.toml).
pub const WSC_VERSION_STRING: &str = "0.2.0";

/// The version of the loaded library, e.g. "0.2.0" (compare with `WSC_VERSION_STRING` to
/// detect a header/library mismatch). Static storage; never NULL.
#[no_mangle]
pub extern "C" fn wsc_version() -> *const c_char {
    boundary!("wsc_version", library_version(), { library_version() })
}

fn library_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A short English description of a `wsc_result` value ("unknown result" for a number that is
/// none). Static storage; never NULL (on an internal error, the text of `wsc_last_error`).
#[no_mangle]
pub extern "C" fn wsc_result_str(result: c_int) -> *const c_char {
    boundary!("wsc_result_str", boundary::PANIC_MESSAGE.as_ptr(), {
        // Takes an int, not the enum: a C caller may pass any number, which Rust must not trust.
        wsc_result::from_raw(result)
            .map_or(c"unknown result", wsc_result::description)
            .as_ptr()
    })
}

/// The message of the last call on this thread that returned an error: more precise than
/// `wsc_result_str` (e.g. why a URL is invalid). Valid until the next wsc call on this thread;
/// never NULL ("" when there was none; on an internal error, static text saying so).
#[no_mangle]
pub extern "C" fn wsc_last_error() -> *const c_char {
    boundary!("wsc_last_error", boundary::PANIC_MESSAGE.as_ptr(), {
        boundary::last_error()
    })
}

/// Creates a context: an event loop for any number of connections. `options` may be NULL for
/// the defaults, or start from `WSC_CONTEXT_OPTIONS_INIT` (`WSC_ERR_INVALID_ARGUMENT` when its
/// `struct_size` is wrong). On success `*out` receives the context; free it with
/// `wsc_context_free`.
///
/// # Safety
/// `options` is NULL or points to a valid `wsc_context_options` of `struct_size` bytes; `out`
/// is a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn wsc_context_new(
    options: *const wsc_context_options,
    out: *mut *mut wsc_context,
) -> wsc_result {
    boundary!("wsc_context_new", WSC_ERR_PANIC, {
        // SAFETY: `out` is NULL or valid for writes (the caller's promise).
        let out = unsafe { ptr::out_arg(out, "out") }?;
        // SAFETY: `options` is NULL or a valid struct of its `struct_size` (the caller's
        // promise).
        let options = unsafe { ptr::sized_in(options) }?;
        let read_buffer = wsc_context_options::read_buffer_size(options.as_ref());
        let log = wsc_context_options::log_handler(options.as_ref())?;
        let context = Context::with_log(read_buffer, log)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot create the event loop: {e}")))?;
        *out = ptr::new_context(context);
        Ok(())
    })
}

/// Frees a context. Every connection still open is dropped and hears `on_close` (code 1006,
/// `WSC_CLOSED_BY_APPLICATION`, not clean) before this returns. NULL is ignored. Called from a
/// callback, the context is freed when the running `wsc_service` returns.
/// Not thread-safe: call it on the thread that runs `wsc_service`.
///
/// # Safety
/// `ctx` is NULL or a context from `wsc_context_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn wsc_context_free(ctx: *mut wsc_context) {
    boundary!("wsc_context_free", (), {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        let Some(context) = (unsafe { ptr::context_or_null(ctx) }) else {
            return;
        };
        if context.is_serving_here() {
            context.stop(); // wsc_service frees it on its way out
        } else {
            // SAFETY: a live context from `wsc_context_new`, freed once (the caller's
            // promise); `context` is not used again.
            unsafe { ptr::free_context(ctx) };
        }
    })
}

/// Runs the loop once: waits up to `timeout_ms` milliseconds (negative: until something
/// happens; 0: not at all) for network events, then calls the callbacks for what happened.
/// Returns `WSC_ERR_BUSY` when called from a callback or while another thread runs it, and
/// `WSC_ERR_CONTEXT_CLOSED` while the context is being freed (from a callback of the free).
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_service(ctx: *mut wsc_context, timeout_ms: i32) -> wsc_result {
    boundary!("wsc_service", WSC_ERR_PANIC, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        let context = unsafe { ptr::context(ctx) }?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let result = context.service(timeout);
        // Freed from a callback: finish the job now that the loop has returned.
        if context.is_stopping() && !context.is_serving_here() {
            // SAFETY: `wsc_context_free` was called for this context during the loop and left
            // the freeing to us; `context` is not used again.
            unsafe { ptr::free_context(ctx) };
        }
        result
    })
}

/// Makes a `wsc_service` blocked in another thread return soon. Safe from any thread, and the
/// one wsc function a signal handler may call (async-signal-safe for a live context: it only
/// writes to an eventfd): set a flag in the handler, wake, act on the flag after
/// `wsc_service` returns.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_context_wake(ctx: *const wsc_context) -> wsc_result {
    boundary!("wsc_context_wake", WSC_ERR_PANIC, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        unsafe { ptr::context(ctx) }?.wake();
        Ok(())
    })
}

/// The number of connections started with `wsc_connect` whose `on_close` has not yet
/// returned: loop `while (wsc_context_connection_count(ctx) > 0) wsc_service(ctx, -1);`.
/// 0 for NULL, and on an internal error. Safe from any thread.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_context_connection_count(ctx: *const wsc_context) -> usize {
    boundary!("wsc_context_connection_count", 0, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        unsafe { ptr::context_or_null(ctx) }.map_or(0, Context::live_connections)
    })
}

/// A descriptor for programs with their own event loop (poll, epoll, libuv, GLib, ...): it
/// becomes readable when the context has work. Watch it for reading, and when it fires (or
/// when `wsc_next_timeout_ms` has passed) call `wsc_service(ctx, 0)`. Do not read from it or
/// close it. -1 for NULL, and on an internal error. Safe from any thread.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_context_fd(ctx: *const wsc_context) -> c_int {
    boundary!("wsc_context_fd", -1, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        unsafe { ptr::context_or_null(ctx) }.map_or(-1, Context::fd)
    })
}

/// How many milliseconds a foreign event loop may wait before calling `wsc_service(ctx, 0)`
/// even if `wsc_context_fd` stays quiet (the next timer): -1 when nothing is scheduled, 0 when
/// work is already waiting. Call it again after every `wsc_service`. -1 for NULL, and on an
/// internal error.
///
/// # Safety
/// `ctx` is NULL or a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_next_timeout_ms(ctx: *const wsc_context) -> i32 {
    boundary!("wsc_next_timeout_ms", -1, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        match unsafe { ptr::context_or_null(ctx) }.map(Context::next_timeout) {
            None | Some(None) => -1,
            Some(Some(wait)) => wait.as_millis().min(i32::MAX as u128) as i32,
        }
    })
}

/// Starts a timer on the context's loop: `callback` runs after `delay_ms`, then every
/// `interval_ms` (0: once), until `wsc_timer_stop`. `*out_id` (optional) receives its id,
/// never 0. Timers end with the context. Safe from any thread and from callbacks.
///
/// # Safety
/// `ctx` is a live context; `out_id` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wsc_timer_start(
    ctx: *mut wsc_context,
    delay_ms: u32,
    interval_ms: u32,
    callback: wsc_timer_fn,
    user: *mut c_void,
    out_id: *mut u64,
) -> wsc_result {
    boundary!("wsc_timer_start", WSC_ERR_PANIC, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        let context = unsafe { ptr::context(ctx) }?;
        let callback =
            callback.ok_or_else(|| Error::new(ErrorKind::NullArgument, "callback is NULL"))?;
        let target = TimerTarget {
            ctx,
            callback,
            user,
        };
        let interval = (interval_ms > 0).then(|| Duration::from_millis(interval_ms.into()));
        let id = context.start_timer(
            Duration::from_millis(delay_ms.into()),
            interval,
            Box::new(move |id| target.call(id)),
        )?;
        // SAFETY: `out_id` is NULL or valid for writes (the caller's promise).
        if let Some(out) = unsafe { ptr::optional_out(out_id) } {
            *out = id;
        }
        Ok(())
    })
}

/// Stops a timer: it will not run again (even if it was due). `WSC_ERR_NOT_FOUND` when it had
/// already stopped or fired once and for all. Safe from any thread and from callbacks,
/// including the timer's own.
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn wsc_timer_stop(ctx: *mut wsc_context, timer_id: u64) -> wsc_result {
    boundary!("wsc_timer_stop", WSC_ERR_PANIC, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        let context = unsafe { ptr::context(ctx) }?;
        if context.stop_timer(timer_id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::NotFound,
                format!("no timer {timer_id}"),
            ))
        }
    })
}

/// Starts connecting to `url` (`ws://` or `wss://host[:port]/path[?query]`). Never blocks: name
/// resolution, connect and handshake happen in `wsc_service`, and every failure from then on
/// reaches `on_error`, followed by `on_close`.
///
/// `options` may be NULL (defaults); `callbacks` may be NULL (no callbacks); both are copied,
/// as are the strings they point to. `user` is passed to every callback.
///
/// When this returns `WSC_OK`, `on_close` is called once for the connection, as its last
/// callback (with `reconnect` on: once per attempt that ended, the last one with
/// `wsc_connection_retry_in_ms` -1). If `out` is not NULL it receives a handle the caller owns, which stays
/// valid (calls on it fail with `WSC_ERR_NOT_OPEN` once closed) until `wsc_connection_free`.
/// With `out` NULL the connection is reached only through the callbacks' `conn` argument.
/// Safe from any thread and from callbacks.
///
/// Errors returned here: `WSC_ERR_INVALID_URL`, `WSC_ERR_INVALID_ARGUMENT` (bad header or
/// subprotocol, an unreadable CA file, an option out of range, or a `struct_size` in `options` or
/// `callbacks` that is 0, too small, or larger with fields this library does not know set:
/// start them from `WSC_CONNECT_OPTIONS_INIT` and `WSC_CALLBACKS_INIT`), `WSC_ERR_NULL_ARGUMENT`,
/// `WSC_ERR_CONTEXT_CLOSED`; `wsc_last_error` says more.
///
/// # Safety
/// `ctx` is a live context; `url` a NUL-terminated string; `options` and `callbacks` NULL or
/// valid structs of their `struct_size` bytes (with the strings and arrays they point to);
/// `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wsc_connect(
    ctx: *mut wsc_context,
    url: *const c_char,
    options: *const wsc_connect_options,
    callbacks: *const wsc_callbacks,
    user: *mut c_void,
    out: *mut *mut wsc_connection,
) -> wsc_result {
    boundary!("wsc_connect", WSC_ERR_PANIC, {
        // SAFETY: `ctx` is NULL or a live context (the caller's promise).
        let context = unsafe { ptr::context(ctx) }?;
        // SAFETY: `url` is NULL or NUL-terminated (the caller's promise).
        let url = unsafe { string_arg(url, "url") }?;
        // SAFETY: `options` is NULL or a valid struct of its `struct_size`, with the pointers
        // in it (the caller's promise).
        let options = match unsafe { ptr::sized_in(options) }? {
            // SAFETY: the pointers in it are NULL or valid (the caller's promise).
            Some(o) => unsafe { o.to_options() }?,
            None => Options::default(),
        };
        // SAFETY: `callbacks` is NULL or a valid struct of its `struct_size` (the caller's
        // promise).
        let callbacks = unsafe { ptr::sized_in(callbacks) }?.unwrap_or_default();
        let handler = Box::new(CallbackHandler { callbacks, user });
        let conn = context.connect(url, options, handler)?;
        // SAFETY: `out` is NULL or valid for writes (the caller's promise).
        if let Some(out) = unsafe { ptr::optional_out(out) } {
            *out = ptr::new_connection(conn);
        }
        Ok(())
    })
}

/// Releases the handle `wsc_connect` gave through `out`. It does not close the connection
/// (use `wsc_close`); callbacks keep coming until `on_close`. NULL is ignored. Allowed in
/// callbacks. Never pass the `conn` a callback received unless it is that same owned handle.
///
/// # Safety
/// `conn` is NULL or a handle from `wsc_connect`'s `out`, released once.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_free(conn: *mut wsc_connection) {
    boundary!("wsc_connection_free", (), {
        // SAFETY: NULL or a handle from `wsc_connect`'s `out`, released once (the caller's
        // promise).
        unsafe { ptr::free_connection(conn) }
    })
}

/// Sends a text message (`len` bytes of UTF-8, which is checked: `WSC_ERR_INVALID_ARGUMENT`
/// otherwise, unless the connection's options set `trust_outgoing_text`). The bytes are
/// copied; `text` may be NULL when `len` is 0. Returns `WSC_ERR_NOT_OPEN` before `on_open` or
/// after a Close frame, `WSC_ERR_WOULD_BLOCK` when the send buffer is over its limit
/// (`on_writable` follows when it drains). Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is a live handle; `text` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_text(
    conn: *mut wsc_connection,
    text: *const c_char,
    len: usize,
) -> wsc_result {
    boundary!("wsc_send_text", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `text` points to `len` readable bytes or is NULL (the caller's promise).
        let text = unsafe { ptr::bytes(text.cast(), len) }?;
        conn.send(true, text)
    })
}

/// Sends a binary message; as `wsc_send_text` otherwise.
///
/// # Safety
/// `conn` is a live handle; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_binary(
    conn: *mut wsc_connection,
    data: *const u8,
    len: usize,
) -> wsc_result {
    boundary!("wsc_send_binary", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `data` points to `len` readable bytes or is NULL (the caller's promise).
        let data = unsafe { ptr::bytes(data, len) }?;
        conn.send(false, data)
    })
}

/// A `_nocopy` send: on failure the data stays the caller's (`release` is not called).
///
/// # Safety
/// As for `wsc_send_binary_nocopy`.
unsafe fn send_nocopy(
    conn: *mut wsc_connection,
    is_text: bool,
    data: *const u8,
    len: usize,
    release: wsc_release_fn,
    user: *mut c_void,
) -> Result<(), Error> {
    // SAFETY: `conn` is NULL or a live handle (the caller's promise).
    let conn = unsafe { ptr::connection(conn) }?;
    // SAFETY: `data` stays readable and unchanged until released (the caller's promise).
    let lent = unsafe { LentData::new(data, len, release, user) }?;
    conn.send_lent(is_text, lent).map_err(|(error, lent)| {
        lent.keep();
        error
    })
}

/// Sends a binary message without copying `data` (from 4 KiB on; shorter messages, and every
/// message when permessage-deflate is in use, are copied at once). wsc reads `data`, never
/// writes it, until it calls `release(data, len, release_user)`: exactly once, after the last
/// byte is written to the socket, or when the message will not be sent because the connection
/// ended first. Keep the data unchanged until then; the same data may be lent to many
/// connections at once. With `release` NULL, the data must outlive the connection (static
/// data, say).
///
/// `release` runs with no wsc lock held, on the thread that runs `wsc_service`, in the thread
/// that frees the connection or its context, or inside this call (copied data); it may call
/// wsc functions. On any result but `WSC_OK` it is not called and the data stays yours.
/// Results as for `wsc_send_binary`. Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is a live handle; `data` points to `len` bytes that stay readable from any thread,
/// unchanged, until released.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_binary_nocopy(
    conn: *mut wsc_connection,
    data: *const u8,
    len: usize,
    release: wsc_release_fn,
    release_user: *mut c_void,
) -> wsc_result {
    boundary!("wsc_send_binary_nocopy", WSC_ERR_PANIC, {
        // SAFETY: the caller's promises are those of `send_nocopy`.
        unsafe { send_nocopy(conn, false, data, len, release, release_user) }
    })
}

/// Sends a text message without copying `text`: as `wsc_send_binary_nocopy`, after checking
/// that the text is UTF-8 (`WSC_ERR_INVALID_ARGUMENT` otherwise, and `release` not called;
/// no check with `trust_outgoing_text`).
///
/// # Safety
/// As for `wsc_send_binary_nocopy`.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_text_nocopy(
    conn: *mut wsc_connection,
    text: *const c_char,
    len: usize,
    release: wsc_release_fn,
    release_user: *mut c_void,
) -> wsc_result {
    boundary!("wsc_send_text_nocopy", WSC_ERR_PANIC, {
        // SAFETY: the caller's promises are those of `send_nocopy`.
        unsafe { send_nocopy(conn, true, text.cast(), len, release, release_user) }
    })
}

/// Sends one fragment of a message: the first call starts a text or binary message, later
/// calls continue it (with the same `is_text`), and `is_final` ends it. Other messages cannot
/// be sent in between (`WSC_ERR_FRAGMENT_STATE`); pings can. Safe from any thread, but the
/// fragments of one message must come from one thread at a time.
///
/// # Safety
/// `conn` is a live handle; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_fragment(
    conn: *mut wsc_connection,
    is_text: bool,
    data: *const u8,
    len: usize,
    is_final: bool,
) -> wsc_result {
    boundary!("wsc_send_fragment", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `data` points to `len` readable bytes or is NULL (the caller's promise).
        let data = unsafe { ptr::bytes(data, len) }?;
        conn.send_fragment(is_text, data, is_final)
    })
}

/// Sends a ping with up to 125 bytes of payload; the pong reaches `on_pong`.
/// Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is a live handle; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsc_send_ping(
    conn: *mut wsc_connection,
    data: *const u8,
    len: usize,
) -> wsc_result {
    boundary!("wsc_send_ping", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `data` points to `len` readable bytes or is NULL (the caller's promise).
        let data = unsafe { ptr::bytes(data, len) }?;
        conn.ping(data)
    })
}

/// Starts the closing handshake with `code` (1000-1003, 1007-1014 or 3000-4999) and an
/// optional `reason` (NUL-terminated UTF-8, at most 123 bytes; NULL for none). `on_close`
/// follows once the server answers (or `close_timeout_ms` passes). Before the connection is
/// open, abandons it. Closing again is harmless. Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is a live handle; `reason` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn wsc_close(
    conn: *mut wsc_connection,
    code: u16,
    reason: *const c_char,
) -> wsc_result {
    boundary!("wsc_close", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `reason` is NULL or NUL-terminated (the caller's promise).
        let reason = unsafe { ptr::optional_string(reason, "reason") }?;
        conn.close(code, reason.unwrap_or_default().as_bytes())
    })
}

/// Drops the connection at once, without a Close frame, discarding what is unwritten; for
/// programs that must not wait for a closing handshake. `on_close` follows with 1006,
/// `WSC_CLOSED_BY_APPLICATION`, not clean (no `on_error`), and no reconnect. Before the
/// connection is open it abandons it, as `wsc_close` does. Called from one of the
/// connection's callbacks it takes effect when the callback returns. Harmless on a connection
/// that is over. Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_abort(conn: *mut wsc_connection) -> wsc_result {
    boundary!("wsc_abort", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        unsafe { ptr::connection(conn) }?.abort();
        Ok(())
    })
}

/// Stops reading from the server: nothing more is read from the socket, so once the kernel's
/// buffers fill the server's sends block (TCP flow control). What was already read is still
/// delivered (called from a callback, the pause takes effect after the current read is
/// dispatched); pings already read are answered, and keepalive does not fail the connection
/// for the silence the pause causes. The opening and closing handshakes are read regardless.
/// Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_pause_reading(conn: *mut wsc_connection) -> wsc_result {
    boundary!("wsc_pause_reading", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        unsafe { ptr::connection(conn) }?.pause_reading();
        Ok(())
    })
}

/// Reads again after `wsc_pause_reading`, from the next loop iteration, including what
/// arrived meanwhile. Harmless when not paused. Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_resume_reading(conn: *mut wsc_connection) -> wsc_result {
    boundary!("wsc_resume_reading", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        unsafe { ptr::connection(conn) }?.resume_reading();
        Ok(())
    })
}

/// Asks for one `on_writable` as soon as the unwritten bytes are at or below
/// `writable_low_water` (by default a quarter of `send_buffer_limit`): at the next loop
/// iteration if that is already so. The pacing idiom of a producer: write a chunk, ask, write
/// the next chunk in `on_writable`. Asking again before the callback came changes nothing;
/// before open, the callback comes after `on_open`. `WSC_ERR_NOT_OPEN` once the connection is
/// closing or over. Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_request_writable(conn: *mut wsc_connection) -> wsc_result {
    boundary!("wsc_request_writable", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        unsafe { ptr::connection(conn) }?.request_writable()
    })
}

/// The subprotocol the server chose (NUL-terminated), or NULL when it chose none, the
/// connection is not open yet (or a new attempt started), `conn` is NULL, or on an internal
/// error. Valid until the server answers another handshake (after a reconnect) or the handle
/// is freed. Safe from any thread
/// once `on_open` has run.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_subprotocol(conn: *const wsc_connection) -> *const c_char {
    boundary!("wsc_connection_subprotocol", std::ptr::null(), {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection_or_null(conn) };
        let Some(info) = conn.and_then(Connection::open_info) else {
            return std::ptr::null();
        };
        // The connection keeps this Arc until it opens again, so the pointer outlives `info`.
        info.subprotocol
            .as_ref()
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// A header of the server's answer to this attempt's handshake (the first with this name,
/// ASCII case-insensitive): its 101 once open, or the response that refused the handshake
/// (from that attempt's `on_error` and `on_close` until the next attempt starts). `*value`
/// and `*len` receive its bytes (not NUL-terminated), valid until the server answers another
/// handshake (after a reconnect) or the handle is freed. `WSC_ERR_NOT_FOUND` when there is no
/// such header or no answer yet. Safe from any thread once `on_open` (or `on_error`) ran.
///
/// # Safety
/// `conn` is a live handle; `name` NUL-terminated; `value` and `len` valid.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_header(
    conn: *const wsc_connection,
    name: *const c_char,
    value: *mut *const u8,
    len: *mut usize,
) -> wsc_result {
    boundary!("wsc_connection_header", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `name` is NULL or NUL-terminated (the caller's promise).
        let name = unsafe { string_arg(name, "name") }?;
        // SAFETY: `value` is NULL or valid for writes (the caller's promise).
        let value = unsafe { ptr::out_arg(value, "value") }?;
        // SAFETY: `len` is NULL or valid for writes (the caller's promise).
        let len = unsafe { ptr::out_arg(len, "len") }?;
        let not_found = || Error::new(ErrorKind::NotFound, format!("no {name} header"));
        let info = conn.answer().ok_or_else(not_found)?;
        let found = info.header(name).ok_or_else(not_found)?;
        // The connection keeps this Arc until the next answer, so the bytes outlive `info`.
        *value = found.as_ptr();
        *len = found.len();
        Ok(())
    })
}

/// The header field number `index` (from 0, in the order received) of the server's answer
/// to this attempt's handshake, its 101 or the response that refused it (as for
/// `wsc_connection_header`): `*name`/`*name_len` and `*value`/`*value_len` receive its name
/// and value (not NUL-terminated, the value without surrounding blanks), valid until the
/// server answers another handshake or the handle is freed. `WSC_ERR_NOT_FOUND` past the last
/// field or before an answer: count up from 0 until then to list them all. Safe from any
/// thread.
///
/// # Safety
/// `conn` is a live handle; `name`, `name_len`, `value` and `value_len` valid.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_header_at(
    conn: *const wsc_connection,
    index: usize,
    name: *mut *const u8,
    name_len: *mut usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> wsc_result {
    boundary!("wsc_connection_header_at", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: each out-pointer is NULL or valid for writes (the caller's promise).
        let (name, name_len, value, value_len) = unsafe {
            (
                ptr::out_arg(name, "name")?,
                ptr::out_arg(name_len, "name_len")?,
                ptr::out_arg(value, "value")?,
                ptr::out_arg(value_len, "value_len")?,
            )
        };
        let not_found = || Error::new(ErrorKind::NotFound, format!("no header field {index}"));
        let info = conn.answer().ok_or_else(not_found)?;
        let (n, v) = info.headers.iter().nth(index).ok_or_else(not_found)?;
        // The connection keeps this Arc until the next answer, so the bytes outlive `info`.
        *name = n.as_ptr();
        *name_len = n.len();
        *value = v.as_ptr();
        *value_len = v.len();
        Ok(())
    })
}

/// The status code of the server's answer to this attempt's handshake: 101 once open, or the
/// status that refused the handshake (401, 403, 503, ...) inside that attempt's `on_error` and
/// `on_close` and until the next attempt starts; 0 before an answer (refused, timed out, not
/// yet answered), for NULL, and on an internal error. Safe from any thread.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_status(conn: *const wsc_connection) -> u16 {
    boundary!("wsc_connection_status", 0, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection_or_null(conn) };
        conn.and_then(Connection::answer)
            .map_or(0, |info| info.status)
    })
}

/// The start of the body of the response that refused this attempt's handshake: what arrived
/// with its header, or as much as its `Content-Length` announces within the handshake timeout,
/// at most 1024 bytes. `*data` and `*len` receive it (not NUL-terminated; `*len` may be 0),
/// valid until the server answers another handshake or the handle is freed.
/// `WSC_ERR_NOT_FOUND` when the handshake was not refused (no answer, or a 101). Readable
/// inside `on_error` and `on_close` of that attempt, and until the next one starts. Safe from
/// any thread.
///
/// # Safety
/// `conn` is a live handle; `data` and `len` valid.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_response_body(
    conn: *const wsc_connection,
    data: *mut *const u8,
    len: *mut usize,
) -> wsc_result {
    boundary!("wsc_connection_response_body", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `data` is NULL or valid for writes (the caller's promise).
        let data = unsafe { ptr::out_arg(data, "data") }?;
        // SAFETY: `len` is NULL or valid for writes (the caller's promise).
        let len = unsafe { ptr::out_arg(len, "len") }?;
        let info = conn
            .answer()
            .filter(|info| info.status != 101)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "the handshake was not refused"))?;
        // The connection keeps this Arc until the next answer, so the bytes outlive `info`.
        *data = info.body.as_ptr();
        *len = info.body.len();
        Ok(())
    })
}

/// While the connection waits to reconnect (from inside `on_close`/`on_error` on), the
/// milliseconds until the next attempt; -1 when no attempt is scheduled (the `on_close` you
/// are in is the last one, and on an internal error). 0 for a due attempt. Safe from any
/// thread.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_retry_in_ms(conn: *const wsc_connection) -> i64 {
    boundary!("wsc_connection_retry_in_ms", -1, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection_or_null(conn) };
        match conn.and_then(Connection::retry_in) {
            Some(wait) => wait.as_millis().min(i64::MAX as u128) as i64,
            None => -1,
        }
    })
}

/// The descriptor of the connection's socket (TCP, or Unix domain for `ws+unix://`), for
/// `setsockopt` and `getsockopt` only: do not read, write or close it, nor change its flags
/// (wsc owns it, and TLS records pass through it). -1 until the socket connects (in the
/// `on_error` of an attempt that could not connect, say), once it is closed, and for NULL.
/// Meant for callbacks (`on_open` and later): from another thread the socket may close at any
/// moment. Safe from any thread.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_fd(conn: *const wsc_connection) -> c_int {
    boundary!("wsc_connection_fd", -1, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection_or_null(conn) };
        conn.map_or(-1, Connection::socket_fd)
    })
}

/// The URL of the next reconnect attempt and the ones after it (`ws://` or `wss://`). Meant
/// for `on_reconnect` (the attempt about to start takes it), and valid at any time: it takes
/// effect when the next attempt starts; the connection open now, if any, is not affected.
/// `WSC_ERR_INVALID_URL` for a URL wsc cannot use (nothing changes then). Safe from any
/// thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle; `url` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_set_url(
    conn: *mut wsc_connection,
    url: *const c_char,
) -> wsc_result {
    boundary!("wsc_connection_set_url", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `url` is NULL or NUL-terminated (the caller's promise).
        let url = unsafe { string_arg(url, "url") }?;
        conn.set_url(url)
    })
}

/// Sets a request header of the next reconnect attempt and the ones after it: replaces every
/// header called `name` (ASCII case-insensitive) given in the options or set before, or adds
/// it; a NULL `value` removes it. Meant for `on_reconnect` (a fresh token, say), and valid at
/// any time, taking effect when the next attempt starts. `WSC_ERR_INVALID_ARGUMENT` for a
/// name that is not an HTTP token or a value with control characters; a header wsc sets
/// itself (`Host`, `Upgrade`, `Sec-WebSocket-*`, ...) fails that attempt instead (`on_error`,
/// then its last `on_close`). Safe from any thread and from callbacks.
///
/// # Safety
/// `conn` is NULL or a live handle; `name` NULL or NUL-terminated; `value` NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_set_header(
    conn: *mut wsc_connection,
    name: *const c_char,
    value: *const c_char,
) -> wsc_result {
    boundary!("wsc_connection_set_header", WSC_ERR_PANIC, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection(conn) }?;
        // SAFETY: `name` is NULL or NUL-terminated (the caller's promise).
        let name = unsafe { string_arg(name, "name") }?;
        // SAFETY: `value` is NULL or NUL-terminated (the caller's promise).
        let value = unsafe { optional_string(value, "value") }?;
        conn.set_header(name, value.as_deref())
    })
}

/// Bytes queued on the connection and not yet written to the network. 0 for NULL, and on an
/// internal error.
/// Safe from any thread.
///
/// # Safety
/// `conn` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wsc_connection_buffered_amount(conn: *const wsc_connection) -> usize {
    boundary!("wsc_connection_buffered_amount", 0, {
        // SAFETY: `conn` is NULL or a live handle (the caller's promise).
        let conn = unsafe { ptr::connection_or_null(conn) };
        conn.map_or(0, Connection::buffered_amount)
    })
}

/// Sets the process-wide log handler: every connection of a context without its own
/// (`wsc_context_options.log_fn`) logs to `log_fn`, lines up to `max_level` (a `wsc_log_level`;
/// an int so that any number is checked: `WSC_ERR_INVALID_ARGUMENT` outside 0-5).
///
/// `log_fn` NULL goes back to the default: nothing is logged, unless the environment variable
/// `WSC_LOG` is error, warn, info, debug or trace; then lines up to that level go to stderr,
/// each with a UTC timestamp and its level. Safe from any thread, at any time; once this
/// returns, the previous handler is no longer called. Checking whether a line is wanted costs
/// one atomic load: logging that is off costs nothing measurable.
#[no_mangle]
pub extern "C" fn wsc_log_set_handler(
    log_fn: wsc_log_fn,
    user: *mut c_void,
    max_level: c_int,
) -> wsc_result {
    boundary!("wsc_log_set_handler", WSC_ERR_PANIC, {
        let max = log::level_arg(max_level, "max_level")?;
        crate::log::set_handler(log::handler(log_fn, user, max));
        Ok(())
    })
}
