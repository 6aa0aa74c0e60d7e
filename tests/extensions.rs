//! Extensions and the rest of what the handshake negotiates, against scripted servers:
//! permessage-deflate (RFC 7692) offers, answers, traffic and violations; keepalive pings;
//! the server's subprotocol and response headers.
//!
//! The servers compress and inflate with the library's own `Deflater` and `Inflater`, set up
//! with the server's side of the negotiated parameters.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsc::protocol::deflate::{DeflateConfig, Deflater, Inflater, Negotiated};
use wsc::protocol::message::ReceiveLimits;
use wsc::{ClosedBy, Connection, ErrorKind, Options};
use wsc_testkit::inflate::{inflate, inflate_message, TAIL};
use wsc_testkit::Rng;

use common::*;

// ---- permessage-deflate helpers ----

/// Negotiated parameters as the client sees them.
fn params(
    client_no_context_takeover: bool,
    server_no_context_takeover: bool,
    client_max_window_bits: u8,
    server_max_window_bits: u8,
) -> Negotiated {
    Negotiated {
        client_no_context_takeover,
        server_no_context_takeover,
        client_max_window_bits,
        server_max_window_bits,
    }
}

/// The server's half of a negotiated permessage-deflate. `Deflater` follows the client_*
/// parameters and `Inflater` the server_* ones, so the server's side swaps them.
struct Codec {
    deflater: Deflater,
    inflater: Inflater,
}

impl Codec {
    fn new(negotiated: &Negotiated) -> Codec {
        let n = negotiated;
        let server = params(
            n.server_no_context_takeover,
            n.client_no_context_takeover,
            n.server_max_window_bits,
            n.client_max_window_bits,
        );
        Codec {
            deflater: Deflater::new(&server, 6),
            inflater: Inflater::new(&server),
        }
    }

    /// One whole message, compressed, to send with RSV1.
    fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.deflater.compress(message, &mut out);
        out
    }

    /// One whole compressed message from the client, inflated.
    fn inflate(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.inflater
            .decompress(payload, &mut out, u64::MAX)
            .expect("the client's compressed data inflates");
        self.inflater
            .finish_message(&mut out, u64::MAX)
            .expect("the client's compressed message ends");
        out
    }
}

/// The plain negotiation: context takeover both ways, 15-bit windows.
fn plain() -> Negotiated {
    params(false, false, 15, 15)
}

/// The header line accepting `answer`.
fn extensions(answer: &str) -> String {
    format!("Sec-WebSocket-Extensions: {answer}\r\n")
}

/// The next data message from the client: its opcode, RSV1 of its first frame and the
/// payloads of its frames joined. Pongs in between are skipped.
fn read_message(peer: &mut Peer) -> (u8, bool, Vec<u8>) {
    let first = loop {
        let frame = peer.read_frame().expect("a message from the client");
        if frame.opcode != 0xA {
            break frame;
        }
    };
    assert!(matches!(first.opcode, 1 | 2), "{first:?}");
    let (opcode, rsv1, mut payload) = (first.opcode, first.rsv1, first.payload);
    let mut fin = first.fin;
    while !fin {
        let next = peer.read_frame().expect("the rest of the message");
        if next.opcode == 0xA {
            continue;
        }
        assert_eq!((next.opcode, next.rsv1), (0, false), "{next:?}");
        payload.extend(next.payload);
        fin = next.fin;
    }
    (opcode, rsv1, payload)
}

/// Bytes that do not compress.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// 2000 characters, some not ASCII, with few repeats inside: compressed again right after
/// itself, with context takeover, it is little more than one long reference.
fn sample_text() -> Vec<u8> {
    let alphabet: Vec<char> = ('a'..='z')
        .chain('A'..='Z')
        .chain("0123456789 \u{e9}\u{1f600}".chars())
        .collect();
    noise(2000, 7)
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()])
        .collect::<String>()
        .into_bytes()
}

/// Lines of `request` that are a `Sec-WebSocket-Extensions` header, as their values.
fn extension_offers(request: &str) -> Vec<String> {
    request
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_string())
        })
        .collect()
}

/// The reference decoder finds the distance in zlib's dynamic blocks: a copy 1000 bytes back.
/// (Its RFC 7692 samples are the test kit's own tests.)
#[test]
fn the_reference_decoder_reads_distances_in_zlib_output() {
    let block = noise(1000, 5);
    let mut deflater = Deflater::new(&plain(), 9);
    let mut out = Vec::new();
    deflater.compress(&[&block[..], &block[..]].concat(), &mut out);
    assert_eq!(inflate_message(&out).unwrap().max_distance, 1000);
}

// ---- permessage-deflate: the offer ----

/// The request carries the configured offers, in order, in one header; none without offers.
/// The server declines: messages then go out uncompressed.
#[test]
fn the_request_offers_exactly_the_configured_deflate_offers() {
    let both = DeflateConfig {
        client_no_context_takeover: true,
        server_no_context_takeover: true,
        client_max_window_bits: Some(10),
        server_max_window_bits: Some(12),
        level: 9,
    };
    let cases: Vec<(&str, Vec<DeflateConfig>, Vec<&str>)> = vec![
        (
            "default",
            Options::default().deflate,
            vec!["permessage-deflate; client_max_window_bits"],
        ),
        (
            "two offers",
            vec![both, DeflateConfig::default()],
            vec![
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
                 client_max_window_bits=10; server_max_window_bits=12, \
                 permessage-deflate; client_max_window_bits",
            ],
        ),
        ("none", vec![], vec![]),
    ];
    for (name, deflate, expected) in cases {
        let (tx, rx) = mpsc::channel();
        let server = Server::start(move |peer| {
            tx.send(peer.read_request()).unwrap();
            let response = peer.switching();
            peer.write(&response);
            let (opcode, rsv1, payload) = read_message(peer);
            assert_eq!((opcode, rsv1, &payload[..]), (1, false, &b"plain"[..]));
            peer.write(&close_frame(1000, b""));
            peer.read_until_close();
        });
        let rec = Rec {
            on_open: Some(Box::new(|conn| conn.send(true, b"plain").unwrap())),
            ..Rec::default()
        };
        let options = Options {
            deflate,
            ..short_timeouts()
        };
        let (events, _) = run(&server.url(), options, rec);
        assert_eq!(
            events,
            vec![Ev::Open, close_info(1000, "", ClosedBy::Server, true)],
            "{name}"
        );
        server.join();
        let request = rx.recv().unwrap();
        assert_eq!(extension_offers(&request), expected, "{name}: {request}");
    }
}

/// With two offers, an answer that only fits the second one is taken as its answer.
#[test]
fn an_answer_to_the_second_offer_is_accepted() {
    let strict = DeflateConfig {
        server_max_window_bits: Some(10),
        ..DeflateConfig::default()
    };
    let server = Server::start(|peer| {
        peer.read_request();
        // No server_max_window_bits: not a valid answer to the first offer.
        let response = peer.switching_with(&extensions("permessage-deflate"));
        peer.write(&response);
        let mut codec = Codec::new(&plain());
        let (opcode, rsv1, payload) = read_message(peer);
        assert_eq!((opcode, rsv1), (1, true));
        assert_eq!(codec.inflate(&payload), sample_text());
        let compressed = codec.compress(b"back");
        peer.write(&[frame(0xC1, &compressed), close_frame(1000, b"")].concat());
        peer.read_until_close();
    });
    let rec = Rec {
        on_open: Some(Box::new(|conn| conn.send(true, &sample_text()).unwrap())),
        ..Rec::default()
    };
    let options = Options {
        deflate: vec![strict, DeflateConfig::default()],
        ..short_timeouts()
    };
    let (events, _) = run(&server.url(), options, rec);
    assert_eq!(
        events,
        vec![
            Ev::Open,
            Ev::Message(b"back".to_vec(), true),
            close_info(1000, "", ClosedBy::Server, true),
        ]
    );
    server.join();
}

// ---- permessage-deflate: traffic ----

/// For each answer the server accepts with, both ways:
/// - the client's messages arrive with RSV1 and inflate to what was sent; the client keeps to
///   the negotiated window (no reference reaches further back) and context takeover (without
///   it the server's inflater starts each message afresh and would fail on a reference);
/// - the server's compressed messages (one across three frames with a ping in between, one
///   repeating it, a binary one, an empty one) and an uncompressed one arrive exactly.
#[test]
fn compressed_messages_round_trip_for_every_accepted_answer() {
    #[rustfmt::skip]
    let cases = [
        ("permessage-deflate", plain()),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", params(true, true, 15, 15)),
        ("permessage-deflate; server_no_context_takeover", params(false, true, 15, 15)),
        ("permessage-deflate; client_no_context_takeover", params(true, false, 15, 15)),
        ("permessage-deflate; client_max_window_bits=9", params(false, false, 9, 15)),
        ("permessage-deflate; server_max_window_bits=10", params(false, false, 15, 10)),
        ("permessage-deflate; client_max_window_bits=8; server_max_window_bits=8", params(false, false, 8, 8)),
        ("permessage-deflate;client_max_window_bits=\"10\" ;  server_max_window_bits=12", params(false, false, 10, 12)),
    ];
    // Two copies of a 1000-byte block: with a window of 10 bits or more the copy is a
    // reference 1000 bytes back; with a smaller one it must not be.
    let block = noise(1000, 99);
    let binary = [&block[..], &block[..]].concat();
    for (answer, negotiated) in cases {
        let text = sample_text();
        let (text2, binary2) = (text.clone(), binary.clone());
        // The sizes of the client's two copies of the text, compressed.
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let sizes2 = sizes.clone();
        let server = Server::start(move |peer| {
            let request = peer.read_request();
            assert_eq!(
                extension_offers(&request),
                ["permessage-deflate; client_max_window_bits"]
            );
            let response = peer.switching_with(&extensions(answer));
            peer.write(&response);
            let mut codec = Codec::new(&negotiated);
            // The client's messages as the reference decoder reads them: with context takeover
            // one stream, without it each message alone.
            let mut stream = Vec::new();
            for (want_opcode, want) in [(1, &text2), (1, &text2), (2, &binary2), (1, &Vec::new())] {
                let (opcode, rsv1, payload) = read_message(peer);
                assert_eq!((opcode, rsv1), (want_opcode, true), "{answer}");
                if want == &text2 {
                    sizes2.lock().unwrap().push(payload.len());
                }
                if negotiated.client_no_context_takeover {
                    stream.clear();
                }
                stream.extend([&payload[..], &TAIL].concat());
                let decoded = inflate(&stream).unwrap_or_else(|e| panic!("{answer}: {e}"));
                assert!(decoded.data.ends_with(want), "{answer}: {opcode}");
                let window = 1 << negotiated.client_max_window_bits;
                let distance = decoded.max_distance;
                assert!(distance <= window, "{answer}: a reference {distance} back");
                assert!(codec.inflate(&payload) == *want, "{answer}: {opcode}");
            }
            let compressed = codec.compress(&text2);
            let (a, b) = (compressed.len() / 3, 2 * compressed.len() / 3);
            let mut bytes = [
                frame(0x41, &compressed[..a]),
                frame(0x89, b"mid"),
                frame(0x00, &compressed[a..b]),
                frame(0x80, &compressed[b..]),
            ]
            .concat();
            bytes.extend(frame(0xC1, &codec.compress(&text2)));
            bytes.extend(frame(0xC2, &codec.compress(&binary2)));
            bytes.extend(frame(0x81, b"not compressed"));
            bytes.extend(frame(0xC1, &codec.compress(b"")));
            bytes.extend(close_frame(1000, b""));
            peer.write(&bytes);
            peer.read_until_close();
        });
        let (text3, binary3) = (text.clone(), binary.clone());
        let rec = Rec {
            on_open: Some(Box::new(move |conn| {
                conn.send(true, &text3).unwrap();
                conn.send(true, &text3).unwrap();
                conn.send(false, &binary3).unwrap();
                conn.send(true, b"").unwrap();
            })),
            ..Rec::default()
        };
        let (events, _) = run(&server.url(), short_timeouts(), rec);
        let expected = vec![
            Ev::Open,
            Ev::Ping(b"mid".to_vec()),
            Ev::Message(text.clone(), true),
            Ev::Message(text.clone(), true),
            Ev::Message(binary.clone(), false),
            Ev::Message(b"not compressed".to_vec(), true),
            Ev::Message(Vec::new(), true),
            close_info(1000, "", ClosedBy::Server, true),
        ];
        assert!(events == expected, "{answer}: {events:?}");
        let frames = server.join();
        let pongs: Vec<&Frame> = frames.iter().filter(|f| f.opcode == 0xA).collect();
        assert_eq!(pongs.len(), 1, "{answer}");
        assert_eq!((pongs[0].rsv1, &pongs[0].payload[..]), (false, &b"mid"[..]));
        let close = frames.last().unwrap();
        assert_eq!((close.close_code(), close.rsv1), (Some(1000), false));
        // Without context takeover the copy compresses to the same bytes again; with it, and
        // a window holding the whole text, to little more than a reference to the first.
        let sizes = sizes.lock().unwrap();
        if negotiated.client_no_context_takeover {
            assert_eq!(sizes[1], sizes[0], "{answer}");
        } else if negotiated.client_max_window_bits >= 12 {
            assert!(sizes[1] < sizes[0] / 4, "{answer}: {sizes:?}");
        }
    }
}

// ---- permessage-deflate: bad answers ----

/// Answers the client must refuse: the handshake fails with a message naming the problem,
/// before `on_open` and without a frame.
#[test]
fn bad_deflate_answers_fail_the_handshake() {
    let d = short_timeouts;
    let offer = |config: DeflateConfig| Options {
        deflate: vec![config],
        ..short_timeouts()
    };
    let small_server_window = offer(DeflateConfig {
        server_max_window_bits: Some(10),
        ..DeflateConfig::default()
    });
    let no_server_takeover = offer(DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    });
    let none = Options {
        deflate: vec![],
        ..short_timeouts()
    };
    let pmd = |params: &str| extensions(&format!("permessage-deflate{params}"));
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Options, &str)> = vec![
        ("unknown parameter", pmd("; max_window_bits=10"), d(), "unknown parameter \"max_window_bits\""),
        ("unknown parameter without value", pmd("; x"), d(), "unknown parameter \"x\""),
        ("repeated flag", pmd("; server_no_context_takeover; server_no_context_takeover"), d(), "server_no_context_takeover given more than once"),
        ("repeated window bits", pmd("; server_max_window_bits=10; server_max_window_bits=10"), d(), "server_max_window_bits given more than once"),
        ("window bits 7", pmd("; server_max_window_bits=7"), d(), "server_max_window_bits must be a number from 8 to 15"),
        ("window bits 16", pmd("; client_max_window_bits=16"), d(), "client_max_window_bits must be a number from 8 to 15"),
        ("window bits abc", pmd("; server_max_window_bits=abc"), d(), "server_max_window_bits must be a number from 8 to 15"),
        ("window bits with a leading zero", pmd("; server_max_window_bits=09"), d(), "server_max_window_bits must be a number from 8 to 15"),
        ("window bits quoted 7", pmd("; client_max_window_bits=\"7\""), d(), "client_max_window_bits must be a number from 8 to 15"),
        ("server window bits without value", pmd("; server_max_window_bits"), d(), "server_max_window_bits needs a value"),
        ("client window bits without value", pmd("; client_max_window_bits"), d(), "client_max_window_bits needs a value"),
        ("value on client_no_context_takeover", pmd("; client_no_context_takeover=1"), d(), "client_no_context_takeover must not have a value"),
        ("empty value on server_no_context_takeover", pmd("; server_no_context_takeover=\"\""), d(), "server_no_context_takeover must not have a value"),
        ("two entries in one header", extensions("permessage-deflate, permessage-deflate"), d(), "more than once"),
        ("two headers", pmd("") + &pmd("; server_no_context_takeover"), d(), "more than once"),
        ("unknown extension", extensions("x-foo"), d(), "\"x-foo\""),
        ("unknown extension after deflate", extensions("permessage-deflate, x-foo; a=1"), d(), "\"x-foo\""),
        ("deflate not offered", pmd(""), none, "\"permessage-deflate\""),
        ("trailing semicolon", pmd(";"), d(), "malformed"),
        ("missing semicolon", pmd(" server_no_context_takeover"), d(), "\"permessage-deflate server_no_context_takeover\""),
        ("larger server window than offered", pmd("; server_max_window_bits=12"), small_server_window, "server_max_window_bits=12, larger than the 10 offered"),
        ("requested server_no_context_takeover left out", pmd(""), no_server_takeover, "left out server_no_context_takeover"),
    ];
    for (name, lines, options, needle) in cases {
        let server = Server::start(move |peer| {
            peer.read_request();
            let response = peer.switching_with(&lines);
            peer.write(&response);
            assert!(peer.wait_eof(), "the client did not hang up");
        });
        assert_handshake_fails(name, server, options, ErrorKind::HandshakeInvalid, needle);
    }
}

// ---- permessage-deflate: violations after the handshake ----

/// A name, the server's extension answer, the bytes it sends after the 101, the client's
/// options, the expected error, close code and a word of the message.
type Violation<'a> = (
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    Options,
    ErrorKind,
    u16,
    &'a str,
);

/// After a 101 with `answer` (none: no extension), the server writes `bytes` and reads until
/// the client's Close frame, which must carry the expected code.
#[test]
fn deflate_violations_close_with_the_right_code() {
    use ErrorKind::{InvalidUtf8, MessageTooBig, Protocol};
    let mut codec = Codec::new(&plain());
    let hello = codec.compress(b"hello, hello, hello");
    let (head, rest) = hello.split_at(hello.len() / 2);
    let not_utf8 = Codec::new(&plain()).compress(b"valid, then \xff\xfe, not");
    let cut_short = Codec::new(&plain()).compress(b"ends inside \xe2\x82");
    let no_deflate = Options {
        deflate: vec![],
        ..short_timeouts()
    };
    let d = short_timeouts;
    let yes = Some("permessage-deflate");
    #[rustfmt::skip]
    let cases: Vec<Violation> = vec![
        ("RSV1 on a continuation frame", yes, [frame(0x41, head), frame(0xC0, rest)].concat(), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 on the continuation of a plain message", yes, [frame(0x01, b"a"), frame(0xC0, b"b")].concat(), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 on a ping", yes, frame(0xC9, b""), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 on a pong", yes, frame(0xCA, b"x"), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 on a close", yes, [&[0xC8, 2][..], &1000u16.to_be_bytes()].concat(), d(), Protocol, 1002, "reserved bit"),
        ("RSV2 with deflate", yes, frame(0xA1, b"x"), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 when the server declined", None, frame(0xC1, &hello), d(), Protocol, 1002, "reserved bit"),
        ("RSV1 when nothing was offered", None, frame(0xC1, &hello), no_deflate, Protocol, 1002, "reserved bit"),
        ("invalid block type", yes, frame(0xC2, &[0xff; 8]), d(), Protocol, 1002, "invalid compressed data"),
        ("stored block length mismatch", yes, frame(0xC2, &[0x00, 0x05, 0x00, 0x00, 0x00, b'a']), d(), Protocol, 1002, "invalid compressed data"),
        ("corrupt continuation", yes, [frame(0x42, &[&hello[..], &TAIL].concat()), frame(0x80, &[0xff; 8])].concat(), d(), Protocol, 1002, "invalid compressed data"),
        ("inflates to invalid UTF-8", yes, frame(0xC1, &not_utf8), d(), InvalidUtf8, 1007, "UTF-8"),
        ("inflates to a cut sequence", yes, frame(0xC1, &cut_short), d(), InvalidUtf8, 1007, "UTF-8"),
        ("inflates past the size limit", yes, frame(0xC2, &Codec::new(&plain()).compress(&[7; 2000])), limits(1000), MessageTooBig, 1009, "inflated message exceeds max_message_size (1000)"),
    ];
    for (name, answer, bytes, options, kind, code, needle) in cases {
        let server = Server::start(move |peer| {
            peer.read_request();
            let response = peer.switching_with(&answer.map(extensions).unwrap_or_default());
            peer.write(&response);
            peer.write(&bytes);
            peer.read_until_close();
        });
        let (message, _) = assert_violation_closes(name, server, options, kind, code);
        assert!(message.contains(needle), "{name}: {message}");
    }
}

fn limits(max_message_size: u64) -> Options {
    Options {
        receive_limits: ReceiveLimits {
            max_message_size,
            ..ReceiveLimits::default()
        },
        ..short_timeouts()
    }
}

/// A kilobyte-scale field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}

/// `chunks` MiB of zeros as one compressed message, from compressing only two: the second
/// MiB's compressed form, which only looks back into zeros, inflates to a MiB of zeros after
/// any other, so it is repeated (with the sync flush's tail between, as in one stream).
fn zero_bomb(chunks: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut deflater = Deflater::new(&plain(), 9);
    let mut first = Vec::new();
    deflater.compress(&zeros, &mut first);
    let mut next = Vec::new();
    deflater.compress(&zeros, &mut next);
    let mut bomb = first;
    for _ in 1..chunks {
        bomb.extend_from_slice(&TAIL);
        bomb.extend_from_slice(&next);
    }
    bomb
}

/// 64 MiB of zeros in one frame of some tens of KiB, with a 1 MiB message limit: 1009, and
/// the client never holds anything like 64 MiB.
#[test]
fn decompression_bomb_is_message_too_big_without_inflating_it() {
    // The construction inflates to what it claims (checked on a small one).
    let small = zero_bomb(3);
    let mut out = Vec::new();
    let mut inflater = Inflater::new(&plain());
    inflater.decompress(&small, &mut out, u64::MAX).unwrap();
    inflater.finish_message(&mut out, u64::MAX).unwrap();
    assert!(out.len() == 3 << 20 && out.iter().all(|b| *b == 0));
    drop((small, out));

    let bomb = zero_bomb(64);
    assert!(bomb.len() < 256 << 10, "{} bytes", bomb.len());
    let bytes = frame(0xC2, &bomb);
    drop(bomb);
    let server = Server::start(move |peer| {
        peer.read_request();
        let response = peer.switching_with(&extensions("permessage-deflate"));
        peer.write(&response);
        peer.write(&bytes);
        peer.read_until_close();
    });
    let before = status_bytes("VmRSS");
    // When the error is reported the receiver still holds what it inflated.
    let at_error = Arc::new(Mutex::new(None));
    let at_error2 = at_error.clone();
    let rec = Rec {
        on_error: Some(Box::new(move |_, _| {
            *at_error2.lock().unwrap() = Some(status_bytes("VmRSS"));
        })),
        ..Rec::default()
    };
    let (events, _) = run(&server.url(), limits(1 << 20), rec);
    let after = status_bytes("VmRSS");
    let message = assert_failed("bomb", &events, true, ErrorKind::MessageTooBig, 1009);
    assert_eq!(
        message,
        "inflated message exceeds max_message_size (1048576)"
    );
    let frames = server.join();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].close_code(), Some(1009));
    let at_error = at_error.lock().unwrap().expect("on_error ran");
    let mib = |n: u64| n as f64 / f64::from(1 << 20);
    for (when, rss) in [("at the error", at_error), ("after", after)] {
        let growth = rss.saturating_sub(before);
        assert!(
            growth < 16 << 20,
            "resident memory grew by {:.1} MiB ({when})",
            mib(growth)
        );
    }
}

// ---- keepalive ----

fn keepalive() -> Options {
    Options {
        keepalive_interval: Some(Duration::from_millis(50)),
        keepalive_timeout: Duration::from_millis(200),
        ..short_timeouts()
    }
}

/// How many keepalive pings the server must see: 6 span 250 ms, more than the timeout, so
/// once they have all come the connection outlived a timeout without failing.
const PINGS: usize = 6;

/// The server answers every ping; after `PINGS` pings it sends "done" and the client closes.
#[test]
fn keepalive_pings_answered_keep_the_connection_open() {
    let server = Server::start(|peer| {
        peer.open();
        for _ in 0..PINGS {
            let ping = peer.read_frame().expect("a keepalive ping");
            assert_eq!((ping.opcode, ping.fin), (0x9, true), "{ping:?}");
            peer.write(&frame(0x8A, &ping.payload));
        }
        peer.write(&frame(0x81, b"done"));
        assert_eq!(peer.answer_close().close_code(), Some(1000));
    });
    let rec = Rec {
        on_message: Some(Box::new(|conn, _| conn.close(1000, b"").unwrap())),
        ..Rec::default()
    };
    let (events, _) = run(&server.url(), keepalive(), rec);
    let mut expected = vec![Ev::Open];
    expected.extend((0..PINGS).map(|_| Ev::Pong(vec![])));
    expected.push(Ev::Message(b"done".to_vec(), true));
    expected.push(close_info(1000, "", ClosedBy::Application, true));
    assert_eq!(events, expected);
    server.join();
}

/// The server reads but never answers nor sends anything: the keepalive timeout fails the
/// connection (no Close frame: the peer is taken for dead).
#[test]
fn keepalive_pings_unanswered_fail_the_connection() {
    let server = Server::start(|peer| {
        peer.open();
        while peer.read_frame().is_some() {}
    });
    let (events, _) = run(&server.url(), keepalive(), Rec::default());
    let message = assert_failed(
        "keepalive",
        &events,
        true,
        ErrorKind::KeepaliveTimeout,
        1006,
    );
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(message.contains("200 ms"), "{message}");
    let frames = server.join();
    assert!(!frames.is_empty());
    assert!(
        frames
            .iter()
            .all(|f| f.opcode == 0x9 && f.payload.is_empty()),
        "{frames:?}"
    );
}

/// The server never answers a ping but keeps sending data: any frame shows it is alive.
#[test]
fn keepalive_is_satisfied_by_any_frame() {
    let server = Server::start(|peer| {
        peer.open();
        peer.stream
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(3);
        let pings = |peer: &Peer| peer.seen.iter().filter(|f| f.opcode == 0x9).count();
        while pings(peer) < PINGS {
            assert!(Instant::now() < give_up, "only {} pings", pings(peer));
            peer.write(&frame(0x82, b"tick"));
            // Returns after a frame, or after 10 ms without one.
            peer.read_frame();
        }
        peer.stream
            .set_read_timeout(Some(SERVER_READ_TIMEOUT))
            .unwrap();
        peer.write(&frame(0x81, b"done"));
        assert_eq!(peer.answer_close().close_code(), Some(1000));
    });
    let rec = Rec {
        on_message: Some(Box::new(|conn, data| {
            if data == b"done" {
                conn.close(1000, b"").unwrap();
            }
        })),
        ..Rec::default()
    };
    let (events, _) = run(&server.url(), keepalive(), rec);
    let n = events.len();
    assert!(n > 3, "{events:?}");
    assert_eq!(events[0], Ev::Open);
    assert!(
        events[1..n - 2]
            .iter()
            .all(|e| *e == Ev::Message(b"tick".to_vec(), false)),
        "{events:?}"
    );
    assert_eq!(
        events[n - 2..],
        [
            Ev::Message(b"done".to_vec(), true),
            close_info(1000, "", ClosedBy::Application, true)
        ]
    );
    let frames = server.join();
    assert!(frames.iter().all(|f| matches!(f.opcode, 0x8 | 0x9)));
}

// ---- subprotocol and response headers ----

/// What `on_open` saw: the subprotocol and some response headers.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    subprotocol: Option<String>,
    headers: Vec<Option<Vec<u8>>>,
}

fn look(conn: &Connection, names: &[&str]) -> Seen {
    Seen {
        subprotocol: conn.subprotocol(),
        headers: names.iter().map(|n| conn.response_header(n)).collect(),
    }
}

#[test]
fn subprotocol_and_response_headers() {
    const NAMES: [&str; 5] = ["x-custom", "X-CUSTOM", "X-Missing", "x-twice", "x-padded"];
    let some = |v: &[u8]| Some(v.to_vec());
    #[rustfmt::skip]
    let cases = [
        (
            "Sec-WebSocket-Protocol: chat\r\nX-Custom: Value\r\n",
            Seen { subprotocol: Some("chat".into()), headers: vec![some(b"Value"), some(b"Value"), None, None, None] },
        ),
        (
            "x-twice: first\r\nX-Custom: Value\r\nX-Twice: second\r\nX-Padded: \t padded value \t\r\n",
            Seen { subprotocol: None, headers: vec![some(b"Value"), some(b"Value"), None, some(b"first"), some(b"padded value")] },
        ),
    ];
    for (lines, expected) in cases {
        let (tx, rx) = mpsc::channel();
        let server = Server::start(move |peer| {
            tx.send(peer.read_request()).unwrap();
            let response = peer.switching_with(lines);
            peer.write(&response);
            peer.answer_close();
        });
        let seen = Arc::new(Mutex::new(None));
        let seen2 = seen.clone();
        let rec = Rec {
            on_open: Some(Box::new(move |conn| {
                *seen2.lock().unwrap() = Some(look(conn, &NAMES));
                conn.close(1000, b"").unwrap();
            })),
            ..Rec::default()
        };
        let log = rec.log.clone();
        let options = Options {
            subprotocols: vec!["superchat".into(), "chat".into()],
            ..short_timeouts()
        };
        let ctx = new_context();
        let conn = ctx.connect(&server.url(), options, Box::new(rec)).unwrap();
        // Before the handshake there is nothing to show.
        assert_eq!(
            look(&conn, &NAMES),
            Seen {
                subprotocol: None,
                headers: vec![None; 5]
            }
        );
        drive(&ctx);
        assert_eq!(
            *log.lock().unwrap(),
            vec![Ev::Open, close_info(1000, "", ClosedBy::Application, true)],
            "{lines}"
        );
        assert_eq!(seen.lock().unwrap().take(), Some(expected), "{lines}");
        server.join();
        let request = rx.recv().unwrap();
        assert!(
            request.contains("\r\nSec-WebSocket-Protocol: superchat, chat\r\n"),
            "{request}"
        );
    }
}
