//! A whole client through the C API against a server that plays the fuzzer's bytes.
//!
//! A loopback server thread answers the client's handshake with a valid 101 (the accept value
//! computed from its key, permessage-deflate accepted or not), writes the fuzzed stream, closes
//! its side and reads until the client hangs up; or, as the input's settings choose, the fuzzed
//! stream is its whole answer, handshake included. The callbacks, driven by a script of input
//! bytes, send (copied and lent), ping, close, free the connection handle, free the context and
//! try to run the loop re-entrantly; releasing a lent buffer sends or closes on the handle.
//!
//! Input: one byte of settings, one giving the script's length, the script, then the stream.
//!
//! Checked:
//! - `on_open` before any other callback, `on_close` exactly once and last;
//! - messages within `max_message_size`, text valid UTF-8, close reasons UTF-8 and
//!   NUL-terminated, error messages present;
//! - `wsc_service` inside a callback answers `WSC_ERR_BUSY`;
//! - every buffer lent with `wsc_send_*_nocopy` is released exactly once, with its length,
//!   and never when the send was refused;
//! - the run ends: at most 5 s and a bounded number of loop turns per input.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::ptr::{null, null_mut};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use wsc::ffi::{
    wsc_callbacks, wsc_close, wsc_closed_by, wsc_connect, wsc_connect_options, wsc_connection_free,
    wsc_context_connection_count, wsc_context_free, wsc_context_new, wsc_context_options,
    wsc_result, wsc_send_binary, wsc_send_binary_nocopy, wsc_send_fragment, wsc_send_ping,
    wsc_send_text, wsc_send_text_nocopy, wsc_service,
};
use wsc::protocol::handshake::accept_key;

use crate::Input;

const MAX_FRAME: u64 = 512;
const MAX_MESSAGE: u64 = 2048;
/// Longest a single input may run.
const DEADLINE: Duration = Duration::from_secs(5);
const MAX_TURNS: u32 = 10_000;
/// A lent buffer this large is really lent (shorter ones are copied at once).
const LENT_LEN: usize = 5000;

/// What the server does for one connection.
struct Job {
    /// `None`: the stream is the whole answer, handshake included.
    extensions: Option<&'static str>,
    stream: Vec<u8>,
}

struct Server {
    port: u16,
    jobs: Mutex<Sender<Job>>,
    done: Mutex<Receiver<()>>,
}

/// The one server thread, started on first use; it serves one connection per job, in order.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        // libFuzzer's main does not ignore SIGPIPE as Rust's does.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        std::thread::spawn(move || {
            for job in job_rx {
                if let Ok((stream, _)) = listener.accept() {
                    serve(stream, &job);
                }
                if done_tx.send(()).is_err() {
                    return;
                }
            }
        });
        Server {
            port,
            jobs: Mutex::new(jobs),
            done: Mutex::new(done),
        }
    })
}

fn serve(mut stream: TcpStream, job: &Job) {
    let _ = stream.set_read_timeout(Some(DEADLINE));
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("the request has a key")
        .trim();
    let mut bytes = match job.extensions {
        Some(extensions) => format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extensions}\r\n",
            accept_key(key)
        )
        .into_bytes(),
        None => Vec::new(),
    };
    bytes.extend_from_slice(&job.stream);
    // Errors are fine: the client may have failed the connection already.
    let _ = stream.write_all(&bytes);
    let _ = stream.shutdown(Shutdown::Write);
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
    }
}

/// Everything the callbacks see and record; `user` of every callback.
struct State<'a> {
    script: &'a [u8],
    step: Cell<usize>,
    /// The context, until it is freed (by a callback or at the end).
    ctx: Cell<*mut c_void>,
    /// The handle `wsc_connect` gave, until it is freed.
    handle: Cell<*mut c_void>,
    opened: Cell<bool>,
    closes: Cell<u32>,
    /// Lent buffers not released yet, by address: their length.
    lent: RefCell<HashMap<usize, usize>>,
    lent_total: Cell<u32>,
}

impl State<'_> {
    /// The script's next byte, 0 (do nothing) once it is used up.
    fn next(&self) -> u8 {
        let i = self.step.get();
        self.step.set(i + 1);
        self.script.get(i).copied().unwrap_or(0)
    }

    /// A connection callback is allowed now.
    fn callback(&self, name: &str) {
        assert_eq!(self.closes.get(), 0, "{name} after on_close");
        assert!(self.opened.get(), "{name} before on_open");
    }

    /// Does what the script says, from inside a callback on `conn`.
    fn act<C>(&self, conn: *mut C) {
        let b = self.next();
        let conn = conn.cast();
        unsafe {
            match b % 16 {
                4 => {
                    let _ = wsc_send_text(conn, c"hello".as_ptr(), 5);
                }
                5 => {
                    let data = vec![b; 300 * (b >> 4) as usize];
                    {
                        let _ = wsc_send_binary(conn, data.as_ptr(), data.len());
                    };
                }
                6 => self.lend(conn, false, LENT_LEN + (b >> 4) as usize),
                7 => self.lend(conn, b & 0x10 != 0, (b >> 5) as usize),
                8 => {
                    let _ = wsc_send_ping(conn, b"p".as_ptr(), 1);
                }
                9 => {
                    let _ = wsc_send_fragment(conn, false, b"frag".as_ptr(), 4, b & 0x10 != 0);
                }
                10 => {
                    let _ = wsc_close(conn, 1000, c"bye".as_ptr());
                }
                11 => {
                    // Codes that may not be sent are refused.
                    let r = wsc_close(conn, 1005, null());
                    assert_eq!(r, wsc_result::WSC_ERR_INVALID_ARGUMENT, "close with 1005");
                }
                12 => {
                    let handle = self.handle.replace(null_mut());
                    wsc_connection_free(handle.cast());
                }
                13 => {
                    let ctx = self.ctx.replace(null_mut());
                    if !ctx.is_null() {
                        wsc_context_free(ctx.cast());
                    }
                }
                14 => {
                    let ctx = self.ctx.get();
                    if !ctx.is_null() {
                        let r = wsc_service(ctx.cast(), 0);
                        assert_eq!(r, wsc_result::WSC_ERR_BUSY, "wsc_service in a callback");
                    }
                }
                15 => {
                    let handle = self.handle.get();
                    if !handle.is_null() {
                        {
                            let _ = wsc_send_text(handle.cast(), c"owned".as_ptr(), 5);
                        };
                    }
                }
                _ => {}
            }
        }
    }

    /// Lends a fresh buffer of `len` bytes; `release` frees it.
    unsafe fn lend<C>(&self, conn: *mut C, is_text: bool, len: usize) {
        let data = Box::into_raw(vec![b'x'; len].into_boxed_slice()) as *mut u8;
        let user = self as *const Self as *mut c_void;
        // Recorded first: a message that is copied anyway is released inside the call.
        self.lent.borrow_mut().insert(data as usize, len);
        let r = unsafe {
            if is_text {
                wsc_send_text_nocopy(conn.cast(), data.cast(), len, Some(release), user)
            } else {
                wsc_send_binary_nocopy(conn.cast(), data, len, Some(release), user)
            }
        };
        if r == wsc_result::WSC_OK {
            self.lent_total.set(self.lent_total.get() + 1);
        } else {
            let kept = self.lent.borrow_mut().remove(&(data as usize));
            assert_eq!(
                kept,
                Some(len),
                "a refused send ({r:?}) released its buffer"
            );
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
        }
    }
}

fn state<'a>(user: *mut c_void) -> &'a State<'a> {
    unsafe { &*(user as *const State) }
}

extern "C" fn release(data: *const u8, len: usize, user: *mut c_void) {
    let s = state(user);
    let lent = s.lent.borrow_mut().remove(&(data as usize));
    assert_eq!(
        lent,
        Some(len),
        "release of a buffer not lent, or released twice"
    );
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data as *mut u8, len)) });
    // No wsc lock is held here: calls on the owned handle must neither deadlock nor crash.
    let handle = s.handle.get();
    if !handle.is_null() {
        match s.next() % 4 {
            1 => unsafe {
                let _ = wsc_send_text(handle.cast(), c"released".as_ptr(), 8);
            },
            2 => unsafe {
                let _ = wsc_close(handle.cast(), 1000, null());
            },
            _ => {}
        }
    }
}

extern "C" fn on_open<C>(conn: *mut C, user: *mut c_void) {
    let s = state(user);
    assert_eq!(s.closes.get(), 0, "on_open after on_close");
    assert!(!s.opened.replace(true), "on_open twice");
    s.act(conn);
}

extern "C" fn on_message<C>(
    conn: *mut C,
    data: *const u8,
    len: usize,
    text: bool,
    user: *mut c_void,
) {
    let s = state(user);
    s.callback("on_message");
    assert!(len as u64 <= MAX_MESSAGE, "a message of {len} bytes");
    let bytes = unsafe { std::slice::from_raw_parts(data, len) };
    if text {
        assert!(std::str::from_utf8(bytes).is_ok(), "invalid UTF-8 as text");
    }
    s.act(conn);
}

extern "C" fn on_control<C>(conn: *mut C, _data: *const u8, len: usize, user: *mut c_void) {
    let s = state(user);
    s.callback("on_ping/on_pong");
    assert!(len <= 125, "a control payload of {len} bytes");
    s.act(conn);
}

extern "C" fn on_writable<C>(conn: *mut C, user: *mut c_void) {
    let s = state(user);
    s.callback("on_writable");
    s.act(conn);
}

extern "C" fn on_error<C>(conn: *mut C, _r: wsc_result, message: *const c_char, user: *mut c_void) {
    let s = state(user);
    assert_eq!(s.closes.get(), 0, "on_error after on_close");
    assert!(!message.is_null(), "on_error without a message");
    let _ = unsafe { CStr::from_ptr(message) };
    s.act(conn);
}

extern "C" fn on_close<C>(
    conn: *mut C,
    code: u16,
    reason: *const c_char,
    reason_len: usize,
    _by: wsc_closed_by,
    _clean: bool,
    user: *mut c_void,
) {
    let s = state(user);
    assert_eq!(s.closes.replace(s.closes.get() + 1), 0, "on_close twice");
    assert!((1000..5000).contains(&code), "close code {code}");
    let with_nul = unsafe { std::slice::from_raw_parts(reason.cast::<u8>(), reason_len + 1) };
    assert_eq!(with_nul[reason_len], 0, "the reason is not NUL-terminated");
    assert!(
        std::str::from_utf8(&with_nul[..reason_len]).is_ok(),
        "the reason is not UTF-8"
    );
    // Anything the script asks for now must be refused or harmless.
    s.act(conn);
}

/// `out` for `wsc_connect`: the handle's address, or NULL for no handle.
fn out_arg<T>(handle: &mut *mut T, keep: bool) -> *mut *mut T {
    if keep {
        handle
    } else {
        null_mut()
    }
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let script_len = (input.byte() % 64) as usize;
    let script = input.take(script_len);
    let stream = input.rest().to_vec();
    let extensions = match flags & 3 {
        0 => "",
        1 => "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        2 => "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
        _ => {
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9; \
              client_max_window_bits=9\r\n"
        }
    };
    let keep_handle = flags & 4 != 0;
    // Sometimes the server's whole answer, handshake included, is the input's.
    let extensions = (flags & 0x10 == 0).then_some(extensions);

    let server = server();
    server
        .jobs
        .lock()
        .unwrap()
        .send(Job { extensions, stream })
        .expect("the server thread runs");

    let s = State {
        script,
        step: Cell::new(0),
        ctx: Cell::new(null_mut()),
        handle: Cell::new(null_mut()),
        opened: Cell::new(false),
        closes: Cell::new(0),
        lent: RefCell::new(HashMap::new()),
        lent_total: Cell::new(0),
    };
    let user = &s as *const State as *mut c_void;
    let url = CString::new(format!("ws://127.0.0.1:{}/", server.port)).unwrap();
    // What WSC_CONNECT_OPTIONS_INIT is in C: struct_size set, every other field its default.
    let options = wsc_connect_options {
        connect_timeout_ms: 2000,
        handshake_timeout_ms: 2000,
        close_timeout_ms: 200,
        max_frame_size: MAX_FRAME,
        max_message_size: MAX_MESSAGE,
        max_fragments: 8,
        send_buffer_limit: 6000,
        proxy_disable: true,
        ..wsc_connect_options::default()
    };
    let callbacks = wsc_callbacks {
        on_open: Some(on_open),
        on_message: Some(on_message),
        on_ping: Some(on_control),
        on_pong: Some(on_control),
        on_writable: Some(on_writable),
        on_error: Some(on_error),
        on_close: Some(on_close),
        ..wsc_callbacks::default()
    };
    let context_options = wsc_context_options {
        read_buffer_size: if flags & 8 != 0 { 4096 } else { 0 },
        ..wsc_context_options::default()
    };

    unsafe {
        let mut ctx = null_mut();
        assert_eq!(
            wsc_context_new(&context_options, &mut ctx),
            wsc_result::WSC_OK
        );
        s.ctx.set(ctx.cast());
        let mut handle = null_mut();
        let out = out_arg(&mut handle, keep_handle);
        let r = wsc_connect(ctx, url.as_ptr(), &options, &callbacks, user, out);
        assert_eq!(r, wsc_result::WSC_OK, "connect");
        s.handle.set(handle.cast());

        let start = Instant::now();
        let mut turns = 0;
        loop {
            let ctx = s.ctx.get();
            if ctx.is_null() || wsc_context_connection_count(ctx.cast()) == 0 {
                break;
            }
            let r = wsc_service(ctx.cast(), 50);
            assert!(
                r == wsc_result::WSC_OK || s.ctx.get().is_null(),
                "wsc_service: {r:?}"
            );
            turns += 1;
            assert!(
                turns < MAX_TURNS,
                "the connection did not end in {MAX_TURNS} loop turns"
            );
            assert!(
                start.elapsed() < DEADLINE,
                "the connection did not end in {DEADLINE:?}"
            );
        }
        let ctx = s.ctx.replace(null_mut());
        if !ctx.is_null() {
            wsc_context_free(ctx.cast());
        }
        wsc_connection_free(s.handle.replace(null_mut()).cast());
    }
    assert_eq!(s.closes.get(), 1, "on_close was not called");
    let lent = s.lent.borrow();
    assert!(
        lent.is_empty(),
        "{} lent buffers never released",
        lent.len()
    );
    drop(lent);
    server
        .done
        .lock()
        .unwrap()
        .recv_timeout(DEADLINE)
        .expect("the server finished its connection");
}
