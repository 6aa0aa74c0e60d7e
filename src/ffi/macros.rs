//! The one way an export's body is written.

/// The body of an exported function, behind the panic boundary:
/// `boundary!("wsc_name", FALLBACK, { body })` with the export's own name (a fault-injection
/// point of that name comes first, so tests can make any export panic) and the value it
/// returns if the body panics.
///
/// With `WSC_ERR_PANIC` as the fallback the body returns `Result<(), Error>`: an error is
/// recorded for `wsc_last_error` and returned as its `wsc_result`. Any other fallback (-1,
/// NULL, 0, `()`) is of the export's own return type, which the body returns. After a panic
/// `wsc_last_error` says it was an internal error.
macro_rules! boundary {
    ($name:literal, WSC_ERR_PANIC, $body:block) => {
        $crate::ffi::boundary::catch_result($name, || -> Result<(), $crate::Error> { $body })
    };
    ($name:literal, $on_panic:expr, $body:block) => {
        $crate::ffi::boundary::catch_value($name, $on_panic, || $body)
    };
}
