//! permessage-deflate: negotiation (`accept` on fuzzed `Sec-WebSocket-Extensions` values) and
//! the codec (`Inflater` on fuzzed compressed messages, `Deflater` round trips).
//!
//! Input: three bytes of settings (our offer, a piece size, the inflate limit), the header
//! values up to the first 0x00 byte (one value per line), then messages, each a two-byte length
//! and its bytes.
//!
//! Checked:
//! - a successful negotiation honours the offer: window sizes within 8..=15 and no larger than
//!   offered, the no-context-takeover flags asked for are in force, the extension was named;
//!   the values mean the same when joined into one list;
//! - inflating never grows a message past `limit + 1` bytes, a message that inflates
//!   successfully is within the limit, and the output and result do not depend on how the
//!   compressed bytes are split (except that a corrupt stream may be found too big first: how far
//!   zlib inflates a corrupt stream before it notices depends on how much it is given at once);
//! - what the deflater compresses, the inflater gives back unchanged, message after message.

use wsc::protocol::deflate::{accept, DeflateConfig, Deflater, InflateError, Inflater, Negotiated};

use crate::Input;

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let offer = input.byte();
    let bits = input.byte();
    let window = |b: u8| (b & 8 != 0).then_some(8 + (b & 7));
    let config = DeflateConfig {
        client_no_context_takeover: offer & 1 != 0,
        server_no_context_takeover: offer & 2 != 0,
        client_max_window_bits: window(bits),
        server_max_window_bits: window(bits >> 4),
        level: u32::from(offer >> 2) % 10,
    };
    let settings = input.byte();
    let piece = 1 + (settings % 32) as usize;
    let limit = 64 * u64::from(settings >> 5);
    let rest = input.rest();
    let (header, mut rest) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let values: Vec<String> = String::from_utf8_lossy(header)
        .split('\n')
        .map(str::to_owned)
        .collect();
    let mut messages = Vec::new();
    while !rest.is_empty() {
        let mut m = Input::new(rest);
        let len = m.u16() as usize;
        let body = m.take(len);
        messages.push(body);
        rest = m.rest();
    }

    let negotiated = negotiation(&config, &values);
    let negotiated = negotiated.unwrap_or(Negotiated {
        client_no_context_takeover: config.client_no_context_takeover,
        server_no_context_takeover: config.server_no_context_takeover,
        client_max_window_bits: config.client_max_window_bits.unwrap_or(15),
        server_max_window_bits: config.server_max_window_bits.unwrap_or(15),
    });
    inflate(&negotiated, &messages, piece, limit);
    round_trip(&negotiated, config.level, &messages);
}

/// `accept`, checked; the parameters it settled on when it succeeded.
fn negotiation(config: &DeflateConfig, values: &[String]) -> Option<Negotiated> {
    let result = accept(config, values);
    let joined = accept(config, &[values.join(", ")]);
    let n = match result {
        Ok(Some(n)) => n,
        Ok(None) => {
            assert_eq!(
                joined,
                Ok(None),
                "one list of {values:?} negotiated something"
            );
            return None;
        }
        Err(_) => return None,
    };
    assert_eq!(
        joined, result,
        "{values:?} as one list negotiated differently"
    );
    assert!(values.iter().any(|v| v.contains("permessage-deflate")));
    for bits in [n.client_max_window_bits, n.server_max_window_bits] {
        assert!(
            (8..=15).contains(&bits),
            "window bits {bits} negotiated: {n:?}"
        );
    }
    if let Some(offered) = config.client_max_window_bits {
        assert!(n.client_max_window_bits <= offered, "{n:?} for {config:?}");
    }
    if let Some(offered) = config.server_max_window_bits {
        assert!(n.server_max_window_bits <= offered, "{n:?} for {config:?}");
    }
    if config.client_no_context_takeover {
        assert!(n.client_no_context_takeover, "{n:?} for {config:?}");
    }
    if config.server_no_context_takeover {
        assert!(n.server_no_context_takeover, "{n:?} for {config:?}");
    }
    Some(n)
}

/// Inflates each message in pieces of `piece` bytes; the outputs and the first error.
fn inflate_all(
    negotiated: &Negotiated,
    messages: &[&[u8]],
    piece: usize,
    limit: u64,
) -> (Vec<Vec<u8>>, Option<InflateError>) {
    let mut inflater = Inflater::new(negotiated);
    let mut outputs = Vec::new();
    for message in messages {
        let mut out = Vec::new();
        let mut result = Ok(());
        for chunk in message.chunks(piece) {
            result = inflater.decompress(chunk, &mut out, limit);
            assert!(
                out.len() as u64 <= limit + 1,
                "{} bytes inflated for a limit of {limit}",
                out.len()
            );
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = inflater.finish_message(&mut out, limit);
            assert!(out.len() as u64 <= limit + 1);
        }
        match result {
            Ok(()) => {
                assert!(
                    out.len() as u64 <= limit,
                    "{} bytes accepted, limit {limit}",
                    out.len()
                );
                outputs.push(out);
            }
            Err(e) => return (outputs, Some(e)),
        }
    }
    (outputs, None)
}

fn inflate(negotiated: &Negotiated, messages: &[&[u8]], piece: usize, limit: u64) {
    let whole = inflate_all(negotiated, messages, usize::MAX, limit);
    let pieces = inflate_all(negotiated, messages, piece, limit);
    let corrupt = Some(InflateError::Corrupt);
    let comparable = whole.1 == pieces.1
        || (whole.1.is_some() && pieces.1.is_some() && (whole.1 == corrupt || pieces.1 == corrupt));
    assert!(
        comparable && whole.0 == pieces.0,
        "inflating in pieces of {piece} bytes changed the outcome:\n{whole:?}\n{pieces:?}"
    );
}

fn round_trip(negotiated: &Negotiated, level: u32, messages: &[&[u8]]) {
    // Both directions with the server's parameters, so one inflater reads what one deflater wrote.
    let both = Negotiated {
        client_no_context_takeover: negotiated.server_no_context_takeover,
        client_max_window_bits: negotiated.server_max_window_bits,
        ..*negotiated
    };
    let mut deflater = Deflater::new(&both, level);
    let mut inflater = Inflater::new(&both);
    for message in messages {
        let mut compressed = Vec::new();
        deflater.compress(message, &mut compressed);
        let mut out = Vec::new();
        inflater
            .decompress(&compressed, &mut out, u64::MAX)
            .and_then(|()| inflater.finish_message(&mut out, u64::MAX))
            .expect("what the deflater wrote inflates");
        assert_eq!(&out[..], *message, "the round trip changed the message");
    }
}
