//! Invariant checks for the fuzz targets in `fuzz_targets/`, one module per target.
//!
//! Each `check(data)` panics when wsc breaks a rule it promises, for any input. The fuzz targets
//! call them under libFuzzer; `tests/replay.rs` calls them on the committed corpus and on every
//! input a run ever found (`regressions/`), so a finding stays fixed.

pub mod client;
pub mod deflate;
pub mod handshake;
pub mod proxy_connect;
pub mod receiver;
pub mod socks_negotiation;

/// Reads the fuzzer's bytes as settings first and payload after.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// The next byte, 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Whether `block` ends with the empty line that closes an HTTP/1.x header block (CRLF CRLF,
/// or bare LFs, which the parser tolerates).
pub fn ends_header_block(block: &[u8]) -> bool {
    block.ends_with(b"\n\n") || block.ends_with(b"\n\r\n")
}
