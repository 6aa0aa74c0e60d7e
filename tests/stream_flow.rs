//! Streamed receive and flow control over loopback: a large message in bounded parts, a pause
//! that makes the server's writes block, `request_writable` pacing a transfer, and `abort`.
//! Each test runs a small server of its own on a thread.

use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wsc::handle::MessagePart;
use wsc::protocol::frame::FrameHeader;
use wsc::protocol::mask::apply_mask;
use wsc::{CloseInfo, ClosedBy, Connection, Context, Error, Handler, Options};

/// Longer than any test needs on a loaded machine; only there so that a bug cannot hang.
mod common;

const GIVE_UP: Duration = Duration::from_secs(60);

/// The byte at `offset` of every message the servers send.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

use wsc_testkit::frame::frame;

/// One message of `total` pattern bytes in frames of `frame_len`.
fn message_frames(total: usize, frame_len: usize) -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..total).map(pattern).collect();
    let count = data.chunks(frame_len).count();
    data.chunks(frame_len)
        .enumerate()
        .map(|(i, chunk)| {
            let opcode = if i == 0 { 0x2 } else { 0x0 };
            let fin = if i + 1 == count { 0x80 } else { 0 };
            frame(fin | opcode, chunk)
        })
        .collect()
}

/// A server for one connection that runs `script` after the handshake.
fn serve<T: Send + 'static>(
    script: impl FnOnce(TcpStream, Vec<u8>) -> T + Send + 'static,
) -> (String, JoinHandle<T>) {
    common::serve_scripted(GIVE_UP, script)
}

/// Reads the client's frames (unmasked) until its Close frame; returns the payload bytes of
/// its data frames and the Close frame's payload.
fn read_client(stream: &mut TcpStream, mut buf: Vec<u8>) -> (usize, Vec<u8>) {
    let mut data = 0;
    loop {
        if let Some((h, n)) = FrameHeader::parse(&buf).unwrap() {
            let total = n + h.payload_len as usize;
            if buf.len() >= total {
                let mut payload = buf[n..total].to_vec();
                apply_mask(&mut payload, h.mask.expect("client frames are masked"));
                buf.drain(..total);
                match h.opcode as u8 {
                    0x8 => return (data, payload),
                    0x0..=0x2 => data += payload.len(),
                    _ => {}
                }
                continue;
            }
        }
        let mut chunk = vec![0; 256 * 1024];
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client hung up without a Close frame");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Runs the loop until every connection has ended.
fn run(ctx: &Context) {
    let until = Instant::now() + GIVE_UP;
    while ctx.live_connections() > 0 {
        assert!(Instant::now() < until, "the connection did not end");
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
}

/// What a streaming handler saw.
#[derive(Default)]
struct Parts {
    count: AtomicUsize,
    total: AtomicUsize,
    largest: AtomicUsize,
    firsts: AtomicUsize,
    lasts: AtomicUsize,
    /// Parts that arrived while `allowed` was false.
    unexpected: AtomicUsize,
    allowed: AtomicBool,
    /// Every byte matched the pattern at its offset.
    bad_bytes: AtomicUsize,
    pause_on_open: bool,
    opened: Mutex<Option<mpsc::Sender<()>>>,
    messages: AtomicUsize,
    close: Mutex<Option<CloseInfo>>,
    errors: Mutex<Vec<String>>,
}

impl Handler for Parts {
    fn on_open(&self, conn: &Connection) {
        if self.pause_on_open {
            conn.pause_reading();
        }
        if let Some(tx) = self.opened.lock().unwrap().take() {
            tx.send(()).unwrap();
        }
    }
    fn on_message(&self, _: &Connection, _: &[u8], _: bool) {
        self.messages.fetch_add(1, Ordering::SeqCst);
    }
    fn on_message_part(&self, _: &Connection, part: &MessagePart<'_>) {
        if !self.allowed.load(Ordering::SeqCst) {
            self.unexpected.fetch_add(1, Ordering::SeqCst);
        }
        let offset = self.total.fetch_add(part.data.len(), Ordering::SeqCst);
        let bad = part
            .data
            .iter()
            .enumerate()
            .filter(|(i, b)| **b != pattern(offset + i))
            .count();
        self.bad_bytes.fetch_add(bad, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
        self.largest.fetch_max(part.data.len(), Ordering::SeqCst);
        self.firsts.fetch_add(part.first as usize, Ordering::SeqCst);
        self.lasts.fetch_add(part.last as usize, Ordering::SeqCst);
        assert!(!part.is_text);
    }
    fn on_error(&self, _: &Connection, error: &Error) {
        self.errors.lock().unwrap().push(error.to_string());
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.close.lock().unwrap() = Some(info.clone());
    }
}

fn streaming() -> Options {
    Options {
        stream_messages: true,
        proxy: wsc::proxy::ProxySetting::Direct,
        ..Options::default()
    }
}

#[test]
fn a_32_mib_message_arrives_in_parts_no_larger_than_the_read_buffer() {
    const TOTAL: usize = 32 << 20;
    const READ_BUFFER: usize = 64 * 1024;
    let (url, server) = serve(|mut stream, rest| {
        for f in message_frames(TOTAL, 1 << 20) {
            stream.write_all(&f).unwrap();
        }
        stream
            .write_all(&frame(0x88, &1000u16.to_be_bytes()))
            .unwrap();
        let (_, close) = read_client(&mut stream, rest);
        close
    });
    let ctx = Context::new(READ_BUFFER).unwrap();
    let handler = Arc::new(Parts {
        allowed: AtomicBool::new(true),
        ..Parts::default()
    });
    let mut options = streaming();
    // Above the message limit: only streaming can take it, and with no limit at all.
    options.receive_limits.max_message_size = 0;
    ctx.connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    run(&ctx);
    assert_eq!(server.join().unwrap(), 1000u16.to_be_bytes());
    let close = handler.close.lock().unwrap().clone().unwrap();
    assert_eq!(
        (close.code, close.closed_by, close.clean),
        (1000, ClosedBy::Server, true)
    );
    assert_eq!(handler.total.load(Ordering::SeqCst), TOTAL);
    assert_eq!(handler.bad_bytes.load(Ordering::SeqCst), 0);
    assert_eq!(handler.firsts.load(Ordering::SeqCst), 1);
    assert_eq!(handler.lasts.load(Ordering::SeqCst), 1);
    assert_eq!(
        handler.messages.load(Ordering::SeqCst),
        0,
        "no whole message"
    );
    let largest = handler.largest.load(Ordering::SeqCst);
    assert!(largest <= READ_BUFFER, "a part of {largest} bytes");
    assert!(handler.count.load(Ordering::SeqCst) >= TOTAL / READ_BUFFER);
}

#[test]
fn while_paused_the_servers_writes_block_and_all_arrives_after_resume() {
    const TOTAL: usize = 48 << 20;
    let (opened_tx, opened_rx) = mpsc::channel();
    let handler = Arc::new(Parts {
        pause_on_open: true,
        opened: Mutex::new(Some(opened_tx)),
        ..Parts::default()
    });
    let (conn_tx, conn_rx) = mpsc::channel::<Arc<Connection>>();
    let watcher = handler.clone();
    let (url, server) = serve(move |mut stream, rest| {
        let conn = conn_rx.recv().unwrap();
        // The client paused in on_open, before any frame was sent.
        opened_rx.recv().unwrap();
        let frames = message_frames(TOTAL, 256 * 1024);
        let mut bytes: Vec<u8> = frames.concat();
        bytes.extend(frame(0x88, &1000u16.to_be_bytes()));
        stream.set_nonblocking(true).unwrap();
        let mut written = 0;
        loop {
            match stream.write(&bytes[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == IoErrorKind::WouldBlock => break,
                Err(e) => panic!("write failed: {e}"),
            }
        }
        // Blocked: resume from this thread, then write the rest.
        watcher.allowed.store(true, Ordering::SeqCst);
        conn.resume_reading();
        stream.set_nonblocking(false).unwrap();
        stream.write_all(&bytes[written..]).unwrap();
        let (_, close) = read_client(&mut stream, rest);
        (written, close)
    });
    let ctx = Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap();
    let conn = ctx
        .connect(&url, streaming(), Box::new(handler.clone()))
        .unwrap();
    conn_tx.send(conn.clone()).unwrap();
    run(&ctx);
    let (written_before_block, close) = server.join().unwrap();
    assert!(
        written_before_block < TOTAL / 4,
        "the server wrote {written_before_block} bytes before blocking"
    );
    assert_eq!(close, 1000u16.to_be_bytes());
    assert_eq!(
        handler.unexpected.load(Ordering::SeqCst),
        0,
        "read while paused"
    );
    assert_eq!(handler.total.load(Ordering::SeqCst), TOTAL);
    assert_eq!(handler.bad_bytes.load(Ordering::SeqCst), 0);
    assert_eq!(handler.lasts.load(Ordering::SeqCst), 1);
    assert!(!conn.is_reading_paused());
    assert!(handler.errors.lock().unwrap().is_empty());
}

/// Sends `total` bytes in messages of `chunk`, as fast as `request_writable` allows.
struct Pacer {
    total: usize,
    chunk: usize,
    limit: usize,
    low_water: usize,
    sent: AtomicUsize,
    requests: AtomicUsize,
    writables: AtomicUsize,
    /// The most unwritten bytes seen right after a send.
    peak: AtomicUsize,
    /// `on_writable` found more than the low-water mark unwritten.
    early: AtomicUsize,
    refused: AtomicUsize,
    close: Mutex<Option<CloseInfo>>,
}

impl Pacer {
    fn pump(&self, conn: &Connection) {
        let payload: Vec<u8> = (0..self.chunk).map(pattern).collect();
        while self.sent.load(Ordering::SeqCst) < self.total
            && conn.buffered_amount() + self.chunk <= self.limit
        {
            match conn.send(false, &payload) {
                Ok(()) => {
                    self.sent.fetch_add(self.chunk, Ordering::SeqCst);
                }
                Err(_) => {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
            self.peak
                .fetch_max(conn.buffered_amount(), Ordering::SeqCst);
        }
        if self.sent.load(Ordering::SeqCst) < self.total {
            self.requests.fetch_add(1, Ordering::SeqCst);
            conn.request_writable().unwrap();
        }
    }
}

impl Handler for Pacer {
    fn on_open(&self, conn: &Connection) {
        self.pump(conn);
    }
    fn on_writable(&self, conn: &Connection) {
        self.writables.fetch_add(1, Ordering::SeqCst);
        if conn.buffered_amount() > self.low_water {
            self.early.fetch_add(1, Ordering::SeqCst);
        }
        self.pump(conn);
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.close.lock().unwrap() = Some(info.clone());
    }
}

#[test]
fn request_writable_paces_a_transfer_within_the_send_limit() {
    const TOTAL: usize = 16 << 20;
    const LIMIT: usize = 1 << 20;
    let (url, server) = serve(|mut stream, rest| {
        // Reads slowly at first, so that the client's buffer fills.
        thread::sleep(Duration::from_millis(100));
        let (data, _) = read_client_until(&mut stream, rest, TOTAL);
        stream
            .write_all(&frame(0x88, &1000u16.to_be_bytes()))
            .unwrap();
        let (_, close) = read_client(&mut stream, Vec::new());
        (data, close)
    });
    let ctx = Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap();
    let handler = Arc::new(Pacer {
        total: TOTAL,
        chunk: 64 * 1024,
        limit: LIMIT,
        low_water: LIMIT / 4,
        sent: AtomicUsize::new(0),
        requests: AtomicUsize::new(0),
        writables: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        early: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        close: Mutex::new(None),
    });
    let options = Options {
        send_buffer_limit: LIMIT,
        deflate: Vec::new(),
        ..streaming()
    };
    ctx.connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    run(&ctx);
    let (received, close) = server.join().unwrap();
    assert_eq!(received, TOTAL);
    assert_eq!(close, 1000u16.to_be_bytes());
    assert_eq!(handler.sent.load(Ordering::SeqCst), TOTAL);
    assert_eq!(handler.refused.load(Ordering::SeqCst), 0);
    assert_eq!(
        handler.early.load(Ordering::SeqCst),
        0,
        "on_writable above the mark"
    );
    let peak = handler.peak.load(Ordering::SeqCst);
    assert!(peak <= LIMIT, "{peak} bytes unwritten");
    let requests = handler.requests.load(Ordering::SeqCst);
    assert!(requests > 0);
    assert_eq!(
        handler.writables.load(Ordering::SeqCst),
        requests,
        "one on_writable per request"
    );
    let close = handler.close.lock().unwrap().clone().unwrap();
    assert_eq!((close.code, close.clean), (1000, true));
}

/// Like `read_client`, but stops once `total` data bytes arrived.
fn read_client_until(stream: &mut TcpStream, mut buf: Vec<u8>, total: usize) -> (usize, Vec<u8>) {
    let mut data = 0;
    while data < total {
        if let Some((h, n)) = FrameHeader::parse(&buf).unwrap() {
            let len = n + h.payload_len as usize;
            if buf.len() >= len {
                assert_eq!(h.opcode as u8, 0x2, "binary messages only");
                data += h.payload_len as usize;
                buf.drain(..len);
                continue;
            }
        }
        let mut chunk = vec![0; 256 * 1024];
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client hung up early");
        buf.extend_from_slice(&chunk[..n]);
    }
    (data, buf)
}

#[test]
fn abort_from_another_thread_drops_tcp_without_a_close_frame() {
    let (opened_tx, opened_rx) = mpsc::channel();
    let (conn_tx, conn_rx) = mpsc::channel::<Arc<Connection>>();
    let (url, server) = serve(move |mut stream, rest| {
        let conn = conn_rx.recv().unwrap();
        opened_rx.recv().unwrap();
        conn.abort();
        // The client closes TCP; nothing came before that.
        let mut bytes = rest;
        let mut chunk = [0; 4096];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
        bytes
    });
    let handler = Arc::new(Parts {
        opened: Mutex::new(Some(opened_tx)),
        ..Parts::default()
    });
    let ctx = Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap();
    let conn = ctx
        .connect(&url, streaming(), Box::new(handler.clone()))
        .unwrap();
    conn_tx.send(conn).unwrap();
    run(&ctx);
    assert_eq!(server.join().unwrap(), Vec::<u8>::new(), "no Close frame");
    let close = handler.close.lock().unwrap().clone().unwrap();
    assert_eq!(
        (close.code, close.closed_by, close.clean),
        (1006, ClosedBy::Application, false)
    );
    assert!(handler.errors.lock().unwrap().is_empty());
}

/// Records the order of `on_open` and `on_writable`, and closes in `on_writable`.
#[derive(Default)]
struct Order {
    events: Mutex<Vec<&'static str>>,
    after_close: Mutex<Option<wsc::ErrorKind>>,
}

impl Handler for Order {
    fn on_open(&self, _: &Connection) {
        self.events.lock().unwrap().push("open");
    }
    fn on_writable(&self, conn: &Connection) {
        self.events.lock().unwrap().push("writable");
        conn.close(1000, b"").unwrap();
        *self.after_close.lock().unwrap() = conn.request_writable().err().map(|e| e.kind);
    }
    fn on_close(&self, _: &Connection, _: &CloseInfo) {
        self.events.lock().unwrap().push("close");
    }
}

#[test]
fn a_request_made_before_open_is_answered_after_on_open_once() {
    let (url, server) = serve(|mut stream, rest| {
        let (_, close) = read_client(&mut stream, rest);
        stream.write_all(&frame(0x88, &close)).unwrap();
        close
    });
    let ctx = Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap();
    let handler = Arc::new(Order::default());
    let conn = ctx
        .connect(&url, streaming(), Box::new(handler.clone()))
        .unwrap();
    conn.request_writable().unwrap();
    conn.request_writable().unwrap(); // asking twice is one request
    run(&ctx);
    assert_eq!(server.join().unwrap(), 1000u16.to_be_bytes());
    assert_eq!(
        *handler.events.lock().unwrap(),
        ["open", "writable", "close"]
    );
    assert_eq!(
        *handler.after_close.lock().unwrap(),
        Some(wsc::ErrorKind::NotOpen)
    );
}
