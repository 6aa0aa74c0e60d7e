//! Micro-benchmarks of the sans-IO protocol core: frame header parsing, masking, UTF-8
//! validation and the receiver. Run with `cargo bench --bench protocol`; figures are reported,
//! never checked.

use std::hint::black_box;
use std::ops::ControlFlow;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wsc::protocol::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use wsc::protocol::mask::apply_mask;
use wsc::protocol::message::{Incoming, ReceiveLimits, Receiver};
use wsc::protocol::sender::Sender;
use wsc::protocol::utf8::Utf8Validator;

/// The benchmark text payload: "a" U+00E9 U+20AC U+1F600 repeated, padded with 'x'.
fn text_payload(size: usize) -> Vec<u8> {
    const PATTERN: &[u8] = b"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    let mut v: Vec<u8> = PATTERN
        .iter()
        .copied()
        .cycle()
        .take(size / 10 * 10)
        .collect();
    v.resize(size, b'x');
    v
}

/// An unmasked server frame (header + payload).
fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv1: false,
        rsv23: false,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut h = [0u8; MAX_HEADER_LEN];
    let n = header.write(&mut h);
    let mut out = h[..n].to_vec();
    out.extend_from_slice(payload);
    out
}

fn header_bytes(payload_len: u64, masked: bool) -> Vec<u8> {
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        rsv23: false,
        opcode: OpCode::Binary,
        mask: masked.then_some([1, 2, 3, 4]),
        payload_len,
    };
    let mut h = [0u8; MAX_HEADER_LEN];
    let n = header.write(&mut h);
    h[..n].to_vec()
}

fn bench_header(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_header_parse");
    g.throughput(Throughput::Elements(1));
    for (name, len, masked) in [
        ("7bit", 64u64, false),
        ("16bit", 4096, false),
        ("64bit", 1 << 20, false),
        ("64bit_masked", 1 << 20, true),
    ] {
        let bytes = header_bytes(len, masked);
        g.bench_function(name, |b| {
            b.iter(|| FrameHeader::parse(black_box(&bytes)).unwrap().unwrap())
        });
    }
    // A header cut short: the parser must answer "need more" cheaply.
    let partial = header_bytes(1 << 20, false)[..5].to_vec();
    g.bench_function("incomplete", |b| {
        b.iter(|| FrameHeader::parse(black_box(&partial)).unwrap())
    });
    g.finish();
}

fn bench_mask(c: &mut Criterion) {
    let mut g = c.benchmark_group("apply_mask");
    for size in [1usize << 10, 64 << 10, 1 << 20] {
        g.throughput(Throughput::Bytes(size as u64));
        let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
        g.bench_with_input(BenchmarkId::new("aligned", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf), [0x12, 0x34, 0x56, 0x78]))
        });
        // Starting one byte in: an unaligned head as in a buffer after a header.
        let mut buf: Vec<u8> = (0..size + 1).map(|i| i as u8).collect();
        g.bench_with_input(BenchmarkId::new("offset1", size), &size, |b, _| {
            b.iter(|| apply_mask(black_box(&mut buf[1..]), [0x12, 0x34, 0x56, 0x78]))
        });
    }
    g.finish();
}

fn bench_utf8(c: &mut Criterion) {
    let mut g = c.benchmark_group("utf8_feed");
    let size = 1 << 20;
    let ascii = vec![b'x'; size];
    let multi = text_payload(size);
    g.throughput(Throughput::Bytes(size as u64));
    for (name, data) in [("ascii", &ascii), ("multibyte", &multi)] {
        g.bench_function(BenchmarkId::new(name, "1MiB_whole"), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::default();
                v.feed(black_box(data)).unwrap();
                v.finish().unwrap();
            })
        });
        // Pieces of 4093 bytes: code points cut between reads.
        g.bench_function(BenchmarkId::new(name, "1MiB_pieces_4093"), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::default();
                for piece in data.chunks(4093) {
                    v.feed(black_box(piece)).unwrap();
                }
                v.finish().unwrap();
            })
        });
    }
    g.finish();
}

fn bench_receiver(c: &mut Criterion) {
    let mut g = c.benchmark_group("receiver_feed");
    let limits = ReceiveLimits::default();
    let cases: Vec<(&str, Vec<u8>, u64)> = vec![
        {
            // 16384 small text messages of 64 bytes.
            let one = frame(OpCode::Text, true, &text_payload(64));
            ("text_64B_x16384", one.repeat(16384), 16384)
        },
        {
            // 16384 small binary messages of 64 bytes.
            let one = frame(OpCode::Binary, true, &[7u8; 64]);
            ("binary_64B_x16384", one.repeat(16384), 16384)
        },
        {
            // 16 binary messages of 64 KiB.
            let one = frame(OpCode::Binary, true, &vec![7u8; 64 << 10]);
            ("binary_64KiB_x16", one.repeat(16), 16)
        },
        {
            // One 1 MiB text message in 16 fragments of 64 KiB.
            let payload = text_payload(1 << 20);
            let mut buf = Vec::new();
            for (i, piece) in payload.chunks(64 << 10).enumerate() {
                let op = if i == 0 {
                    OpCode::Text
                } else {
                    OpCode::Continuation
                };
                buf.extend(frame(op, i == 15, piece));
            }
            ("text_1MiB_16_fragments", buf, 1)
        },
    ];
    for (name, buf, messages) in &cases {
        g.throughput(Throughput::Bytes(buf.len() as u64));
        for read in [buf.len(), 65536] {
            let label = if read == buf.len() {
                "one_read".to_string()
            } else {
                format!("reads_of_{read}")
            };
            g.bench_function(BenchmarkId::new(*name, label), |b| {
                b.iter(|| {
                    let mut r = Receiver::new(limits);
                    let mut seen = 0u64;
                    let mut sink = |ev: Incoming<'_>| {
                        if let Incoming::Message { data, .. } = ev {
                            black_box(data);
                            seen += 1;
                        }
                        ControlFlow::Continue(())
                    };
                    for piece in buf.chunks(read) {
                        r.feed(black_box(piece), &mut sink).unwrap();
                    }
                    assert_eq!(seen, *messages);
                })
            });
        }
    }
    g.finish();
}

/// A 1 MiB binary message queued and written out in pieces of 256 KiB (the loop's default read
/// buffer, which is also where lent payloads are masked): copied into the queue when sent, or
/// lent and masked piece by piece as it is written.
fn bench_sender(c: &mut Criterion) {
    let mut g = c.benchmark_group("sender_1MiB");
    let size = 1usize << 20;
    g.throughput(Throughput::Bytes(size as u64));
    let payload: std::sync::Arc<[u8]> = (0..size).map(|i| i as u8).collect();
    let mut scratch = vec![0u8; 256 << 10];
    let drain = |s: &mut Sender, scratch: &mut [u8]| {
        while s.buffered() > 0 {
            let piece = s.pending(scratch);
            let n = piece.len().min(256 << 10);
            black_box(&piece[..n]);
            s.consume(n);
        }
        drop(s.take_finished());
    };
    let mut sender = Sender::new(64 << 20);
    sender.open();
    g.bench_function("copied", |b| {
        b.iter(|| {
            sender.send_message(false, black_box(&payload)).unwrap();
            drain(&mut sender, &mut scratch);
        })
    });
    g.bench_function("lent", |b| {
        b.iter(|| {
            sender
                .send_message_lent(false, black_box(payload.clone()))
                .unwrap();
            drain(&mut sender, &mut scratch);
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_header,
    bench_mask,
    bench_utf8,
    bench_receiver,
    bench_sender
);
criterion_main!(benches);
