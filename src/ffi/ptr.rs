//! Every pointer C hands to wsc is read here: the NULL policy (a NULL handle or required
//! argument is `WSC_ERR_NULL_ARGUMENT`, never a crash; NULL data is fine with a length of 0),
//! byte, string and array arguments, out-pointers, and the casts between the opaque C handles
//! and the Rust objects behind them.
//!
//! A `wsc_context *` is a `Box<Context>` turned into a raw pointer by `wsc_context_new`. A
//! `wsc_connection *` points to a `Connection` inside an `Arc`: a handle from `wsc_connect`
//! owns one reference (`Arc::into_raw`), the pointer a callback receives borrows it.

use std::ffi::{c_char, CStr};
use std::sync::Arc;

use super::types::{wsc_connection, wsc_context};
use crate::{Connection, Context, Error, ErrorKind};

fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{name} is NULL"))
}

/// The context behind a handle; NULL gives `None`.
///
/// # Safety
/// `ctx` is NULL or a live handle from [`new_context`], and the context stays alive while the
/// reference is used.
pub unsafe fn context_or_null<'a>(ctx: *const wsc_context) -> Option<&'a Context> {
    // SAFETY: a non-NULL handle points to a live `Context` (the caller's promise); the handle
    // type is only a name for it in C.
    unsafe { ctx.cast::<Context>().as_ref() }
}

/// The context behind a required handle.
///
/// # Safety
/// As for [`context_or_null`].
pub unsafe fn context<'a>(ctx: *const wsc_context) -> Result<&'a Context, Error> {
    // SAFETY: as promised by the caller.
    unsafe { context_or_null(ctx) }.ok_or_else(|| null("the context"))
}

/// A new context handle, owned by the caller until [`free_context`].
pub fn new_context(context: Context) -> *mut wsc_context {
    Box::into_raw(Box::new(context)).cast()
}

/// Frees a context made by [`new_context`]; NULL is ignored.
///
/// # Safety
/// `ctx` is NULL or a handle from [`new_context`] not yet freed, and no reference from
/// [`context`] is used afterwards.
pub unsafe fn free_context(ctx: *mut wsc_context) {
    if !ctx.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` in `new_context` and is freed once (the
        // caller's promise).
        drop(unsafe { Box::from_raw(ctx.cast::<Context>()) });
    }
}

/// The connection behind a handle; NULL gives `None`.
///
/// # Safety
/// `conn` is NULL, a handle from [`new_connection`] not yet freed, or the pointer a callback
/// received, used during that callback.
pub unsafe fn connection_or_null<'a>(conn: *const wsc_connection) -> Option<&'a Connection> {
    // SAFETY: a non-NULL handle points to a `Connection` kept alive by an `Arc` reference
    // (owned by the handle, or by the loop during a callback), as the caller promises.
    unsafe { conn.cast::<Connection>().as_ref() }
}

/// The connection behind a required handle.
///
/// # Safety
/// As for [`connection_or_null`].
pub unsafe fn connection<'a>(conn: *const wsc_connection) -> Result<&'a Connection, Error> {
    // SAFETY: as promised by the caller.
    unsafe { connection_or_null(conn) }.ok_or_else(|| null("the connection"))
}

/// A connection handle owning one reference, until [`free_connection`].
pub fn new_connection(conn: Arc<Connection>) -> *mut wsc_connection {
    Arc::into_raw(conn).cast_mut().cast()
}

/// Releases the reference a handle from [`new_connection`] owns; NULL is ignored.
///
/// # Safety
/// `conn` is NULL or a handle from [`new_connection`], released once.
pub unsafe fn free_connection(conn: *mut wsc_connection) {
    if !conn.is_null() {
        // SAFETY: the pointer came from `Arc::into_raw` in `new_connection` and its reference
        // is released once (the caller's promise).
        drop(unsafe { Arc::from_raw(conn.cast_const().cast::<Connection>()) });
    }
}

/// The pointer a callback receives for `conn`: borrowed, valid while the loop holds the
/// connection (during the callback), the same address as an owned handle to it.
pub fn borrowed_connection(conn: &Connection) -> *mut wsc_connection {
    std::ptr::from_ref(conn).cast_mut().cast()
}

/// A required out-pointer.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub unsafe fn out_arg<'a, T>(out: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller passes NULL or a valid, writable pointer.
    unsafe { out.as_mut() }.ok_or_else(|| null(name))
}

/// An optional out-pointer: NULL gives `None`.
///
/// # Safety
/// `out` is NULL or valid for writes.
pub unsafe fn optional_out<'a, T>(out: *mut T) -> Option<&'a mut T> {
    // SAFETY: the caller passes NULL or a valid, writable pointer.
    unsafe { out.as_mut() }
}

/// An optional input struct: NULL gives `None`.
///
/// # Safety
/// `value` is NULL or points to a valid `T`.
pub unsafe fn optional_in<'a, T>(value: *const T) -> Option<&'a T> {
    // SAFETY: the caller passes NULL or a valid pointer.
    unsafe { value.as_ref() }
}

/// `(data, len)` as a slice; NULL is fine when `len` is 0.
///
/// # Safety
/// `data` points to `len` readable bytes when not NULL, unchanged while the slice is used.
pub unsafe fn bytes<'a>(data: *const u8, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(null("data (with a non-zero length)"));
    }
    // SAFETY: non-NULL and `len` readable bytes, as promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `s` is NULL or NUL-terminated, unchanged while the string is used.
pub unsafe fn string_arg<'a>(s: *const c_char, name: &str) -> Result<&'a str, Error> {
    if s.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, as promised by the caller.
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
        // SAFETY: non-NULL and NUL-terminated, as promised by the caller.
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
    // SAFETY: non-NULL and `count` valid items, as promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(items, count) })
}
