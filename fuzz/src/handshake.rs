//! The server's handshake response: `parse_response` with an expectation and small limits.
//!
//! Input: two bytes of limits, one byte choosing a cut point, then the response bytes.
//!
//! Checked:
//! - the outcome depends only on the first `max_bytes` bytes and on whether more came;
//! - `Complete`: `consumed` is at most the input and the limit, ends the header block, the
//!   status is 101, the subprotocol is one that was offered, no more fields than allowed, and
//!   the bytes after `consumed` change nothing;
//! - `Incomplete` only while the input is within the limit;
//! - decisions are prefix-stable: when a prefix of the input is complete or fails, the whole
//!   input is complete with the same result, or fails too (an incomplete response stays
//!   incomplete or fails as bytes arrive; it never turns into a different success).

use wsc::protocol::handshake::{parse_response, Expectation, Limits, ParseStatus};

use crate::{ends_header_block, Input};

/// RFC 6455's example key; its accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SUBPROTOCOLS: &[&str] = &["chat", "superchat"];
const EXTENSIONS: &[&str] = &["permessage-deflate"];

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = Limits {
        max_bytes: 1 + 8 * input.byte() as usize,
        max_headers: (input.byte() % 20) as usize,
    };
    let cut = input.u16() as usize;
    let buf = input.rest();
    let expect = Expectation {
        key: KEY,
        subprotocols: SUBPROTOCOLS,
        extension_names: EXTENSIONS,
    };
    let parse = |bytes: &[u8]| parse_response(bytes, &expect, &limits);
    let result = parse(buf);

    // Only the first max_bytes bytes, and whether there are more, may decide.
    let mut bounded = buf[..buf.len().min(limits.max_bytes)].to_vec();
    if buf.len() > limits.max_bytes {
        bounded.push(buf[limits.max_bytes] ^ 0xff);
    }
    assert_eq!(
        parse(&bounded),
        result,
        "the outcome depends on bytes past max_bytes ({})",
        limits.max_bytes
    );

    match &result {
        Ok(ParseStatus::Complete { response, consumed }) => {
            let consumed = *consumed;
            assert!(consumed <= buf.len(), "consumed {consumed} > {}", buf.len());
            assert!(
                consumed <= limits.max_bytes,
                "consumed {consumed} > max_bytes"
            );
            assert!(
                ends_header_block(&buf[..consumed]),
                "consumed {consumed} is not a header's end"
            );
            assert_eq!(response.status, 101);
            assert!(response.headers.len() <= limits.max_headers);
            if let Some(p) = &response.subprotocol {
                assert!(
                    SUBPROTOCOLS.contains(&p.as_str()),
                    "unoffered subprotocol {p:?}"
                );
            }
            // The frames after the header block are not the parser's business.
            assert_eq!(
                parse(&buf[..consumed]),
                result,
                "bytes after the header changed it"
            );
        }
        Ok(ParseStatus::Incomplete) => {
            assert!(
                buf.len() <= limits.max_bytes,
                "still waiting past max_bytes"
            );
        }
        Err(_) => {}
    }

    let cut = cut % (buf.len() + 1);
    match parse(&buf[..cut]) {
        Ok(ParseStatus::Incomplete) => {}
        prefix @ Ok(ParseStatus::Complete { .. }) => {
            assert_eq!(
                result, prefix,
                "a complete prefix (cut {cut}) changed its meaning"
            )
        }
        Err(e) => assert!(
            result.is_err(),
            "a prefix (cut {cut}) failed with {e:?}, the whole did not"
        ),
    }
}
