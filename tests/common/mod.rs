//! What the scripted-server tests share: a one-connection server thread on loopback that
//! follows a script (read the request, write chosen bytes, read and unmask what the client
//! sends), frame builders, and a client handler that records every callback.
//!
//! Each test binary uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsc::protocol::frame::FrameHeader;
use wsc::protocol::handshake::accept_key;
use wsc::protocol::mask::apply_mask;
use wsc::{CloseInfo, ClosedBy, Connection, Context, Error, ErrorKind, Handler, Options};

/// How long the server waits for the client before giving up on a read.
pub const SERVER_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a test lets its connections live before failing.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(4);

// ---- the scripted server ----

/// A valid 101 header block without its final empty line; `ACCEPT` stands for the accept key.
pub const SWITCHING: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n";

/// A frame the client sent, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// RSV1: the first frame of a compressed message (RFC 7692).
    pub rsv1: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The status code of a Close frame, `None` for an empty body or another opcode.
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode, &self.payload[..]) {
            (0x8, [hi, lo, ..]) => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }
}

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
        self.key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("Sec-WebSocket-Key")
            .trim()
            .to_string();
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

    /// The client's next frame, unmasked; `None` at end of stream or timeout.
    pub fn read_frame(&mut self) -> Option<Frame> {
        loop {
            let parsed = FrameHeader::parse(&self.buf).expect("a valid frame from the client");
            if let Some((h, n)) = parsed {
                let total = n + h.payload_len as usize;
                if self.buf.len() >= total {
                    let mut payload = self.buf[n..total].to_vec();
                    if let Some(key) = h.mask {
                        apply_mask(&mut payload, key);
                    }
                    self.buf.drain(..total);
                    let frame = Frame {
                        fin: h.fin,
                        rsv1: h.rsv1,
                        opcode: h.opcode as u8,
                        masked: h.mask.is_some(),
                        payload,
                    };
                    self.seen.push(frame.clone());
                    return Some(frame);
                }
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

/// An unmasked frame as a server sends it; `b0` is FIN, RSV and opcode.
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(0x88, &[&code.to_be_bytes()[..], reason].concat())
}

/// A header announcing a 64-bit payload length (and no payload).
pub fn header64(b0: u8, len: u64) -> Vec<u8> {
    [&[b0, 127][..], &len.to_be_bytes()].concat()
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

/// The 101 response that accepts `request`.
pub fn switching_for(request: &str) -> String {
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("Sec-WebSocket-Key");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
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

/// Services `ctx` until no connection is live; fails the test past `CLIENT_DEADLINE`.
pub fn drive(ctx: &Context) -> Duration {
    let start = Instant::now();
    while ctx.live_connections() > 0 {
        assert!(
            start.elapsed() < CLIENT_DEADLINE,
            "connections still live after {CLIENT_DEADLINE:?}"
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
