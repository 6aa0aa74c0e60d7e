//! Sending: frames encoded and masked into one outgoing buffer, in the order they are queued.
//! A large payload may be lent instead of copied: it is masked piece by piece as the socket
//! takes it, and dropped once written, which tells its owner the memory is theirs again.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::log::Level;

use rand::RngCore;

use super::close;
use super::deflate::Deflater;
use super::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use super::mask::{extend_masked, mask_into};

/// Why a send was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Not open yet, or a Close frame was already sent.
    NotOpen,
    /// The outgoing buffer is over its limit; wait until it drains.
    WouldBlock,
    /// A whole message or a different kind of fragment while a fragmented message is in progress,
    /// or a continuation with none in progress.
    FragmentState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Open,
    /// Our Close frame is queued: "The application MUST NOT send any more data frames after
    /// sending a Close frame."
    CloseSent,
}

/// A payload lent to the sender rather than copied: read, never written, until its last byte is
/// written out (or the connection ends), then dropped.
pub type LentPayload = Box<dyn AsRef<[u8]> + Send>;

/// A lent payload in the queue: its frame's header is in `out`, the payload goes after
/// `out[..at]`.
struct Lent {
    at: usize,
    payload: LentPayload,
    key: [u8; 4],
    /// Bytes of the payload already written.
    sent: usize,
}

impl std::fmt::Debug for Lent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent")
            .field("at", &self.at)
            .field("len", &(*self.payload).as_ref().len())
            .field("sent", &self.sent)
            .finish()
    }
}

#[derive(Default)]
struct Lending {
    /// Lent payloads not wholly written, in order.
    queue: VecDeque<Lent>,
    /// Their bytes not yet written.
    unwritten: usize,
    /// Lent payloads the sender is done with, to be dropped by the caller once it no longer
    /// holds the sender's lock (`take_finished`).
    finished: Vec<LentPayload>,
}

impl std::fmt::Debug for Lending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lending")
            .field("queue", &self.queue)
            .field("unwritten", &self.unwritten)
            .field("finished", &self.finished.len())
            .finish()
    }
}

/// The outgoing half of a connection: what is queued and not yet written to the socket.
///
/// The bytes to write are `out` with each lent payload, masked, inserted at its place.
pub struct Sender {
    out: Vec<u8>,
    /// Bytes of `out` already written.
    written: usize,
    /// Present while payloads are lent (boxed: connections that never lend stay small).
    lending: Option<Box<Lending>>,
    limit: usize,
    state: State,
    /// `Some(is_text)` while a message sent in fragments is unfinished.
    fragmenting: Option<bool>,
    /// The answer to the latest ping, held back while the buffer is over its limit.
    pending_pong: Option<Vec<u8>>,
    /// A send was refused for a full buffer: the application wants to hear when it drains.
    refused: bool,
    /// Set when permessage-deflate was negotiated: whole messages are sent compressed.
    deflater: Option<Box<Deflater>>,
    /// Reused buffer for a compressed message.
    compressed: Vec<u8>,
    /// The connection's log, for a trace line per frame.
    log: Option<Arc<crate::log::Scope>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("state", &self.state)
            .field("buffered", &self.buffered())
            .field("lending", &self.lending)
            .finish_non_exhaustive()
    }
}

fn data_opcode(is_text: bool) -> OpCode {
    if is_text {
        OpCode::Text
    } else {
        OpCode::Binary
    }
}

/// Drop an outgoing buffer larger than this once it is empty, so idle connections stay small.
const KEEP_BUFFER: usize = 16 * 1024;

/// A lent payload shorter than this is copied at once: cheaper than a piece of its own.
pub const LEND_MIN: usize = 4096;

/// Queued bytes shorter than this before or between lent payloads are gathered with them into
/// one write; longer ones are written from the queue as they are.
const GATHER_MAX: usize = 4096;

impl Sender {
    /// `limit`: above this many unwritten bytes data sends are refused (`WouldBlock`); a message
    /// is always accepted into an empty buffer, however large.
    pub fn new(limit: usize) -> Self {
        Sender {
            out: Vec::new(),
            written: 0,
            lending: None,
            limit,
            state: State::Connecting,
            fragmenting: None,
            pending_pong: None,
            refused: false,
            deflater: None,
            compressed: Vec::new(),
            log: None,
        }
    }

    /// Writes a trace line for each frame queued to this connection's log.
    pub fn with_log(mut self, log: Arc<crate::log::Scope>) -> Self {
        self.log = Some(log);
        self
    }

    /// Queues raw bytes (the opening handshake request).
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// The handshake succeeded: frames may be sent from now on.
    pub fn open(&mut self) {
        if self.state == State::Connecting {
            self.state = State::Open;
        }
    }

    /// permessage-deflate was negotiated: messages sent whole are compressed from now on.
    /// (Messages sent in fragments are compressed fragment by fragment.)
    pub fn enable_deflate(&mut self, deflater: Deflater) {
        self.deflater = Some(Box::new(deflater));
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    pub fn close_sent(&self) -> bool {
        self.state == State::CloseSent
    }

    /// Bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.out.len() - self.written + self.lending.as_ref().map_or(0, |l| l.unwritten)
    }

    /// The bytes to write next (empty when nothing is queued). Where a lent payload comes
    /// next, its next piece is masked into `scratch` (which must not be empty) together with
    /// the short queued bytes around it (its frame header), as much as `scratch` holds.
    pub fn pending<'a>(&'a self, scratch: &'a mut [u8]) -> &'a [u8] {
        let Some(lent) = self.lending.as_ref().filter(|l| !l.queue.is_empty()) else {
            return &self.out[self.written..];
        };
        let first = &lent.queue[0];
        if first.at - self.written >= GATHER_MAX {
            return &self.out[self.written..first.at];
        }
        assert!(
            !scratch.is_empty(),
            "a lent payload needs room to be masked"
        );
        let mut filled = 0;
        let mut at = self.written;
        for lent in &lent.queue {
            let queued = &self.out[at..lent.at];
            if queued.len() >= GATHER_MAX {
                return &scratch[..filled];
            }
            let take = queued.len().min(scratch.len() - filled);
            scratch[filled..filled + take].copy_from_slice(&queued[..take]);
            filled += take;
            at = lent.at;
            if take < queued.len() {
                return &scratch[..filled];
            }
            let rest = &(*lent.payload).as_ref()[lent.sent..];
            let take = rest.len().min(scratch.len() - filled);
            mask_into(
                &mut scratch[filled..filled + take],
                &rest[..take],
                lent.key,
                lent.sent,
            );
            filled += take;
            if take < rest.len() {
                return &scratch[..filled];
            }
        }
        let queued = &self.out[at..];
        if queued.len() >= GATHER_MAX {
            return &scratch[..filled];
        }
        let take = queued.len().min(scratch.len() - filled);
        scratch[filled..filled + take].copy_from_slice(&queued[..take]);
        &scratch[..filled + take]
    }

    /// Records that the first `n` bytes of [`pending`](Self::pending) were written. Returns
    /// true when this emptied the buffer after a refused send: the application may send again.
    pub fn consume(&mut self, mut n: usize) -> bool {
        while n > 0 {
            let Some(lending) = self.lending.as_deref_mut().filter(|l| !l.queue.is_empty()) else {
                self.written += n;
                break;
            };
            let lent = &mut lending.queue[0];
            if self.written < lent.at {
                let take = n.min(lent.at - self.written);
                self.written += take;
                n -= take;
                continue;
            }
            let len = (*lent.payload).as_ref().len();
            let take = n.min(len - lent.sent);
            lent.sent += take;
            lending.unwritten -= take;
            n -= take;
            if lent.sent == len {
                let done = lending.queue.pop_front().expect("the front payload");
                lending.finished.push(done.payload);
            }
        }
        debug_assert!(self.written <= self.out.len());
        if self.buffered() > 0 {
            return false;
        }
        self.written = 0;
        self.out.clear();
        if self.out.capacity() > KEEP_BUFFER {
            self.out = Vec::new();
        }
        if let Some(payload) = self.pending_pong.take() {
            self.queue_frame(OpCode::Pong, true, false, &payload);
        }
        std::mem::take(&mut self.refused)
    }

    /// Queues a whole message as one frame.
    pub fn send_message(&mut self, is_text: bool, payload: &[u8]) -> Result<(), SendError> {
        if self.fragmenting.is_some() {
            return Err(SendError::FragmentState);
        }
        let opcode = data_opcode(is_text);
        if self.deflater.is_none() {
            return self.send_data(opcode, true, false, payload);
        }
        // RFC 7692 §6.1: compress the whole payload, remove the 0x00 0x00 0xff 0xff tail,
        // and set RSV1 on the (single) frame.
        self.send_deflated(opcode, true, true, payload.len(), |deflater, out| {
            deflater.compress(payload, out)
        })
    }

    /// Queues a frame of compressed data. Admitted on the uncompressed length before anything
    /// is compressed: a refusal after compressing would leave the compressor holding data
    /// the peer never gets, and with context takeover later messages would refer to it.
    fn send_deflated(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        len: usize,
        deflate: impl FnOnce(&mut Deflater, &mut Vec<u8>),
    ) -> Result<(), SendError> {
        self.admit(len)?;
        let mut compressed = std::mem::take(&mut self.compressed);
        compressed.clear();
        deflate(
            self.deflater
                .as_mut()
                .expect("compressing needs a deflater"),
            &mut compressed,
        );
        self.queue_frame(opcode, fin, rsv1, &compressed);
        if compressed.capacity() <= KEEP_BUFFER {
            self.compressed = compressed;
        }
        Ok(())
    }

    /// Queues one fragment of a message: the first fixes its type, `fin` ends it.
    pub fn send_fragment(
        &mut self,
        is_text: bool,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        let opcode = match self.fragmenting {
            None if is_text => OpCode::Text,
            None => OpCode::Binary,
            Some(text) if text == is_text => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentState),
        };
        let first = opcode != OpCode::Continuation;
        if self.deflater.is_none() {
            self.send_data(opcode, fin, false, payload)?;
        } else {
            // RFC 7692 §6.1: a fragmented message may be compressed too, RSV1 on its first
            // frame only; the fragments carry the compressed data in turn.
            self.send_deflated(opcode, fin, first, payload.len(), |deflater, out| {
                if first && fin {
                    deflater.compress(payload, out)
                } else {
                    deflater.compress_part(payload, fin, out)
                }
            })?;
        }
        self.fragmenting = if fin { None } else { Some(is_text) };
        Ok(())
    }

    /// Queues a whole message as one frame without copying `payload` (see [`LentPayload`]):
    /// `Ok(None)`. Payloads under [`LEND_MIN`] bytes, and all when compressing, are copied at
    /// once and come back, `Ok(Some(payload))`, for the caller to drop once it has released
    /// the sender's lock. On failure the payload comes back untouched.
    pub fn send_message_lent<P>(
        &mut self,
        is_text: bool,
        payload: P,
    ) -> Result<Option<P>, (SendError, P)>
    where
        P: AsRef<[u8]> + Send + 'static,
    {
        let len = payload.as_ref().len();
        if self.fragmenting.is_some() {
            return Err((SendError::FragmentState, payload));
        }
        if let Err(e) = self.admit(len) {
            return Err((e, payload));
        }
        if len < LEND_MIN || self.deflater.is_some() {
            // Admitted above, so this cannot fail.
            let _ = self.send_message(is_text, payload.as_ref());
            return Ok(Some(payload));
        }
        let key = self.queue_header(data_opcode(is_text), true, false, len);
        let lending = self.lending.get_or_insert_with(Box::default);
        lending.queue.push_back(Lent {
            at: self.out.len(),
            payload: Box::new(payload),
            key,
            sent: 0,
        });
        lending.unwritten += len;
        Ok(None)
    }

    /// Lent payloads the sender is done with (written, or dropped with the queue).
    /// Drop them after releasing the sender's lock: dropping one may run its owner's code.
    pub fn take_finished(&mut self) -> Vec<LentPayload> {
        let Some(lending) = self.lending.as_deref_mut() else {
            return Vec::new();
        };
        let finished = std::mem::take(&mut lending.finished);
        if lending.queue.is_empty() {
            self.lending = None;
        }
        finished
    }

    fn send_data(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.admit(payload.len())?;
        self.queue_frame(opcode, fin, rsv1, payload);
        Ok(())
    }

    /// Whether a data frame of `len` bytes may be queued now.
    fn admit(&mut self, len: usize) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::NotOpen);
        }
        let buffered = self.buffered();
        if buffered > 0 && buffered + len > self.limit {
            self.refused = true;
            return Err(SendError::WouldBlock);
        }
        Ok(())
    }

    /// Queues a ping (at most 125 bytes; checked by the caller).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::NotOpen);
        }
        self.queue_frame(OpCode::Ping, true, false, payload);
        Ok(())
    }

    /// Answers a ping. "If an endpoint receives a Ping frame and has not yet sent Pong frame(s)
    /// in response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for
    /// only the most recently processed Ping frame": we answer every ping, and collapse to the
    /// latest only while the buffer is over its limit (a ping flood).
    pub fn answer_ping(&mut self, payload: &[u8]) {
        if self.state != State::Open {
            return;
        }
        if self.buffered() > self.limit {
            self.pending_pong = Some(payload.to_vec());
        } else {
            self.queue_frame(OpCode::Pong, true, false, payload);
        }
    }

    /// Queues our Close frame (once); `None` sends an empty body. Returns false if one was
    /// already sent. The code and reason must have been checked.
    pub fn send_close(&mut self, code: Option<u16>, reason: &[u8]) -> bool {
        if self.state == State::CloseSent {
            return false;
        }
        let mut body = [0u8; 125];
        let len = match code {
            Some(code) => {
                let reason = &reason[..reason.len().min(close::MAX_REASON_LEN)];
                body[..2].copy_from_slice(&code.to_be_bytes());
                body[2..2 + reason.len()].copy_from_slice(reason);
                2 + reason.len()
            }
            None => 0,
        };
        self.pending_pong = None;
        self.queue_frame(OpCode::Close, true, false, &body[..len]);
        self.state = State::CloseSent;
        true
    }

    /// A new attempt of the connection (after a redirect or to reconnect): back to connecting,
    /// with nothing queued and no extension.
    pub fn reset(&mut self) {
        self.state = State::Connecting;
        self.drop_queue();
        self.out.clear();
        self.fragmenting = None;
        self.pending_pong = None;
        self.refused = false;
        self.deflater = None;
    }

    /// The connection is over: drops whatever is unwritten and refuses every later send.
    pub fn shut(&mut self) {
        self.state = State::CloseSent;
        self.fragmenting = None;
        self.pending_pong = None;
        self.drop_queue();
        self.out = Vec::new();
    }

    /// Forgets every unwritten byte; lent payloads go to `finished`.
    fn drop_queue(&mut self) {
        self.written = 0;
        if let Some(lending) = self.lending.as_deref_mut() {
            lending.unwritten = 0;
            let queue = std::mem::take(&mut lending.queue);
            lending
                .finished
                .extend(queue.into_iter().map(|lent| lent.payload));
        }
    }

    /// "The masking key MUST be derived from a strong source of entropy, and the masking key
    /// for a given frame MUST NOT make it simple for a server or proxy to predict the masking
    /// key for a subsequent frame": a fresh key for every frame from the sending thread's
    /// CSPRNG (rand's thread RNG: ChaCha, seeded and reseeded from the OS), which also keeps
    /// the generator's state out of every connection.
    fn queue_frame(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        self.out.reserve(MAX_HEADER_LEN + payload.len());
        let key = self.queue_header(opcode, fin, rsv1, payload.len());
        extend_masked(&mut self.out, payload, key);
    }

    /// Queues a frame header with a fresh masking key, and returns the key.
    fn queue_header(&mut self, opcode: OpCode, fin: bool, rsv1: bool, len: usize) -> [u8; 4] {
        let key = rand::rng().next_u32().to_ne_bytes();
        let header = FrameHeader {
            fin,
            rsv1,
            rsv23: false,
            opcode,
            mask: Some(key),
            payload_len: len as u64,
        };
        if let Some(log) = self.log.as_deref().filter(|l| l.enabled(Level::Trace)) {
            header.trace(log, "send");
        }
        let mut head = [0; MAX_HEADER_LEN];
        let n = header.write(&mut head);
        self.out.extend_from_slice(&head[..n]);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use wsc_testkit::frame::parse_all;
    use wsc_testkit::Rng;

    /// Unmasks every frame in `bytes`: (first byte, payload). Parsed by the test kit's own
    /// parser, which also refuses what no client may send.
    fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        parse_all(bytes)
            .into_iter()
            .map(|f| {
                assert!(f.masked, "client frames are masked");
                (f.first_byte(), f.payload)
            })
            .collect()
    }

    /// What is queued, when no payload is lent.
    fn queued(s: &Sender) -> Vec<u8> {
        s.pending(&mut []).to_vec()
    }

    /// Writes everything queued with a scratch of `scratch` bytes, taking at most `write`
    /// bytes of each `pending` (a socket that takes part of a write).
    fn drain(s: &mut Sender, scratch: usize, write: usize) -> Vec<u8> {
        let mut scratch = vec![0; scratch];
        let mut wire = Vec::new();
        while s.buffered() > 0 {
            let next = s.pending(&mut scratch);
            assert!(!next.is_empty(), "something to write while buffered");
            let n = next.len().min(write);
            wire.extend_from_slice(&next[..n]);
            s.consume(n);
        }
        wire
    }

    /// A lent payload that counts how often it was dropped.
    #[derive(Debug)]
    struct Tracked(Vec<u8>, Arc<AtomicUsize>);

    impl AsRef<[u8]> for Tracked {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn open_sender(limit: usize) -> Sender {
        let mut s = Sender::new(limit);
        s.open();
        s
    }

    #[test]
    fn frames_are_masked_with_fresh_keys() {
        let mut s = open_sender(1 << 20);
        s.send_message(true, b"Hello").unwrap();
        s.send_message(false, &[0u8; 300]).unwrap();
        let keys: Vec<_> = [0, 11]
            .iter()
            .map(|&at| queued(&s)[at + 2..at + 6].to_vec())
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_eq!(
            frames(&queued(&s)),
            vec![(0x81, b"Hello".to_vec()), (0x82, vec![0; 300])]
        );
    }

    #[test]
    fn nothing_before_open_or_after_close() {
        let mut s = Sender::new(100);
        assert_eq!(s.send_message(true, b"x"), Err(SendError::NotOpen));
        s.open();
        assert!(s.send_close(Some(1000), b"bye"));
        assert!(!s.send_close(Some(1000), b""));
        assert_eq!(s.send_message(true, b"x"), Err(SendError::NotOpen));
        assert_eq!(s.send_ping(b""), Err(SendError::NotOpen));
        assert_eq!(frames(&queued(&s)), vec![(0x88, b"\x03\xe8bye".to_vec())]);
    }

    #[test]
    fn shut_drops_the_queue_and_refuses_sends() {
        let mut s = open_sender(100);
        s.send_message(true, b"queued").unwrap();
        s.shut();
        assert_eq!(s.buffered(), 0);
        assert_eq!(s.send_message(true, b"x"), Err(SendError::NotOpen));
        assert_eq!(s.send_ping(b""), Err(SendError::NotOpen));
        assert!(!s.send_close(Some(1000), b""));
    }

    #[test]
    fn fragments() {
        let mut s = open_sender(1 << 20);
        s.send_fragment(true, b"He", false).unwrap();
        assert_eq!(s.send_message(true, b"x"), Err(SendError::FragmentState));
        assert_eq!(
            s.send_fragment(false, b"x", true),
            Err(SendError::FragmentState)
        );
        s.send_ping(b"p").unwrap();
        s.send_fragment(true, b"llo", true).unwrap();
        s.send_message(false, b"").unwrap();
        let expected = vec![
            (0x01, b"He".to_vec()),
            (0x89, b"p".to_vec()),
            (0x80, b"llo".to_vec()),
            (0x82, vec![]),
        ];
        assert_eq!(frames(&queued(&s)), expected);
    }

    #[test]
    fn backpressure_and_ping_flood() {
        let mut s = open_sender(10);
        s.send_message(false, &[1; 50]).unwrap(); // an empty buffer takes any message
        assert_eq!(s.send_message(false, b"more"), Err(SendError::WouldBlock));
        s.answer_ping(b"1");
        s.answer_ping(b"2");
        let total = s.buffered();
        assert!(!s.consume(total - 1));
        assert!(s.consume(1), "drained after a refusal");
        // Only the latest pong was kept while over the limit, and it is sent on drain.
        assert_eq!(frames(&queued(&s)), vec![(0x8a, b"2".to_vec())]);
        let n = s.buffered();
        assert!(!s.consume(n), "no refusal since the last report");
    }

    #[test]
    fn pongs_answer_every_ping_in_order() {
        let mut s = open_sender(1 << 20);
        for i in 0..10u8 {
            s.answer_ping(&[i]);
        }
        let got: Vec<_> = frames(&queued(&s)).into_iter().map(|(_, p)| p[0]).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn lent_payloads_go_out_in_order_and_are_dropped_once_written() {
        let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let text = vec![b'z'; 5_000];
        for (scratch, write) in [
            (4096, usize::MAX),
            (4096, 1000),
            (65_536, 7),
            (1 << 20, 4093),
        ] {
            let drops = Arc::new(AtomicUsize::new(0));
            let mut s = open_sender(1 << 20);
            s.send_message(true, b"a").unwrap();
            s.send_message_lent(false, Tracked(big.clone(), drops.clone()))
                .unwrap();
            s.send_ping(b"p").unwrap();
            s.send_message_lent(true, Tracked(text.clone(), drops.clone()))
                .unwrap();
            s.send_message(false, &[3; 300]).unwrap();
            assert_eq!(s.buffered(), 7 + 8 + 10_000 + 7 + 8 + 5_000 + 8 + 300);
            let wire = drain(&mut s, scratch, write);
            let expected = vec![
                (0x81, b"a".to_vec()),
                (0x82, big.clone()),
                (0x89, b"p".to_vec()),
                (0x81, text.clone()),
                (0x82, vec![3; 300]),
            ];
            assert_eq!(
                frames(&wire),
                expected,
                "scratch {scratch}, writes of {write}"
            );
            assert_eq!(
                drops.load(Ordering::SeqCst),
                0,
                "dropped only by the lock holder"
            );
            drop(s.take_finished());
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            assert!(s.take_finished().is_empty());
        }
    }

    #[test]
    fn a_lent_frame_goes_out_with_its_header_in_one_write() {
        let mut s = open_sender(1 << 20);
        s.send_message_lent(false, vec![9; LEND_MIN]).unwrap();
        let mut scratch = vec![0; 1 << 16];
        assert_eq!(s.pending(&mut scratch).len(), 4 + 4 + LEND_MIN);
    }

    #[test]
    fn short_lent_payloads_are_copied_and_given_back_at_once() {
        let mut s = open_sender(1 << 20);
        let short = vec![5; LEND_MIN - 1];
        let back = s.send_message_lent(false, short.clone()).unwrap();
        assert_eq!(back.as_ref(), Some(&short));
        assert!(s.take_finished().is_empty());
        assert_eq!(frames(&queued(&s)), vec![(0x82, short)]);
    }

    #[test]
    fn refused_lent_payloads_come_back_untouched() {
        let mut s = Sender::new(10);
        let (e, back) = s.send_message_lent(true, vec![1; 5000]).unwrap_err();
        assert_eq!((e, back), (SendError::NotOpen, vec![1; 5000]));
        s.open();
        s.send_message_lent(false, vec![2; 5000]).unwrap();
        let (e, back) = s.send_message_lent(false, vec![3; 5000]).unwrap_err();
        assert_eq!((e, back), (SendError::WouldBlock, vec![3; 5000]));
        s.send_fragment(false, b"x", false).unwrap_err();
        assert!(s.take_finished().is_empty());
    }

    #[test]
    fn ending_the_connection_finishes_lent_payloads() {
        for end in [Sender::shut as fn(&mut Sender), Sender::reset] {
            let drops = Arc::new(AtomicUsize::new(0));
            let mut s = open_sender(1 << 20);
            s.send_message_lent(false, Tracked(vec![0; 8000], drops.clone()))
                .unwrap();
            let mut scratch = vec![0; 100];
            let n = s.pending(&mut scratch).len();
            s.consume(n); // partly written
            end(&mut s);
            assert_eq!(s.buffered(), 0);
            drop(s.take_finished());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }
    }

    #[test]
    fn random_mixes_of_lent_and_copied_frames_come_out_whole_and_in_order() {
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        let mut below = |n: usize| rng.below(n);
        for round in 0..200 {
            let drops = Arc::new(AtomicUsize::new(0));
            let mut s = open_sender(64 << 20);
            let mut expected = Vec::new();
            let mut lent = 0;
            for i in 0..1 + below(8) {
                let len = [0, 3, 125, 4095, 4096, 5000, 70_000][below(7)] + below(20);
                let payload: Vec<u8> = (0..len).map(|j| (j * 31 + i + round) as u8).collect();
                match below(3) {
                    0 => {
                        s.send_message(false, &payload).unwrap();
                        expected.push((0x82, payload));
                    }
                    1 => {
                        s.send_ping(&payload[..len.min(125)]).unwrap();
                        expected.push((0x89, payload[..len.min(125)].to_vec()));
                    }
                    _ => {
                        s.send_message_lent(false, Tracked(payload.clone(), drops.clone()))
                            .unwrap();
                        expected.push((0x82, payload));
                        lent += 1;
                    }
                }
            }
            let wire = drain(&mut s, 1 + below(300_000), 1 + below(100_000));
            assert!(frames(&wire) == expected, "round {round}");
            drop(s.take_finished());
            assert_eq!(drops.load(Ordering::SeqCst), lent, "round {round}");
        }
    }

    /// A sender that compresses, with context takeover (later messages refer to earlier ones).
    fn deflating_sender(limit: usize) -> Sender {
        let mut s = open_sender(limit);
        let negotiated = crate::protocol::deflate::Negotiated::symmetric(15, false);
        s.enable_deflate(Deflater::new(&negotiated, 6));
        s
    }

    /// The messages in `frames`, inflated as one stream (as a peer with context takeover does).
    fn inflate_messages(frames: &[(u8, Vec<u8>)]) -> Vec<Vec<u8>> {
        let mut stream = Vec::new();
        let mut ends = Vec::new();
        for (b0, payload) in frames {
            stream.extend_from_slice(payload);
            if b0 & 0x80 != 0 {
                stream.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
                ends.push(wsc_testkit::inflate::inflate(&stream).unwrap().data.len());
            }
        }
        let all = wsc_testkit::inflate::inflate(&stream).unwrap().data;
        let mut start = 0;
        ends.iter()
            .map(|&end| {
                let message = all[start..end].to_vec();
                start = end;
                message
            })
            .collect()
    }

    #[test]
    fn fragments_are_compressed_with_rsv1_on_the_first_only() {
        let mut s = deflating_sender(1 << 20);
        s.send_message(true, b"hello hello hello").unwrap();
        s.send_fragment(true, b"hello ", false).unwrap();
        s.send_fragment(true, b"", false).unwrap();
        s.send_fragment(true, b"world hello", true).unwrap();
        s.send_fragment(false, b"", true).unwrap();
        let sent = frames(&drain(&mut s, 4096, usize::MAX));
        let first_bytes: Vec<u8> = sent.iter().map(|(b0, _)| *b0).collect();
        // Text whole (FIN, RSV1); text, continuation, continuation (RSV1 on the first only);
        // an empty binary message (FIN, RSV1).
        assert_eq!(first_bytes, [0xc1, 0x41, 0x00, 0x80, 0xc2]);
        assert_eq!(
            inflate_messages(&sent),
            [&b"hello hello hello"[..], b"hello world hello", b""]
        );
    }

    #[test]
    fn a_refused_compressed_message_leaves_the_compressor_as_it_was() {
        let mut s = deflating_sender(64);
        let mut rng = Rng::new(7);
        let noise = rng.bytes(200);
        s.send_message(false, &noise[..40]).unwrap();
        // Over the limit while something is queued: refused before it is compressed.
        assert_eq!(s.send_message(false, &noise), Err(SendError::WouldBlock));
        assert_eq!(
            s.send_fragment(false, &noise, true),
            Err(SendError::WouldBlock)
        );
        let mut wire = drain(&mut s, 4096, usize::MAX);
        s.send_message(false, &noise[..40]).unwrap();
        wire.extend(drain(&mut s, 4096, usize::MAX));
        let messages = inflate_messages(&frames(&wire));
        assert_eq!(messages, [&noise[..40], &noise[..40]]);
    }

    #[test]
    fn large_fragments_compress_to_a_valid_stream() {
        let mut rng = Rng::new(11);
        let mut message = Vec::new();
        while message.len() < 400_000 {
            let len = 1 + rng.below(12);
            let word = rng.bytes(len);
            let repeats = 1 + rng.below(4);
            for _ in 0..repeats {
                message.extend_from_slice(&word);
            }
        }
        for piece in [1000, 65_536, 150_000] {
            let mut s = deflating_sender(usize::MAX);
            let chunks: Vec<&[u8]> = message.chunks(piece).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                s.send_fragment(false, chunk, i + 1 == chunks.len())
                    .unwrap();
            }
            let sent = frames(&drain(&mut s, 64 * 1024, usize::MAX));
            assert_eq!(
                inflate_messages(&sent),
                [message.clone()],
                "pieces of {piece}"
            );
        }
    }
}
