//! A reference DEFLATE decoder (RFC 1951), written from the RFC and after zlib's `puff.c`, not
//! from zlib: it checks what wsc's compressor (zlib underneath) emits with other code, and it
//! reports the longest back-reference distance, which no zlib inflater tells (zlib-rs inflates
//! with a 32 KiB history whatever window it is given, so it cannot tell whether a stream keeps
//! to a smaller negotiated window).
//!
//! Raw DEFLATE only: no zlib or gzip header. Slow and simple, for tests.

use std::fmt;

/// What permessage-deflate strips from the end of each compressed message and puts back before
/// inflating (RFC 7692 §7.2.1, §7.2.2): "0x00 0x00 0xff 0xff", the end of the empty stored
/// block a sync flush ends with.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A decoded stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflated {
    pub data: Vec<u8>,
    /// The longest back-reference distance used, 0 for none: the window the stream needs.
    pub max_distance: usize,
}

/// Why a stream did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error(message.into()))
}

/// Decodes `data`: blocks up to one with BFINAL set (what follows it is ignored) or up to the
/// end of the input, which must then end a block (less than a byte of padding may follow). A
/// run of sync-flushed messages, each with its [`TAIL`] put back, decodes as one stream, so
/// distances reaching into earlier messages (context takeover) are followed.
pub fn inflate(data: &[u8]) -> Result<Inflated, Error> {
    let mut d = Decoder {
        data,
        bit: 0,
        out: Vec::new(),
        max_distance: 0,
    };
    while d.bit + 8 <= d.data.len() * 8 {
        if d.block()? {
            break;
        }
    }
    Ok(Inflated {
        data: d.out,
        max_distance: d.max_distance,
    })
}

/// Decodes one permessage-deflate message's payload (its tail stripped), as the first message
/// of a stream: the message and the longest distance in it.
pub fn inflate_message(payload: &[u8]) -> Result<Inflated, Error> {
    inflate(&[payload, &TAIL].concat())
}

struct Decoder<'a> {
    data: &'a [u8],
    /// The next bit to read, counted from the start of `data`.
    bit: usize,
    out: Vec<u8>,
    max_distance: usize,
}

/// A canonical Huffman code (§3.2.2): how many codes there are of each length, and the symbols
/// ordered by code length, then by value, which is the order of their codes.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut counts = [0u16; 16];
        lengths.iter().for_each(|&l| counts[usize::from(l)] += 1);
        counts[0] = 0;
        let mut symbols: Vec<u16> = (0..lengths.len() as u16).collect();
        symbols.retain(|&s| lengths[usize::from(s)] != 0);
        symbols.sort_by_key(|&s| lengths[usize::from(s)]); // stable: by value within a length
        Huffman { counts, symbols }
    }
}

/// §3.2.5: base lengths and extra bits of length symbols 257..285, base distances and extra
/// bits of distance symbols 0..29.
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// §3.2.7: the order in which the code length code lengths come.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

impl Decoder<'_> {
    /// §3.1.1: "Data elements are packed into bytes in order of increasing bit number within
    /// the byte, i.e., starting with the least-significant bit of the byte."
    fn bit(&mut self) -> Result<u32, Error> {
        let Some(&byte) = self.data.get(self.bit / 8) else {
            return error("the stream ends inside a block");
        };
        let bit = u32::from(byte >> (self.bit % 8) & 1);
        self.bit += 1;
        Ok(bit)
    }

    /// "Data elements other than Huffman codes are packed starting with the least-significant
    /// bit of the data element."
    fn bits(&mut self, n: u8) -> Result<u32, Error> {
        (0..n).try_fold(0, |v, i| Ok(v | self.bit()? << i))
    }

    /// "Huffman codes are packed starting with the most-significant bit of the code": read bit
    /// by bit, comparing with the first code of each length (puff.c's `decode`).
    fn symbol(&mut self, h: &Huffman) -> Result<usize, Error> {
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for len in 1..16 {
            code |= self.bit()?;
            let count = u32::from(h.counts[len]);
            if code < first + count {
                return Ok(usize::from(h.symbols[(index + code - first) as usize]));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        error("a code that is not in the Huffman table")
    }

    /// One block (§3.2.3); true if it had BFINAL set.
    fn block(&mut self) -> Result<bool, Error> {
        let last = self.bit()? == 1;
        match self.bits(2)? {
            0 => self.stored()?,
            1 => {
                // §3.2.6: the fixed literal/length code has lengths 8 (0-143), 9 (144-255),
                // 7 (256-279), 8 (280-287); the fixed distance code, 5 bits for 0-31.
                let mut lengths = [8u8; 288];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                self.codes(&Huffman::new(&lengths), &Huffman::new(&[5; 30]))?;
            }
            2 => {
                let (literals, distances) = self.dynamic_codes()?;
                self.codes(&literals, &distances)?;
            }
            _ => return error("reserved block type 11"),
        }
        Ok(last)
    }

    /// §3.2.4: "skip any remaining bits in current partially processed byte; read LEN and NLEN;
    /// copy LEN bytes of data to output".
    fn stored(&mut self) -> Result<(), Error> {
        self.bit = self.bit.div_ceil(8) * 8;
        let len = self.bits(16)?;
        let nlen = self.bits(16)?;
        if nlen != !len & 0xffff {
            return error(format!("stored block: LEN {len:#x}, NLEN {nlen:#x}"));
        }
        let start = self.bit / 8;
        let Some(bytes) = self.data.get(start..start + len as usize) else {
            return error("the stream ends inside a stored block");
        };
        self.out.extend_from_slice(bytes);
        self.bit += 8 * len as usize;
        Ok(())
    }

    /// §3.2.7: the literal/length and distance codes of a dynamic block.
    fn dynamic_codes(&mut self) -> Result<(Huffman, Huffman), Error> {
        let hlit = self.bits(5)? as usize + 257;
        let hdist = self.bits(5)? as usize + 1;
        let hclen = self.bits(4)? as usize + 4;
        let mut code_lengths = [0u8; 19];
        for &i in &CODE_LENGTH_ORDER[..hclen] {
            code_lengths[i] = self.bits(3)? as u8;
        }
        let code = Huffman::new(&code_lengths);
        // "the code length repeat codes can cross from HLIT + 257 to the HDIST + 1 code lengths"
        let mut lengths: Vec<u8> = Vec::with_capacity(hlit + hdist);
        while lengths.len() < hlit + hdist {
            let (length, times) = match self.symbol(&code)? {
                len @ 0..=15 => (len as u8, 1),
                16 => {
                    let Some(&previous) = lengths.last() else {
                        return error("code length 16 with no previous length");
                    };
                    (previous, 3 + self.bits(2)?)
                }
                17 => (0, 3 + self.bits(3)?),
                _ => (0, 11 + self.bits(7)?),
            };
            lengths.extend(std::iter::repeat_n(length, times as usize));
        }
        if lengths.len() > hlit + hdist {
            return error("code lengths repeated past HLIT + HDIST");
        }
        if lengths[256] == 0 {
            return error("no code for end-of-block");
        }
        let (literals, distances) = lengths.split_at(hlit);
        Ok((Huffman::new(literals), Huffman::new(distances)))
    }

    /// §3.2.5: literals, <length, backward distance> pairs, and end-of-block (256).
    fn codes(&mut self, literals: &Huffman, distances: &Huffman) -> Result<(), Error> {
        loop {
            let length = match self.symbol(literals)? {
                byte @ 0..=255 => {
                    self.out.push(byte as u8);
                    continue;
                }
                256 => return Ok(()),
                symbol @ 257..=285 => {
                    let i = symbol - 257;
                    usize::from(LENGTH_BASE[i]) + self.bits(LENGTH_EXTRA[i])? as usize
                }
                symbol => return error(format!("length symbol {symbol}")),
            };
            let i = self.symbol(distances)?;
            if i >= 30 {
                return error(format!("distance symbol {i}"));
            }
            let distance = usize::from(DIST_BASE[i]) + self.bits(DIST_EXTRA[i])? as usize;
            if distance > self.out.len() {
                return error(format!(
                    "distance {distance} reaches before the start ({} bytes decoded)",
                    self.out.len()
                ));
            }
            self.max_distance = self.max_distance.max(distance);
            // The copy may overlap what it writes: "a distance of 1 ... repeat the last byte".
            for _ in 0..length {
                self.out.push(self.out[self.out.len() - distance]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7692 §7.2.3.1: "Hello" compressed.
    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    /// §7.2.3.2: the second "Hello" with context takeover, a reference 5 back.
    const HELLO_AGAIN: [u8; 5] = [0xf2, 0x00, 0x11, 0x00, 0x00];
    /// §7.2.3.3: "Hello" in a DEFLATE block with no compression.
    const STORED: [u8; 11] = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];

    fn decoded(data: &[u8], max_distance: usize) -> Inflated {
        Inflated {
            data: data.to_vec(),
            max_distance,
        }
    }

    #[test]
    fn rfc_7692_samples() {
        assert_eq!(inflate_message(&HELLO), Ok(decoded(b"Hello", 0)));
        assert_eq!(inflate_message(&STORED), Ok(decoded(b"Hello", 0)));
        // §7.2.3.4: "Hello" in a block with BFINAL set, then the 0x00 of nothing.
        let last = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_message(&last), Ok(decoded(b"Hello", 0)));
        // §7.2.3.5: two DEFLATE blocks in one message.
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        assert_eq!(inflate_message(&two), Ok(decoded(b"Hello", 0)));
    }

    /// Messages with their tails put back make one stream: the second refers into the first.
    #[test]
    fn a_run_of_messages_with_context_takeover() {
        let stream = [&HELLO[..], &TAIL, &HELLO_AGAIN, &TAIL, &STORED, &TAIL].concat();
        assert_eq!(inflate(&stream), Ok(decoded(b"HelloHelloHello", 5)));
        // Alone, the second message refers to nothing.
        let alone = inflate_message(&HELLO_AGAIN).unwrap_err();
        assert!(alone.0.contains("before the start"), "{alone}");
    }

    /// A dynamic block (BTYPE 10) from zlib (Python's `zlib.compressobj(9, zlib.DEFLATED, -15)`,
    /// finished): 100 letters of "acgt" from `Rng::new(1)`, then their first 40 again.
    #[test]
    fn a_dynamic_block_from_zlib() {
        let mut rng = crate::Rng::new(1);
        let mut data: Vec<u8> = (0..100).map(|_| b"acgt"[rng.below(4)]).collect();
        data.extend_from_within(..40);
        let stream = [
            0x8d, 0x8d, 0x51, 0x0a, 0x00, 0x51, 0x08, 0x02, 0xcf, 0x2a, 0x7e, 0x78, 0x81, 0xb9,
            0x3f, 0x6b, 0xc2, 0xfb, 0xdf, 0x82, 0xb2, 0xc6, 0xc8, 0x04, 0xcb, 0x56, 0x1c, 0x45,
            0xb0, 0xe6, 0x13, 0x50, 0x59, 0x75, 0x54, 0xe9, 0x54, 0x53, 0x38, 0x58, 0x4a, 0x75,
            0x11, 0x3b, 0x59, 0xce, 0xd1, 0x58, 0x8d, 0xf4, 0xcc, 0xb9, 0xd5, 0xaf, 0x1f, 0x1f,
        ];
        assert_eq!(stream[0] >> 1 & 3, 2, "BTYPE 10");
        let got = inflate(&stream).unwrap();
        assert_eq!(got.data, data);
        assert_eq!(got.max_distance, 100);
    }

    #[test]
    fn invalid_streams_are_errors() {
        let cases: [(&[u8], &str); 5] = [
            (&[0xff], "reserved block type"),
            (&[0x00, 0x05, 0x00, 0x00, 0x00, b'a'], "LEN"),
            (
                &[0x00, 0x05, 0x00, 0xfa, 0xff, b'H'],
                "inside a stored block",
            ),
            (&HELLO[..3], "ends inside a block"),
            // A fixed block that starts with a reference 1 back (length 3).
            (&[0x03, 0x02, 0x00], "before the start"),
        ];
        for (data, needle) in cases {
            let e = inflate(data).unwrap_err();
            assert!(e.0.contains(needle), "{data:x?}: {e}");
        }
    }
}
