//! Incremental UTF-8 validation of text messages as their bytes arrive.
//!
//! RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
//! byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." Validating each piece as it arrives lets a connection fail at the first
//! impossible byte, even in the middle of a frame, instead of after buffering the whole message.

use simdutf8::compat::from_utf8;

/// Validates a text message fed in pieces of any size.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// The start of a code point cut off at the end of the last piece (at most 3 bytes).
    partial: [u8; 4],
    partial_len: u8,
}

/// The bytes can never become valid UTF-8, whatever follows.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// Checks the next piece. Fails as soon as the bytes seen so far cannot start valid UTF-8.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            data = self.complete_partial(data)?;
            if self.partial_len > 0 {
                return Ok(()); // the piece was too short to finish the code point
            }
        }
        // A code point cut by the end of the piece is set aside first, so the fast check sees
        // whole code points and is the only pass over the bulk of the bytes.
        let (body, tail) = data.split_at(data.len() - incomplete_tail(data));
        if simdutf8::basic::from_utf8(body).is_err() {
            return Err(InvalidUtf8);
        }
        match from_utf8(tail) {
            Ok(_) => Ok(()),
            // Impossible already (e.g. F5, or E0 80): fail now, not at the next piece.
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(_) => {
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Checks that the message does not end inside a code point, and resets for the next one.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Forgets any partial code point (a new message starts).
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// Adds bytes to the pending code point until it is complete; returns what remains of `data`.
    fn complete_partial<'a>(&mut self, mut data: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        while let Some((&byte, rest)) = data.split_first() {
            self.partial[self.partial_len as usize] = byte;
            self.partial_len += 1;
            data = rest;
            match from_utf8(&self.partial[..self.partial_len as usize]) {
                Ok(_) => {
                    self.partial_len = 0;
                    break;
                }
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) => {} // still a valid prefix: take another byte
            }
        }
        Ok(data)
    }
}

/// How many bytes at the end of `data` start a code point that needs more bytes than are
/// there (0 to 3).
fn incomplete_tail(data: &[u8]) -> usize {
    for back in 1..=data.len().min(3) {
        let byte = data[data.len() - back];
        if byte & 0xC0 != 0x80 {
            // The last byte that is not a continuation byte: how long its sequence is.
            let needed = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if needed > back { back } else { 0 };
        }
    }
    0
}

/// Validates a complete text (a whole message or a close reason).
pub fn is_valid(data: &[u8]) -> bool {
    simdutf8::basic::from_utf8(data).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_in_pieces(data: &[u8], piece: usize) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::default();
        for chunk in data.chunks(piece.max(1)) {
            v.feed(chunk)?;
        }
        v.finish()
    }

    #[test]
    fn valid_text_passes_in_any_split() {
        let text = "a\u{e9}\u{20ac}\u{1f600}κόσμε".as_bytes();
        for piece in 1..=text.len() {
            assert_eq!(feed_in_pieces(text, piece), Ok(()), "piece {piece}");
        }
    }

    #[test]
    fn fails_at_the_first_impossible_byte() {
        // Autobahn 6.4.1: "κόσμε" then 0xF4 0x90 (beyond U+10FFFF) — invalid at the second byte.
        let mut v = Utf8Validator::default();
        v.feed("κόσμε".as_bytes()).unwrap();
        v.feed(&[0xf4]).unwrap();
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        // Surrogates (U+D800) fail at their second byte.
        let mut v = Utf8Validator::default();
        v.feed(&[0xed]).unwrap();
        assert_eq!(v.feed(&[0xa0]), Err(InvalidUtf8));
        // An impossible lead byte fails at once.
        assert_eq!(
            Utf8Validator::default().feed(&[b'a', 0xff]),
            Err(InvalidUtf8)
        );
    }

    #[test]
    fn a_message_ending_inside_a_code_point_is_invalid() {
        let mut v = Utf8Validator::default();
        v.feed(&[0xe2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // finish() resets: the next message starts clean.
        v.feed(b"ok").unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn every_split_of_valid_and_invalid_text_agrees_with_whole_validation() {
        let samples: [&[u8]; 6] = [
            "a\u{e9}\u{20ac}\u{1f600}".as_bytes(),
            b"\xf0\x9f\x98",     // cut 4-byte sequence
            b"ab\xe2\x82",       // cut 3-byte sequence
            b"\xf4\x90\x80\x80", // beyond U+10FFFF
            b"x\xc3\x28y",       // bad continuation
            b"\xed\xa0\x80",     // surrogate
        ];
        for sample in samples {
            let whole = std::str::from_utf8(sample).is_ok();
            for cut in 0..=sample.len() {
                let mut v = Utf8Validator::default();
                let result = v
                    .feed(&sample[..cut])
                    .and_then(|_| v.feed(&sample[cut..]))
                    .and_then(|_| v.finish());
                assert_eq!(result.is_ok(), whole, "{sample:x?} cut at {cut}");
            }
        }
    }

    #[test]
    fn overlong_encodings_are_invalid() {
        assert_eq!(feed_in_pieces(&[0xc0, 0xaf], 1), Err(InvalidUtf8));
        assert_eq!(feed_in_pieces(&[0xe0, 0x80, 0xaf], 1), Err(InvalidUtf8));
        assert!(!is_valid(&[0xf8, 0x88, 0x80, 0x80, 0x80]));
    }
}
