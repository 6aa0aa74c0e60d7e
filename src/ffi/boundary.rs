//! The panic boundary every export runs its body in (through [`boundary!`]), and the
//! per-thread message `wsc_last_error` returns.
//!
//! A panic must never unwind into C: each export catches it, records [`PANIC_MESSAGE`] for
//! `wsc_last_error` and returns the fallback value it states (`WSC_ERR_PANIC`, -1, NULL, 0, or
//! nothing). Nothing on the way back to C may panic again: the message is stored without
//! borrowing twice, and the panic's payload is dropped behind a second catch.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::types::wsc_result;
use crate::Error;

/// What `wsc_last_error` says after a panic inside wsc.
pub const PANIC_MESSAGE: &CStr = c"internal error (a panic inside wsc); please report it";

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` for `wsc_last_error` on this thread.
fn set_last_error(message: CString) {
    // Fails only while the thread is being torn down, when nobody can ask any more.
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut last) = e.try_borrow_mut() {
            *last = message;
        }
    });
}

/// This thread's last error message, valid until the next wsc call on this thread.
pub fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

fn record(error: &Error) {
    set_last_error(CString::new(error.message.replace('\0', " ")).unwrap_or_default());
}

/// After a panic: records it and disposes of its payload without letting a second panic out.
fn panicked(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    set_last_error(PANIC_MESSAGE.to_owned());
}

/// Runs the body of the export `name` that returns a `wsc_result`: `Ok` is `WSC_OK`, an error
/// is recorded for `wsc_last_error` and returned as its code, a panic is `WSC_ERR_PANIC`.
pub fn catch_result(name: &str, body: impl FnOnce() -> Result<(), Error>) -> wsc_result {
    let run = || {
        crate::fault::point(name);
        match body() {
            Ok(()) => wsc_result::WSC_OK,
            Err(error) => {
                record(&error);
                wsc_result::from_kind(error.kind)
            }
        }
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        panicked(payload);
        wsc_result::WSC_ERR_PANIC
    })
}

/// Runs the body of the export `name` that returns a plain value: `on_panic` if it panics.
pub fn catch_value<T>(name: &str, on_panic: T, body: impl FnOnce() -> T) -> T {
    let run = || {
        crate::fault::point(name);
        body()
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        panicked(payload);
        on_panic
    })
}
