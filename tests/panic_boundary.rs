//! No panic inside wsc crosses into C: every export runs behind the panic boundary, returns the
//! value it documents for that case (`WSC_ERR_PANIC`, -1, NULL, 0, or nothing) and leaves
//! `wsc_last_error()` saying it was an internal error, and the process goes on (a panic that
//! reached an `extern "C"` frame would abort it). Each export is made to panic by name through
//! the fault-injection point at the start of its body.
//!
//! Run with `cargo test --features fault-injection --test panic_boundary`.
#![cfg(feature = "fault-injection")]

mod common;
mod ffi_client;

use std::collections::BTreeSet;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{close_frame, Server};
use ffi_client::{connect, last_error, new_context, service_until, text, Events};
use wsc::fault;
use wsc::ffi::*;

/// Tests here arm a process-wide fault point: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every `#[no_mangle]` function in src/ffi, read from the sources, with the text of its body.
fn exports_in_source() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for item in source.split("#[no_mangle]").skip(1) {
            let after_fn = &item[item.find(" fn ").expect("an exported fn") + 4..];
            let name = &after_fn[..after_fn.find('(').unwrap()];
            let body = &after_fn[after_fn.find('{').expect("a body") + 1..];
            found.push((name.trim().to_string(), body.trim_start().to_string()));
        }
    }
    found.sort();
    found
}

#[test]
fn every_export_runs_its_body_behind_the_boundary_under_its_own_name() {
    let exports = exports_in_source();
    assert!(exports.len() >= 25, "{exports:?}");
    for (name, body) in &exports {
        assert!(
            body.starts_with(&format!("boundary!(\"{name}\",")),
            "{name}: the body does not start with boundary!(\"{name}\", ...): {}",
            &body[..body.len().min(120)]
        );
    }
}

/// Injects panics into exports, remembering which.
struct Armer {
    armed: BTreeSet<String>,
}

impl Armer {
    /// Makes the next call of the export `name` panic, runs `call`, and checks that the panic
    /// was injected there and reported as an internal error; returns what the call returned.
    fn panic_in<T>(&mut self, name: &str, call: impl FnOnce() -> T) -> T {
        // Another message first, so the check below sees the panic's own.
        // SAFETY: NULL is allowed (WSC_ERR_NULL_ARGUMENT).
        assert_eq!(
            unsafe { wsc_context_wake(std::ptr::null()) },
            wsc_result::WSC_ERR_NULL_ARGUMENT
        );
        assert!(!last_error().contains("internal error"));
        fault::arm(name);
        let value = call();
        assert!(!fault::pending(), "{name} did not reach its fault point");
        let message = last_error();
        assert!(
            message.contains("internal error"),
            "{name}: wsc_last_error() after a panic is \"{message}\""
        );
        self.armed.insert(name.to_string());
        value
    }
}

static RELEASED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_release(_: *const u8, _: usize, _: *mut c_void) {
    RELEASED.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn never_called(_: *mut wsc_context, _: u64, _: *mut c_void) {
    panic!("a timer that should never run ran");
}

#[test]
fn every_export_returns_its_fallback_after_a_panic() {
    let _serial = serial();
    let mut armer = Armer {
        armed: BTreeSet::new(),
    };
    let ok = wsc_result::WSC_OK;
    let panic = wsc_result::WSC_ERR_PANIC;

    // A server that accepts "chat", echoes nothing, and closes when asked to.
    let server = Server::start(|peer| {
        peer.read_request();
        let response = peer.switching_with("Sec-WebSocket-Protocol: chat\r\n");
        peer.write(&response);
        let close = peer.read_until_close().expect("the client's Close frame");
        peer.write(&close_frame(close.close_code().unwrap(), b""));
    });

    // Exports that need no context.
    let version = armer.panic_in("wsc_version", || text(wsc_version()));
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let described = armer.panic_in("wsc_result_str", || text(wsc_result_str(0)));
    assert!(described.contains("internal error"), "{described}");
    assert_eq!(text(wsc_result_str(0)), "success");
    let message = armer.panic_in("wsc_last_error", || text(wsc_last_error()));
    assert!(message.contains("internal error"), "{message}");
    let result = armer.panic_in("wsc_log_set_handler", || {
        wsc_log_set_handler(None, std::ptr::null_mut(), 0)
    });
    assert_eq!(result, wsc_result::WSC_ERR_PANIC);

    let mut out = std::ptr::dangling_mut::<wsc_context>();
    let sentinel = out;
    let result = armer.panic_in("wsc_context_new", || {
        // SAFETY: NULL options and a valid out-pointer.
        unsafe { wsc_context_new(std::ptr::null(), &mut out) }
    });
    assert_eq!(result, panic);
    assert_eq!(out, sentinel, "*out written by a call that failed");

    // A context freed under a panic is left as it was, and frees normally afterwards.
    let spare = new_context();
    // SAFETY: a live context.
    armer.panic_in("wsc_context_free", || unsafe { wsc_context_free(spare) });
    // SAFETY: still live: the free above did nothing.
    assert_eq!(unsafe { wsc_service(spare, 0) }, ok);
    // SAFETY: a live context, freed once.
    unsafe { wsc_context_free(spare) };

    // A context with an open connection.
    let ctx = new_context();
    let events = Events::default();
    let conn = connect(ctx, &server.url(), &[c"chat"], &events);
    let mut results = Vec::new();
    service_until(ctx, "on_open", |_| events.opened(), &mut results);
    assert!(results.iter().all(|r| *r == ok), "{results:?}");

    // SAFETY (all calls below): `ctx` and `conn` are live, pointers valid.
    assert_eq!(
        armer.panic_in("wsc_service", || unsafe { wsc_service(ctx, 0) }),
        panic
    );
    assert_eq!(unsafe { wsc_service(ctx, 0) }, ok);
    assert_eq!(
        armer.panic_in("wsc_context_wake", || unsafe { wsc_context_wake(ctx) }),
        panic
    );
    assert_eq!(unsafe { wsc_context_connection_count(ctx) }, 1);
    assert_eq!(
        armer.panic_in("wsc_context_connection_count", || unsafe {
            wsc_context_connection_count(ctx)
        }),
        0
    );
    assert!(unsafe { wsc_context_fd(ctx) } >= 0);
    assert_eq!(
        armer.panic_in("wsc_context_fd", || unsafe { wsc_context_fd(ctx) }),
        -1
    );

    // A timer far away, so the loop has a wake-up time and a timer to stop.
    let mut timer = 0;
    let user = std::ptr::null_mut();
    let callback = Some(never_called as extern "C" fn(*mut wsc_context, u64, *mut c_void));
    assert_eq!(
        unsafe { wsc_timer_start(ctx, 3_600_000, 0, callback, user, &mut timer) },
        ok
    );
    assert_eq!(unsafe { wsc_service(ctx, 0) }, ok);
    assert!(unsafe { wsc_next_timeout_ms(ctx) } > 0);
    assert_eq!(
        armer.panic_in("wsc_next_timeout_ms", || unsafe {
            wsc_next_timeout_ms(ctx)
        }),
        -1
    );
    let mut other_timer = 0;
    let result = armer.panic_in("wsc_timer_start", || unsafe {
        wsc_timer_start(ctx, 0, 0, callback, user, &mut other_timer)
    });
    assert_eq!(result, panic);
    assert_eq!(other_timer, 0, "*out_id written by a call that failed");
    assert_eq!(
        armer.panic_in("wsc_timer_stop", || unsafe { wsc_timer_stop(ctx, timer) }),
        panic
    );
    // The timer is still there: the stop that panicked did nothing.
    assert_eq!(unsafe { wsc_timer_stop(ctx, timer) }, ok);

    let mut other = std::ptr::dangling_mut::<wsc_connection>();
    let sentinel = other;
    let url = c"ws://127.0.0.1:9/";
    let result = armer.panic_in("wsc_connect", || unsafe {
        wsc_connect(
            ctx,
            url.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null_mut(),
            &mut other,
        )
    });
    assert_eq!(result, panic);
    assert_eq!(other, sentinel, "*out written by a call that failed");
    assert_eq!(unsafe { wsc_context_connection_count(ctx) }, 1);

    // Sends that panic send nothing; the ones between them reach the server in order.
    let result = armer.panic_in("wsc_send_text", || unsafe {
        wsc_send_text(conn, c"lost".as_ptr(), 4)
    });
    assert_eq!(result, panic);
    assert_eq!(unsafe { wsc_send_text(conn, c"one".as_ptr(), 3) }, ok);
    let result = armer.panic_in("wsc_send_binary", || unsafe {
        wsc_send_binary(conn, b"lost".as_ptr(), 4)
    });
    assert_eq!(result, panic);
    assert_eq!(unsafe { wsc_send_binary(conn, b"two".as_ptr(), 3) }, ok);
    let lent = vec![7u8; 8192];
    let release = Some(count_release as extern "C" fn(*const u8, usize, *mut c_void));
    let result = armer.panic_in("wsc_send_binary_nocopy", || unsafe {
        wsc_send_binary_nocopy(conn, lent.as_ptr(), lent.len(), release, user)
    });
    assert_eq!(result, panic);
    let result = armer.panic_in("wsc_send_text_nocopy", || unsafe {
        wsc_send_text_nocopy(conn, lent.as_ptr().cast(), lent.len(), release, user)
    });
    assert_eq!(result, panic);
    assert_eq!(
        RELEASED.load(Ordering::SeqCst),
        0,
        "release of a refused send"
    );
    let result = armer.panic_in("wsc_send_fragment", || unsafe {
        wsc_send_fragment(conn, true, b"lost".as_ptr(), 4, false)
    });
    assert_eq!(result, panic);
    // No fragmented message was started by the call that panicked.
    assert_eq!(unsafe { wsc_send_text(conn, c"three".as_ptr(), 5) }, ok);
    let result = armer.panic_in("wsc_send_ping", || unsafe {
        wsc_send_ping(conn, b"lost".as_ptr(), 4)
    });
    assert_eq!(result, panic);

    assert_eq!(text(unsafe { wsc_connection_subprotocol(conn) }), "chat");
    let subprotocol = armer.panic_in("wsc_connection_subprotocol", || unsafe {
        wsc_connection_subprotocol(conn)
    });
    assert!(subprotocol.is_null());
    let name = c"Sec-WebSocket-Protocol";
    let (mut value, mut len) = (std::ptr::null(), usize::MAX);
    let result = armer.panic_in("wsc_connection_header", || unsafe {
        wsc_connection_header(conn, name.as_ptr(), &mut value, &mut len)
    });
    assert_eq!(result, panic);
    assert!(
        value.is_null() && len == usize::MAX,
        "outputs written on failure"
    );
    assert_eq!(
        unsafe { wsc_connection_header(conn, name.as_ptr(), &mut value, &mut len) },
        ok
    );
    assert_eq!(len, 4);
    assert_eq!(unsafe { wsc_connection_status(conn) }, 101);
    let (mut field, mut field_len) = (std::ptr::null(), usize::MAX);
    let result = armer.panic_in("wsc_connection_header_at", || unsafe {
        wsc_connection_header_at(conn, 0, &mut field, &mut field_len, &mut value, &mut len)
    });
    assert_eq!(result, panic);
    assert!(
        field.is_null() && field_len == usize::MAX,
        "outputs written on failure"
    );
    let mut names = Vec::new();
    for index in 0.. {
        match unsafe {
            wsc_connection_header_at(
                conn,
                index,
                &mut field,
                &mut field_len,
                &mut value,
                &mut len,
            )
        } {
            wsc_result::WSC_OK => names.push(text_of(field, field_len)),
            result => {
                assert_eq!(result, wsc_result::WSC_ERR_NOT_FOUND);
                break;
            }
        }
    }
    assert!(
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("Sec-WebSocket-Protocol")),
        "{names:?}"
    );
    assert_eq!(
        armer.panic_in("wsc_connection_status", || unsafe {
            wsc_connection_status(conn)
        }),
        0
    );
    let (mut body, mut body_len) = (std::ptr::null(), usize::MAX);
    let result = armer.panic_in("wsc_connection_response_body", || unsafe {
        wsc_connection_response_body(conn, &mut body, &mut body_len)
    });
    assert_eq!(result, panic);
    assert!(
        body.is_null() && body_len == usize::MAX,
        "outputs written on failure"
    );
    // Open: the handshake was not refused.
    assert_eq!(
        unsafe { wsc_connection_response_body(conn, &mut body, &mut body_len) },
        wsc_result::WSC_ERR_NOT_FOUND
    );
    // Changes for the next attempt that panic change nothing (none follows here anyway).
    let result = armer.panic_in("wsc_connection_set_url", || unsafe {
        wsc_connection_set_url(conn, c"ws://127.0.0.1:1/".as_ptr())
    });
    assert_eq!(result, panic);
    let result = armer.panic_in("wsc_connection_set_header", || unsafe {
        wsc_connection_set_header(conn, c"X-A".as_ptr(), c"b".as_ptr())
    });
    assert_eq!(result, panic);
    assert_eq!(
        unsafe { wsc_connection_set_url(conn, c"http://[".as_ptr()) },
        wsc_result::WSC_ERR_INVALID_URL
    );
    assert_eq!(
        unsafe { wsc_connection_set_header(conn, c"bad name".as_ptr(), std::ptr::null()) },
        wsc_result::WSC_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        armer.panic_in("wsc_connection_retry_in_ms", || unsafe {
            wsc_connection_retry_in_ms(conn)
        }),
        -1
    );
    assert_eq!(
        armer.panic_in("wsc_connection_buffered_amount", || unsafe {
            wsc_connection_buffered_amount(conn)
        }),
        0
    );
    // SAFETY: a live connection, open: it has a socket.
    assert!(unsafe { wsc_connection_fd(conn) } >= 0);
    assert_eq!(
        armer.panic_in("wsc_connection_fd", || unsafe { wsc_connection_fd(conn) }),
        -1
    );

    // Flow control and abort that panic have no effect.
    for (name, call) in [
        (
            "wsc_pause_reading",
            wsc_pause_reading as unsafe extern "C" fn(_) -> _,
        ),
        ("wsc_resume_reading", wsc_resume_reading),
        ("wsc_request_writable", wsc_request_writable),
        ("wsc_abort", wsc_abort),
    ] {
        // SAFETY: a live handle.
        assert_eq!(armer.panic_in(name, || unsafe { call(conn) }), panic);
    }
    // SAFETY: a live handle; pausing and resuming change nothing the server sees.
    assert_eq!(unsafe { wsc_pause_reading(conn) }, ok);
    // SAFETY: as above.
    assert_eq!(unsafe { wsc_resume_reading(conn) }, ok);
    assert!(!events.closed(), "an abort that panicked did not abort");

    // A close that panics does not close; the next one does.
    assert_eq!(
        armer.panic_in("wsc_close", || unsafe {
            wsc_close(conn, WSC_CLOSE_NORMAL, std::ptr::null())
        }),
        panic
    );
    assert!(!events.closed());
    assert_eq!(
        unsafe { wsc_close(conn, WSC_CLOSE_NORMAL, c"done".as_ptr()) },
        ok
    );
    service_until(ctx, "on_close", |_| events.closed(), &mut results);
    assert!(results.iter().all(|r| *r == ok), "{results:?}");
    assert_eq!(
        events.seen(),
        [
            ffi_client::Seen::Open,
            ffi_client::Seen::Close {
                code: WSC_CLOSE_NORMAL,
                closed_by: wsc_closed_by::WSC_CLOSED_BY_APPLICATION,
                clean: true
            }
        ]
    );

    // A handle freed under a panic stays valid, and is freed once afterwards.
    armer.panic_in("wsc_connection_free", || unsafe {
        wsc_connection_free(conn)
    });
    assert_eq!(
        unsafe { wsc_send_text(conn, c"x".as_ptr(), 1) },
        wsc_result::WSC_ERR_NOT_OPEN
    );
    unsafe { wsc_connection_free(conn) };
    unsafe { wsc_context_free(ctx) };

    // The server saw exactly the sends that did not panic.
    let frames = server.join();
    let data: Vec<(u8, &[u8])> = frames
        .iter()
        .map(|f| (f.opcode, f.payload.as_slice()))
        .collect();
    assert_eq!(
        data,
        [
            (0x1, &b"one"[..]),
            (0x2, &b"two"[..]),
            (0x1, &b"three"[..]),
            (0x8, &[0x03, 0xe8, b'd', b'o', b'n', b'e'][..]),
        ]
    );

    // Every export was made to panic.
    let exports: BTreeSet<String> = exports_in_source().into_iter().map(|(n, _)| n).collect();
    assert_eq!(armer.armed, exports);
}

#[test]
fn a_panic_leaves_no_message_behind_in_other_threads() {
    let _serial = serial();
    fault::arm("wsc_context_fd");
    // SAFETY: NULL is allowed.
    assert_eq!(unsafe { wsc_context_fd(std::ptr::null()) }, -1);
    assert!(!fault::pending());
    assert!(last_error().contains("internal error"));
    let elsewhere = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(elsewhere, "");
}

/// `len` bytes at `data` as text.
fn text_of(data: *const u8, len: usize) -> String {
    // SAFETY: wsc gave `data` and `len` for bytes valid until the next answer.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(data, len) }).into_owned()
}
