//! Every pointer C hands to wsc is read here: the NULL policy (a NULL handle or required
//! argument is `WSC_ERR_NULL_ARGUMENT`, never a crash; NULL data is fine with a length of 0),
//! byte, string and array arguments, out-pointers, and the casts between the opaque C handles
//! and the Rust objects behind them.
//!
//! A `wsc_context *` is a `Box<Context>` turned into a raw pointer by `wsc_context_new`. A
//! `wsc_connection *` points to a `Connection` inside an `Arc`: a handle from `wsc_connect`
//! owns one reference (`Arc::into_raw`), the pointer a callback receives borrows it.

use std::ffi::{c_char, CStr};
use std::marker::{PhantomData, PhantomPinned};
use std::sync::Arc;

use crate::{Connection, Context, Error, ErrorKind};

/// A context: an event loop for any number of connections, from `wsc_context_new` until
/// `wsc_context_free`.
pub struct wsc_context {
    _opaque: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A connection, as the callbacks see it (valid during the callback) and as `wsc_connect`
/// hands it out (valid until `wsc_connection_free`).
pub struct wsc_connection {
    _opaque: [u8; 0],
    _not_send_sync_unpin: PhantomData<(*mut u8, PhantomPinned)>,
}

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

/// A C struct the application fills in that grows by appending fields. Its first field is
/// `size_t struct_size`, which the program sets to the size it was compiled with (the header's
/// `WSC_..._INIT` macros do), so the library knows which fields the program has.
///
/// Appending keeps every earlier version a prefix of the new one. A field appended later must
/// start at or after the previous version's size, so each version leaves no padding at its
/// end (the layout tests check it) and its own fields no implicit padding either (the bytes a
/// library does not know must read as zero when unset).
///
/// # Safety
/// The type is `#[repr(C)]`, its first field is `struct_size: usize`, and all-zero bytes are a
/// valid value of it (NULL pointers, zero numbers, false, no callback): its defaults.
pub unsafe trait Extensible: Copy {
    /// The C name, e.g. "wsc_connect_options".
    const NAME: &'static str;
    /// The macro that initialises it, e.g. "WSC_CONNECT_OPTIONS_INIT".
    const INIT: &'static str;
    /// The size of the first version that had `struct_size` (the end of its last field).
    const FIRST_SIZE: usize;
}

/// A `struct_size` above this is taken for an uninitialised one: no version will be this large,
/// and the bytes past the known ones are read, so an absurd size must not be trusted.
const MAX_STRUCT_SIZE: usize = 65536;

/// All-zero: every field at its default, `struct_size` 0.
pub fn zeroed<T: Extensible>() -> T {
    // SAFETY: all-zero bytes are a valid `T` (the promise of `Extensible`).
    unsafe { std::mem::zeroed() }
}

/// An optional input struct that grows ([`Extensible`]): NULL gives `None`. Otherwise the
/// first `min(struct_size, size_of::<T>())` bytes are copied into an all-zero `T`, so fields
/// the program does not know (it was compiled with an older header) keep their defaults. A
/// `struct_size` of 0 or below the first version's size is refused, and so is one larger than
/// `T` unless the bytes past `T` are zero (fields of a newer header left at their defaults).
///
/// # Safety
/// `value` is NULL or points to a struct that starts with its `struct_size`, is at least that
/// many bytes long, and holds valid values for the fields of `T` it covers.
pub unsafe fn sized_in<T: Extensible>(value: *const T) -> Result<Option<T>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    let invalid = |message: String| Error::new(ErrorKind::InvalidArgument, message);
    let (name, init) = (T::NAME, T::INIT);
    // SAFETY: every version of `T` starts with an aligned `size_t struct_size` (the caller's
    // promise), so reading it is valid whatever version the program was compiled with.
    let size = unsafe { value.cast::<usize>().read() };
    if size == 0 {
        return Err(invalid(format!(
            "struct_size is 0: initialise {name} with {init}"
        )));
    }
    if size < T::FIRST_SIZE || size > MAX_STRUCT_SIZE {
        return Err(invalid(format!(
            "struct_size is {size}, not the size of any {name} ({} bytes or a little more): \
             initialise it with {init}",
            T::FIRST_SIZE
        )));
    }
    let known = std::mem::size_of::<T>();
    let mut out = zeroed::<T>();
    // SAFETY: the caller's struct has `size` readable bytes, `out` has `known`, and we copy
    // the smaller count of bytes between two distinct objects. Those bytes hold the caller's
    // values of the fields they cover (its promise), valid for `T` since versions only
    // append; the rest of `out` stays all-zero, which is valid (the promise of `Extensible`).
    unsafe {
        std::ptr::copy_nonoverlapping(
            value.cast::<u8>(),
            std::ptr::from_mut(&mut out).cast::<u8>(),
            size.min(known),
        );
    }
    if size > known {
        // SAFETY: bytes `known..size` of the caller's struct are readable (its promise).
        let unknown =
            unsafe { std::slice::from_raw_parts(value.cast::<u8>().add(known), size - known) };
        if let Some(at) = unknown.iter().position(|&b| b != 0) {
            return Err(invalid(format!(
                "{name} has {size} bytes (struct_size) and byte {} is set, but this libwsc ({}) \
                 knows only the first {known}: the program asks for an option this library \
                 does not have; run it with the libwsc of its header or a newer one",
                known + at,
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    Ok(Some(out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{wsc_callbacks, wsc_connect_options, wsc_context_options};

    /// A struct in two versions: `b` was appended in the second.
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    struct Grown {
        struct_size: usize,
        a: u32,
        b: u32,
    }

    // SAFETY: `#[repr(C)]`, `struct_size` first, numbers only.
    unsafe impl Extensible for Grown {
        const NAME: &'static str = "grown";
        const INIT: &'static str = "GROWN_INIT";
        const FIRST_SIZE: usize = std::mem::offset_of!(Grown, b);
    }

    /// The newest `T` followed by one field a later header adds.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Newer<T> {
        current: T,
        added: u64,
    }

    fn message(result: Result<Option<impl Copy>, Error>) -> String {
        match result {
            Ok(_) => panic!("accepted"),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidArgument);
                e.message
            }
        }
    }

    #[test]
    fn an_older_struct_is_read_up_to_its_size_and_the_rest_is_default() {
        let mut old = Grown {
            struct_size: Grown::FIRST_SIZE,
            a: 7,
            b: 99, // not part of the older struct: whatever lies past it
        };
        // SAFETY: a valid `Grown`, at least `struct_size` bytes.
        let read = unsafe { sized_in(&old) }.unwrap().unwrap();
        assert_eq!(
            (read.struct_size, read.a, read.b),
            (Grown::FIRST_SIZE, 7, 0)
        );
        old.struct_size = std::mem::size_of::<Grown>();
        // SAFETY: as above.
        let read = unsafe { sized_in(&old) }.unwrap().unwrap();
        assert_eq!((read.a, read.b), (7, 99));
    }

    #[test]
    fn a_size_of_zero_or_below_the_first_version_is_refused_with_the_fix() {
        let mut options = wsc_connect_options {
            struct_size: 0,
            ..Default::default()
        };
        // SAFETY: a valid struct.
        let text = message(unsafe { sized_in(&options) });
        assert_eq!(
            text,
            "struct_size is 0: initialise wsc_connect_options with WSC_CONNECT_OPTIONS_INIT"
        );
        options.struct_size = std::mem::size_of::<usize>();
        // SAFETY: a valid struct, larger than `struct_size`.
        let text = message(unsafe { sized_in(&options) });
        assert!(text.contains("struct_size is 8"), "{text}");
        assert!(text.contains("WSC_CONNECT_OPTIONS_INIT"), "{text}");
        let callbacks = wsc_callbacks {
            struct_size: 0,
            ..Default::default()
        };
        // SAFETY: a valid struct.
        let text = message(unsafe { sized_in(&callbacks) });
        assert_eq!(
            text,
            "struct_size is 0: initialise wsc_callbacks with WSC_CALLBACKS_INIT"
        );
        // An uninitialised struct_size (say, a pointer) is not trusted to read that far.
        let mut newer = Newer {
            current: wsc_context_options::default(),
            added: 0,
        };
        newer.current.struct_size = usize::MAX / 2;
        // SAFETY: `struct_size` is refused before anything past the struct is read.
        let text = message(unsafe { sized_in(&newer.current) });
        assert!(text.contains("WSC_CONTEXT_OPTIONS_INIT"), "{text}");
    }

    #[test]
    fn a_newer_struct_is_accepted_only_when_the_fields_unknown_here_are_zero() {
        let known = std::mem::size_of::<wsc_connect_options>();
        let mut newer = Newer {
            current: wsc_connect_options::default(),
            added: 0,
        };
        newer.current.struct_size = std::mem::size_of_val(&newer);
        newer.current.connect_timeout_ms = 1234;
        // SAFETY: `struct_size` covers `newer`, all of it valid.
        let read = unsafe { sized_in(&newer.current) }.unwrap().unwrap();
        assert_eq!(read.connect_timeout_ms, 1234);
        newer.added = 1;
        // SAFETY: as above.
        let text = message(unsafe { sized_in(&newer.current) });
        assert!(text.contains(&format!("byte {known} is set")), "{text}");
        assert!(
            text.contains(&format!("knows only the first {known}")),
            "{text}"
        );
    }

    #[test]
    fn structs_that_grow_leave_no_padding_at_their_end() {
        // A field appended later must start at or after the previous version's size: with no
        // padding at the end, appending cannot put a field where an older program had padding.
        // When appending, name the new last field here.
        macro_rules! ends_with {
            ($type:ty, $field:ident: $field_type:ty) => {
                assert_eq!(
                    std::mem::size_of::<$type>(),
                    std::mem::offset_of!($type, $field) + std::mem::size_of::<$field_type>(),
                    "{} has padding at its end",
                    <$type as Extensible>::NAME
                );
            };
        }
        ends_with!(wsc_connect_options, tls_reserved: [u8; 3]);
        ends_with!(wsc_context_options, reserved: [u8; 4]);
        ends_with!(wsc_callbacks, on_reconnect: Option<extern "C" fn()>);
        assert_eq!(std::mem::offset_of!(wsc_connect_options, struct_size), 0);
        assert_eq!(std::mem::offset_of!(wsc_context_options, struct_size), 0);
        assert_eq!(std::mem::offset_of!(wsc_callbacks, struct_size), 0);
    }
}
