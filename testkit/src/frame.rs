//! WebSocket frames (RFC 6455 §5.2) as a test server writes them, unmasked, and reads the
//! client's, masked. Written from the RFC, not from wsc's parser, which the tests check.

/// A frame the client sent, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// RSV1: the first frame of a compressed message (RFC 7692).
    pub rsv1: bool,
    /// RSV2 and RSV3, which no extension wsc negotiates uses.
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The first byte: FIN, RSV1-3 and the opcode.
    pub fn first_byte(&self) -> u8 {
        u8::from(self.fin) << 7
            | u8::from(self.rsv1) << 6
            | u8::from(self.rsv2) << 5
            | u8::from(self.rsv3) << 4
            | self.opcode
    }

    /// The status code of a Close frame, `None` for an empty body or another opcode.
    pub fn close_code(&self) -> Option<u16> {
        match (self.opcode, &self.payload[..]) {
            (0x8, [hi, lo, ..]) => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }
}

/// Parses the frame at the start of `buf`, unmasking its payload: the frame and the bytes it
/// took, or `None` while it is incomplete.
///
/// # Panics
/// On a frame no endpoint may send: a reserved opcode ("%x3-7", "%xB-F"), a control frame that
/// is fragmented or longer than 125 bytes ("All control frames MUST have a payload length of
/// 125 bytes or less and MUST NOT be fragmented"), a 64-bit length with "the most significant
/// bit" set, or a length not in "the minimal number of bytes".
pub fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    let [b0, b1, ..] = *buf else { return None };
    let opcode = b0 & 0x0f;
    assert!(
        matches!(opcode, 0..=2 | 8..=10),
        "reserved opcode {opcode:#x}"
    );
    let (len, mut at) = match b1 & 0x7f {
        126 => {
            let len = u16::from_be_bytes(buf.get(2..4)?.try_into().unwrap());
            assert!(len >= 126, "16-bit length {len}: not minimal");
            (u64::from(len), 4)
        }
        127 => {
            let len = u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap());
            assert!(len >> 63 == 0, "64-bit length with the top bit set");
            assert!(len > 0xffff, "64-bit length {len}: not minimal");
            (len, 10)
        }
        n => (u64::from(n), 2),
    };
    let fin = b0 & 0x80 != 0;
    if opcode & 0x8 != 0 {
        assert!(fin && len <= 125, "control frame: fin {fin}, {len} bytes");
    }
    let masked = b1 & 0x80 != 0;
    let key = if masked {
        let key: [u8; 4] = buf.get(at..at + 4)?.try_into().unwrap();
        at += 4;
        key
    } else {
        [0; 4]
    };
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let mut payload = buf.get(at..end)?.to_vec();
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    let frame = Frame {
        fin,
        rsv1: b0 & 0x40 != 0,
        rsv2: b0 & 0x20 != 0,
        rsv3: b0 & 0x10 != 0,
        opcode,
        masked,
        payload,
    };
    Some((frame, end))
}

/// Every frame in `bytes`, which must end with a whole frame.
pub fn parse_all(mut bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (frame, n) = parse(bytes).expect("a whole frame");
        frames.push(frame);
        bytes = &bytes[n..];
    }
    frames
}

/// An unmasked frame as a server sends it; `b0` is FIN, RSV and opcode. The length takes the
/// minimal number of bytes.
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(b0, payload.len());
    out.extend_from_slice(payload);
    out
}

/// The header of an unmasked frame of `len` payload bytes, the length in the minimal number
/// of bytes (for a payload written separately).
pub fn header(b0: u8, len: usize) -> Vec<u8> {
    let mut out = vec![b0];
    match len {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out
}

/// A Close frame from the server with `code` and `reason`.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(0x88, &[&code.to_be_bytes()[..], reason].concat())
}

/// A header announcing a 64-bit payload length (and no payload).
pub fn header64(b0: u8, len: u64) -> Vec<u8> {
    [&[b0, 127][..], &len.to_be_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 §5.7's examples.
    #[test]
    fn rfc_6455_examples() {
        assert_eq!(frame(0x81, b"Hello"), b"\x81\x05Hello");
        assert_eq!(close_frame(1000, b""), b"\x88\x02\x03\xe8");
        // "A single-frame masked text message".
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (f, n) = parse(&masked).unwrap();
        assert_eq!(n, masked.len());
        assert!(f.fin && f.masked && !f.rsv1 && f.opcode == 1);
        assert_eq!(f.payload, b"Hello");
        assert_eq!(f.first_byte(), 0x81);
        // "256 bytes binary message in a single unmasked frame" and "64KiB binary message".
        assert_eq!(frame(0x82, &[0; 256])[..4], [0x82, 0x7e, 0x01, 0x00]);
        let big = frame(0x82, &[0; 65536]);
        assert_eq!(big[..10], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(parse(&big).unwrap().1, big.len());
    }

    #[test]
    fn incomplete_frames_wait() {
        let bytes = frame(0x82, &[7; 300]);
        for cut in 0..bytes.len() {
            assert_eq!(parse(&bytes[..cut]), None, "{cut}");
        }
        let [a, b] = [frame(0x1, b"a"), close_frame(1001, b"x")];
        let frames = parse_all(&[a, b].concat());
        assert_eq!(frames.len(), 2);
        assert_eq!((frames[0].fin, frames[0].opcode), (false, 1));
        assert_eq!(frames[1].close_code(), Some(1001));
        assert_eq!(frames[1].first_byte(), 0x88);
        assert_eq!(header64(0x82, 5), [0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    #[should_panic(expected = "not minimal")]
    fn non_minimal_lengths_are_refused() {
        parse(&[0x82, 126, 0, 5, 1, 2, 3, 4, 5]);
    }

    #[test]
    #[should_panic(expected = "control frame")]
    fn long_control_frames_are_refused() {
        parse(&frame(0x89, &[0; 126]));
    }
}
