//! The echo server of the wsc benchmarks (see bench/README.md, "Echo server contract").
//!
//! Echoes every data frame with the same opcode, FIN and RSV bits (fragments as fragments,
//! compressed frames verbatim), answers ping with pong, drops pongs, echoes a close frame and
//! closes. Never validates UTF-8. Frames are streamed: a header is echoed as soon as it is
//! parsed and the payload as it arrives, so a 1 MiB message is never buffered whole.
//!
//! One tokio runtime (`--threads`, default 1, which keeps one core for the client on a
//! two-core machine); one task per connection; one read buffer per runtime thread, so an idle
//! connection holds only its socket and a few bytes of state (10,000 connections are cheap).
//!
//! A request for the path `/message/N` is answered, right after the 101, with one binary
//! message of N bytes (byte i = i & 0xff, in frames of 1 MiB) from the server: the big-message
//! benchmark. The connection then echoes as any other.
//!
//! `--drop PERCENT` (the soak benchmark, bench/soak.c): each data message, on its first frame,
//! is dropped with that probability, and the connection with it, abruptly, by one of three
//! ways taken at random: a TCP FIN with no Close frame, a TCP reset (SO_LINGER 0), or a Close
//! frame with 1011 (internal error) and then FIN. Nothing of the dropped message is echoed.
//! `--seed N` makes the choices repeatable (each connection draws from its own stream).
//!
//! Usage: wsc-bench-echo-server [--host 127.0.0.1] [--port 0] [--threads 1] [--deflate 0|1]
//!        [--raw 0|1] [--drop PERCENT] [--seed N]
//!        (--raw 1: plain TCP echo, no WebSocket: the baseline)
//!        [--tls 0|1] [--ca-out FILE]   (--tls 1: wss://, see tls.rs)
//! A request for `/stats` is answered with the server's counters (stats.rs).
//! Prints the port it listens on, alone on the first line of stdout.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod stats;
mod tls;

const READ_BUF: usize = 256 * 1024;
const MAX_REQUEST: usize = 16 * 1024;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

thread_local! {
    static READ: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUF]);
}

struct Options {
    host: String,
    port: u16,
    threads: usize,
    deflate: bool,
    raw: bool,
    tls: bool,
    ca_out: Option<String>,
    /// Probability of dropping a message (and its connection), as a fraction of 2^32.
    drop_per_2_32: u64,
    seed: u64,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 0,
        threads: 1,
        deflate: false,
        raw: false,
        tls: false,
        ca_out: None,
        drop_per_2_32: 0,
        seed: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.len().is_multiple_of(2) {
        return Err("options come in --key value pairs".into());
    }
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair[1].as_str());
        let bad = |_| format!("bad value for {k}: {v}");
        match k {
            "--host" => o.host = v.to_string(),
            "--port" => o.port = v.parse().map_err(bad)?,
            "--threads" => o.threads = v.parse::<usize>().map_err(bad)?.max(1),
            "--deflate" => o.deflate = v != "0",
            "--raw" => o.raw = v != "0",
            "--tls" => o.tls = v != "0",
            "--ca-out" => o.ca_out = Some(v.to_string()),
            "--drop" => {
                let percent: f64 = v.parse().map_err(|_| format!("bad value for {k}: {v}"))?;
                if !(0.0..=100.0).contains(&percent) {
                    return Err(format!("{k} is a percentage (0-100): {v}"));
                }
                o.drop_per_2_32 = (percent / 100.0 * (1u64 << 32) as f64) as u64;
            }
            "--seed" => o.seed = v.parse().map_err(bad)?,
            _ => return Err(format!("unknown option {k}")),
        }
    }
    Ok(o)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("echo-server: {e}");
            std::process::exit(2);
        }
    };
    raise_nofile();
    let rt = if opts.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.threads)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    rt.block_on(serve(opts));
}

fn raise_nofile() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut rl = libc_rlimit::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc_rlimit::getrlimit(libc_rlimit::RLIMIT_NOFILE, &mut rl) == 0 {
            rl.rlim_cur = rl.rlim_max;
            libc_rlimit::setrlimit(libc_rlimit::RLIMIT_NOFILE, &rl);
        }
    }
}

/// The two libc calls needed, declared here to keep the dependency list short (Linux only).
mod libc_rlimit {
    #[repr(C)]
    pub struct rlimit {
        pub rlim_cur: u64,
        pub rlim_max: u64,
    }
    pub const RLIMIT_NOFILE: i32 = 7;
    extern "C" {
        pub fn getrlimit(resource: i32, rlim: *mut rlimit) -> i32;
        pub fn setrlimit(resource: i32, rlim: *const rlimit) -> i32;
    }
}

async fn serve(opts: Options) {
    let addr: SocketAddr = format!("{}:{}", opts.host, opts.port)
        .parse()
        .expect("host:port");
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .expect("socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(addr).expect("bind");
    // A deep backlog: the conns benchmark has up to `pending` connects in flight.
    let listener: TcpListener = socket.listen(8192).expect("listen");
    let port = listener.local_addr().expect("local_addr").port();
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{port}");
        let _ = out.flush();
    }
    let deflate = opts.deflate;
    let raw = opts.raw;
    let tls = opts.tls.then(|| {
        tls::acceptor(opts.ca_out.as_deref()).unwrap_or_else(|e| {
            eprintln!("echo-server: {e}");
            std::process::exit(1);
        })
    });
    let dropper = Dropper {
        per_2_32: opts.drop_per_2_32,
        rng: 0,
    };
    // Each connection's random stream: the seed mixed with the connection's number.
    let connections = AtomicU64::new(0);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let tls = tls.clone();
                let n = connections.fetch_add(1, Ordering::Relaxed);
                let dropper = Dropper {
                    rng: splitmix64(opts.seed ^ splitmix64(n)),
                    ..dropper
                };
                tokio::spawn(async move {
                    let _ = if let Some(acceptor) = tls {
                        tls::connection(stream, acceptor, deflate).await
                    } else if raw {
                        raw_echo(stream).await
                    } else {
                        connection(stream, deflate, dropper).await
                    };
                });
            }
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                eprintln!("echo-server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// `--drop`: whether to drop a message, and how.
#[derive(Clone, Copy, Default)]
struct Dropper {
    per_2_32: u64,
    rng: u64,
}

/// How a connection is dropped with its message.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DropKind {
    /// TCP FIN, no Close frame.
    Fin,
    /// TCP reset (SO_LINGER 0), no Close frame.
    Reset,
    /// A Close frame with 1011 (internal error), then FIN.
    Close1011,
}

impl Dropper {
    /// Rolls for one message: None to echo it, or how to drop it.
    fn roll(&mut self) -> Option<DropKind> {
        if self.per_2_32 == 0 {
            return None;
        }
        self.rng = splitmix64(self.rng);
        if (self.rng >> 32) >= self.per_2_32 {
            return None;
        }
        Some(match self.rng % 3 {
            0 => DropKind::Fin,
            1 => DropKind::Reset,
            _ => DropKind::Close1011,
        })
    }
}

/// splitmix64: a small, good mixing function (the standard library has no seeded RNG).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

async fn connection(mut stream: TcpStream, deflate: bool, dropper: Dropper) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (leftover, message) = handshake(&mut stream, deflate).await?;
    if let Some(total) = message {
        send_message(&mut stream, total).await?;
    }
    let mut parser = Parser {
        dropper,
        ..Parser::default()
    };
    let mut out = Vec::new();
    let mut closing = parser.feed(&leftover, &mut out);
    loop {
        if !out.is_empty() {
            stream.write_all(&out).await?;
            if out.capacity() > 2 * READ_BUF {
                out = Vec::new(); // keep idle connections small
            } else {
                out.clear();
            }
        }
        match parser.dropped {
            Some(DropKind::Fin) => {
                let _ = stream.shutdown().await;
                return Ok(());
            }
            Some(DropKind::Reset) => {
                // Deprecated because a non-zero linger blocks the thread on drop; a zero
                // linger resets the connection at once, which is the point here.
                #[allow(deprecated)]
                stream.set_linger(Some(std::time::Duration::ZERO))?;
                return Ok(());
            }
            Some(DropKind::Close1011) => {
                let reason = b"soak drop";
                write_header(&mut out, 0x88, 2 + reason.len() as u64);
                out.extend_from_slice(&1011u16.to_be_bytes());
                out.extend_from_slice(reason);
                stream.write_all(&out).await?;
                out.clear();
                closing = true;
            }
            None => {}
        }
        if closing {
            let _ = stream.shutdown().await;
            // The server closes TCP first (RFC 6455 §7.1.1); drain until the client closes
            // too (2 s at most), then drop.
            let mut sink = [0u8; 512];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
            return Ok(());
        }
        stream.readable().await?;
        let n = READ.with(|buf| {
            let mut buf = buf.borrow_mut();
            match stream.try_read(&mut buf) {
                Ok(0) => Ok(None),
                Ok(n) => {
                    closing = parser.feed(&buf[..n], &mut out);
                    Ok(Some(n))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Some(0)),
                Err(e) => Err(e),
            }
        })?;
        if n.is_none() {
            return Ok(()); // the client closed TCP
        }
    }
}

/// `--raw 1`: a plain TCP echo, the baseline the WebSocket figures are compared with.
async fn raw_echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Sends one binary message of `total` bytes (byte i = i & 0xff) in frames of 1 MiB.
async fn send_message<W: AsyncWriteExt + Unpin>(stream: &mut W, total: u64) -> io::Result<()> {
    const FRAME: usize = 1 << 20;
    let mut frame = Vec::with_capacity(FRAME + 14);
    let payload: Vec<u8> = (0..FRAME).map(|i| i as u8).collect();
    let mut sent = 0u64;
    loop {
        let n = (total - sent).min(FRAME as u64);
        let fin = sent + n == total;
        let opcode = if sent == 0 { 0x2 } else { 0x0 };
        frame.clear();
        write_header(&mut frame, if fin { 0x80 } else { 0 } | opcode, n);
        frame.extend_from_slice(&payload[..n as usize]);
        stream.write_all(&frame).await?;
        sent += n;
        if fin {
            return Ok(());
        }
    }
}

/// N when the request line asks for the path `/message/N`.
fn message_size(head: &str) -> Option<u64> {
    head.split(' ')
        .nth(1)?
        .strip_prefix("/message/")?
        .parse()
        .ok()
}

/// Reads the HTTP upgrade request and answers 101; returns bytes read past the request, and
/// the size of the message to send first when the path is `/message/N`.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    deflate: bool,
) -> io::Result<(Vec<u8>, Option<u64>)> {
    let mut req = Vec::with_capacity(1024);
    let end = loop {
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        req.extend_from_slice(&chunk[..n]);
        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if req.len() > MAX_REQUEST {
            return Err(io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&req[..end]).into_owned();
    if let Some(answer) = stats::answer(&head) {
        stream.write_all(answer.as_bytes()).await?;
        stream.flush().await?;
        return Err(io::ErrorKind::ConnectionAborted.into());
    }
    let message = message_size(&head);
    let mut key = None;
    let mut offers_deflate = false;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "sec-websocket-key" {
            key = Some(value.trim().to_string());
        } else if name == "sec-websocket-extensions" && value.contains("permessage-deflate") {
            offers_deflate = true;
        }
    }
    let Some(key) = key else {
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Err(io::ErrorKind::InvalidData.into());
    };
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n"
    );
    if deflate && offers_deflate {
        // Compressed frames are echoed verbatim, so each message must be decompressible on
        // its own in both directions: no context takeover on either side.
        resp.push_str(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
             client_no_context_takeover\r\n",
        );
    }
    resp.push_str("\r\n");
    stream.write_all(resp.as_bytes()).await?;
    Ok((req[end..].to_vec(), message))
}

/// Streams client frames into unmasked server frames.
#[derive(Default)]
struct Parser {
    /// Bytes of an incomplete header.
    head: [u8; 14],
    head_len: usize,
    /// Inside a payload: bytes left, the key, the offset into the key, and what to do.
    remaining: u64,
    key: [u8; 4],
    key_pos: usize,
    action: Action,
    /// The current frame is a Close frame.
    is_close: bool,
    /// A Close frame was echoed: stop.
    closed: bool,
    /// `--drop`: the rolls, and how the connection is to be dropped once one hit (stop).
    dropper: Dropper,
    dropped: Option<DropKind>,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum Action {
    #[default]
    Echo,
    Drop,
}

impl Parser {
    /// Consumes client bytes and appends what to send to `out`; true once a Close frame was
    /// echoed (the connection is then to be closed). Stops at a dropped message: `dropped`
    /// then says how to drop the connection (what is in `out` is still to be sent).
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> bool {
        stats::frames_in(input.len());
        while !input.is_empty() && !self.closed && self.dropped.is_none() {
            if self.remaining > 0 {
                let take = (self.remaining.min(input.len() as u64)) as usize;
                if self.action == Action::Echo {
                    let start = out.len();
                    out.extend_from_slice(&input[..take]);
                    unmask(&mut out[start..], self.key, self.key_pos);
                }
                self.key_pos = (self.key_pos + take) % 4;
                self.remaining -= take as u64;
                input = &input[take..];
                if self.remaining == 0 && self.is_close {
                    self.closed = true; // the Close frame is echoed whole: stop
                }
                continue;
            }
            // A header: complete what is kept with the input.
            let take = (14 - self.head_len).min(input.len());
            self.head[self.head_len..self.head_len + take].copy_from_slice(&input[..take]);
            let avail = self.head_len + take;
            let Some((len, hlen)) = header_len(&self.head[..avail]) else {
                self.head_len = avail;
                return false;
            };
            let b0 = self.head[0];
            // The first frame of a data message: roll whether to drop it.
            if matches!(b0 & 0x0f, 0x1 | 0x2) {
                self.dropped = self.dropper.roll();
                if self.dropped.is_some() {
                    self.head_len = 0;
                    return false;
                }
            }
            input = &input[hlen - self.head_len..];
            self.head_len = 0;
            let masked = self.head[1] & 0x80 != 0;
            self.key = if masked {
                self.head[hlen - 4..hlen].try_into().unwrap()
            } else {
                [0; 4]
            };
            self.key_pos = 0;
            self.remaining = len;
            let opcode = b0 & 0x0f;
            self.action = match opcode {
                0xA => Action::Drop, // unsolicited pong
                _ => Action::Echo,
            };
            if self.action == Action::Echo {
                // Ping becomes pong; everything else keeps FIN, RSV and opcode.
                let out_b0 = if opcode == 0x9 { (b0 & 0xf0) | 0xA } else { b0 };
                write_header(out, out_b0, len);
            }
            self.is_close = opcode == 0x8;
            if self.is_close && len == 0 {
                self.closed = true;
            }
        }
        self.closed
    }
}

/// Payload length and header length, or None when more bytes are needed.
fn header_len(h: &[u8]) -> Option<(u64, usize)> {
    if h.len() < 2 {
        return None;
    }
    let masked = h[1] & 0x80 != 0;
    let (len, mut n) = match h[1] & 0x7f {
        126 => {
            if h.len() < 4 {
                return None;
            }
            (u16::from_be_bytes([h[2], h[3]]) as u64, 4)
        }
        127 => {
            if h.len() < 10 {
                return None;
            }
            (u64::from_be_bytes(h[2..10].try_into().unwrap()), 10)
        }
        l => (l as u64, 2),
    };
    if masked {
        n += 4;
    }
    if h.len() < n {
        return None;
    }
    Some((len, n))
}

fn write_header(out: &mut Vec<u8>, b0: u8, len: u64) {
    out.push(b0);
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// XORs `buf` with `key`, starting at key offset `pos`, a word at a time.
fn unmask(buf: &mut [u8], key: [u8; 4], pos: usize) {
    if key == [0; 4] {
        return;
    }
    let rot = [
        key[pos % 4],
        key[(pos + 1) % 4],
        key[(pos + 2) % 4],
        key[(pos + 3) % 4],
    ];
    let word = u64::from_ne_bytes([
        rot[0], rot[1], rot[2], rot[3], rot[0], rot[1], rot[2], rot[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().unwrap()) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= rot[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_frame(b0: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let mut f = Vec::new();
        write_header(&mut f, b0, payload.len() as u64);
        f[1] |= 0x80;
        f.extend_from_slice(&key);
        let start = f.len();
        f.extend_from_slice(payload);
        unmask(&mut f[start..], key, 0);
        f
    }

    #[test]
    fn echoes_frames_split_anywhere() {
        let payload: Vec<u8> = (0..70000u32).map(|i| i as u8).collect();
        let mut input = client_frame(0x02, &payload, [1, 2, 3, 4]);
        input.extend(client_frame(0x89, b"hi", [5, 6, 7, 8]));
        input.extend(client_frame(0x8A, b"drop", [5, 6, 7, 8]));
        input.extend(client_frame(0x41, b"abc", [9, 9, 9, 9]));
        for split in [1, 3, 7, 13, 4096] {
            let mut p = Parser::default();
            let mut out = Vec::new();
            for piece in input.chunks(split) {
                assert!(!p.feed(piece, &mut out));
            }
            let mut want = Vec::new();
            write_header(&mut want, 0x02, payload.len() as u64);
            want.extend_from_slice(&payload);
            want.extend_from_slice(&[0x8A, 2, b'h', b'i']);
            want.extend_from_slice(&[0x41, 3, b'a', b'b', b'c']);
            assert_eq!(out, want, "split {split}");
        }
    }

    #[test]
    fn the_message_path_asks_for_one_message_of_n_bytes() {
        assert_eq!(
            message_size("GET /message/4294967296 HTTP/1.1\r\n"),
            Some(1 << 32)
        );
        assert_eq!(message_size("GET / HTTP/1.1\r\n"), None);
        assert_eq!(message_size("GET /message/x HTTP/1.1\r\n"), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for total in [0u64, 5, 1 << 20, (3 << 20) + 7] {
            let mut out = Vec::new();
            rt.block_on(send_message(&mut out, total)).unwrap();
            // Frames of 1 MiB at most: binary, then continuations, FIN on the last only.
            let (mut at, mut got, mut frames) = (0, Vec::new(), 0);
            while at < out.len() {
                let (len, n) = header_len(&out[at..]).unwrap();
                let b0 = out[at];
                assert_eq!(b0 & 0x0f, if frames == 0 { 0x2 } else { 0x0 }, "{total}");
                let end = at + n + len as usize;
                assert!(len <= 1 << 20);
                got.extend_from_slice(&out[at + n..end]);
                at = end;
                frames += 1;
                assert_eq!(b0 & 0x80 != 0, at == out.len(), "{total}: FIN");
            }
            assert_eq!(got.len() as u64, total);
            assert!(got.iter().enumerate().all(|(i, b)| *b == i as u8));
        }
    }

    #[test]
    fn a_dropped_message_stops_the_echo_before_its_header() {
        let mut input = client_frame(0x89, b"hi", [5, 6, 7, 8]);
        input.extend(client_frame(0x82, b"lost", [1, 2, 3, 4]));
        input.extend(client_frame(0x82, b"never", [1, 2, 3, 4]));
        for split in [1, 5, 100] {
            let mut p = Parser {
                dropper: Dropper {
                    per_2_32: 1 << 32,
                    rng: 7,
                },
                ..Parser::default()
            };
            let mut out = Vec::new();
            for piece in input.chunks(split) {
                assert!(!p.feed(piece, &mut out));
            }
            assert!(p.dropped.is_some(), "split {split}");
            assert_eq!(out, vec![0x8A, 2, b'h', b'i'], "split {split}");
        }
    }

    #[test]
    fn drops_about_the_given_share_in_every_way() {
        let mut d = Dropper {
            per_2_32: (0.01 * (1u64 << 32) as f64) as u64,
            rng: 42,
        };
        let mut kinds = [0u32; 3];
        for _ in 0..1_000_000 {
            match d.roll() {
                Some(DropKind::Fin) => kinds[0] += 1,
                Some(DropKind::Reset) => kinds[1] += 1,
                Some(DropKind::Close1011) => kinds[2] += 1,
                None => {}
            }
        }
        let total: u32 = kinds.iter().sum();
        assert!(
            (9_000..11_000).contains(&total),
            "{total} of 1M dropped at 1%"
        );
        assert!(kinds.iter().all(|&k| k > 2_500), "{kinds:?}");
        assert_eq!(Dropper::default().roll(), None);
    }

    #[test]
    fn echoes_close() {
        let input = client_frame(0x88, &[0x03, 0xe8, b'x'], [1, 2, 3, 4]);
        for split in [1, 2, 100] {
            let mut p = Parser::default();
            let mut out = Vec::new();
            let mut closed = false;
            for piece in input.chunks(split) {
                closed = p.feed(piece, &mut out);
            }
            assert!(closed, "split {split}");
            assert_eq!(out, vec![0x88, 3, 0x03, 0xe8, b'x']);
        }
    }
}
