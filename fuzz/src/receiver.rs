//! Frames to messages: a `Receiver` with low limits, fed the same bytes whole, split at points
//! the input chooses, and one byte at a time.
//!
//! Input: three bytes of limits, one of settings (permessage-deflate on or off and its
//! parameters; limits 1024 times larger, with `0xFE n b` in the stream standing for
//! `(n + 1) * 1024` bytes `b`), one giving the number of split points, two bytes for each, then
//! the stream. Each run with large limits also reads large payloads in place
//! (`direct_room`/`feed_direct`), as the event loop does.
//!
//! Checked:
//! - the same events and the same result whatever the split, except which fault a compressed
//!   message with several (corrupt data, too big once inflated, invalid UTF-8) is failed for:
//!   that depends on how much of it is inflated at once;
//! - messages within `max_message_size`, text messages valid UTF-8, control payloads within
//!   125 bytes, close codes valid on the wire;
//! - nothing after a Close event or an error, and every later call does nothing.

use std::ops::ControlFlow;

use wsc::protocol::deflate::{InflateError, Inflater, Negotiated};
use wsc::protocol::message::{Incoming, ReceiveLimits, Receiver};
use wsc::protocol::{ProtocolError, ProtocolErrorKind};

use crate::Input;

/// An event, owned, to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Vec<u8>, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
}

/// What a run produced: the events in order and the first error.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub error: Option<ProtocolError>,
    pub done: bool,
}

/// Settings for a receiver, read from the input.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub limits: ReceiveLimits,
    pub deflate: Option<Negotiated>,
    /// Limits 1024 times larger and a stream with runs expanded (see [`expand`]).
    pub big: bool,
}

impl Setup {
    pub fn read(input: &mut Input<'_>) -> Setup {
        let mut limits = ReceiveLimits {
            max_frame_size: 2 * input.byte() as u64,
            max_message_size: 4 * input.byte() as u64,
            max_fragments: 1 + (input.byte() % 8) as u32,
        };
        let flags = input.byte();
        let big = flags & 0x20 != 0;
        if big {
            limits.max_frame_size *= 1024;
            limits.max_message_size *= 1024;
        }
        let deflate = (flags & 1 == 1).then(|| Negotiated {
            client_no_context_takeover: false,
            server_no_context_takeover: flags & 2 != 0,
            client_max_window_bits: 15,
            server_max_window_bits: 8 + (flags >> 2) % 8,
        });
        Setup {
            limits,
            deflate,
            big,
        }
    }

    pub fn receiver(&self) -> Receiver {
        let mut receiver = Receiver::new(self.limits);
        if let Some(negotiated) = &self.deflate {
            receiver.enable_inflate(Inflater::new(negotiated));
        }
        receiver
    }
}

/// Feeds `pieces` in order, recording events and checking each as it comes. With `direct`, the
/// receiver's payload goes straight into the message buffer whenever it offers room
/// (`direct_room` and `feed_direct`), as the event loop reads large frames.
pub fn run<'a>(setup: &Setup, pieces: impl IntoIterator<Item = &'a [u8]>, direct: bool) -> Outcome {
    let limits = setup.limits;
    let mut receiver = setup.receiver();
    let mut events = Vec::new();
    let mut error = None;
    let mut ended = false;
    for mut piece in pieces {
        while !piece.is_empty() && error.is_none() {
            let failed = error.is_some();
            let mut sink = |event: Incoming<'_>| {
                assert!(!ended, "an event after Close: {event:?}");
                assert!(!failed, "an event after an error: {event:?}");
                let event = owned(event, &limits);
                ended = matches!(event, Event::Close(_));
                events.push(event);
                ControlFlow::Continue(())
            };
            let room = if direct { receiver.direct_room() } else { None };
            let result = match room {
                Some(room) => {
                    let n = room.len().min(piece.len());
                    for (slot, &b) in room.iter_mut().zip(&piece[..n]) {
                        slot.write(b);
                    }
                    piece = &piece[n..];
                    // SAFETY: the first n bytes of the room were just written.
                    unsafe { receiver.feed_direct(n, &mut sink) }
                }
                None => {
                    let result = receiver.feed(piece, &mut sink);
                    piece = &[];
                    result
                }
            };
            if let Err(e) = result {
                error = Some(e);
            }
        }
        if error.is_some() {
            break;
        }
    }
    let done = receiver.is_done();
    assert_eq!(
        done,
        ended || error.is_some(),
        "is_done disagrees with what happened"
    );
    if done {
        // Nothing more is read, whatever comes.
        let before = events.len();
        let again = receiver.feed(b"\x81\x01a\x89\x00", &mut |event| {
            panic!("an event after the receiver stopped: {event:?}")
        });
        assert_eq!(again, Ok(()));
        assert_eq!(events.len(), before);
    }
    Outcome {
        events,
        error,
        done,
    }
}

fn owned(event: Incoming<'_>, limits: &ReceiveLimits) -> Event {
    match event {
        Incoming::Message { data, is_text } => {
            // 0 is no limit (which the options allow only for streamed messages).
            let limit = match limits.max_message_size {
                0 => u64::MAX,
                n => n,
            };
            assert!(
                data.len() as u64 <= limit,
                "a message of {} bytes over max_message_size {}",
                data.len(),
                limits.max_message_size
            );
            if is_text {
                assert!(
                    std::str::from_utf8(data).is_ok(),
                    "invalid UTF-8 delivered as text"
                );
            }
            Event::Message(data.to_vec(), is_text)
        }
        Incoming::Ping(p) => {
            assert!(p.len() <= 125, "a ping of {} bytes", p.len());
            Event::Ping(p.to_vec())
        }
        Incoming::Pong(p) => {
            assert!(p.len() <= 125, "a pong of {} bytes", p.len());
            Event::Pong(p.to_vec())
        }
        Incoming::Close(body) => {
            if let Some((code, reason)) = body {
                assert!(
                    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                    "close code {code} delivered"
                );
                assert!(
                    reason.len() <= 123,
                    "a close reason of {} bytes",
                    reason.len()
                );
            }
            Event::Close(body.map(|(c, r)| (c, r.to_owned())))
        }
    }
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let setup = Setup::read(&mut input);
    let splits = (input.byte() % 8) as usize;
    let mut cuts: Vec<usize> = (0..splits).map(|_| input.u16() as usize).collect();
    let stream = if setup.big {
        expand(input.rest())
    } else {
        input.rest().to_vec()
    };
    let stream = &stream[..];
    for c in &mut cuts {
        *c %= stream.len() + 1;
    }
    cuts.sort_unstable();
    cuts.push(stream.len());

    let whole = run(&setup, [stream], false);
    let compressed = setup.deflate.is_some();
    let how = format!("splitting at {cuts:?}");
    same(
        &whole,
        &run(&setup, split_at(stream, &cuts), false),
        compressed,
        &how,
    );
    let how = format!("splitting at {cuts:?}, reading large payloads in place");
    same(
        &whole,
        &run(&setup, split_at(stream, &cuts), true),
        compressed,
        &how,
    );
    if !setup.big {
        let bytewise = run(&setup, stream.chunks(1), false);
        same(&whole, &bytewise, compressed, "feeding byte by byte");
    }
}

/// Expanded streams stop growing past this.
const MAX_EXPANDED: usize = 1 << 20;

/// The stream with each `0xFE, n, b` replaced by `(n + 1) * 1024` bytes `b` (until it is 1 MiB
/// long), so that short inputs can hold frames large enough to be read in place.
fn expand(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i..] {
            [0xFE, n, b, ..] if out.len() < MAX_EXPANDED => {
                out.resize(out.len() + (n as usize + 1) * 1024, b);
                i += 3;
            }
            _ => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    out
}

/// `stream` cut at the (sorted) positions in `cuts`.
fn split_at<'a>(stream: &'a [u8], cuts: &'a [usize]) -> impl Iterator<Item = &'a [u8]> {
    let mut start = 0;
    cuts.iter().map(move |&end| {
        let piece = &stream[start..end];
        start = end;
        piece
    })
}

/// Whether `e` may be found instead of another fault in the same compressed message.
fn inflate_fault(e: &Option<ProtocolError>) -> bool {
    e.is_some_and(|e| {
        e == ProtocolError::from(InflateError::Corrupt)
            || e == ProtocolError::from(InflateError::TooBig)
            || e.kind == ProtocolErrorKind::InvalidUtf8
    })
}

fn same(a: &Outcome, b: &Outcome, compressed: bool, how: &str) {
    let comparable =
        a.error == b.error || (compressed && inflate_fault(&a.error) && inflate_fault(&b.error));
    assert!(
        comparable && a.events == b.events && a.done == b.done,
        "{how} changed the outcome:\n{a:?}\n{b:?}"
    );
}
