//! Receiving: frames parsed as bytes arrive, fragments reassembled into messages, control frames
//! handed over as soon as they are complete, text validated as it comes.

use std::mem::MaybeUninit;
use std::ops::ControlFlow;

use super::close;
use super::deflate::Inflater;
use super::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use super::utf8::Utf8Validator;
use super::{ProtocolError, ProtocolErrorKind};

/// What a hostile or buggy server may make us hold. Exceeding one closes with 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimits {
    pub max_frame_size: u64,
    pub max_message_size: u64,
    pub max_fragments: u32,
}

impl Default for ReceiveLimits {
    fn default() -> Self {
        ReceiveLimits {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 1 << 20,
        }
    }
}

/// What the receiver found in the bytes. Slices are valid only for the call they are passed to.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A whole message; text is valid UTF-8.
    Message {
        data: &'a [u8],
        is_text: bool,
    },
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// The server's Close frame: its code and reason, or `None` for an empty body.
    Close(Option<(u16, &'a str)>),
}

#[derive(Debug)]
enum State {
    /// Waiting for (the rest of) a header; `len` bytes of it are in `buf`.
    Header {
        buf: [u8; MAX_HEADER_LEN],
        len: usize,
    },
    /// Inside a frame's payload.
    Payload { header: FrameHeader, remaining: u64 },
    /// After the server's Close frame or a violation: nothing more is read.
    Done,
}

impl State {
    /// Before a frame's first byte.
    const NEXT_HEADER: State = State::Header {
        buf: [0; MAX_HEADER_LEN],
        len: 0,
    };
}

/// Consumes the server's bytes and reports [`Incoming`] events.
#[derive(Debug)]
pub struct Receiver {
    limits: ReceiveLimits,
    state: State,
    /// The data message being received: `Some(is_text)` between its first and final frame.
    message: Option<bool>,
    fragments: u32,
    /// The message so far, when it spans frames or reads.
    buf: Vec<u8>,
    utf8: Utf8Validator,
    control: Vec<u8>,
    /// Set when permessage-deflate was negotiated.
    inflater: Option<Box<Inflater>>,
    /// The message in progress is compressed (RSV1 on its first frame).
    compressed: bool,
    /// Compressed bytes received for that message, which the frame limits apply to.
    compressed_len: u64,
}

/// Release a message buffer larger than this once its message is delivered, so idle connections
/// stay small.
const KEEP_BUFFER: usize = 4096;

/// The largest buffer the loop keeps for reuse; a larger one is freed.
const MAX_PARKED_BUFFER: usize = 8 << 20;

/// A frame with at least this much payload still to come is worth a read of its own straight
/// into the message buffer (see [`Receiver::direct_room`]); less comes through the caller's
/// read buffer together with the frames after it, in one read.
pub(crate) const DIRECT_READ_MIN: u64 = 64 * 1024;

impl Receiver {
    pub fn new(limits: ReceiveLimits) -> Self {
        Receiver {
            limits,
            state: State::NEXT_HEADER,
            message: None,
            fragments: 0,
            buf: Vec::new(),
            utf8: Utf8Validator::default(),
            control: Vec::new(),
            inflater: None,
            compressed: false,
            compressed_len: 0,
        }
    }

    /// permessage-deflate was negotiated: messages with RSV1 on their first frame are inflated.
    pub fn enable_inflate(&mut self, inflater: Inflater) {
        self.inflater = Some(Box::new(inflater));
    }

    /// Takes `spare`'s larger buffer for the next message, so a connection that receives
    /// large messages does not grow a new buffer for each one.
    pub fn lend_buffer(&mut self, spare: &mut Vec<u8>) {
        if self.buf.is_empty() && spare.capacity() > self.buf.capacity() {
            std::mem::swap(&mut self.buf, spare);
        }
    }

    /// Between messages, gives a large buffer back to `spare` (the loop's, shared by all its
    /// connections), so idle connections hold no large buffer.
    pub fn park_buffer(&mut self, spare: &mut Vec<u8>) {
        if self.buf.is_empty() && self.buf.capacity() > KEEP_BUFFER {
            if self.buf.capacity() > spare.capacity() && self.buf.capacity() <= MAX_PARKED_BUFFER {
                std::mem::swap(&mut self.buf, spare);
            }
            self.buf = Vec::new();
        }
    }

    /// Room in the message buffer for the rest of the frame being received, when that frame's
    /// payload goes there unchanged (an uncompressed data frame) and at least
    /// [`DIRECT_READ_MIN`] bytes of it are still to come: reading into it instead of a read
    /// buffer saves copying every byte once. Report what was read with
    /// [`feed_direct`](Self::feed_direct).
    pub fn direct_room(&mut self) -> Option<&mut [MaybeUninit<u8>]> {
        let State::Payload { header, remaining } = self.state else {
            return None;
        };
        if header.opcode.is_control() || self.compressed || remaining < DIRECT_READ_MIN {
            return None;
        }
        // The frame's length was checked against the limits when its header arrived.
        let room = usize::try_from(remaining).ok()?;
        self.buf.reserve(room);
        Some(&mut self.buf.spare_capacity_mut()[..room])
    }

    /// Takes the `n` bytes a read placed at the start of the slice [`direct_room`] returned as
    /// the next bytes of the frame's payload, then works as [`feed`](Self::feed) does.
    ///
    /// # Safety
    /// Those `n` bytes were written after the latest call to `direct_room`, and `n` is at most
    /// the length of the slice it returned.
    ///
    /// [`direct_room`]: Self::direct_room
    pub unsafe fn feed_direct(
        &mut self,
        n: usize,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<(), ProtocolError> {
        let start = self.buf.len();
        // Checked in release builds too: past the capacity, set_len would expose memory that
        // is not ours.
        assert!(
            n <= self.buf.capacity() - start,
            "a direct read past its room"
        );
        // SAFETY: `n` fits the spare capacity (checked above) and the caller promises that
        // those bytes were written since `direct_room` lent them.
        unsafe { self.buf.set_len(start + n) };
        let result = self.took_direct(start, sink);
        self.stop_on_error(result)
    }

    fn took_direct(
        &mut self,
        start: usize,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<(), ProtocolError> {
        let State::Payload { header, remaining } = self.state else {
            unreachable!("direct reads happen inside a frame's payload");
        };
        let remaining = remaining - (self.buf.len() - start) as u64;
        let is_text = self.message == Some(true);
        if is_text {
            check_text(&mut self.utf8, &self.buf[start..])?;
        }
        self.state = if remaining > 0 {
            State::Payload { header, remaining }
        } else {
            State::NEXT_HEADER
        };
        if header.fin && remaining == 0 {
            // No bytes follow these, so whether the sink asks to stop changes nothing.
            let _ = self.end_message(is_text, None, sink)?;
        }
        Ok(())
    }

    /// Whether the receiver stopped (Close frame received or violation found).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Processes `input` in order, calling `sink` for each event. Stops early when `sink` breaks,
    /// after a Close frame, or at the first violation, which is returned; from then on every
    /// call does nothing.
    pub fn feed(
        &mut self,
        input: &[u8],
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<(), ProtocolError> {
        let result = self.feed_inner(input, sink);
        self.stop_on_error(result)
    }

    /// After a violation nothing more is read.
    fn stop_on_error(&mut self, result: Result<(), ProtocolError>) -> Result<(), ProtocolError> {
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn feed_inner(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<(), ProtocolError> {
        loop {
            match self.state {
                State::Done => return Ok(()),
                State::Header { .. } => {
                    if input.is_empty() {
                        return Ok(());
                    }
                    let Some((header, used)) = self.read_header(input)? else {
                        return Ok(()); // all of `input` is kept as the start of a header
                    };
                    input = &input[used..];
                    self.begin_frame(&header)?;
                    self.state = State::Payload {
                        header,
                        remaining: header.payload_len,
                    };
                }
                State::Payload { header, remaining } => {
                    let take = remaining.min(input.len() as u64) as usize;
                    if take == 0 && remaining > 0 {
                        return Ok(());
                    }
                    let (chunk, rest) = input.split_at(take);
                    input = rest;
                    let remaining = remaining - take as u64;
                    let flow = if header.opcode.is_control() {
                        self.control.extend_from_slice(chunk);
                        if remaining > 0 {
                            ControlFlow::Continue(())
                        } else {
                            self.end_control_frame(header.opcode, sink)?
                        }
                    } else {
                        self.data_chunk(&header, chunk, remaining, sink)?
                    };
                    match self.state {
                        State::Done => return Ok(()),
                        State::Payload {
                            remaining: ref mut r,
                            ..
                        } if remaining > 0 => *r = remaining,
                        _ => self.state = State::NEXT_HEADER,
                    }
                    if flow.is_break() {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Parses the next header from the bytes kept from earlier reads and `input`: the header and
    /// how many bytes of `input` it used, or `None` once all of `input` is kept for later.
    fn read_header(&mut self, input: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let State::Header { buf, len } = &mut self.state else {
            unreachable!()
        };
        if *len == 0 {
            // Common case: the whole header is in this read.
            if let Some(parsed) = FrameHeader::parse(input)? {
                return Ok(Some(parsed));
            }
        }
        let take = (MAX_HEADER_LEN - *len).min(input.len());
        buf[*len..*len + take].copy_from_slice(&input[..take]);
        match FrameHeader::parse(&buf[..*len + take])? {
            Some((header, n)) => Ok(Some((header, n - *len))),
            None => {
                *len += take;
                Ok(None)
            }
        }
    }

    /// Checks a header against the connection's state before any of its payload is taken.
    fn begin_frame(&mut self, h: &FrameHeader) -> Result<(), ProtocolError> {
        use ProtocolErrorKind::{Protocol, TooBig};
        // "A client MUST close a connection if it detects a masked frame."
        if h.mask.is_some() {
            return Err(ProtocolError::new(Protocol, "masked frame from the server"));
        }
        // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values."
        // RFC 7692 §6: permessage-deflate gives RSV1 a meaning on the first frame of a data
        // message only; "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
        // frames and non-first fragments of a data message."
        let first_data_frame = matches!(h.opcode, OpCode::Text | OpCode::Binary);
        if h.rsv23 || h.rsv1 && !(self.inflater.is_some() && first_data_frame) {
            return Err(ProtocolError::new(
                Protocol,
                "reserved bit set without an extension",
            ));
        }
        if h.opcode.is_control() {
            // "All control frames MUST have a payload length of 125 bytes or less and MUST NOT
            // be fragmented."
            if !h.fin {
                return Err(ProtocolError::new(Protocol, "fragmented control frame"));
            }
            if h.payload_len > 125 {
                return Err(ProtocolError::new(
                    Protocol,
                    "control frame longer than 125 bytes",
                ));
            }
            self.control.clear();
            return Ok(());
        }
        match (h.opcode, self.message) {
            (OpCode::Continuation, None) => {
                return Err(ProtocolError::new(
                    Protocol,
                    "continuation frame outside a message",
                ))
            }
            // "fragments of one message MUST NOT be interleaved between fragments of another"
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::new(
                    Protocol,
                    "new message inside a fragmented one",
                ))
            }
            (_, Some(_)) => self.fragments += 1,
            (opcode, None) => {
                self.message = Some(opcode == OpCode::Text);
                self.fragments = 1;
                self.utf8.reset();
                self.compressed = h.rsv1;
                self.compressed_len = 0;
            }
        }
        if h.payload_len > self.limits.max_frame_size {
            return Err(ProtocolError::new(
                TooBig,
                "frame larger than the frame size limit",
            ));
        }
        // A compressed message's limit applies to its inflated size too, as it is inflated.
        let so_far = if self.compressed {
            self.compressed_len
        } else {
            self.buf.len() as u64
        };
        self.compressed_len += if self.compressed { h.payload_len } else { 0 };
        if so_far + h.payload_len > self.limits.max_message_size {
            return Err(ProtocolError::new(
                TooBig,
                "message larger than the message size limit",
            ));
        }
        if self.fragments > self.limits.max_fragments {
            return Err(ProtocolError::new(TooBig, "message has too many fragments"));
        }
        Ok(())
    }

    fn data_chunk(
        &mut self,
        h: &FrameHeader,
        chunk: &[u8],
        remaining: u64,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let is_text = self.message == Some(true);
        let last = h.fin && remaining == 0;
        if self.compressed {
            return self.inflate_chunk(chunk, last, is_text, sink);
        }
        if is_text {
            check_text(&mut self.utf8, chunk)?;
        }
        if last && self.buf.is_empty() && chunk.len() as u64 == h.payload_len {
            // An unfragmented message wholly in this read: hand it over without copying.
            return self.end_message(is_text, Some(chunk), sink);
        }
        if self.buf.is_empty() && !last {
            // A message that spans reads: room for this frame at once rather than doubling.
            // Its length was checked against the limits already.
            self.buf.reserve(h.payload_len as usize);
        }
        self.buf.extend_from_slice(chunk);
        if last {
            return self.end_message(is_text, None, sink);
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Inflates a piece of a compressed message into the message buffer, validating text as
    /// it comes out; the last piece also flushes the inflater (RFC 7692 §7.2.2).
    fn inflate_chunk(
        &mut self,
        chunk: &[u8],
        last: bool,
        is_text: bool,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let inflater = self
            .inflater
            .as_mut()
            .expect("compressed implies an inflater");
        let start = self.buf.len();
        let max = self.limits.max_message_size;
        inflater.decompress(chunk, &mut self.buf, max)?;
        if last {
            inflater.finish_message(&mut self.buf, max)?;
        }
        if is_text {
            check_text(&mut self.utf8, &self.buf[start..])?;
        }
        if last {
            self.compressed = false;
            return self.end_message(is_text, None, sink);
        }
        Ok(ControlFlow::Continue(()))
    }

    fn end_message(
        &mut self,
        is_text: bool,
        whole: Option<&[u8]>,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        if is_text && self.utf8.finish().is_err() {
            return Err(ProtocolError::new(
                ProtocolErrorKind::InvalidUtf8,
                "text message ends inside a UTF-8 sequence",
            ));
        }
        self.message = None;
        let flow = sink(Incoming::Message {
            data: whole.unwrap_or(&self.buf),
            is_text,
        });
        // The capacity stays until the loop takes the buffer back (`park_buffer`).
        self.buf.clear();
        Ok(flow)
    }

    fn end_control_frame(
        &mut self,
        opcode: OpCode,
        sink: &mut dyn FnMut(Incoming<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let payload = &self.control[..];
        Ok(match opcode {
            OpCode::Ping => sink(Incoming::Ping(payload)),
            OpCode::Pong => sink(Incoming::Pong(payload)),
            _ => {
                let parsed = close::parse_payload(payload)?;
                self.state = State::Done;
                sink(Incoming::Close(parsed))
            }
        })
    }
}

/// The next piece of a text message: "When an endpoint is to interpret a byte stream as UTF-8
/// but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
/// _Fail the WebSocket Connection_."
fn check_text(utf8: &mut Utf8Validator, piece: &[u8]) -> Result<(), ProtocolError> {
    utf8.feed(piece).map_err(|_| {
        ProtocolError::new(
            ProtocolErrorKind::InvalidUtf8,
            "invalid UTF-8 in a text message",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsc_testkit::frame::frame;
    use wsc_testkit::Rng;

    /// Every event, owned, for comparisons.
    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Close(Option<(u16, String)>),
    }

    fn owned(ev: Incoming<'_>) -> Event {
        match ev {
            Incoming::Message {
                data,
                is_text: true,
            } => Event::Text(String::from_utf8(data.to_vec()).unwrap()),
            Incoming::Message {
                data,
                is_text: false,
            } => Event::Binary(data.to_vec()),
            Incoming::Ping(p) => Event::Ping(p.to_vec()),
            Incoming::Pong(p) => Event::Pong(p.to_vec()),
            Incoming::Close(c) => Event::Close(c.map(|(c, r)| (c, r.to_string()))),
        }
    }

    fn collect(
        rx: &mut Receiver,
        input: &[u8],
        piece: usize,
    ) -> (Vec<Event>, Option<ProtocolError>) {
        let mut events = Vec::new();
        let mut error = None;
        for chunk in input.chunks(piece.max(1)) {
            let r = rx.feed(chunk, &mut |ev| {
                events.push(owned(ev));
                ControlFlow::Continue(())
            });
            if let Err(e) = r {
                error = Some(e);
                break;
            }
        }
        (events, error)
    }

    fn in_one_read(input: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
        collect(
            &mut Receiver::new(ReceiveLimits::default()),
            input,
            input.len(),
        )
    }

    fn run(input: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
        let whole = in_one_read(input);
        // Every split must give the same result.
        for piece in 1..input.len().min(40) {
            let split = collect(&mut Receiver::new(ReceiveLimits::default()), input, piece);
            assert_eq!(split, whole, "fed {piece} bytes at a time");
        }
        whole
    }

    #[test]
    fn rfc_6455_examples() {
        // §5.7: a single-frame text message and a fragmented one.
        assert_eq!(
            run(b"\x81\x05Hello"),
            (vec![Event::Text("Hello".into())], None)
        );
        assert_eq!(
            run(b"\x01\x03Hel\x80\x02lo"),
            (vec![Event::Text("Hello".into())], None)
        );
        // Unmasked ping request and the 256-byte / 64 KiB binary messages.
        assert_eq!(
            run(b"\x89\x05Hello"),
            (vec![Event::Ping(b"Hello".to_vec())], None)
        );
        let big: Vec<u8> = (0..65536u32).map(|i| i as u8).collect();
        assert_eq!(
            run(&frame(0x82, &big[..256])).0,
            vec![Event::Binary(big[..256].to_vec())]
        );
        assert_eq!(run(&frame(0x82, &big)).0, vec![Event::Binary(big.clone())]);
    }

    #[test]
    fn control_frames_between_fragments_and_empty_frames() {
        let mut input = frame(0x01, b"fra");
        input.extend(frame(0x89, b"p"));
        input.extend(frame(0x00, b""));
        input.extend(frame(0x8a, b""));
        input.extend(frame(0x80, b"gment"));
        input.extend(frame(0x82, b""));
        let expected = vec![
            Event::Ping(b"p".to_vec()),
            Event::Pong(vec![]),
            Event::Text("fragment".into()),
            Event::Binary(vec![]),
        ];
        assert_eq!(run(&input), (expected, None));
    }

    #[test]
    fn close_stops_reading() {
        let mut input = frame(0x88, b"\x03\xe8bye");
        input.extend(frame(0x81, b"ignored"));
        assert_eq!(
            run(&input),
            (vec![Event::Close(Some((1000, "bye".into())))], None)
        );
        assert_eq!(run(&frame(0x88, b"")), (vec![Event::Close(None)], None));
    }

    fn error_kind(input: &[u8]) -> ProtocolErrorKind {
        run(input).1.expect("a violation").kind
    }

    #[test]
    fn violations() {
        use ProtocolErrorKind::*;
        assert_eq!(error_kind(b"\x81\x85abcdHello"), Protocol); // masked
        assert_eq!(error_kind(b"\xc1\x00"), Protocol); // RSV1 without extension
        assert_eq!(error_kind(b"\xa1\x00"), Protocol); // RSV2
        assert_eq!(error_kind(b"\x83\x00"), Protocol); // reserved opcode
        assert_eq!(error_kind(b"\x09\x00"), Protocol); // fragmented ping
        assert_eq!(error_kind(&frame(0x89, &[0; 126])), Protocol); // long ping
        assert_eq!(error_kind(b"\x80\x00"), Protocol); // continuation first
        assert_eq!(error_kind(b"\x01\x00\x81\x00"), Protocol); // new message mid-message
        assert_eq!(error_kind(b"\x88\x01\x03"), Protocol); // 1-byte close
        assert_eq!(error_kind(b"\x88\x02\x03\xed"), Protocol); // close code 1005
        assert_eq!(error_kind(b"\x81\x02\xc3\x28"), InvalidUtf8);
        assert_eq!(error_kind(b"\x81\x01\xc3"), InvalidUtf8); // ends mid code point
        assert_eq!(error_kind(b"\x01\x01\xe2\x80\x01\x82"), InvalidUtf8); // across fragments
    }

    #[test]
    fn invalid_utf8_fails_before_the_frame_ends() {
        // Autobahn 6.4.x: the frame announces 20 bytes; the impossible byte comes first.
        let mut rx = Receiver::new(ReceiveLimits::default());
        let mut input = vec![0x81, 20];
        input.extend_from_slice("κόσμε".as_bytes());
        input.extend_from_slice(&[0xf4, 0x90]);
        let err = rx
            .feed(&input, &mut |_| ControlFlow::Continue(()))
            .unwrap_err();
        assert_eq!(err.kind, ProtocolErrorKind::InvalidUtf8);
    }

    #[test]
    fn limits_close_with_1009_before_buffering() {
        let limits = ReceiveLimits {
            max_frame_size: 10,
            max_message_size: 15,
            max_fragments: 3,
        };
        let check = |input: &[u8]| {
            let mut rx = Receiver::new(limits);
            rx.feed(input, &mut |_| ControlFlow::Continue(()))
                .unwrap_err()
                .close_code()
        };
        assert_eq!(check(b"\x82\x0b"), 1009); // frame of 11 > 10, no payload needed
        assert_eq!(check(b"\x02\x0aaaaaaaaaaa\x00\x06"), 1009); // 10 + 6 > 15
        assert_eq!(check(b"\x02\x00\x00\x00\x00\x00\x00\x00"), 1009); // a 4th fragment
        assert_eq!(check(b"\x82\x7f\x00\x00\x01\x00\x00\x00\x00\x00"), 1009); // 1 TiB announced
        let mut rx = Receiver::new(limits);
        let mut n = 0;
        rx.feed(b"\x02\x05aaaaa\x80\x0abbbbbbbbbb", &mut |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(n, 1, "exactly at the limit is fine");
    }

    #[test]
    fn sink_break_stops_at_once() {
        let mut rx = Receiver::new(ReceiveLimits::default());
        let mut seen = 0;
        rx.feed(b"\x81\x01a\x81\x01b", &mut |_| {
            seen += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(seen, 1);
    }

    /// Feeds `input` as a socket loop does: `read` bytes at a time through a read buffer, or
    /// straight into the message buffer whenever the receiver offers room; returns the events
    /// and how many bytes went the direct way.
    fn collect_direct(input: &[u8], read: usize) -> (Vec<Event>, Option<ProtocolError>, usize) {
        let mut rx = Receiver::new(ReceiveLimits::default());
        let (mut events, mut direct, mut rest) = (Vec::new(), 0, input);
        while !rest.is_empty() && !rx.is_done() {
            let mut sink = |ev: Incoming<'_>| {
                events.push(owned(ev));
                ControlFlow::Continue(())
            };
            let result = if let Some(room) = rx.direct_room() {
                let n = room.len().min(read).min(rest.len());
                for (slot, byte) in room.iter_mut().zip(&rest[..n]) {
                    slot.write(*byte);
                }
                rest = &rest[n..];
                direct += n;
                // SAFETY: the loop above wrote the first `n` bytes of the room.
                unsafe { rx.feed_direct(n, &mut sink) }
            } else {
                let n = read.min(rest.len());
                let (now, later) = rest.split_at(n);
                rest = later;
                rx.feed(now, &mut sink)
            };
            if let Err(e) = result {
                return (events, Some(e), direct);
            }
        }
        (events, None, direct)
    }

    /// `n` bytes of the multi-byte text pattern, cut anywhere (complete code points only when
    /// `n` falls on a boundary; callers pick such lengths).
    fn text_of(n: usize) -> Vec<u8> {
        "a\u{e9}\u{20ac}\u{1f600}".bytes().cycle().take(n).collect()
    }

    #[test]
    fn direct_reads_give_the_same_events() {
        let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let text = text_of(250_000); // 25,000 whole patterns
        let mut input = frame(0x82, &big);
        input.extend(frame(0x89, b"ping"));
        // A text message in three frames; code points cut across frames and reads.
        input.extend(frame(0x01, &text[..100_003]));
        input.extend(frame(0x00, &text[100_003..200_001]));
        input.extend(frame(0x80, &text[200_001..]));
        input.extend(frame(0x81, b"small"));
        input.extend(frame(0x88, b"\x03\xe8"));
        let expected = in_one_read(&input);
        assert_eq!(expected.1, None);
        assert_eq!(expected.0.len(), 5);
        for read in [4096, 65_536, 100_000, 150_000] {
            let (events, error, direct) = collect_direct(&input, read);
            assert_eq!(
                (&events, &error),
                (&expected.0, &expected.1),
                "reads of {read}"
            );
            assert!(
                direct > 0,
                "reads of {read} used the message buffer directly"
            );
        }
    }

    #[test]
    fn direct_reads_check_utf8() {
        let mut text = text_of(200_000);
        text[150_000] = 0xff;
        let (events, error, direct) = collect_direct(&frame(0x81, &text), 65_536);
        assert!(events.is_empty());
        assert_eq!(error.map(|e| e.kind), Some(ProtocolErrorKind::InvalidUtf8));
        assert!(direct > 0);
    }

    #[test]
    fn no_direct_room_for_control_frames_or_short_remainders() {
        let mut rx = Receiver::new(ReceiveLimits::default());
        assert!(rx.direct_room().is_none(), "before any header");
        let header_only = &frame(0x82, &vec![0; DIRECT_READ_MIN as usize])[..10];
        rx.feed(header_only, &mut |_| ControlFlow::Continue(()))
            .unwrap();
        assert_eq!(
            rx.direct_room().map(|room| room.len()),
            Some(DIRECT_READ_MIN as usize)
        );
        rx.feed(&[0; 2], &mut |_| ControlFlow::Continue(()))
            .unwrap();
        assert!(
            rx.direct_room().is_none(),
            "less than DIRECT_READ_MIN to come"
        );
        let mut rx = Receiver::new(ReceiveLimits::default());
        rx.feed(b"\x89\x7d", &mut |_| ControlFlow::Continue(()))
            .unwrap();
        assert!(rx.direct_room().is_none(), "inside a ping");
    }

    #[test]
    fn direct_reads_match_buffered_reads_on_random_streams() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        let text = text_of(300_000);
        let mut direct_total = 0;
        for round in 0..60 {
            // Messages of random kinds and sizes, some fragmented, pings between fragments.
            let mut input = Vec::new();
            for _ in 0..1 + rng.below(6) {
                let is_text = rng.below(2) == 0;
                let len = [0, 1, 125, 126, 70_000, 200_000][rng.below(6)] + rng.below(3) * 10;
                let payload: Vec<u8> = if is_text {
                    text[..len - len % 10].to_vec() // whole code points
                } else {
                    (0..len).map(|i| (i * 7 + round) as u8).collect()
                };
                let pieces = 1 + rng.below(3);
                let cut = payload.len() / pieces;
                for p in 0..pieces {
                    let end = if p + 1 == pieces {
                        payload.len()
                    } else {
                        (p + 1) * cut
                    };
                    let opcode = match (p, is_text) {
                        (0, true) => 0x1,
                        (0, false) => 0x2,
                        _ => 0x0,
                    };
                    let fin = if p + 1 == pieces { 0x80 } else { 0 };
                    input.extend(frame(fin | opcode, &payload[p * cut..end]));
                    if fin == 0 && rng.below(2) == 0 {
                        input.extend(frame(0x89, b"between"));
                    }
                }
            }
            let expected = in_one_read(&input);
            assert_eq!(expected.1, None);
            let read = 1 + rng.below(150_000);
            let (events, error, direct) = collect_direct(&input, read);
            assert_eq!(error, None, "round {round}, reads of {read}");
            assert!(events == expected.0, "round {round}, reads of {read}");
            direct_total += direct;
        }
        assert!(
            direct_total > 1 << 20,
            "only {direct_total} bytes read directly"
        );
    }
}
