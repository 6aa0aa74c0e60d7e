//! Receiving: frames parsed as bytes arrive, fragments reassembled into messages, control frames
//! handed over as soon as they are complete, text validated as it comes.

use std::mem::MaybeUninit;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::log::Level;

use super::close;
use super::deflate::{InflateError, Inflater};
use super::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use super::utf8::Utf8Validator;
use super::{Exceeded, ProtocolError, ProtocolErrorKind};

/// What a hostile or buggy server may make us hold. Exceeding one closes with 1009.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimits {
    pub max_frame_size: u64,
    /// All frames of a message together (inflated, when compressed). 0: no limit (the options
    /// allow that only when messages are streamed: see `Options::stream_messages`).
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

/// A piece of a data message as it arrives, when messages are streamed (see
/// [`Receiver::streaming`]). Valid only during the call it is passed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagePart<'a> {
    /// The bytes of this part. Empty only for an empty message, or for the last part of a
    /// message whose final frame is empty or (compressed) inflates to nothing more.
    pub data: &'a [u8],
    /// The message is text: the parts together are valid UTF-8, and a code point may be split
    /// between two parts.
    pub is_text: bool,
    /// The first part of its message.
    pub first: bool,
    /// The last part of its message.
    pub last: bool,
    /// Payload bytes of the current frame still to come after this part; 0 when the frame
    /// ends here, and always 0 for compressed messages (the inflated size is not known).
    pub remaining_in_frame: u64,
}

/// Where the receiver's events go: [`Receiver::feed_to`].
pub trait Sink {
    /// A whole message (when messages are not streamed), a control frame or the server's Close.
    fn incoming(&mut self, event: Incoming<'_>) -> ControlFlow<()>;
    /// The next part of a message, when messages are streamed.
    fn part(&mut self, part: MessagePart<'_>) -> ControlFlow<()>;
}

/// A closure taking [`Incoming`] events, for a receiver that does not stream.
struct Whole<'s, 'f>(&'s mut (dyn FnMut(Incoming<'_>) -> ControlFlow<()> + 'f));

impl Sink for Whole<'_, '_> {
    fn incoming(&mut self, event: Incoming<'_>) -> ControlFlow<()> {
        (self.0)(event)
    }

    fn part(&mut self, _part: MessagePart<'_>) -> ControlFlow<()> {
        debug_assert!(
            false,
            "a streaming receiver fed through `feed`: use `feed_to`"
        );
        ControlFlow::Continue(())
    }
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
    /// Payload bytes received for that message when they are not kept in `buf` (compressed,
    /// or streamed), which the message limit applies to.
    compressed_len: u64,
    /// Messages are handed over in parts as they arrive, never gathered.
    stream: bool,
    /// Streaming: the next part is its message's first.
    first_part: bool,
    /// The connection's log, for a trace line per frame.
    log: Option<Arc<crate::log::Scope>>,
}

/// Streaming a compressed message: input is inflated this many bytes at a time, so that one
/// call's output stays small whatever the ratio (DEFLATE expands at most about 1032 times).
const INFLATE_INPUT_STEP: usize = 256;

/// Streaming a compressed message: a part is handed over once this much is inflated.
const INFLATED_PART: usize = 64 * 1024;

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
            stream: false,
            first_part: false,
            log: None,
        }
    }

    /// Hands messages over in parts as they arrive ([`Sink::part`]) instead of whole: nothing
    /// is gathered, so memory stays bounded by the caller's reads whatever the message size.
    /// A message limit of 0 means no limit; the frame and fragment limits apply as usual. Feed
    /// a streaming receiver with [`feed_to`](Self::feed_to).
    pub fn streaming(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Writes a trace line for each frame header received to this connection's log.
    pub fn with_log(mut self, log: Arc<crate::log::Scope>) -> Self {
        self.log = Some(log);
        self
    }

    /// The message size limit in force (0 stands for none).
    fn message_limit(&self) -> u64 {
        match self.limits.max_message_size {
            0 => u64::MAX,
            n => n,
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
        if header.opcode.is_control()
            || self.compressed
            || self.stream
            || remaining < DIRECT_READ_MIN
        {
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
        // SAFETY: passed on from our caller.
        unsafe { self.feed_direct_to(n, &mut Whole(sink)) }
    }

    /// [`feed_direct`](Self::feed_direct) with a [`Sink`].
    ///
    /// # Safety
    /// As for `feed_direct`.
    pub unsafe fn feed_direct_to(
        &mut self,
        n: usize,
        sink: &mut dyn Sink,
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

    fn took_direct(&mut self, start: usize, sink: &mut dyn Sink) -> Result<(), ProtocolError> {
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
        self.feed_to(input, &mut Whole(sink))
    }

    /// [`feed`](Self::feed) with a [`Sink`], which also takes the parts of streamed messages.
    pub fn feed_to(&mut self, input: &[u8], sink: &mut dyn Sink) -> Result<(), ProtocolError> {
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

    fn feed_inner(&mut self, mut input: &[u8], sink: &mut dyn Sink) -> Result<(), ProtocolError> {
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
        use ProtocolErrorKind::Protocol;
        if let Some(log) = self.log.as_deref().filter(|l| l.enabled(Level::Trace)) {
            h.trace(log, "recv");
        }
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
                self.first_part = true;
            }
        }
        if h.payload_len > self.limits.max_frame_size {
            return Err(ProtocolError::too_big(
                "frame",
                Exceeded {
                    size: h.payload_len,
                    unit: "bytes",
                    option: "max_frame_size",
                    limit: self.limits.max_frame_size,
                },
            ));
        }
        // A compressed message's limit applies to its inflated size too, as it is inflated.
        let counted = self.compressed || self.stream;
        let so_far = if counted {
            self.compressed_len
        } else {
            self.buf.len() as u64
        };
        self.compressed_len += if counted { h.payload_len } else { 0 };
        let size = so_far.saturating_add(h.payload_len);
        if size > self.message_limit() {
            // Of a compressed message, what arrived so far (it inflates to more).
            let what = match self.compressed {
                true => "compressed message",
                false => "message",
            };
            return Err(ProtocolError::too_big(
                what,
                Exceeded {
                    size,
                    unit: "bytes",
                    option: "max_message_size",
                    limit: self.message_limit(),
                },
            ));
        }
        if self.fragments > self.limits.max_fragments {
            return Err(ProtocolError::too_big(
                "message",
                Exceeded {
                    size: self.fragments.into(),
                    unit: "fragments",
                    option: "max_fragments",
                    limit: self.limits.max_fragments.into(),
                },
            ));
        }
        Ok(())
    }

    fn data_chunk(
        &mut self,
        h: &FrameHeader,
        chunk: &[u8],
        remaining: u64,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let is_text = self.message == Some(true);
        let last = h.fin && remaining == 0;
        if self.stream {
            return self.stream_chunk(chunk, remaining, last, is_text, sink);
        }
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
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let max = self.message_limit();
        let inflater = self
            .inflater
            .as_mut()
            .expect("compressed implies an inflater");
        inflate_checked(&mut self.buf, &mut self.utf8, is_text, max, |buf| {
            inflater.decompress(chunk, buf, max)?;
            if last {
                inflater.finish_message(buf, max)?;
            }
            Ok(())
        })?;
        if last {
            self.compressed = false;
            return self.end_message(is_text, None, sink);
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Streaming: hands a piece of a frame's payload over as a part (inflated first when the
    /// message is compressed), text validated before it goes.
    fn stream_chunk(
        &mut self,
        chunk: &[u8],
        remaining: u64,
        last: bool,
        is_text: bool,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        if self.compressed {
            return self.inflate_parts(chunk, last, is_text, sink);
        }
        if is_text {
            check_text(&mut self.utf8, chunk)?;
        }
        if chunk.is_empty() && !last {
            return Ok(ControlFlow::Continue(())); // an empty frame that does not end it
        }
        if last {
            self.end_streamed(is_text)?;
        }
        let first = std::mem::take(&mut self.first_part);
        Ok(sink.part(MessagePart {
            data: chunk,
            is_text,
            first,
            last,
            remaining_in_frame: remaining,
        }))
    }

    /// Streaming a compressed message: inflates a little input at a time and hands the output
    /// over in parts, so neither the ratio nor the message size decides the memory taken. The
    /// message limit, when there is one, applies to the inflated size.
    fn inflate_parts(
        &mut self,
        chunk: &[u8],
        last: bool,
        is_text: bool,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let max = self.message_limit();
        let inflater = self
            .inflater
            .as_mut()
            .expect("compressed implies an inflater");
        for piece in chunk.chunks(INFLATE_INPUT_STEP) {
            inflate_checked(&mut self.buf, &mut self.utf8, is_text, max, |buf| {
                inflater.decompress(piece, buf, max)
            })?;
            if self.buf.len() >= INFLATED_PART {
                let first = std::mem::take(&mut self.first_part);
                let flow = sink.part(MessagePart {
                    data: &self.buf,
                    is_text,
                    first,
                    last: false,
                    remaining_in_frame: 0,
                });
                self.buf.clear();
                if flow.is_break() {
                    // Stopping: the rest of the input is dropped, as `feed` says.
                    self.state = State::Done;
                    return Ok(flow);
                }
            }
        }
        if last {
            inflate_checked(&mut self.buf, &mut self.utf8, is_text, max, |buf| {
                inflater.finish_message(buf, max)
            })?;
            self.compressed = false;
            self.end_streamed(is_text)?;
        } else if self.buf.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        let first = std::mem::take(&mut self.first_part);
        let flow = sink.part(MessagePart {
            data: &self.buf,
            is_text,
            first,
            last,
            remaining_in_frame: 0,
        });
        self.buf.clear();
        Ok(flow)
    }

    /// Streaming: the message's last part is about to go.
    fn end_streamed(&mut self, is_text: bool) -> Result<(), ProtocolError> {
        if is_text && self.utf8.finish().is_err() {
            return Err(ProtocolError::new(
                ProtocolErrorKind::InvalidUtf8,
                "text message ends inside a UTF-8 sequence",
            ));
        }
        self.message = None;
        Ok(())
    }

    fn end_message(
        &mut self,
        is_text: bool,
        whole: Option<&[u8]>,
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        if is_text && self.utf8.finish().is_err() {
            return Err(ProtocolError::new(
                ProtocolErrorKind::InvalidUtf8,
                "text message ends inside a UTF-8 sequence",
            ));
        }
        self.message = None;
        let flow = sink.incoming(Incoming::Message {
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
        sink: &mut dyn Sink,
    ) -> Result<ControlFlow<()>, ProtocolError> {
        let payload = &self.control[..];
        Ok(match opcode {
            OpCode::Ping => sink.incoming(Incoming::Ping(payload)),
            OpCode::Pong => sink.incoming(Incoming::Pong(payload)),
            _ => {
                let parsed = close::parse_payload(payload)?;
                self.state = State::Done;
                sink.incoming(Incoming::Close(parsed))
            }
        })
    }
}

/// Runs one inflate step into `buf`, then checks the text it produced even when the step
/// failed: what a message inflates to before its first bad byte does not depend on how the
/// input was split, so checking it first makes the close code (1007, 1009 or 1002) the same
/// however the frames arrived.
fn inflate_checked(
    buf: &mut Vec<u8>,
    utf8: &mut Utf8Validator,
    is_text: bool,
    limit: u64,
    step: impl FnOnce(&mut Vec<u8>) -> Result<(), InflateError>,
) -> Result<(), ProtocolError> {
    let start = buf.len();
    let inflated = step(buf);
    if is_text {
        check_text(utf8, &buf[start..])?;
    }
    inflated.map_err(|e| match e {
        InflateError::TooBig => ProtocolError::too_big(
            "inflated message",
            Exceeded {
                size: 0,
                unit: "bytes",
                option: "max_message_size",
                limit,
            },
        ),
        e => e.into(),
    })
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

/// Streamed messages: parts as they arrive, nothing gathered.
#[cfg(test)]
mod stream_tests {
    use super::*;
    use crate::protocol::deflate::{Deflater, Negotiated};
    use wsc_testkit::frame::frame;

    /// What a streaming receiver reported, owned.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Part {
            data: Vec<u8>,
            is_text: bool,
            first: bool,
            last: bool,
            remaining: u64,
        },
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Close(Option<u16>),
        Whole,
    }

    #[derive(Default)]
    struct Collect(Vec<Ev>);

    impl Sink for Collect {
        fn incoming(&mut self, event: Incoming<'_>) -> ControlFlow<()> {
            self.0.push(match event {
                Incoming::Ping(p) => Ev::Ping(p.to_vec()),
                Incoming::Pong(p) => Ev::Pong(p.to_vec()),
                Incoming::Close(c) => Ev::Close(c.map(|(code, _)| code)),
                Incoming::Message { .. } => Ev::Whole,
            });
            ControlFlow::Continue(())
        }
        fn part(&mut self, part: MessagePart<'_>) -> ControlFlow<()> {
            self.0.push(Ev::Part {
                data: part.data.to_vec(),
                is_text: part.is_text,
                first: part.first,
                last: part.last,
                remaining: part.remaining_in_frame,
            });
            ControlFlow::Continue(())
        }
    }

    fn streaming(limits: ReceiveLimits) -> Receiver {
        Receiver::new(limits).streaming(true)
    }

    /// Feeds `pieces` in order; the events and the first error.
    fn feed_pieces(rx: &mut Receiver, pieces: &[&[u8]]) -> (Vec<Ev>, Option<ProtocolError>) {
        let mut sink = Collect::default();
        for piece in pieces {
            if let Err(e) = rx.feed_to(piece, &mut sink) {
                return (sink.0, Some(e));
            }
        }
        (sink.0, None)
    }

    /// A message as a stream of parts: the bytes joined, and checks that hold for every
    /// split: parts are in order, only the first says first and only the last says last, none
    /// is empty unless allowed.
    fn join_messages(events: &[Ev], empty_last_allowed: bool) -> Vec<(Vec<u8>, bool)> {
        let mut messages = Vec::new();
        let mut current: Option<(Vec<u8>, bool)> = None;
        for ev in events {
            let Ev::Part {
                data,
                is_text,
                first,
                last,
                ..
            } = ev
            else {
                continue;
            };
            assert_eq!(*first, current.is_none(), "first flag in {events:?}");
            let (bytes, text) = current.get_or_insert((Vec::new(), *is_text));
            assert_eq!(*text, *is_text);
            if data.is_empty() {
                assert!(
                    *last && (empty_last_allowed || bytes.is_empty()),
                    "an empty part that is not the end: {events:?}"
                );
            }
            bytes.extend_from_slice(data);
            if *last {
                messages.push(current.take().unwrap());
            }
        }
        assert!(current.is_none(), "a message left unfinished");
        messages
    }

    /// The input cut in two at every byte, and fed a byte at a time: the same messages and
    /// control events every way.
    fn every_split(input: &[u8], expected: &[(Vec<u8>, bool)], controls: &[Ev]) {
        let mut splits: Vec<Vec<&[u8]>> = (0..=input.len())
            .map(|i| vec![&input[..i], &input[i..]])
            .collect();
        splits.push(input.chunks(1).collect());
        for pieces in splits {
            let (events, error) = feed_pieces(&mut streaming(ReceiveLimits::default()), &pieces);
            assert_eq!(error, None);
            assert_eq!(join_messages(&events, false), expected, "{pieces:?}");
            let others: Vec<Ev> = events
                .iter()
                .filter(|e| !matches!(e, Ev::Part { .. }))
                .cloned()
                .collect();
            assert_eq!(others, controls);
        }
    }

    #[test]
    fn unfragmented_and_fragmented_messages_in_parts_split_anywhere() {
        let mut input = frame(0x81, "héllo wörld".as_bytes());
        input.extend(frame(0x02, &[1, 2, 3]));
        input.extend(frame(0x89, b"p"));
        input.extend(frame(0x00, b""));
        input.extend(frame(0x8a, b""));
        input.extend(frame(0x80, &[4, 5]));
        input.extend(frame(0x82, b""));
        input.extend(frame(0x88, b"\x03\xe8"));
        let expected = vec![
            ("héllo wörld".as_bytes().to_vec(), true),
            (vec![1, 2, 3, 4, 5], false),
            (vec![], false),
        ];
        let controls = vec![
            Ev::Ping(b"p".to_vec()),
            Ev::Pong(vec![]),
            Ev::Close(Some(1000)),
        ];
        every_split(&input, &expected, &controls);
    }

    #[test]
    fn a_frame_read_in_pieces_comes_in_parts_with_what_remains() {
        let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let input = frame(0x82, &payload);
        let pieces: Vec<&[u8]> = input.chunks(300).collect();
        let (events, error) = feed_pieces(&mut streaming(ReceiveLimits::default()), &pieces);
        assert_eq!(error, None);
        // The 4-byte header is in the first read: 296, 300, 300, 104 payload bytes.
        let sizes: Vec<(usize, u64, bool, bool)> = events
            .iter()
            .map(|e| match e {
                Ev::Part {
                    data,
                    remaining,
                    first,
                    last,
                    ..
                } => (data.len(), *remaining, *first, *last),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            sizes,
            [
                (296, 704, true, false),
                (300, 404, false, false),
                (300, 104, false, false),
                (104, 0, false, true)
            ]
        );
    }

    #[test]
    fn an_empty_final_frame_still_ends_the_message() {
        let mut input = frame(0x01, b"abc");
        input.extend(frame(0x80, b""));
        let (events, error) = feed_pieces(&mut streaming(ReceiveLimits::default()), &[&input]);
        assert_eq!(error, None);
        assert_eq!(
            events,
            [
                Ev::Part {
                    data: b"abc".to_vec(),
                    is_text: true,
                    first: true,
                    last: false,
                    remaining: 0
                },
                Ev::Part {
                    data: vec![],
                    is_text: true,
                    first: false,
                    last: true,
                    remaining: 0
                },
            ]
        );
    }

    #[test]
    fn utf8_is_checked_across_parts() {
        // "€" (E2 82 AC) cut between frames and between reads is fine.
        let mut input = frame(0x01, b"a\xe2");
        input.extend(frame(0x80, b"\x82\xacz"));
        every_split(&input, &[("a€z".as_bytes().to_vec(), true)], &[]);
        // An impossible byte fails before its part is delivered, even mid-frame.
        let mut input = vec![0x81, 20];
        input.extend_from_slice(b"ok\xe2\x82");
        input.push(0x28); // not a continuation byte
        let (events, error) = feed_pieces(
            &mut streaming(ReceiveLimits::default()),
            &[&input[..4], &input[4..]],
        );
        assert_eq!(error.map(|e| e.kind), Some(ProtocolErrorKind::InvalidUtf8));
        assert_eq!(
            events,
            [Ev::Part {
                data: b"ok".to_vec(),
                is_text: true,
                first: true,
                last: false,
                remaining: 18
            }],
            "only the valid read before"
        );
        // A message ending inside a code point.
        let (_, error) = feed_pieces(
            &mut streaming(ReceiveLimits::default()),
            &[&frame(0x81, b"a\xe2\x82")],
        );
        assert_eq!(error.map(|e| e.kind), Some(ProtocolErrorKind::InvalidUtf8));
    }

    #[test]
    fn limits_still_apply_and_zero_means_no_message_limit() {
        let limits = ReceiveLimits {
            max_frame_size: 10,
            max_message_size: 15,
            max_fragments: 3,
        };
        let code = |limits: ReceiveLimits, input: &[u8]| {
            feed_pieces(&mut streaming(limits), &[input])
                .1
                .map(|e| e.close_code())
        };
        assert_eq!(code(limits, b"\x82\x0b"), Some(1009), "frame limit");
        let mut over = frame(0x02, &[0; 10]);
        over.extend(frame(0x80, &[0; 6]));
        assert_eq!(code(limits, &over), Some(1009), "message limit");
        assert_eq!(
            code(limits, b"\x02\x00\x00\x00\x00\x00\x00\x00"),
            Some(1009)
        );
        let unlimited = ReceiveLimits {
            max_message_size: 0,
            max_fragments: 100,
            ..limits
        };
        let mut long = Vec::new();
        long.extend(frame(0x02, &[7; 10]));
        for _ in 0..50 {
            long.extend(frame(0x00, &[7; 10]));
        }
        long.extend(frame(0x80, &[7; 10]));
        let (events, error) = feed_pieces(&mut streaming(unlimited), &[&long]);
        assert_eq!(error, None);
        assert_eq!(join_messages(&events, false), [(vec![7; 520], false)]);
    }

    #[test]
    fn no_direct_reads_when_streaming() {
        let mut rx = streaming(ReceiveLimits::default());
        let header_only = &frame(0x82, &vec![0; 2 * DIRECT_READ_MIN as usize])[..10];
        rx.feed_to(header_only, &mut Collect::default()).unwrap();
        assert!(rx.direct_room().is_none());
    }

    fn negotiated() -> Negotiated {
        Negotiated {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
        }
    }

    /// A compressed message as a server sends it, in `frames` frames (RSV1 on the first).
    fn compressed_message(
        deflater: &mut Deflater,
        payload: &[u8],
        text: bool,
        frames: usize,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        deflater.compress(payload, &mut body);
        let cut = body.len().div_ceil(frames).max(1);
        let pieces: Vec<&[u8]> = body.chunks(cut).collect();
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = match (i, text) {
                (0, true) => 0x41, // RSV1 + text
                (0, false) => 0x42,
                _ => 0x00,
            };
            let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
            out.extend(frame(fin | opcode, piece));
        }
        out
    }

    fn inflating(limits: ReceiveLimits) -> Receiver {
        let mut rx = streaming(limits);
        rx.enable_inflate(Inflater::new(&negotiated()));
        rx
    }

    #[test]
    fn compressed_messages_are_inflated_in_parts() {
        let text: String = (0..40_000).map(|i| format!("{i} é€; ")).collect();
        let binary: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut deflater = Deflater::new(&negotiated(), 6);
        let mut input = compressed_message(&mut deflater, text.as_bytes(), true, 3);
        input.extend(frame(0x89, b"between"));
        input.extend(compressed_message(&mut deflater, &binary, false, 1));
        input.extend(compressed_message(&mut deflater, b"", false, 1));
        for read in [1, 7, 1000, 65_536, input.len()] {
            let pieces: Vec<&[u8]> = input.chunks(read).collect();
            let (events, error) = feed_pieces(&mut inflating(ReceiveLimits::default()), &pieces);
            assert_eq!(error, None, "reads of {read}");
            let messages = join_messages(&events, true);
            assert_eq!(messages.len(), 3);
            assert!(messages[0] == (text.as_bytes().to_vec(), true));
            assert!(messages[1] == (binary.clone(), false));
            assert_eq!(messages[2], (vec![], false));
            for ev in &events {
                if let Ev::Part {
                    data, remaining, ..
                } = ev
                {
                    assert_eq!(*remaining, 0);
                    assert!(data.len() <= INFLATED_PART + 1100 * INFLATE_INPUT_STEP);
                }
            }
            assert!(events.contains(&Ev::Ping(b"between".to_vec())));
        }
    }

    #[test]
    fn a_decompression_bomb_is_cut_short_only_under_a_limit() {
        let zeros = vec![0u8; 4 << 20];
        let mut deflater = Deflater::new(&negotiated(), 9);
        let input = compressed_message(&mut deflater, &zeros, false, 1);
        assert!(input.len() < 10_000, "{} bytes compressed", input.len());
        let limits = ReceiveLimits {
            max_message_size: 1 << 20,
            ..ReceiveLimits::default()
        };
        let (events, error) = feed_pieces(&mut inflating(limits), &[&input]);
        assert_eq!(error.map(|e| e.close_code()), Some(1009));
        let delivered: usize = events
            .iter()
            .map(|e| match e {
                Ev::Part { data, .. } => data.len(),
                _ => 0,
            })
            .sum();
        assert!(delivered <= 1 << 20, "{delivered} bytes before the limit");
        // Without a message limit, the whole of it comes, in bounded parts.
        let unlimited = ReceiveLimits {
            max_message_size: 0,
            ..ReceiveLimits::default()
        };
        let (events, error) = feed_pieces(&mut inflating(unlimited), &[&input]);
        assert_eq!(error, None);
        let messages = join_messages(&events, true);
        assert!(messages == [(zeros, false)]);
        assert!(events.len() > 16, "{} parts", events.len());
    }
}
