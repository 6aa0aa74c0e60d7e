//! Sending: frames encoded and masked into one outgoing buffer, in the order they are queued.

use rand::RngCore;

use super::close;
use super::deflate::Deflater;
use super::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use super::mask::extend_masked;

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

/// The outgoing half of a connection: what is queued and not yet written to the socket.
#[derive(Debug)]
pub struct Sender {
    out: Vec<u8>,
    /// Bytes of `out` already written.
    written: usize,
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
}

/// Drop an outgoing buffer larger than this once it is empty, so idle connections stay small.
const KEEP_BUFFER: usize = 16 * 1024;

impl Sender {
    /// `limit`: above this many unwritten bytes data sends are refused (`WouldBlock`); a message
    /// is always accepted into an empty buffer, however large.
    pub fn new(limit: usize) -> Self {
        Sender {
            out: Vec::new(),
            written: 0,
            limit,
            state: State::Connecting,
            fragmenting: None,
            pending_pong: None,
            refused: false,
            deflater: None,
            compressed: Vec::new(),
        }
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
    /// (Messages sent in fragments go uncompressed, which RFC 7692 allows.)
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
        self.out.len() - self.written
    }

    /// The bytes to write next.
    pub fn pending(&self) -> &[u8] {
        &self.out[self.written..]
    }

    /// Records that `n` bytes of [`pending`](Self::pending) were written. Returns true when this
    /// emptied the buffer after a refused send: the application may send again.
    pub fn consume(&mut self, n: usize) -> bool {
        self.written += n;
        if self.written < self.out.len() {
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
        let opcode = if is_text {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        let Some(deflater) = self.deflater.as_mut() else {
            return self.send_data(opcode, true, false, payload);
        };
        // RFC 7692 §6.1: compress the whole payload, remove the 0x00 0x00 0xff 0xff tail,
        // and set RSV1 on the (single) frame.
        let mut compressed = std::mem::take(&mut self.compressed);
        compressed.clear();
        deflater.compress(payload, &mut compressed);
        let result = self.send_data(opcode, true, true, &compressed);
        if compressed.capacity() <= KEEP_BUFFER {
            self.compressed = compressed;
        }
        result
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
        self.send_data(opcode, fin, false, payload)?;
        self.fragmenting = if fin { None } else { Some(is_text) };
        Ok(())
    }

    fn send_data(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::NotOpen);
        }
        let buffered = self.buffered();
        if buffered > 0 && buffered + payload.len() > self.limit {
            self.refused = true;
            return Err(SendError::WouldBlock);
        }
        self.queue_frame(opcode, fin, rsv1, payload);
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
        self.out.clear();
        self.written = 0;
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
        self.out = Vec::new();
        self.written = 0;
    }

    /// "The masking key MUST be derived from a strong source of entropy, and the masking key
    /// for a given frame MUST NOT make it simple for a server or proxy to predict the masking
    /// key for a subsequent frame": a fresh key for every frame from the sending thread's
    /// CSPRNG (rand's thread RNG: ChaCha, seeded and reseeded from the OS), which also keeps
    /// the generator's state out of every connection.
    fn queue_frame(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = rand::rng().next_u32().to_ne_bytes();
        let header = FrameHeader {
            fin,
            rsv1,
            rsv23: false,
            opcode,
            mask: Some(mask),
            payload_len: payload.len() as u64,
        };
        let mut head = [0; MAX_HEADER_LEN];
        let n = header.write(&mut head);
        self.out.reserve(n + payload.len());
        self.out.extend_from_slice(&head[..n]);
        extend_masked(&mut self.out, payload, mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::mask::apply_mask;

    /// Unmasks every frame in `bytes`: (first byte, payload).
    fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (h, n) = FrameHeader::parse(rest).unwrap().unwrap();
            let end = n + h.payload_len as usize;
            let mut payload = rest[n..end].to_vec();
            apply_mask(&mut payload, h.mask.expect("client frames are masked"));
            out.push((rest[0], payload));
            rest = &rest[end..];
        }
        out
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
            .map(|&at| s.pending()[at + 2..at + 6].to_vec())
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_eq!(
            frames(s.pending()),
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
        assert_eq!(frames(s.pending()), vec![(0x88, b"\x03\xe8bye".to_vec())]);
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
        assert_eq!(frames(s.pending()), expected);
    }

    #[test]
    fn backpressure_and_ping_flood() {
        let mut s = open_sender(10);
        s.send_message(false, &[1; 50]).unwrap(); // an empty buffer takes any message
        assert_eq!(s.send_message(false, b"more"), Err(SendError::WouldBlock));
        s.answer_ping(b"1");
        s.answer_ping(b"2");
        let queued = s.buffered();
        assert!(!s.consume(queued - 1));
        assert!(s.consume(1), "drained after a refusal");
        // Only the latest pong was kept while over the limit, and it is sent on drain.
        assert_eq!(frames(s.pending()), vec![(0x8a, b"2".to_vec())]);
        let n = s.buffered();
        assert!(!s.consume(n), "no refusal since the last report");
    }

    #[test]
    fn pongs_answer_every_ping_in_order() {
        let mut s = open_sender(1 << 20);
        for i in 0..10u8 {
            s.answer_ping(&[i]);
        }
        let got: Vec<_> = frames(s.pending()).into_iter().map(|(_, p)| p[0]).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }
}
