//! Flow control at scale over loopback: a server pushing 1 GiB at a connection paused in
//! `on_open` (the client's memory stays flat while the server's writes block, then every byte
//! arrives after resume), and 256 MiB sent one chunk per `on_writable`. Each test runs a server
//! of its own on a thread and bounds every phase with a deadline.

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
use wsc::{CloseInfo, Connection, Context, Error, Handler, Options};

/// Longer than any phase needs on a loaded machine; only there so that a bug cannot hang.
mod common;

const GIVE_UP: Duration = Duration::from_secs(25);

/// The byte at `offset` of the data the servers send.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

/// `len` pattern bytes plus one period, so that `&buf[offset % 251..][..n]` is the pattern at
/// `offset` for any `n <= len`: checking a part is one slice comparison.
fn pattern_buffer(len: usize) -> Vec<u8> {
    (0..len + 251).map(pattern).collect()
}

use wsc_testkit::frame::header;

fn close_frame() -> Vec<u8> {
    let mut f = header(0x88, 2);
    f.extend_from_slice(&1000u16.to_be_bytes());
    f
}

/// A server for one connection that runs `script` after the handshake.
fn serve<T: Send + 'static>(
    script: impl FnOnce(TcpStream, Vec<u8>) -> T + Send + 'static,
) -> (String, JoinHandle<T>) {
    common::serve_scripted(GIVE_UP, script)
}

/// Reads the client's frames (data frames are counted, not unmasked) until `total` data bytes
/// arrived, or, if `until_close`, until its Close frame. Returns the data bytes counted and what
/// was left in the buffer, or the Close frame's payload.
fn count_client(
    stream: &mut TcpStream,
    mut buf: Vec<u8>,
    total: usize,
    until_close: bool,
) -> (usize, Vec<u8>) {
    let mut data = 0;
    let mut chunk = vec![0; 1 << 20];
    let mut start = 0; // parsed up to here; drained now and then, not per frame
    loop {
        if data >= total && !until_close {
            return (data, buf.split_off(start));
        }
        if let Some((h, n)) = FrameHeader::parse(&buf[start..]).unwrap() {
            let len = n + h.payload_len as usize;
            if buf.len() - start >= len {
                start += len;
                match h.opcode as u8 {
                    0x8 => {
                        let mut payload = buf[start - h.payload_len as usize..start].to_vec();
                        apply_mask(&mut payload, h.mask.expect("client frames are masked"));
                        return (data, payload);
                    }
                    0x0..=0x2 => data += h.payload_len as usize,
                    _ => {}
                }
                continue;
            }
        }
        buf.drain(..start);
        start = 0;
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client hung up early");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Runs the loop until every connection has ended.
fn run(ctx: &Context) {
    let until = Instant::now() + GIVE_UP * 2;
    while ctx.live_connections() > 0 {
        assert!(Instant::now() < until, "the connection did not end");
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
}

/// This process's resident set, in bytes (Linux: `/proc/self/statm`, in pages).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Counts and checks the parts of streamed binary messages without keeping them.
struct Counter {
    expected: Vec<u8>,
    allowed: AtomicBool,
    /// Parts that arrived while `allowed` was false.
    unexpected: AtomicUsize,
    total: AtomicUsize,
    mismatched_parts: AtomicUsize,
    firsts: AtomicUsize,
    lasts: AtomicUsize,
    whole_messages: AtomicUsize,
    opened: Mutex<Option<mpsc::Sender<()>>>,
    errors: Mutex<Vec<String>>,
    close: Mutex<Option<CloseInfo>>,
}

impl Handler for Counter {
    fn on_open(&self, conn: &Connection) {
        conn.pause_reading();
        if let Some(tx) = self.opened.lock().unwrap().take() {
            tx.send(()).unwrap();
        }
    }
    fn on_message(&self, _: &Connection, _: &[u8], _: bool) {
        self.whole_messages.fetch_add(1, Ordering::SeqCst);
    }
    fn on_message_part(&self, _: &Connection, part: &MessagePart<'_>) {
        if !self.allowed.load(Ordering::SeqCst) {
            self.unexpected.fetch_add(1, Ordering::SeqCst);
        }
        let offset = self.total.fetch_add(part.data.len(), Ordering::SeqCst);
        let from = offset % 251;
        if part.data.len() > self.expected.len() - from
            || part.data != &self.expected[from..from + part.data.len()]
        {
            self.mismatched_parts.fetch_add(1, Ordering::SeqCst);
        }
        self.firsts.fetch_add(part.first as usize, Ordering::SeqCst);
        self.lasts.fetch_add(part.last as usize, Ordering::SeqCst);
    }
    fn on_error(&self, _: &Connection, error: &Error) {
        self.errors.lock().unwrap().push(error.to_string());
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.close.lock().unwrap() = Some(info.clone());
    }
}

/// Writes `bytes[*pos..]` on a non-blocking stream; false when the kernel takes no more.
fn push(stream: &mut TcpStream, bytes: &[u8], pos: &mut usize) -> bool {
    while *pos < bytes.len() {
        match stream.write(&bytes[*pos..]) {
            Ok(n) => *pos += n,
            Err(e) if e.kind() == IoErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == IoErrorKind::Interrupted => {}
            Err(e) => panic!("write failed: {e}"),
        }
    }
    true
}

/// What the flooding server saw while the client was paused.
struct Stalled {
    written: usize,
    baseline_rss: usize,
    rss_samples: Vec<usize>,
    close: Vec<u8>,
}

#[test]
fn a_paused_connection_holds_a_1_gib_flood_in_flat_memory_and_gets_it_all_on_resume() {
    const TOTAL: usize = 1 << 30;
    const FRAME: usize = 8 << 20; // under the default max_frame_size
    const READ_BUFFER: usize = 256 * 1024;
    let (opened_tx, opened_rx) = mpsc::channel();
    let handler = Arc::new(Counter {
        expected: pattern_buffer(READ_BUFFER),
        allowed: AtomicBool::new(false),
        unexpected: AtomicUsize::new(0),
        total: AtomicUsize::new(0),
        mismatched_parts: AtomicUsize::new(0),
        firsts: AtomicUsize::new(0),
        lasts: AtomicUsize::new(0),
        whole_messages: AtomicUsize::new(0),
        opened: Mutex::new(Some(opened_tx)),
        errors: Mutex::new(Vec::new()),
        close: Mutex::new(None),
    });
    let (conn_tx, conn_rx) = mpsc::channel::<Arc<Connection>>();
    let watcher = handler.clone();
    let (url, server) = serve(move |mut stream, rest| {
        let conn = conn_rx.recv().unwrap();
        opened_rx.recv_timeout(GIVE_UP).expect("on_open");
        // One frame's payload, with a period to spare: frame k starts at offset k * FRAME.
        let payload = pattern_buffer(FRAME);
        let frames = TOTAL / FRAME;
        let frame_at = |k: usize| {
            let b0 = if k == 0 { 0x02 } else { 0x00 } | if k + 1 == frames { 0x80 } else { 0 };
            let from = (k * FRAME) % 251;
            (header(b0, FRAME), &payload[from..from + FRAME])
        };
        let baseline_rss = rss();
        stream.set_nonblocking(true).unwrap();

        // Phase 1: offer the whole gigabyte as fast as the socket takes it, until it takes
        // nothing for a while (the client is paused: TCP flow control stops us).
        let (mut k, mut in_header, mut pos) = (0, true, 0);
        let mut written = 0;
        let mut blocked_since: Option<Instant> = None;
        let mut rss_samples = Vec::new();
        let deadline = Instant::now() + GIVE_UP;
        while k < frames && rss_samples.len() < 5 {
            assert!(Instant::now() < deadline, "the paused client kept reading");
            let (h, p) = frame_at(k);
            let part: &[u8] = if in_header { &h } else { p };
            let before = pos;
            let done = push(&mut stream, part, &mut pos);
            written += pos - before;
            if pos > before {
                blocked_since = None;
                rss_samples.clear();
            }
            if done {
                (in_header, pos) = (!in_header, 0);
                if in_header {
                    k += 1;
                }
                continue;
            }
            // Blocked: once the socket has refused everything for 100 ms, sample the RSS
            // every 50 ms, still offering the rest in between.
            let since = *blocked_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_millis(100) {
                rss_samples.push(rss());
            }
            thread::sleep(Duration::from_millis(50));
        }
        assert!(
            k < frames,
            "the whole gigabyte went through a paused connection"
        );

        // Phase 2: resume from this thread, and write the rest blocking.
        watcher.allowed.store(true, Ordering::SeqCst);
        conn.resume_reading();
        stream.set_nonblocking(false).unwrap();
        let (h, p) = frame_at(k);
        if in_header {
            stream.write_all(&h[pos..]).unwrap();
            stream.write_all(p).unwrap();
        } else {
            stream.write_all(&p[pos..]).unwrap();
        }
        for k in k + 1..frames {
            let (h, p) = frame_at(k);
            stream.write_all(&h).unwrap();
            stream.write_all(p).unwrap();
        }
        stream.write_all(&close_frame()).unwrap();
        let (_, close) = count_client(&mut stream, rest, 0, true);
        Stalled {
            written,
            baseline_rss,
            rss_samples,
            close,
        }
    });
    let ctx = Context::new(READ_BUFFER).unwrap();
    let mut options = Options {
        stream_messages: true,
        proxy: wsc::proxy::ProxySetting::Direct,
        deflate: Vec::new(),
        ..Options::default()
    };
    options.receive_limits.max_message_size = 0; // no limit: streamed
    let conn = ctx
        .connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    conn_tx.send(conn.clone()).unwrap();
    run(&ctx);
    let stalled = server.join().unwrap();

    assert!(
        stalled.written < 64 << 20,
        "the server wrote {} bytes into a paused connection",
        stalled.written
    );
    assert_eq!(stalled.rss_samples.len(), 5);
    let peak = *stalled.rss_samples.iter().max().unwrap();
    let growth = peak.saturating_sub(stalled.baseline_rss);
    assert!(
        growth < 64 << 20,
        "RSS grew by {growth} bytes while 1 GiB was offered to a paused connection \
         ({} bytes written)",
        stalled.written
    );
    assert_eq!(
        handler.unexpected.load(Ordering::SeqCst),
        0,
        "read while paused"
    );
    assert_eq!(handler.total.load(Ordering::SeqCst), TOTAL);
    assert_eq!(handler.mismatched_parts.load(Ordering::SeqCst), 0);
    assert_eq!(handler.firsts.load(Ordering::SeqCst), 1);
    assert_eq!(handler.lasts.load(Ordering::SeqCst), 1);
    assert_eq!(handler.whole_messages.load(Ordering::SeqCst), 0);
    assert_eq!(stalled.close, 1000u16.to_be_bytes());
    assert!(handler.errors.lock().unwrap().is_empty());
    let close = handler.close.lock().unwrap().clone().unwrap();
    assert_eq!((close.code, close.clean), (1000, true));
}

/// Sends `total` bytes one `chunk` per `on_writable`, asking again after each.
struct OnePerWritable {
    payload: Vec<u8>,
    total: usize,
    sent: AtomicUsize,
    writables: AtomicUsize,
    /// The most unwritten bytes seen right after a send.
    peak: AtomicUsize,
    refused: Mutex<Vec<String>>,
    close: Mutex<Option<CloseInfo>>,
}

impl Handler for OnePerWritable {
    fn on_open(&self, conn: &Connection) {
        conn.request_writable().unwrap();
    }
    fn on_writable(&self, conn: &Connection) {
        self.writables.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = conn.send(false, &self.payload) {
            self.refused.lock().unwrap().push(e.to_string());
            return;
        }
        self.peak
            .fetch_max(conn.buffered_amount(), Ordering::SeqCst);
        if self.sent.fetch_add(self.payload.len(), Ordering::SeqCst) + self.payload.len()
            < self.total
        {
            conn.request_writable().unwrap();
        }
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.close.lock().unwrap() = Some(info.clone());
    }
}

#[test]
fn request_writable_paces_256_mib_in_1_mib_chunks_within_the_send_limit() {
    const TOTAL: usize = 256 << 20;
    const CHUNK: usize = 1 << 20;
    const LIMIT: usize = 4 << 20;
    let (url, server) = serve(|mut stream, rest| {
        // Reads late at first, so that the client's buffer fills.
        thread::sleep(Duration::from_millis(100));
        let (data, rest) = count_client(&mut stream, rest, TOTAL, false);
        stream.write_all(&close_frame()).unwrap();
        let (more, close) = count_client(&mut stream, rest, 0, true);
        (data + more, close)
    });
    let ctx = Context::new(wsc::context::DEFAULT_READ_BUFFER).unwrap();
    let handler = Arc::new(OnePerWritable {
        payload: pattern_buffer(CHUNK)[..CHUNK].to_vec(),
        total: TOTAL,
        sent: AtomicUsize::new(0),
        writables: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        refused: Mutex::new(Vec::new()),
        close: Mutex::new(None),
    });
    let options = Options {
        send_buffer_limit: LIMIT,
        deflate: Vec::new(),
        proxy: wsc::proxy::ProxySetting::Direct,
        ..Options::default()
    };
    ctx.connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    run(&ctx);
    let (received, close) = server.join().unwrap();
    assert_eq!(received, TOTAL, "bytes the server received");
    assert_eq!(close, 1000u16.to_be_bytes());
    assert_eq!(
        *handler.refused.lock().unwrap(),
        Vec::<String>::new(),
        "no send refused"
    );
    assert_eq!(handler.sent.load(Ordering::SeqCst), TOTAL);
    assert_eq!(handler.writables.load(Ordering::SeqCst), TOTAL / CHUNK);
    let peak = handler.peak.load(Ordering::SeqCst);
    assert!(peak <= LIMIT + CHUNK, "{peak} bytes unwritten");
    assert!(
        peak >= CHUNK,
        "{peak} bytes unwritten: nothing was ever buffered"
    );
    let close = handler.close.lock().unwrap().clone().unwrap();
    assert_eq!((close.code, close.clean), (1000, true));
}
