//! The proxy's answer to CONNECT: `parse_connect_response`.
//!
//! Input: one byte for the size limit, one byte choosing a cut point, then the answer.
//!
//! Checked:
//! - a tunnel (`Some(len)`) only for a complete 2xx header: `len` within the input, ending the
//!   header block, after an `HTTP/1.x 2..` status line (empty lines before it tolerated); the
//!   bytes after it change nothing;
//! - never waiting (`None`) once the input is over the limit;
//! - prefix-stable decisions: a prefix within the limit that opens the tunnel or fails decides
//!   the same for the whole input.

use wsc::proxy::parse_connect_response;

use crate::{ends_header_block, Input};

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let max_bytes = 8 * input.byte() as usize;
    let cut = input.u16() as usize;
    let buf = input.rest();
    let outcome = |bytes: &[u8]| match parse_connect_response(bytes, max_bytes) {
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    };
    let result = outcome(buf);
    match result {
        Ok(Some(len)) => {
            assert!(len <= buf.len(), "header of {len} bytes in {}", buf.len());
            assert!(
                len <= max_bytes,
                "a header of {len} bytes past the limit {max_bytes}"
            );
            let header = &buf[..len];
            assert!(ends_header_block(header), "{len} is not a header's end");
            // Empty lines before the status line are tolerated.
            let status = header.trim_ascii_start();
            assert!(
                status.starts_with(b"HTTP/1."),
                "a tunnel without an HTTP status line"
            );
            assert_eq!(status.get(9), Some(&b'2'), "a tunnel on a non-2xx status");
            assert_eq!(outcome(header), result, "bytes after the header changed it");
        }
        Ok(None) => assert!(
            buf.len() <= max_bytes,
            "still waiting past {max_bytes} bytes"
        ),
        Err(_) => {}
    }
    // However the bytes arrive, the verdict is the same: a prefix is still waiting, or
    // already says what the whole says.
    let cut = cut % (buf.len() + 1);
    match outcome(&buf[..cut]) {
        Ok(None) => {}
        prefix @ Ok(Some(_)) => assert_eq!(result, prefix, "cut at {cut}"),
        Err(e) => assert!(
            result.is_err(),
            "a prefix (cut {cut}) failed ({e}), the whole did not"
        ),
    }
}
