//! What the integration tests share: a one-connection server thread on loopback that follows
//! a script (read the request, write chosen bytes, read and unmask what the client sends),
//! servers answering several connections with canned responses, a TLS echo server ([`tls`]),
//! a SOCKS5 proxy ([`socks`]), and a client handler that records every callback. Frames are built and parsed by
//! `wsc_testkit::frame`, re-exported here.
//!
//! Each test binary uses only part of it.
#![allow(dead_code)]

pub mod socks;
pub mod tls;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsc::handle::MessagePart;
use wsc::protocol::handshake::accept_key;
use wsc::{CloseInfo, ClosedBy, Connection, Context, Error, ErrorKind, Handler, Options};
#[allow(unused_imports)] // each test binary uses some
pub use wsc_testkit::frame::{close_frame, frame, header64, Frame};

/// How long the server waits for the client before giving up on a read: a bound for a test
/// that fails, with room for a debug build on a busy machine (a flood test takes 2 s there).
pub const SERVER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test lets its connections live before failing.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(4);

// ---- the scripted server ----

/// A valid 101 header block without its final empty line; `ACCEPT` stands for the accept key.
pub const SWITCHING: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n";

/// The server's side of the one connection.
pub struct Peer {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
    pub key: String,
    /// Every frame read from the client, in order.
    pub seen: Vec<Frame>,
}

impl Peer {
    /// Reads bytes; false on end of stream, error or timeout.
    pub fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads the client's request up to the empty line and remembers its key.
    pub fn read_request(&mut self) -> String {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(self.fill(), "the client did not send a whole request");
        };
        let request = String::from_utf8(self.buf.drain(..end).collect()).unwrap();
        self.key = request_key(&request).to_string();
        request
    }

    pub fn accept(&self) -> String {
        accept_key(&self.key)
    }

    /// A valid 101 response for the request read.
    pub fn switching(&self) -> Vec<u8> {
        self.switching_with("")
    }

    /// A valid 101 response with `extra` header lines (each ending in CRLF) added.
    pub fn switching_with(&self, extra: &str) -> Vec<u8> {
        (SWITCHING.replace("ACCEPT", &self.accept()) + extra + "\r\n").into_bytes()
    }

    /// Reads the request and answers it with a valid 101.
    pub fn open(&mut self) {
        self.read_request();
        let response = self.switching();
        self.write(&response);
    }

    /// Writes in one call (errors ignored: the client may have gone already).
    pub fn write(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Writes one byte per call with a pause between.
    pub fn trickle(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write(&[*b]);
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Writes one byte every 10 ms until the client hangs up (true) or 2 s pass (false).
    pub fn drip(&mut self, bytes: impl Iterator<Item = u8>) -> bool {
        let until = Instant::now() + Duration::from_secs(2);
        for b in bytes {
            if self.stream.write_all(&[b]).is_err() {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// The client's next frame, unmasked; `None` at end of stream or timeout. Fails the
    /// script on a frame no client may send (see `wsc_testkit::frame::parse`).
    pub fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, n)) = wsc_testkit::frame::parse(&self.buf) {
                self.buf.drain(..n);
                self.seen.push(frame.clone());
                return Some(frame);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads frames until the client's Close frame (returned) or the end of the stream.
    pub fn read_until_close(&mut self) -> Option<Frame> {
        while let Some(frame) = self.read_frame() {
            if frame.opcode == 0x8 {
                return Some(frame);
            }
        }
        None
    }

    /// Reads until the client's Close frame, answers it with 1000 and returns it.
    pub fn answer_close(&mut self) -> Frame {
        let close = self.read_until_close().expect("the client's close frame");
        self.write(&close_frame(1000, b""));
        close
    }

    /// Waits for the client to close TCP (or reset it); false if the read timed out.
    pub fn wait_eof(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => {
                    use std::io::ErrorKind::{TimedOut, WouldBlock};
                    return !matches!(e.kind(), WouldBlock | TimedOut);
                }
            }
        }
    }
}

/// A loopback port nothing listens on (bound, then released): connecting to it is refused.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A server thread that accepts one connection and runs `script` on it.
pub struct Server {
    pub port: u16,
    pub thread: JoinHandle<Vec<Frame>>,
}

impl Server {
    pub fn start(script: impl FnOnce(&mut Peer) + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + CLIENT_DEADLINE;
            let stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                    Err(e) => panic!("no client connected: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_nodelay(true).unwrap();
            stream.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
            stream.set_write_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
            let mut peer = Peer {
                stream,
                buf: Vec::new(),
                key: String::new(),
                seen: Vec::new(),
            };
            script(&mut peer);
            peer.seen
        });
        Server { port, thread }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// The frames the client sent.
    pub fn join(self) -> Vec<Frame> {
        self.thread.join().expect("the server script failed")
    }
}

/// Reads one HTTP request from `s` up to its empty line (less if the client hangs up first).
/// For servers that handle several connections themselves, outside `Server`.
pub fn read_request(s: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A server on `addr` (port 0: any) for `count` connections one after the other: each gets
/// `answer(n, request)` (n counts from 0), then `then(n)`, and is held until the client hangs
/// up. The port, and a thread that returns the requests.
pub fn serve_n_on(
    addr: &str,
    count: usize,
    answer: impl Fn(usize, &str) -> String + Send + 'static,
    then: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        (0..count)
            .map(|n| {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
                answer_one(&mut s, n, &answer, &then)
            })
            .collect()
    });
    (port, handle)
}

/// [`serve_n_on`] on a Unix domain socket at `path`.
pub fn serve_n_unix(
    path: &std::path::Path,
    count: usize,
    answer: impl Fn(usize, &str) -> String + Send + 'static,
    then: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> JoinHandle<Vec<String>> {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    thread::spawn(move || {
        (0..count)
            .map(|n| {
                let (mut s, _) = listener.accept().unwrap();
                s.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
                answer_one(&mut s, n, &answer, &then)
            })
            .collect()
    })
}

/// One connection of [`serve_n_on`]: reads the request, answers, holds the connection until
/// the client hangs up; returns the request.
fn answer_one(
    s: &mut (impl Read + Write),
    n: usize,
    answer: &impl Fn(usize, &str) -> String,
    then: &impl Fn(usize) -> Vec<u8>,
) -> String {
    let request = read_request(s);
    s.write_all(answer(n, &request).as_bytes()).unwrap();
    s.write_all(&then(n)).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    request
}

/// [`serve_n_on`] on 127.0.0.1.
pub fn serve_n(
    count: usize,
    answer: impl Fn(usize, &str) -> String + Send + 'static,
    then: impl Fn(usize) -> Vec<u8> + Send + 'static,
) -> (u16, JoinHandle<Vec<String>>) {
    serve_n_on("127.0.0.1:0", count, answer, then)
}

/// The value of the request's `Sec-WebSocket-Key` header.
pub fn request_key(request: &str) -> &str {
    request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("Sec-WebSocket-Key")
        .trim()
}

/// The 101 response that accepts `request`.
pub fn switching_for(request: &str) -> String {
    SWITCHING.replace("ACCEPT", &accept_key(request_key(request))) + "\r\n"
}

// ---- the recording client ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Open,
    Message(Vec<u8>, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Error(ErrorKind, String),
    Close(CloseInfo),
    /// A part of a streamed message (`stream_messages`).
    Part {
        data: Vec<u8>,
        text: bool,
        first: bool,
        last: bool,
    },
}

pub type Log = Arc<Mutex<Vec<Ev>>>;
pub type OnOpen = Box<dyn Fn(&Connection) + Send + Sync>;
pub type OnMessage = Box<dyn Fn(&Connection, &[u8]) + Send + Sync>;
pub type OnError = Box<dyn Fn(&Connection, &Error) + Send + Sync>;

/// Records every callback; optional actions run on open, on each message and on an error.
#[derive(Default)]
pub struct Rec {
    pub log: Log,
    pub on_open: Option<OnOpen>,
    pub on_message: Option<OnMessage>,
    pub on_error: Option<OnError>,
}

impl Rec {
    fn push(&self, ev: Ev) {
        self.log.lock().unwrap().push(ev);
    }
}

impl Handler for Rec {
    fn on_open(&self, conn: &Connection) {
        self.push(Ev::Open);
        if let Some(f) = &self.on_open {
            f(conn);
        }
    }
    fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
        self.push(Ev::Message(data.to_vec(), is_text));
        if let Some(f) = &self.on_message {
            f(conn, data);
        }
    }
    fn on_message_part(&self, _: &Connection, part: &MessagePart<'_>) {
        self.push(Ev::Part {
            data: part.data.to_vec(),
            text: part.is_text,
            first: part.first,
            last: part.last,
        });
    }
    fn on_ping(&self, _: &Connection, data: &[u8]) {
        self.push(Ev::Ping(data.to_vec()));
    }
    fn on_pong(&self, _: &Connection, data: &[u8]) {
        self.push(Ev::Pong(data.to_vec()));
    }
    fn on_error(&self, conn: &Connection, error: &Error) {
        self.push(Ev::Error(error.kind, error.message.clone()));
        if let Some(f) = &self.on_error {
            f(conn, error);
        }
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        self.push(Ev::Close(info.clone()));
    }
}

/// A [`Rec`] that closes with 1000 as soon as the connection opens.
pub fn closing_on_open() -> Rec {
    Rec {
        on_open: Some(Box::new(|conn| conn.close(1000, b"").unwrap())),
        ..Rec::default()
    }
}

/// Services `ctx` until no connection is live; fails the test past `CLIENT_DEADLINE`.
pub fn drive(ctx: &Context) -> Duration {
    drive_within(ctx, CLIENT_DEADLINE)
}

/// Services `ctx` until no connection is live; fails the test past `limit`.
pub fn drive_within(ctx: &Context, limit: Duration) -> Duration {
    let start = Instant::now();
    while ctx.live_connections() > 0 {
        assert!(
            start.elapsed() < limit,
            "connections still live after {limit:?}"
        );
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    start.elapsed()
}

pub fn new_context() -> Context {
    Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap()
}

/// Connects to `url` with `rec`, runs to the end; the events and how long it took.
pub fn run(url: &str, options: Options, rec: Rec) -> (Vec<Ev>, Duration) {
    let log = rec.log.clone();
    let ctx = new_context();
    ctx.connect(url, options, Box::new(rec)).unwrap();
    let took = drive(&ctx);
    let events = log.lock().unwrap().clone();
    (events, took)
}

pub fn short_timeouts() -> Options {
    Options {
        connect_timeout: Duration::from_millis(1000),
        handshake_timeout: Duration::from_millis(1000),
        close_timeout: Duration::from_millis(1000),
        ..Options::default()
    }
}

pub fn close_info(code: u16, reason: &str, closed_by: ClosedBy, clean: bool) -> Ev {
    Ev::Close(CloseInfo {
        code,
        reason: reason.into(),
        closed_by,
        clean,
    })
}

/// The events end with exactly one error of `kind` followed by a failed close with `code`;
/// `opened` says whether `on_open` came first. Returns the error message.
pub fn assert_failed(
    name: &str,
    events: &[Ev],
    opened: bool,
    kind: ErrorKind,
    code: u16,
) -> String {
    let n = events.len();
    assert!(n >= 2, "{name}: {events:?}");
    assert_eq!(events[0] == Ev::Open, opened, "{name}: {events:?}");
    let Ev::Error(got, message) = &events[n - 2] else {
        panic!("{name}: no error before on_close: {events:?}")
    };
    assert_eq!(*got, kind, "{name}: {message}");
    let errors = events.iter().filter(|e| matches!(e, Ev::Error(..))).count();
    assert_eq!(errors, 1, "{name}: {events:?}");
    let Ev::Close(info) = &events[n - 1] else {
        panic!("{name}: on_close is not last: {events:?}")
    };
    assert_eq!(
        (info.code, info.closed_by, info.clean),
        (code, ClosedBy::Failure, false),
        "{name}: {info:?}"
    );
    message.clone()
}

// ---- what the events say ----

/// The message a [`greeter`] sends.
pub const HELLO: &str = "hello over TLS ✓";

/// Sends [`HELLO`] on open and closes with 1000 "done" on the first message.
pub fn greeter() -> Rec {
    Rec {
        on_open: Some(Box::new(|conn| conn.send(true, HELLO.as_bytes()).unwrap())),
        on_message: Some(Box::new(|conn, _| conn.close(1000, b"done").unwrap())),
        ..Rec::default()
    }
}

/// The messages received, as text.
pub fn messages(events: &[Ev]) -> Vec<String> {
    let text = |m: &Vec<u8>| String::from_utf8(m.clone()).expect("a UTF-8 message");
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Message(m, _) => Some(text(m)),
            _ => None,
        })
        .collect()
}

/// The errors reported.
pub fn errors(events: &[Ev]) -> Vec<(ErrorKind, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Error(kind, message) => Some((*kind, message.clone())),
            _ => None,
        })
        .collect()
}

/// What `on_close` reported: the last event, and the only close.
pub fn closed(events: &[Ev]) -> CloseInfo {
    let closes = events.iter().filter(|e| matches!(e, Ev::Close(_))).count();
    assert_eq!(closes, 1, "{events:?}");
    match events.last() {
        Some(Ev::Close(info)) => info.clone(),
        _ => panic!("on_close is not last: {events:?}"),
    }
}

/// A [`greeter`]'s run that went well: `expected` messages received, no error, and the
/// greeter's close (1000) completed cleanly.
pub fn assert_greeted(events: &[Ev], expected: &[&str]) {
    assert_eq!(errors(events), vec![], "{events:?}");
    assert_eq!(messages(events), expected, "{events:?}");
    let closed = closed(events);
    assert_eq!(
        (closed.code, closed.closed_by, closed.clean),
        (1000, ClosedBy::Application, true)
    );
}

/// `on_open`, the text `message`, then a clean close with 1000 by the server.
pub fn assert_served(events: &[Ev], message: &[u8]) {
    assert_eq!(events[0], Ev::Open, "{events:?}");
    assert_eq!(events[1], Ev::Message(message.to_vec(), true));
    assert!(matches!(
        &events[2],
        Ev::Close(CloseInfo {
            code: 1000,
            closed_by: ClosedBy::Server,
            clean: true,
            ..
        })
    ));
}

/// The handshake with `server` fails: one error of `kind` with `needle` in its message, a
/// failed close (1006) without `on_open`, and no frame from the client.
pub fn assert_handshake_fails(
    name: &str,
    server: Server,
    options: Options,
    kind: ErrorKind,
    needle: &str,
) {
    let (events, _) = run(&server.url(), options, Rec::default());
    let message = assert_failed(name, &events, false, kind, 1006);
    assert!(message.contains(needle), "{name}: {message}");
    assert_eq!(
        server.join(),
        vec![],
        "{name}: frames after a failed handshake"
    );
}

/// After the 101 `server` breaks the protocol: `on_open`, one error of `kind`, a failed close
/// with `code`, and the client's only frame is its Close with `code`. The error message and
/// that Close.
pub fn assert_violation_closes(
    name: &str,
    server: Server,
    options: Options,
    kind: ErrorKind,
    code: u16,
) -> (String, Frame) {
    let (events, _) = run(&server.url(), options, Rec::default());
    let message = assert_failed(name, &events, true, kind, code);
    assert_eq!(events.len(), 3, "{name}: {events:?}");
    let mut frames = server.join();
    assert_eq!(frames.len(), 1, "{name}: {frames:?}");
    let close = frames.remove(0);
    assert_eq!(close.close_code(), Some(code), "{name}: {close:?}");
    (message, close)
}

/// The events with consecutive [`Ev::Part`]s of one message merged into one: how a message
/// is cut into parts depends on how the bytes arrive, what they say does not.
pub fn merge_parts(events: &[Ev]) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for ev in events {
        if let (
            Some(Ev::Part {
                data, text, last, ..
            }),
            Ev::Part {
                data: more,
                text: more_text,
                first: false,
                last: more_last,
            },
        ) = (out.last_mut(), ev)
        {
            if !*last && *text == *more_text {
                data.extend_from_slice(more);
                *last = *more_last;
                continue;
            }
        }
        out.push(ev.clone());
    }
    out
}

/// A server thread for one connection: accepts, answers the handshake (no extension), then
/// runs `script` with the stream and whatever followed the request; reads and writes give up
/// after `timeout`.
pub fn serve_scripted<T: Send + 'static>(
    timeout: Duration,
    script: impl FnOnce(TcpStream, Vec<u8>) -> T + Send + 'static,
) -> (String, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let thread = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(timeout)).unwrap();
        stream.set_write_timeout(Some(timeout)).unwrap();
        let mut buf = Vec::new();
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the client hung up during its request");
            buf.extend_from_slice(&chunk[..n]);
        };
        let request = String::from_utf8(buf[..end].to_vec()).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_string();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(&key)
        );
        stream.write_all(response.as_bytes()).unwrap();
        script(stream, buf.split_off(end))
    });
    (url, thread)
}
