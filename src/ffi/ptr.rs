//! Pointers from C: the NULL policy, byte and string arguments, the panic guard and the
//! per-thread last error message, in one place.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::types::wsc_result;
use crate::error::{Error, ErrorKind};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs the body of an exported function: a panic becomes `WSC_ERR_PANIC` instead of unwinding
/// into C, and an error is recorded for `wsc_last_error` and returned as its code.
pub fn guard(body: impl FnOnce() -> Result<(), Error>) -> wsc_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => wsc_result::WSC_OK,
        Ok(Err(error)) => {
            set_last_error(&error.message);
            wsc_result::from_kind(error.kind)
        }
        Err(_) => {
            set_last_error("internal error (a panic inside wsc); please report it");
            wsc_result::WSC_ERR_PANIC
        }
    }
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

pub fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{name} is NULL"))
}

/// A required pointer argument.
pub fn arg<T>(value: Option<&T>) -> Result<&T, Error> {
    value.ok_or_else(|| null("a required handle"))
}

/// A required out-pointer.
pub fn out_arg<'a, T>(out: *mut *mut T) -> Result<&'a mut *mut T, Error> {
    // SAFETY: the caller passes NULL or a valid, writable pointer.
    unsafe { out.as_mut() }.ok_or_else(|| null("the out pointer"))
}

/// `(data, len)` as a slice; NULL is fine when `len` is 0.
///
/// # Safety
/// `data` points to `len` readable bytes when not NULL.
pub unsafe fn bytes<'a>(data: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(null("data (with a non-zero length)"));
    }
    // SAFETY: as promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
pub unsafe fn string_arg<'a>(s: *const c_char, name: &str) -> Result<&'a str, Error> {
    if s.is_null() {
        return Err(null(name));
    }
    // SAFETY: as promised by the caller.
    unsafe { CStr::from_ptr(s) }.to_str().map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// An optional NUL-terminated string: NULL gives `None`.
///
/// # Safety
/// `s` is NULL or NUL-terminated.
pub unsafe fn optional_string(s: *const c_char, name: &str) -> Result<Option<String>, Error> {
    if s.is_null() {
        Ok(None)
    } else {
        // SAFETY: as promised by the caller.
        unsafe { string_arg(s, name) }.map(|s| Some(s.to_string()))
    }
}

/// `(items, count)` as a slice; NULL is fine when `count` is 0.
///
/// # Safety
/// `items` points to `count` valid items when not NULL.
pub unsafe fn array<'a, T>(items: *const T, count: usize, name: &str) -> Result<&'a [T], Error> {
    if count == 0 {
        return Ok(&[]);
    }
    if items.is_null() {
        return Err(null(name));
    }
    // SAFETY: as promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(items, count) })
}
