//! Compressing and decompressing whole messages (RFC 7692 §7.2), with the inflated size
//! checked as it grows.

use std::cell::RefCell;
use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::Negotiated;
use crate::protocol::{ProtocolError, ProtocolErrorKind};

/// §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end"; §7.2.2: "Append 4
/// octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message."
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How much inflated output one step may add; the size limit is checked after every step.
const STEP: usize = 32 * 1024;

/// The smallest window zlib compresses with. Its deflate never emits a distance longer than the
/// window minus 262 bytes (`MAX_DIST`), so a 9-bit window's longest distance is 250: the stream
/// is valid for a peer that inflates with a 256-byte window, as a negotiated 8 requires. zlib
/// itself long turned 8 into 9 this way; Chromium and Python's websockets do the same.
const MIN_ZLIB_WINDOW_BITS: u8 = 9;

thread_local! {
    /// zlib states between messages. Without context takeover a state carries nothing from one
    /// message to the next, so a connection holds one only while a message is in progress and
    /// hands it back here at the end: 10,000 connections between messages hold none, and no
    /// message pays for making one (allocating a state per message instead fragments the heap:
    /// glibc kept about 300 KB per connection that way). One spare of each kind per thread.
    static SPARE_COMPRESS: RefCell<Option<(Compression, u8, Compress)>> = const { RefCell::new(None) };
    static SPARE_DECOMPRESS: RefCell<Option<(u8, Decompress)>> = const { RefCell::new(None) };
}

/// Compresses outgoing messages (§7.2.1).
///
/// zlib's state (about 260 KB at the largest window, by zlib's own formula) is made or taken
/// for the first message sent, not when the extension is negotiated; without context takeover
/// it is given back after each message.
pub struct Deflater {
    compress: Option<Compress>,
    level: Compression,
    window_bits: u8,
    no_context_takeover: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A compressor for the negotiated parameters at zlib `level` (0..=9; larger is taken as 9).
    pub fn new(negotiated: &Negotiated, level: u32) -> Self {
        // Raw DEFLATE, no zlib header: the payload is bare DEFLATE blocks (§7.2.1). See
        // [`MIN_ZLIB_WINDOW_BITS`] for a negotiated 8.
        Deflater {
            compress: None,
            level: Compression::new(level.min(9)),
            window_bits: negotiated
                .client_max_window_bits
                .clamp(MIN_ZLIB_WINDOW_BITS, 15),
            no_context_takeover: negotiated.client_no_context_takeover,
        }
    }

    /// zlib's state: a spare one of this thread's, or a new one.
    fn state(&mut self) -> &mut Compress {
        let (level, bits) = (self.level, self.window_bits);
        self.compress.get_or_insert_with(|| {
            match SPARE_COMPRESS.with(|spare| spare.borrow_mut().take()) {
                Some((l, b, compress)) if (l, b) == (level, bits) => compress,
                _ => Compress::new_with_window_bits(level, false, bits),
            }
        })
    }

    /// Appends the compressed form of one whole message `payload` to `out`, to be sent with RSV1
    /// set on its first frame.
    ///
    /// §7.2.1: "1. Compress all the octets of the payload of the message using DEFLATE. 2. If the
    /// resulting data does not end with an empty DEFLATE block with no compression (the "BTYPE"
    /// bits are set to 00), append an empty DEFLATE block with no compression to the tail end.
    /// 3. Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end." A sync flush ends
    /// the output with exactly that empty block.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        if payload.is_empty() {
            // zlib emits nothing for a second flush in a row, but a peer needs at least the
            // header bits of an empty stored block: 0x00, as in §7.2.3.6.
            out.push(0x00);
            return;
        }
        self.compress_part(payload, true, out);
    }

    /// Appends the compressed form of the next fragment of a message (not the whole message:
    /// see [`compress`](Self::compress)), to be sent with RSV1 set on the message's first
    /// frame. The fragments' payloads together are the message's compressed data (§7.2.1):
    /// each ends with a sync flush so the peer can inflate it as it arrives, and only the last
    /// has the 0x00 0x00 0xff 0xff tail removed.
    pub fn compress_part(&mut self, payload: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let mut input = payload;
        while !payload.is_empty() {
            out.reserve(input.len() / 2 + 64);
            let compress = self.state();
            let before_in = compress.total_in();
            compress
                .compress_vec(input, out, FlushCompress::Sync)
                .expect("deflate with a valid state cannot fail");
            input = &input[(compress.total_in() - before_in) as usize..];
            // zlib: the flush is complete once all input is taken and output space is left over.
            if input.is_empty() && out.len() < out.capacity() {
                debug_assert!(out[start..].ends_with(&TAIL));
                break;
            }
        }
        if !last {
            return;
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if out.len() == start {
            // An empty last part after a flushed one (or an empty message): the peer appends the
            // tail (§7.2.2), which completes a stored block only after its header bits: 0x00.
            out.push(0x00);
        }
        // §7.1.1.2: without context takeover each message starts with an empty LZ77 window,
        // so the state goes back to the thread's spare, emptied.
        if !self.no_context_takeover {
            return;
        }
        if let Some(mut compress) = self.compress.take() {
            compress.reset();
            let spare = (self.level, self.window_bits, compress);
            SPARE_COMPRESS.with(|s| *s.borrow_mut() = Some(spare));
        }
    }
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// Not a valid DEFLATE stream (or one reaching beyond the negotiated window).
    Corrupt,
    /// The inflated message would exceed the size limit.
    TooBig,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Corrupt => "invalid compressed data in a permessage-deflate message",
            Self::TooBig => "inflated message exceeds the size limit",
        })
    }
}

impl std::error::Error for InflateError {}

impl From<InflateError> for ProtocolError {
    /// Corrupt data is a protocol error (1002); too much data is 1009, as for any message that is
    /// too big.
    fn from(e: InflateError) -> Self {
        match e {
            InflateError::Corrupt => ProtocolError::new(
                ProtocolErrorKind::Protocol,
                "invalid compressed data in a permessage-deflate message",
            ),
            InflateError::TooBig => ProtocolError::new(
                ProtocolErrorKind::TooBig,
                "inflated message exceeds the size limit",
            ),
        }
    }
}

/// Decompresses incoming messages (§7.2.2) piece by piece, within a size limit.
///
/// After an error the connection is to be failed: the state is then undefined. zlib's state
/// (about 40 KB at the largest window) is made or taken for the first compressed message
/// received, and given back after each message without context takeover.
pub struct Inflater {
    decompress: Option<Decompress>,
    window_bits: u8,
    no_context_takeover: bool,
    /// Compressed bytes of the current message so far.
    message_in: u64,
    /// Inflated bytes of the current message so far.
    message_out: u64,
    /// The current message ended its DEFLATE stream with a BFINAL block.
    stream_ended: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("message_in", &self.message_in)
            .field("message_out", &self.message_out)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// A decompressor for the negotiated parameters.
    pub fn new(negotiated: &Negotiated) -> Self {
        // Inflating with a window at least as large as the sender's is always correct; zlib's
        // smallest raw window is 9 bits.
        Inflater {
            decompress: None,
            window_bits: negotiated
                .server_max_window_bits
                .clamp(MIN_ZLIB_WINDOW_BITS, 15),
            no_context_takeover: negotiated.server_no_context_takeover,
            message_in: 0,
            message_out: 0,
            stream_ended: false,
        }
    }

    /// Inflates the next piece of a compressed message's payload (any size: part of a frame, a
    /// whole frame) and appends the result to `out`. Fails with [`InflateError::TooBig`] once the
    /// message inflates to more than `max_total` bytes, before `out` grows by more than
    /// `max_total + 1` bytes for the message.
    pub fn decompress(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
        max_total: u64,
    ) -> Result<(), InflateError> {
        self.message_in += chunk.len() as u64;
        self.inflate(chunk, FlushDecompress::None, out, max_total)
    }

    /// Ends the message: §7.2.2 "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the
    /// payload of the message. 2. Decompress the resulting data using DEFLATE." Appends the last
    /// of the output to `out` and readies the state for the next message.
    pub fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        max_total: u64,
    ) -> Result<(), InflateError> {
        // An empty payload is no DEFLATE data at all; inflating just the tail would leave the
        // stream inside a stored block. Take it as the empty message it stands for.
        let result = if self.message_in == 0 {
            Ok(())
        } else {
            self.inflate(&TAIL, FlushDecompress::Sync, out, max_total)
        };
        // §7.1.1.1: with server_no_context_takeover the server starts each message with an empty
        // window. A stream closed by a BFINAL block (§7.2.3.4) cannot continue either.
        if self.no_context_takeover || self.stream_ended {
            if let Some(mut decompress) = self.decompress.take() {
                decompress.reset(false);
                let spare = (self.window_bits, decompress);
                SPARE_DECOMPRESS.with(|s| *s.borrow_mut() = Some(spare));
            }
        }
        self.message_in = 0;
        self.message_out = 0;
        self.stream_ended = false;
        result
    }

    /// Inflates `input` in steps of at most [`STEP`] bytes of output, checking the limit after
    /// each, so neither a bomb nor the compressed size decides how much memory is taken. Steps
    /// start small and double while they fill up, so tiny pieces of input cost little.
    fn inflate(
        &mut self,
        mut input: &[u8],
        flush: FlushDecompress,
        out: &mut Vec<u8>,
        max_total: u64,
    ) -> Result<(), InflateError> {
        let mut step = STEP.min(input.len().saturating_mul(4).saturating_add(256));
        loop {
            // §7.2.3.4: after a DEFLATE block with BFINAL set, the rest of the payload (normally
            // one 0x00 octet, then our tail) carries no data.
            if self.stream_ended {
                return Ok(());
            }
            // One byte past the limit tells a message of exactly `max_total` from a larger one.
            let allowed = max_total.saturating_sub(self.message_out).saturating_add(1);
            let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
            let room = step.min(allowed);
            let len = out.len();
            if out.capacity() - len < room {
                // Grow as `Vec` would, but never past what the limit lets the message reach.
                let target = (out.capacity() * 2).min(len.saturating_add(allowed));
                out.reserve_exact(target.max(len + room) - len);
            }
            out.resize(len + room, 0);
            let bits = self.window_bits;
            let decompress = self.decompress.get_or_insert_with(|| {
                match SPARE_DECOMPRESS.with(|spare| spare.borrow_mut().take()) {
                    Some((b, decompress)) if b == bits => decompress,
                    _ => Decompress::new_with_window_bits(false, bits),
                }
            });
            let (before_in, before_out) = (decompress.total_in(), decompress.total_out());
            let status = decompress.decompress(input, &mut out[len..], flush);
            let produced = (decompress.total_out() - before_out) as usize;
            out.truncate(len + produced);
            input = &input[(decompress.total_in() - before_in) as usize..];
            self.message_out += produced as u64;
            // The limit before corruption: what a message inflates to before its first bad
            // byte does not depend on how the input was split, so neither does the verdict.
            if self.message_out > max_total {
                return Err(InflateError::TooBig);
            }
            match status.map_err(|_| InflateError::Corrupt)? {
                Status::StreamEnd => self.stream_ended = true,
                Status::Ok | Status::BufError => {}
            }
            // Output space left over: zlib took all it could from the input.
            if produced < room {
                return Ok(());
            }
            step = (step * 2).min(STEP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::WINDOW_BITS;
    use super::*;
    use wsc_testkit::inflate::inflate;
    use wsc_testkit::Rng;

    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    fn inflate_all(inflater: &mut Inflater, payload: &[u8], piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in payload.chunks(piece.max(1)) {
            inflater.decompress(chunk, &mut out, u64::MAX).unwrap();
        }
        inflater.finish_message(&mut out, u64::MAX).unwrap();
        out
    }

    /// A connection that negotiated the extension holds no zlib state before its first message,
    /// nor between messages without context takeover: the thread's spare serves them all.
    #[test]
    fn zlib_states_are_held_only_while_a_message_is_in_progress() {
        let n = Negotiated::symmetric(15, true);
        let (mut deflater, mut inflater) = (Deflater::new(&n, 6), Inflater::new(&n));
        assert!(deflater.compress.is_none() && inflater.decompress.is_none());
        let mut empty = Vec::new();
        inflater.finish_message(&mut empty, u64::MAX).unwrap();
        assert!(
            inflater.decompress.is_none(),
            "an empty message needs no state"
        );

        // A message in two parts keeps its state from the first part to the last.
        let mut out = Vec::new();
        deflater.compress_part(b"Hel", false, &mut out);
        assert!(deflater.compress.is_some());
        deflater.compress_part(b"lo", true, &mut out);
        assert!(deflater.compress.is_none(), "given back after the message");
        let spare = SPARE_COMPRESS.with(|s| s.borrow().as_ref().map(|(_, _, c)| c.total_in()));
        assert_eq!(spare, Some(0), "the spare is emptied for the next message");
        inflater
            .decompress(&out[..4], &mut empty, u64::MAX)
            .unwrap();
        assert!(inflater.decompress.is_some());
        inflater
            .decompress(&out[4..], &mut empty, u64::MAX)
            .unwrap();
        inflater.finish_message(&mut empty, u64::MAX).unwrap();
        assert_eq!(empty, b"Hello");
        assert!(inflater.decompress.is_none());

        // Many connections, one state: every one compresses as a fresh state would.
        let mut others: Vec<Deflater> = (0..3).map(|_| Deflater::new(&n, 6)).collect();
        for d in &mut others {
            let mut out = Vec::new();
            d.compress(b"Hello", &mut out);
            assert_eq!(out, HELLO);
            assert_eq!(inflate_all(&mut inflater, &out, 2), b"Hello");
        }

        // A spare state keeps nothing of the message before: a reference back into it (the
        // second "Hello" of a stream with context takeover) is corrupt, not the last message.
        let second = [0xf2, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(inflate_all(&mut inflater, &HELLO, 7), b"Hello");
        let mut other = Inflater::new(&n);
        let mut out = Vec::new();
        let result = other
            .decompress(&second, &mut out, 1000)
            .and_then(|()| other.finish_message(&mut out, 1000));
        assert_eq!(result, Err(InflateError::Corrupt));

        // With context takeover the state stays with the connection.
        let mut keeping = Deflater::new(&Negotiated::symmetric(15, false), 6);
        keeping.compress(b"Hello", &mut Vec::new());
        assert!(keeping.compress.is_some());
    }

    /// RFC 7692 §7.2.3.1: "Hello" compressed is `0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00`.
    #[test]
    fn rfc_7692_hello() {
        for level in [1, 6, 9] {
            let mut deflater = Deflater::new(&Negotiated::symmetric(15, true), level);
            for _ in 0..2 {
                let mut out = Vec::new();
                deflater.compress(b"Hello", &mut out);
                assert_eq!(out, HELLO, "level {level}");
            }
        }
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        assert_eq!(inflate_all(&mut inflater, &HELLO, 3), b"Hello");
        // The same split over two frames, as in the RFC: "0x41 0x03 0xf2 0x48 0xcd" and
        // "0x80 0x04 0xc9 0xc9 0x07 0x00".
        assert_eq!(inflate_all(&mut inflater, &HELLO, 3), b"Hello");
    }

    /// §7.2.3.2: with context takeover the second "Hello" is `0xf2 0x00 0x11 0x00 0x00`.
    #[test]
    fn rfc_7692_context_takeover() {
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        assert_eq!(inflate_all(&mut inflater, &HELLO, 7), b"Hello");
        let second = [0xf2, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(inflate_all(&mut inflater, &second, 7), b"Hello");

        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false), 6);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        deflater.compress(b"Hello", &mut a);
        deflater.compress(b"Hello", &mut b);
        assert_eq!(a, HELLO);
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        assert_eq!(inflate_all(&mut inflater, &a, 1), b"Hello");
        assert_eq!(inflate_all(&mut inflater, &b, 1), b"Hello");
    }

    /// §7.2.3.3: "Hello" in a DEFLATE block with no compression; §7.2.3.4: with BFINAL set;
    /// §7.2.3.5: in two DEFLATE blocks.
    #[test]
    fn rfc_7692_other_blocks() {
        let samples: [&[u8]; 3] = [
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &[
                0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
            ],
        ];
        for no_context_takeover in [false, true] {
            let mut inflater = Inflater::new(&Negotiated::symmetric(15, no_context_takeover));
            for sample in samples {
                for piece in [1, 4, 100] {
                    assert_eq!(inflate_all(&mut inflater, sample, piece), b"Hello");
                    assert_eq!(inflate_all(&mut inflater, &HELLO, piece), b"Hello");
                }
            }
        }
    }

    #[test]
    fn empty_messages() {
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false), 6);
        let mut out = Vec::new();
        deflater.compress(b"", &mut out);
        assert_eq!(out, [0x00]);
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        assert_eq!(inflate_all(&mut inflater, &out, 1), b"");
        // A payload with no bytes at all stands for the empty message and leaves the state alone.
        assert_eq!(inflate_all(&mut inflater, &HELLO, 1), b"Hello");
        assert_eq!(inflate_all(&mut inflater, &[], 1), b"");
        assert_eq!(
            inflate_all(&mut inflater, &[0xf2, 0x00, 0x11, 0x00, 0x00], 1),
            b"Hello"
        );
    }

    /// Messages compressed in parts are, each with the tail appended, one valid DEFLATE stream
    /// for a strict inflater, whatever the parts: empty ones included, the last above all (an
    /// unfinished stored block would surface as corrupt data in the next message).
    #[test]
    fn parts_form_one_stream() {
        let mut rng = Rng::new(7);
        let message = repetitive(200_000);
        for case in 0..20 {
            let mut deflater = Deflater::new(&Negotiated::symmetric(15, false), 2);
            let mut strict = Decompress::new(false);
            for round in 0..3 {
                let mut compressed = Vec::new();
                let mut rest = &message[..];
                while !rest.is_empty() {
                    let take = match rng.below(4) {
                        0 => 0,
                        _ => rng.range(1..70_000).min(rest.len()),
                    };
                    deflater.compress_part(&rest[..take], false, &mut compressed);
                    rest = &rest[take..];
                }
                // Every other case ends with an empty last part, as when the last frame adds
                // nothing.
                let last: &[u8] = if case % 2 == 0 { b"" } else { b"the end" };
                deflater.compress_part(last, true, &mut compressed);
                compressed.extend_from_slice(&TAIL);
                let mut inflated = Vec::with_capacity(message.len() + last.len() + 64);
                let before = strict.total_in();
                strict
                    .decompress_vec(&compressed, &mut inflated, FlushDecompress::Sync)
                    .unwrap_or_else(|e| panic!("case {case}, message {round}: {e}"));
                assert_eq!(strict.total_in() - before, compressed.len() as u64);
                assert_eq!(inflated, [&message[..], last].concat(), "case {case}");
            }
        }
    }

    fn round_trip(messages: &[Vec<u8>], bits: u8, no_context_takeover: bool, piece: usize) {
        let n = Negotiated::symmetric(bits, no_context_takeover);
        let mut deflater = Deflater::new(&n, 6);
        let mut inflater = Inflater::new(&n);
        for message in messages {
            let mut compressed = Vec::new();
            deflater.compress(message, &mut compressed);
            assert!(!compressed.ends_with(&TAIL));
            let inflated = inflate_all(&mut inflater, &compressed, piece);
            assert!(inflated == *message, "bits {bits}, len {}", message.len());
        }
    }

    fn random(len: usize, seed: u64) -> Vec<u8> {
        Rng::new(seed).bytes(len)
    }

    fn repetitive(len: usize) -> Vec<u8> {
        let text = b"{\"id\":12345,\"event\":\"trade\",\"price\":\"101.25\",\"size\":7}\n";
        text.iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn round_trips() {
        for len in [0, 1, 64 << 10, 1 << 20] {
            let mut messages = vec![random(len, len as u64), repetitive(len)];
            if len <= 64 << 10 {
                // The same again: with context takeover, references into the last message.
                messages.extend(messages.clone());
            }
            for bits in WINDOW_BITS {
                for no_context_takeover in [false, true] {
                    // Unoptimized zlib is slow: the megabyte once per window size is enough.
                    if len < 1 << 20 || no_context_takeover == (bits % 2 == 0) {
                        round_trip(&messages, bits, no_context_takeover, 4096);
                    }
                }
            }
        }
    }

    /// A fragmented message whose last fragment is empty (a streamed echo ends that way when
    /// the last part it received was empty), twice, so the second message also reads the
    /// first's stream state.
    #[test]
    fn fragments_ending_with_an_empty_one() {
        for no_context_takeover in [false, true] {
            let n = Negotiated::symmetric(15, no_context_takeover);
            let mut deflater = Deflater::new(&n, 6);
            let mut inflater = Inflater::new(&n);
            for seed in 0..3 {
                let message = if seed == 1 {
                    random(10_000, 7)
                } else {
                    repetitive(10_000)
                };
                let mut compressed = Vec::new();
                for part in message.chunks(4096) {
                    deflater.compress_part(part, false, &mut compressed);
                }
                deflater.compress_part(&[], true, &mut compressed);
                let inflated = inflate_all(&mut inflater, &compressed, 1000);
                assert!(inflated == message, "message {seed}, {no_context_takeover}");
            }
        }
    }

    #[test]
    fn pieces_of_one_byte() {
        let messages = [repetitive(5000), random(3000, 1), repetitive(5000)];
        for bits in WINDOW_BITS {
            for no_context_takeover in [false, true] {
                round_trip(&messages, bits, no_context_takeover, 1);
            }
        }
    }

    /// Every level compresses and the stored-only level 0 too.
    #[test]
    fn levels() {
        let messages = [repetitive(100_000), random(10_000, 2)];
        for level in 0..=9 {
            let n = Negotiated::symmetric(15, false);
            let mut deflater = Deflater::new(&n, level);
            let mut inflater = Inflater::new(&n);
            for message in &messages {
                let mut compressed = Vec::new();
                deflater.compress(message, &mut compressed);
                assert_eq!(&inflate_all(&mut inflater, &compressed, 1000), message);
            }
        }
    }

    #[test]
    fn window_8_streams_fit_a_256_byte_window() {
        // Repeats at distances from 1 to 600 bytes tempt the compressor beyond 256.
        let mut rng = Rng::new(8);
        let mut data = Vec::new();
        while data.len() < 200_000 {
            let distance = rng.range(1..600);
            let len = rng.range(3..300);
            if data.len() < distance {
                data.extend(rng.bytes(distance));
            }
            for _ in 0..len {
                data.push(data[data.len() - distance]);
            }
            data.push(rng.byte());
        }
        let compress_all = |bits: u8, level: u32| {
            let mut deflater = Deflater::new(&Negotiated::symmetric(bits, false), level);
            let mut stream = Vec::new();
            for message in data.chunks(7000) {
                deflater.compress(message, &mut stream);
                stream.extend(TAIL);
            }
            inflate(&stream).expect("a valid DEFLATE stream")
        };
        for level in 1..=9 {
            let decoded = compress_all(8, level);
            assert!(decoded.data == data, "level {level}");
            let max_distance = decoded.max_distance;
            assert!(max_distance <= 256, "level {level}: {max_distance}");
        }
        // The check is real: a 15-bit window's stream reaches further.
        let decoded = compress_all(15, 6);
        assert!(decoded.data == data);
        assert!(decoded.max_distance > 256);
    }

    #[test]
    fn bomb_is_too_big() {
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false), 9);
        let zeros = vec![0u8; 100 << 20];
        let mut bomb = Vec::new();
        deflater.compress(&zeros, &mut bomb);
        assert!(bomb.len() < 200 << 10);
        const CAP: u64 = 1 << 20;
        for piece in [bomb.len(), 1000] {
            let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
            let mut out = Vec::new();
            let mut result = Ok(());
            for chunk in bomb.chunks(piece) {
                result = inflater.decompress(chunk, &mut out, CAP);
                assert!(out.len() as u64 <= CAP + 1);
                assert!(out.capacity() as u64 <= CAP + 1);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(result, Err(InflateError::TooBig));
        }
        // The limit also holds for what the tail flushes out.
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = Vec::new();
        let mut message = Vec::new();
        Deflater::new(&Negotiated::symmetric(15, false), 9).compress(&zeros[..1000], &mut message);
        inflater.decompress(&message, &mut out, 1000).unwrap();
        inflater.finish_message(&mut out, 1000).unwrap();
        assert_eq!(out.len(), 1000);
        out.clear();
        inflater.decompress(&message, &mut out, 999).unwrap_err();
    }

    #[test]
    fn exact_limits() {
        let message = repetitive(100_000);
        let mut compressed = Vec::new();
        Deflater::new(&Negotiated::symmetric(15, true), 6).compress(&message, &mut compressed);
        for (limit, ok) in [(100_000, true), (99_999, false), (0, false)] {
            let mut inflater = Inflater::new(&Negotiated::symmetric(15, true));
            let mut out = Vec::new();
            let result = inflater
                .decompress(&compressed, &mut out, limit)
                .and_then(|()| inflater.finish_message(&mut out, limit));
            assert_eq!(result.is_ok(), ok, "limit {limit}");
            assert!(out.len() as u64 <= limit + 1);
        }
    }

    #[test]
    fn too_big_before_corrupt_however_the_input_is_split() {
        // A stored block of "ab", then a block of the reserved type 11: two bytes come out
        // before the fault, over a limit of one.
        let message = [0x00, 0x02, 0x00, 0xfd, 0xff, b'a', b'b', 0x07];
        let whole = Inflater::new(&Negotiated::symmetric(15, false)).decompress(
            &message,
            &mut Vec::new(),
            1,
        );
        assert_eq!(whole, Err(InflateError::TooBig));
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = Vec::new();
        let bytewise = message
            .chunks(1)
            .try_for_each(|b| inflater.decompress(b, &mut out, 1));
        assert_eq!(bytewise, Err(InflateError::TooBig));
    }

    #[test]
    fn corrupt_data() {
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let mut out = Vec::new();
        // BTYPE 11 is reserved.
        assert_eq!(
            inflater.decompress(&[0xff], &mut out, 1000),
            Err(InflateError::Corrupt)
        );
        // A stored block whose LEN and NLEN disagree.
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, false));
        let result = inflater
            .decompress(&[0x00, 0x05, 0x00, 0x00, 0x00], &mut out, 1000)
            .and_then(|()| inflater.finish_message(&mut out, 1000));
        assert_eq!(result, Err(InflateError::Corrupt));
        // A distance reaching before the start of the stream.
        let mut inflater = Inflater::new(&Negotiated::symmetric(15, true));
        let mut compressed = Vec::new();
        let mut deflater = Deflater::new(&Negotiated::symmetric(15, false), 6);
        deflater.compress(b"Hello", &mut compressed);
        compressed.clear();
        deflater.compress(b"Hello", &mut compressed);
        let result = inflater
            .decompress(&compressed, &mut out, 1000)
            .and_then(|()| inflater.finish_message(&mut out, 1000));
        assert_eq!(result, Err(InflateError::Corrupt));
        let e: ProtocolError = InflateError::Corrupt.into();
        assert_eq!(e.close_code(), 1002);
        let e: ProtocolError = InflateError::TooBig.into();
        assert_eq!(e.close_code(), 1009);
    }
}
