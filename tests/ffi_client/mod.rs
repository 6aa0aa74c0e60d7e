//! A client written against the C API (`wsc::ffi`) the way a C program uses it: callbacks that
//! record what they see, a context, one connection. For the tests that exercise the exports
//! themselves.
#![allow(dead_code)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::time::{Duration, Instant};

use wsc::ffi::*;

/// A callback as the C program saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Open,
    Message(Vec<u8>),
    Error(wsc_result),
    Close {
        code: u16,
        closed_by: wsc_closed_by,
        clean: bool,
    },
}

/// What the callbacks of one connection saw, in order. Callbacks run on the thread that runs
/// `wsc_service`, the test's own.
#[derive(Default)]
pub struct Events(RefCell<Vec<Seen>>);

impl Events {
    pub fn seen(&self) -> Vec<Seen> {
        self.0.borrow().clone()
    }

    pub fn opened(&self) -> bool {
        self.0.borrow().contains(&Seen::Open)
    }

    pub fn closed(&self) -> bool {
        self.0
            .borrow()
            .iter()
            .any(|s| matches!(s, Seen::Close { .. }))
    }

    /// The callbacks, passing `self` as `user`.
    pub fn callbacks(&self) -> (wsc_callbacks, *mut c_void) {
        let callbacks = wsc_callbacks {
            on_open: Some(on_open),
            on_message: Some(on_message),
            on_error: Some(on_error),
            on_close: Some(on_close),
            ..wsc_callbacks::default()
        };
        (callbacks, std::ptr::from_ref(self).cast_mut().cast())
    }
}

fn record(user: *mut c_void, seen: Seen) {
    // SAFETY: `user` is the `Events` that `callbacks` handed out, alive while its connection
    // runs (each test keeps it until the context is freed).
    let events = unsafe { &*user.cast_const().cast::<Events>() };
    events.0.borrow_mut().push(seen);
}

extern "C" fn on_open(_: *mut wsc_connection, user: *mut c_void) {
    record(user, Seen::Open);
}

extern "C" fn on_message(
    _: *mut wsc_connection,
    data: *const u8,
    len: usize,
    _: bool,
    user: *mut c_void,
) {
    // SAFETY: wsc passes `len` readable bytes, valid during the callback.
    let data = unsafe { std::slice::from_raw_parts(data, len) };
    record(user, Seen::Message(data.to_vec()));
}

extern "C" fn on_error(
    _: *mut wsc_connection,
    result: wsc_result,
    _: *const c_char,
    user: *mut c_void,
) {
    record(user, Seen::Error(result));
}

extern "C" fn on_close(
    _: *mut wsc_connection,
    code: u16,
    _: *const c_char,
    _: usize,
    closed_by: wsc_closed_by,
    clean: bool,
    user: *mut c_void,
) {
    record(
        user,
        Seen::Close {
            code,
            closed_by,
            clean,
        },
    );
}

/// A string returned by the C API (never NULL by contract).
pub fn text(s: *const c_char) -> String {
    assert!(!s.is_null(), "a string the C API promises is NULL");
    // SAFETY: the C API returns NUL-terminated strings valid until the next call.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// `wsc_last_error()` as text.
pub fn last_error() -> String {
    text(wsc_last_error())
}

/// A new context with the default options.
pub fn new_context() -> *mut wsc_context {
    let mut ctx = std::ptr::null_mut();
    // SAFETY: NULL options and a valid out-pointer.
    assert_eq!(
        unsafe { wsc_context_new(std::ptr::null(), &mut ctx) },
        wsc_result::WSC_OK
    );
    assert!(!ctx.is_null());
    ctx
}

/// Connect options that are all defaults (all-zero).
pub fn default_options() -> wsc_connect_options {
    // SAFETY: all-zero is a valid `wsc_connect_options` (NULL pointers, zero numbers, false),
    // and documented as the defaults.
    unsafe { std::mem::zeroed() }
}

/// Connects `ctx` to `url` offering `subprotocols`, with `events` recording the callbacks; the
/// owned handle.
pub fn connect(
    ctx: *mut wsc_context,
    url: &str,
    subprotocols: &[&CStr],
    events: &Events,
) -> *mut wsc_connection {
    let url = CString::new(url).unwrap();
    let protocols: Vec<*const c_char> = subprotocols.iter().map(|p| p.as_ptr()).collect();
    let mut options = default_options();
    options.subprotocols = protocols.as_ptr();
    options.subprotocol_count = protocols.len();
    options.close_timeout_ms = 2000;
    let (callbacks, user) = events.callbacks();
    let mut conn = std::ptr::null_mut();
    // SAFETY: a live context, a NUL-terminated URL, options and callbacks valid during the
    // call, `user` alive while the connection runs, a valid out-pointer.
    let result = unsafe { wsc_connect(ctx, url.as_ptr(), &options, &callbacks, user, &mut conn) };
    assert_eq!(result, wsc_result::WSC_OK, "{}", last_error());
    assert!(!conn.is_null());
    conn
}

/// Runs `wsc_service` until `done` (given the results so far) or 4 s pass (a failure); every
/// call's result goes to `results`.
pub fn service_until(
    ctx: *mut wsc_context,
    what: &str,
    mut done: impl FnMut(&[wsc_result]) -> bool,
    results: &mut Vec<wsc_result>,
) {
    let deadline = Instant::now() + Duration::from_secs(4);
    while !done(results) {
        assert!(Instant::now() < deadline, "still waiting for {what}");
        // SAFETY: a live context.
        results.push(unsafe { wsc_service(ctx, 20) });
    }
}
