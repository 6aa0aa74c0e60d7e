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
        // The fast check first; the detailed one only to find where it went wrong.
        if simdutf8::basic::from_utf8(data).is_ok() {
            return Ok(());
        }
        match from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // A prefix of a valid code point: keep it for the next piece.
                let rest = &data[e.valid_up_to()..];
                self.partial[..rest.len()].copy_from_slice(rest);
                self.partial_len = rest.len() as u8;
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
    fn overlong_encodings_are_invalid() {
        assert_eq!(feed_in_pieces(&[0xc0, 0xaf], 1), Err(InvalidUtf8));
        assert_eq!(feed_in_pieces(&[0xe0, 0x80, 0xaf], 1), Err(InvalidUtf8));
        assert!(!is_valid(&[0xf8, 0x88, 0x80, 0x80, 0x80]));
    }
}
