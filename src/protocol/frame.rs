//! Frame headers (RFC 6455 §5.2): parsing what the server sends, writing what we send.

use super::{ProtocolError, ProtocolErrorKind};

/// The longest possible header: 2 bytes, an 8-byte length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// Frame opcodes. "%x3-7 are reserved for further non-control frames", "%xB-F are reserved for
/// further control frames": those never get here, the parser rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

impl OpCode {
    /// "Control frames are identified by opcodes where the most significant bit of the opcode is 1."
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }

    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }
}

impl FrameHeader {
    /// Writes the header to a connection's log ("send" or "recv" frame: opcode, fin, rsv1,
    /// length, masked), out of line: the data path carries only the level check before it.
    #[cold]
    #[inline(never)]
    pub fn trace(&self, log: &crate::log::Scope, direction: &str) {
        let masked = if self.mask.is_some() {
            "masked"
        } else {
            "unmasked"
        };
        log!(
            log,
            Trace,
            "{direction} frame {:?} fin={} rsv1={} len={} {masked}",
            self.opcode,
            self.fin as u8,
            self.rsv1 as u8,
            self.payload_len
        );
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub rsv1: bool,
    /// RSV2 or RSV3 set: no extension we negotiate gives them a meaning.
    pub rsv23: bool,
    pub opcode: OpCode,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `buf`: `Ok(None)` when more bytes are needed, else the
    /// header and its length in bytes. Only checks what the header alone says; whether the frame
    /// fits the connection's state is the receiver's business.
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        let opcode = OpCode::from_bits(b0 & 0x0f).ok_or(ProtocolError::new(
            ProtocolErrorKind::Protocol,
            "reserved opcode",
        ))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut len) = match b1 & 0x7f {
            126 => match buf.get(2..4) {
                Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let n = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                    // "the most significant bit MUST be 0"
                    if n >> 63 != 0 {
                        return Err(ProtocolError::new(
                            ProtocolErrorKind::Protocol,
                            "64-bit payload length with the top bit set",
                        ));
                    }
                    (n, 10)
                }
                None => return Ok(None),
            },
            n => (n as u64, 2),
        };
        let mask = if masked {
            let Some(key) = buf.get(len..len + 4) else {
                return Ok(None);
            };
            len += 4;
            Some(key.try_into().expect("4 bytes"))
        } else {
            None
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv23: b0 & 0x30 != 0,
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, len)))
    }

    /// Writes the header into `out` and returns its length, using "the minimal number of bytes"
    /// for the length as §5.2 requires.
    pub fn write(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv23 as u8) << 4
            | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opcode: OpCode, len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv23: false,
            opcode,
            mask,
            payload_len: len,
        }
    }

    #[test]
    fn rfc_6455_examples_parse() {
        // §5.7 "A single-frame unmasked text message": 0x81 0x05 "Hello".
        let (h, n) = FrameHeader::parse(&[0x81, 0x05, b'H']).unwrap().unwrap();
        assert_eq!((h, n), (header(OpCode::Text, 5, None), 2));
        // "A fragmented unmasked text message": 0x01 0x03 "Hel", 0x80 0x02 "lo".
        let (h, _) = FrameHeader::parse(&[0x01, 0x03]).unwrap().unwrap();
        assert!(!h.fin && h.opcode == OpCode::Text);
        let (h, _) = FrameHeader::parse(&[0x80, 0x02]).unwrap().unwrap();
        assert!(h.fin && h.opcode == OpCode::Continuation);
        // "256 bytes binary message in a single unmasked frame": 0x82 0x7E 0x0100.
        let (h, n) = FrameHeader::parse(&[0x82, 0x7e, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n), (256, 4));
        // "64KiB binary message in a single unmasked frame": 0x82 0x7F 0x0000000000010000.
        let bytes = [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        let (h, n) = FrameHeader::parse(&bytes).unwrap().unwrap();
        assert_eq!((h.payload_len, n), (65536, 10));
        // Masked "Hello": 0x81 0x85 0x37 0xfa 0x21 0x3d.
        let (h, n) = FrameHeader::parse(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
            .unwrap()
            .unwrap();
        assert_eq!((h.mask, n), (Some([0x37, 0xfa, 0x21, 0x3d]), 6));
    }

    #[test]
    fn incomplete_headers_ask_for_more() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..cut]).unwrap(), None, "cut {cut}");
        }
        assert!(FrameHeader::parse(&full).unwrap().is_some());
    }

    #[test]
    fn rejects_reserved_opcodes_and_huge_lengths() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            let err = FrameHeader::parse(&[0x80 | op, 0]).unwrap_err();
            assert_eq!(err.kind, ProtocolErrorKind::Protocol);
        }
        let top_bit = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert!(FrameHeader::parse(&top_bit).is_err());
    }

    #[test]
    fn write_round_trips_with_minimal_lengths() {
        for (len, header_len) in [(0u64, 6), (125, 6), (126, 8), (65535, 8), (65536, 14)] {
            let h = header(OpCode::Binary, len, Some([9, 8, 7, 6]));
            let mut out = [0; MAX_HEADER_LEN];
            let n = h.write(&mut out);
            assert_eq!(n, header_len);
            assert_eq!(FrameHeader::parse(&out[..n]).unwrap(), Some((h, n)));
        }
    }
}
