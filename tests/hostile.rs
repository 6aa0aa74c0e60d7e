//! The client against scripted hostile servers: raw bytes on loopback, exact outcomes.
//!
//! Each test starts a one-connection server thread that follows a script (read the request,
//! write chosen bytes, read and unmask what the client sends), runs a context until its
//! connections end, and checks the callbacks and the frames the client put on the wire.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use wsc::protocol::message::ReceiveLimits;
use wsc::{ClosedBy, Context, ErrorKind, Handler, Options};

use common::*;

// ---- the opening handshake ----

/// The server answers the request with a bad response (`ACCEPT` replaced by the right accept
/// key), then waits for the client to hang up: no frame may come.
#[test]
fn bad_handshake_responses_fail_the_connection() {
    use ErrorKind::{HandshakeInvalid, HandshakeStatus, HandshakeTooLarge};
    let ok = SWITCHING;
    let filler = format!("X-Filler: {}\r\n", "a".repeat(20_000));
    let many: String = (0..100).map(|i| format!("X-{i}: {i}\r\n")).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, String, ErrorKind, &str)> = vec![
        ("404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(), HandshakeStatus, "404"),
        ("200 with upgrade headers", ok.replace("101 Switching Protocols", "200 OK") + "\r\n", HandshakeStatus, "200"),
        ("wrong accept", ok.replace("ACCEPT", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + "\r\n", HandshakeInvalid, "Accept"),
        ("missing accept", ok.replace("Sec-WebSocket-Accept: ACCEPT\r\n", "") + "\r\n", HandshakeInvalid, "Accept"),
        ("duplicate accept", format!("{ok}Sec-WebSocket-Accept: ACCEPT\r\n\r\n"), HandshakeInvalid, "Accept"),
        ("missing upgrade", ok.replace("Upgrade: websocket\r\n", "") + "\r\n", HandshakeInvalid, "Upgrade"),
        ("upgrade to h2c", ok.replace("Upgrade: websocket", "Upgrade: h2c") + "\r\n", HandshakeInvalid, "h2c"),
        ("missing connection", ok.replace("Connection: Upgrade\r\n", "") + "\r\n", HandshakeInvalid, "Connection"),
        ("connection without upgrade", ok.replace("Connection: Upgrade", "Connection: keep-alive") + "\r\n", HandshakeInvalid, "keep-alive"),
        ("unoffered subprotocol", format!("{ok}Sec-WebSocket-Protocol: chat\r\n\r\n"), HandshakeInvalid, "chat"),
        ("unoffered extension", format!("{ok}Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"), HandshakeInvalid, "x-webkit-deflate-frame"),
        ("not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n".into(), HandshakeInvalid, ""),
        ("header block over 16 KiB", format!("{ok}{filler}\r\n"), HandshakeTooLarge, ""),
        ("endless header block", format!("{ok}{filler}"), HandshakeTooLarge, ""),
        ("too many header fields", format!("{ok}{many}\r\n"), HandshakeTooLarge, ""),
    ];
    for (name, response, kind, needle) in cases {
        let server = Server::start(move |peer| {
            peer.read_request();
            let response = response.replace("ACCEPT", &peer.accept());
            peer.write(response.as_bytes());
            assert!(peer.wait_eof(), "the client did not hang up");
        });
        assert_handshake_fails(name, server, short_timeouts(), kind, needle);
    }
}

#[test]
fn server_hanging_up_during_the_handshake_is_connection_lost() {
    for partial in [
        &b""[..],
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: web",
    ] {
        let server = Server::start(move |peer| {
            peer.read_request();
            peer.write(partial);
        });
        let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
        assert_failed("hang-up", &events, false, ErrorKind::ConnectionLost, 1006);
        server.join();
    }
}

#[test]
fn silent_server_is_a_handshake_timeout() {
    let server = Server::start(|peer| {
        peer.read_request();
        assert!(peer.wait_eof(), "the client did not give up");
    });
    let options = Options {
        handshake_timeout: Duration::from_millis(200),
        ..short_timeouts()
    };
    let (events, took) = run(&server.url(), options, Rec::default());
    let message = assert_failed("silent", &events, false, ErrorKind::HandshakeTimeout, 1006);
    assert!(message.contains("200 ms"), "{message}");
    // Not early; how late depends on the machine.
    assert!(took >= Duration::from_millis(190), "{took:?}");
    server.join();
}

#[test]
fn frames_in_the_same_write_as_the_101_are_delivered() {
    let server = Server::start(|peer| {
        peer.read_request();
        let bytes = [
            peer.switching(),
            frame(0x81, b"early"),
            close_frame(1000, b"bye"),
        ];
        peer.write(&bytes.concat());
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    assert_eq!(
        events,
        vec![
            Ev::Open,
            Ev::Message(b"early".to_vec(), true),
            close_info(1000, "bye", ClosedBy::Server, true),
        ]
    );
    let frames = server.join();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].close_code(), Some(1000));

    // A violation in the same write fails the connection just opened.
    let server = Server::start(|peer| {
        peer.read_request();
        peer.write(&[peer.switching(), frame(0xC1, b"rsv1")].concat());
        peer.read_until_close();
    });
    let options = short_timeouts();
    assert_violation_closes("after 101", server, options, ErrorKind::Protocol, 1002);
}

/// Valid traffic at the edges: code points split across fragments and writes, empty frames,
/// control frames inside a fragmented message, a 125-byte ping, a 123-byte close reason.
#[test]
fn valid_edge_cases_are_accepted() {
    let reason = "r".repeat(121) + "\u{e9}";
    let reason2 = reason.clone();
    let server = Server::start(move |peer| {
        peer.open();
        let writes = [
            [frame(0x01, b"caf\xc3"), frame(0x89, &[7; 125])].concat(),
            [frame(0x00, b"\xa9 \xf0\x9f"), frame(0x8A, b"")].concat(),
            [frame(0x00, b""), frame(0x80, b"\x98\x80")].concat(),
            [frame(0x81, b""), frame(0x82, b""), frame(0x02, b"")].concat(),
            [frame(0x80, b"z"), close_frame(1000, reason2.as_bytes())].concat(),
        ];
        for bytes in writes {
            peer.write(&bytes);
            thread::sleep(Duration::from_millis(5));
        }
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    assert_eq!(
        events,
        vec![
            Ev::Open,
            Ev::Ping(vec![7; 125]),
            Ev::Pong(vec![]),
            Ev::Message("caf\u{e9} \u{1f600}".into(), true),
            Ev::Message(vec![], true),
            Ev::Message(vec![], false),
            Ev::Message(b"z".to_vec(), false),
            close_info(1000, &reason, ClosedBy::Server, true),
        ]
    );
    let frames = server.join();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!((frames[0].opcode, &frames[0].payload), (0xA, &vec![7; 125]));
    assert_eq!(frames[1].close_code(), Some(1000));
}

#[test]
fn slow_loris_server_byte_by_byte() {
    let payload: Vec<u8> = (0..300u32).map(|i| b'a' + (i % 26) as u8).collect();
    let expected = payload.clone();
    let server = Server::start(move |peer| {
        peer.read_request();
        let response = peer.switching();
        peer.trickle(&response);
        // A 16-bit length header, then a ping and a close, every byte its own write.
        peer.trickle(&frame(0x81, &payload));
        peer.trickle(&frame(0x89, b"p"));
        peer.trickle(&close_frame(1000, b""));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    assert_eq!(
        events,
        vec![
            Ev::Open,
            Ev::Message(expected, true),
            Ev::Ping(b"p".to_vec()),
            close_info(1000, "", ClosedBy::Server, true),
        ]
    );
    let frames = server.join();
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0xA, 0x8]);
    assert_eq!(frames[0].payload, b"p");
}

#[test]
fn dribbling_server_cannot_outlast_the_timeouts() {
    let opening = b"HTTP/1.1 101 Switching Protocols\r\nX-Slow: ";
    let server = Server::start(move |peer| {
        peer.read_request();
        let endless = opening.iter().copied().chain(std::iter::repeat(b'a'));
        assert!(peer.drip(endless), "the client never hung up");
    });
    let options = Options {
        handshake_timeout: Duration::from_millis(300),
        ..short_timeouts()
    };
    // A timer restarted by each byte would never fire: the server gives up after 2 s.
    let (events, _) = run(&server.url(), options, Rec::default());
    assert_failed(
        "handshake",
        &events,
        false,
        ErrorKind::HandshakeTimeout,
        1006,
    );
    server.join();

    // After our Close frame, a frame whose payload never ends.
    let server = Server::start(|peer| {
        peer.open();
        peer.read_until_close().expect("the client's close frame");
        let endless = header64(0x82, 1_000_000)
            .into_iter()
            .chain(std::iter::repeat(b'a'));
        assert!(peer.drip(endless), "the client never hung up");
    });
    let rec = closing_on_open();
    let options = Options {
        close_timeout: Duration::from_millis(300),
        ..short_timeouts()
    };
    let (events, _) = run(&server.url(), options, rec);
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[1], Ev::Error(ErrorKind::CloseTimeout, _)),
        "{events:?}"
    );
    server.join();
}

#[test]
fn invalid_utf8_split_across_reads() {
    for payload in [
        &b"ok \xe2\x28\xa1 rest"[..],
        b"\xf0\x90\x80A",
        b"\xf4\x90\x80\x80",
    ] {
        let server = Server::start(move |peer| {
            peer.open();
            peer.trickle(&frame(0x81, payload));
            peer.read_until_close();
        });
        let options = short_timeouts();
        assert_violation_closes("split", server, options, ErrorKind::InvalidUtf8, 1007);
    }
}

/// 300 kB in five frames of every length form, a ping after each of the first four, written in
/// odd-sized pieces.
#[test]
fn large_message_across_frames_and_writes() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let expected = data.clone();
    let server = Server::start(move |peer| {
        peer.open();
        let sizes = [100, 1000, 70_000, 200_000, 28_900];
        let mut bytes = Vec::new();
        let mut at = 0;
        for (i, size) in sizes.iter().enumerate() {
            let opcode = if i == 0 { 0x02 } else { 0x00 };
            let fin = if i == sizes.len() - 1 { 0x80 } else { 0 };
            bytes.extend(frame(fin | opcode, &data[at..at + size]));
            at += size;
            if fin == 0 {
                bytes.extend(frame(0x89, &[i as u8]));
            }
        }
        assert_eq!(at, data.len());
        bytes.extend(close_frame(1000, b""));
        for piece in bytes.chunks(8191) {
            peer.write(piece);
        }
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    let mut want = vec![Ev::Open];
    want.extend((0..4u8).map(|i| Ev::Ping(vec![i])));
    want.push(Ev::Message(expected, false));
    want.push(close_info(1000, "", ClosedBy::Server, true));
    assert!(
        events == want,
        "{} events: {:?}",
        events.len(),
        events.first()
    );
    let frames = server.join();
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0xA, 0xA, 0xA, 0xA, 0x8]);
}

// ---- connecting ----

#[test]
fn refused_connection() {
    let url = format!("ws://127.0.0.1:{}/", closed_port());
    let (events, _) = run(&url, short_timeouts(), Rec::default());
    assert_failed("refused", &events, false, ErrorKind::ConnectRefused, 1006);
}

#[test]
fn unresolvable_host() {
    let (events, _) = run(
        "ws://nonexistent.invalid/",
        short_timeouts(),
        Rec::default(),
    );
    assert_failed("resolve", &events, false, ErrorKind::Resolve, 1006);
}

#[test]
fn bad_urls_fail_connect_without_callbacks() {
    let ctx = new_context();
    for (url, kind) in [
        ("", ErrorKind::InvalidUrl),
        ("http://127.0.0.1/", ErrorKind::InvalidUrl),
        ("ws://", ErrorKind::InvalidUrl),
        ("ws://127.0.0.1:99999/", ErrorKind::InvalidUrl),
        ("ws://127.0.0.1/#fragment", ErrorKind::InvalidUrl),
        ("ws://user:pw@127.0.0.1/", ErrorKind::InvalidUrl),
        ("not a url", ErrorKind::InvalidUrl),
    ] {
        let rec = Rec::default();
        let log = rec.log.clone();
        match ctx.connect(url, Options::default(), Box::new(rec)) {
            Err(e) => assert_eq!(e.kind, kind, "{url:?}: {e}"),
            Ok(_) => panic!("{url:?} was accepted"),
        }
        assert_eq!(ctx.live_connections(), 0, "{url:?}");
        ctx.service(Some(Duration::ZERO)).unwrap();
        assert_eq!(*log.lock().unwrap(), vec![], "{url:?}");
    }
}

// ---- frames that fail the connection ----

/// After the 101 the server writes `bytes` (in one write) and reads until the client's Close
/// frame, whose code must be the expected one, then hangs up. Nothing waits for a frame end:
/// several cases announce far more than they send. The close timeout is longer than the test's
/// deadline, so only the client noticing the hang-up ends the connection in time.
#[test]
fn protocol_violations_close_with_the_right_code() {
    use ErrorKind::{InvalidUtf8, MessageTooBig, Protocol};
    let limits = |frame: u64, message: u64, fragments: u32| Options {
        receive_limits: ReceiveLimits {
            max_frame_size: frame,
            max_message_size: message,
            max_fragments: fragments,
        },
        ..short_timeouts()
    };
    let d = short_timeouts;
    let part = |b0: u8, len: usize| frame(b0, &vec![b'x'; len]);
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Options, ErrorKind, u16)> = vec![
        ("masked", vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2], d(), Protocol, 1002),
        ("rsv1", frame(0xC1, b"hi"), d(), Protocol, 1002),
        ("rsv2", frame(0xA2, b"hi"), d(), Protocol, 1002),
        ("rsv3 on a ping", frame(0x99, b""), d(), Protocol, 1002),
        ("reserved data opcode", frame(0x83, b""), d(), Protocol, 1002),
        ("reserved control opcode", frame(0x8B, b""), d(), Protocol, 1002),
        ("fragmented ping", frame(0x09, b"p"), d(), Protocol, 1002),
        ("ping over 125", [&[0x89, 126, 0, 126][..], &[0; 126]].concat(), d(), Protocol, 1002),
        ("ping announcing 1 GiB", header64(0x89, 1 << 30), d(), Protocol, 1002),
        ("continuation first", frame(0x80, b"x"), d(), Protocol, 1002),
        ("text inside a fragmented message", [frame(0x01, b"a"), frame(0x81, b"b")].concat(), d(), Protocol, 1002),
        ("binary inside a fragmented message", [frame(0x02, b"a"), frame(0x82, b"b")].concat(), d(), Protocol, 1002),
        ("64-bit length with the top bit", header64(0x82, 1 << 63), d(), Protocol, 1002),
        ("invalid UTF-8", frame(0x81, b"a\xffb"), d(), InvalidUtf8, 1007),
        ("UTF-8 surrogate", frame(0x81, b"\xed\xa0\x80"), d(), InvalidUtf8, 1007),
        ("invalid UTF-8, rest of the frame never sent", [&[0x81, 126, 0x10, 0][..], b"ok\xc0\xaf"].concat(), d(), InvalidUtf8, 1007),
        ("invalid UTF-8 in a first fragment, rest never sent", [&[0x01, 100][..], b"ok\xf8"].concat(), d(), InvalidUtf8, 1007),
        ("invalid UTF-8 deep in a 1 MB frame", frame(0x81, &[&[b'a'; 900_000][..], b"\xff", &[b'b'; 99_999]].concat()), d(), InvalidUtf8, 1007),
        ("text ending inside a sequence", [frame(0x01, b"a\xe2\x82"), frame(0x80, b"")].concat(), d(), InvalidUtf8, 1007),
        ("frame announcing 1 TiB", header64(0x82, 1 << 40), limits(1024, 1 << 20, 16), MessageTooBig, 1009),
        ("frame over the limit by one", part(0x82, 1025), limits(1024, 1 << 20, 16), MessageTooBig, 1009),
        ("message announcing 1 TiB more", [part(0x02, 600), header64(0x80, 1 << 40)].concat(), limits(u64::MAX, 1000, 16), MessageTooBig, 1009),
        ("message over the limit by one", [part(0x02, 600), part(0x80, 401)].concat(), limits(u64::MAX, 1000, 16), MessageTooBig, 1009),
        ("too many fragments", [part(0x01, 1), part(0x00, 1), part(0x00, 1), part(0x00, 1)].concat(), limits(1024, 1024, 3), MessageTooBig, 1009),
        ("too many empty fragments", [frame(0x02, b""), frame(0x00, b""), frame(0x00, b"")].concat(), limits(1024, 1024, 2), MessageTooBig, 1009),
        ("1-byte close payload", frame(0x88, &[3]), d(), Protocol, 1002),
        ("close code 1005", close_frame(1005, b""), d(), Protocol, 1002),
        ("close code 1006", close_frame(1006, b""), d(), Protocol, 1002),
        ("close code 999", close_frame(999, b""), d(), Protocol, 1002),
        ("close code 1015", close_frame(1015, b""), d(), Protocol, 1002),
        ("close code 5000", close_frame(5000, b""), d(), Protocol, 1002),
        ("close over 125", [&[0x88, 126, 0, 126, 0x03, 0xe8][..], &[b'r'; 124]].concat(), d(), Protocol, 1002),
        ("fragmented close", [&[0x08, 2][..], &1000u16.to_be_bytes()].concat(), d(), Protocol, 1002),
        ("close reason not UTF-8", close_frame(1000, b"by\xffe"), d(), InvalidUtf8, 1007),
    ];
    for (name, bytes, options, kind, code) in cases {
        let server = Server::start(move |peer| {
            peer.open();
            peer.write(&bytes);
            peer.read_until_close();
        });
        let options = Options {
            close_timeout: Duration::from_secs(60),
            ..options
        };
        let (_, close) = assert_violation_closes(name, server, options, kind, code);
        assert!(close.masked && close.fin, "{name}: {close:?}");
        assert!(
            std::str::from_utf8(&close.payload[2..]).is_ok(),
            "{name}: {close:?}"
        );
    }
}

#[test]
fn message_before_a_violation_is_delivered_and_its_echo_goes_out_first() {
    let server = Server::start(|peer| {
        peer.open();
        let bytes = [frame(0x81, b"first"), frame(0x83, b"")].concat();
        peer.write(&bytes);
        peer.read_until_close();
    });
    let rec = Rec {
        on_message: Some(Box::new(|conn, data| {
            conn.send(true, &[b"echo:", data].concat()).unwrap();
        })),
        ..Rec::default()
    };
    let (events, _) = run(&server.url(), short_timeouts(), rec);
    assert_eq!(events[1], Ev::Message(b"first".to_vec(), true));
    assert_failed("ordering", &events, true, ErrorKind::Protocol, 1002);
    let frames = server.join();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(
        (frames[0].opcode, &frames[0].payload[..]),
        (0x1, &b"echo:first"[..])
    );
    assert_eq!(frames[1].close_code(), Some(1002));
}

#[test]
fn ten_pings_in_one_write_get_ten_pongs_in_order() {
    let server = Server::start(|peer| {
        peer.open();
        let pings: Vec<u8> = (0..10u8)
            .flat_map(|i| frame(0x89, &vec![b'0' + i; i as usize]))
            .collect();
        peer.write(&pings);
        for i in 0..10u8 {
            let pong = peer.read_frame().expect("a pong");
            assert_eq!(
                (pong.opcode, pong.payload),
                (0xA, vec![b'0' + i; i as usize])
            );
        }
        peer.write(&frame(0x8A, b"unsolicited"));
        peer.write(&close_frame(1000, b""));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    let mut expected = vec![Ev::Open];
    expected.extend((0..10u8).map(|i| Ev::Ping(vec![b'0' + i; i as usize])));
    expected.push(Ev::Pong(b"unsolicited".to_vec()));
    expected.push(close_info(1000, "", ClosedBy::Server, true));
    assert_eq!(events, expected);
    assert_eq!(server.join().len(), 11);
}

// ---- closing ----

/// The server closes with `server_close`; the client must echo `echo_code` and report `info`.
#[test]
fn server_initiated_close() {
    for (server_close, echo_code, info) in [
        (
            // Whatever follows the Close frame is ignored.
            [close_frame(1000, b"bye"), frame(0x81, b"after")].concat(),
            Some(1000),
            close_info(1000, "bye", ClosedBy::Server, true),
        ),
        (
            [close_frame(4001, "caf\u{e9}".as_bytes()), frame(0x83, b"")].concat(),
            Some(4001),
            close_info(4001, "caf\u{e9}", ClosedBy::Server, true),
        ),
        (
            frame(0x88, b""),
            None,
            close_info(1005, "", ClosedBy::Server, true),
        ),
    ] {
        let server = Server::start(move |peer| {
            peer.open();
            peer.write(&server_close);
            peer.read_until_close();
        });
        let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
        assert_eq!(events, vec![Ev::Open, info]);
        let frames = server.join();
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].opcode, 0x8);
        assert_eq!(frames[0].close_code(), echo_code, "{:?}", frames[0]);
    }
}

/// A server that sends its Close frame and closes at once, without reading our answer: the
/// answer arriving at a closed socket makes it reset the connection, which must not turn the
/// server's close into a failure.
#[test]
fn server_closing_at_once_still_reports_its_code() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&close_frame(4002, b"going"));
        // Wait until the client's answer has arrived, unread: closing now resets the connection.
        let mut byte = [0u8; 1];
        let _ = peer.stream.peek(&mut byte);
    });
    let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
    assert_eq!(
        events,
        vec![Ev::Open, close_info(4002, "going", ClosedBy::Server, true)]
    );
    server.join();
}

#[test]
fn client_initiated_close_completes_cleanly() {
    let server = Server::start(|peer| {
        peer.open();
        let close = peer.answer_close();
        assert_eq!(
            close.payload,
            [&1000u16.to_be_bytes()[..], b"done"].concat()
        );
        peer.wait_eof();
    });
    let rec = Rec {
        on_open: Some(Box::new(|conn| conn.close(1000, b"done").unwrap())),
        ..Rec::default()
    };
    let (events, _) = run(&server.url(), short_timeouts(), rec);
    assert_eq!(
        events,
        vec![Ev::Open, close_info(1000, "", ClosedBy::Application, true)]
    );
    assert_eq!(server.join().len(), 1);
}

/// We close; the server reads our Close frame and then holds the connection without answering
/// (the close timeout ends it) or hangs up without answering.
#[test]
fn unanswered_close() {
    for (hang_up, kind) in [
        (false, ErrorKind::CloseTimeout),
        (true, ErrorKind::ConnectionLost),
    ] {
        let server = Server::start(move |peer| {
            peer.open();
            peer.read_until_close().expect("the client's close frame");
            if !hang_up {
                assert!(peer.wait_eof(), "the client did not hang up");
            }
        });
        let rec = closing_on_open();
        let options = Options {
            close_timeout: Duration::from_millis(200),
            ..short_timeouts()
        };
        let (events, took) = run(&server.url(), options, rec);
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(
            matches!(&events[1], Ev::Error(k, _) if *k == kind),
            "{events:?}"
        );
        assert_eq!(
            events[2],
            close_info(1006, "", ClosedBy::Application, false)
        );
        // The kind tells the hang-up from the timeout, which must not fire early.
        if !hang_up {
            assert!(took >= Duration::from_millis(190), "{took:?}");
        }
        server.join();
    }
}

/// The closing handshake is complete once both Close frames are exchanged: a server that then
/// keeps TCP open only delays `on_close` until the close timeout.
#[test]
fn server_keeping_tcp_open_after_the_close_handshake() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&close_frame(1001, b"going"));
        peer.read_until_close().expect("the echo");
        assert!(peer.wait_eof(), "the client did not hang up");
    });
    let options = Options {
        close_timeout: Duration::from_millis(200),
        ..short_timeouts()
    };
    let (events, took) = run(&server.url(), options, Rec::default());
    assert_eq!(
        events,
        vec![Ev::Open, close_info(1001, "going", ClosedBy::Server, true)]
    );
    // It waited for the server to close TCP first, as RFC 6455 §7.1.1 asks.
    assert!(took >= Duration::from_millis(190), "{took:?}");
    server.join();
}

/// The server hangs up (FIN, or RST through a zero linger) with or without half a message.
#[test]
fn server_dropping_tcp_without_close_is_connection_lost() {
    for reset in [false, true] {
        for before in [Vec::new(), frame(0x01, b"half a message")] {
            let name = format!("reset {reset}, {} bytes before", before.len());
            let server = Server::start(move |peer| {
                peer.open();
                peer.write(&before);
                if reset {
                    // The client must have read the 101 before the reset, or the RST would
                    // discard it: wait for its first pong.
                    peer.write(&frame(0x89, b""));
                    peer.read_frame().expect("a pong");
                    set_zero_linger(&peer.stream);
                }
            });
            let (events, _) = run(&server.url(), short_timeouts(), Rec::default());
            let events: Vec<Ev> = events
                .into_iter()
                .filter(|e| !matches!(e, Ev::Ping(_)))
                .collect();
            assert_failed(&name, &events, true, ErrorKind::ConnectionLost, 1006);
            assert_eq!(events.len(), 3, "{name}: {events:?}");
            server.join();
        }
    }
}

fn set_zero_linger(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a `linger` of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
}

// ---- re-entrancy ----

/// A callback that runs a second context's loop to its end: the sends made in the callbacks
/// of both connections go out (each loop writes a connection's sends after its callbacks).
#[test]
fn a_callback_running_another_contexts_loop() {
    let script = |name: &'static [u8]| {
        move |peer: &mut Peer| {
            peer.open();
            peer.write(&frame(0x81, name));
            let echo = peer.read_frame().expect("the echo");
            assert_eq!(echo.payload, [b"re:", name].concat());
            peer.write(&close_frame(1000, b""));
            peer.read_until_close();
        }
    };
    let inner = Server::start(script(b"inner"));
    let outer = Server::start(script(b"outer"));
    let echo = |conn: &wsc::Connection, data: &[u8]| {
        conn.send(true, &[b"re:", data].concat()).unwrap();
    };
    let inner_url = inner.url();
    let rec = Rec {
        on_message: Some(Box::new(move |conn, data| {
            let rec = Rec {
                on_message: Some(Box::new(echo)),
                ..Rec::default()
            };
            let log = rec.log.clone();
            let ctx = new_context();
            ctx.connect(&inner_url, short_timeouts(), Box::new(rec))
                .unwrap();
            drive(&ctx);
            let closed = close_info(1000, "", ClosedBy::Server, true);
            assert_eq!(log.lock().unwrap().last(), Some(&closed));
            echo(conn, data);
        })),
        ..Rec::default()
    };
    let (events, _) = run(&outer.url(), short_timeouts(), rec);
    let closed = close_info(1000, "", ClosedBy::Server, true);
    assert_eq!(
        events,
        vec![Ev::Open, Ev::Message(b"outer".to_vec(), true), closed]
    );
    inner.join();
    outer.join();
}

/// From inside `on_message`: send, start a second connection, close, and find `service` busy.
#[test]
fn callbacks_send_connect_and_close() {
    let second = Server::start(|peer| {
        peer.open();
        peer.write(&close_frame(1001, b"second"));
        peer.read_until_close();
    });
    let first = Server::start(|peer| {
        peer.open();
        peer.write(&frame(0x81, b"go"));
        let echo = peer.read_frame().expect("the echo");
        assert_eq!((echo.opcode, &echo.payload[..]), (0x1, &b"re:go"[..]));
        let close = peer.answer_close();
        assert_eq!(
            close.payload,
            [&1000u16.to_be_bytes()[..], b"from callback"].concat()
        );
    });
    let ctx = Arc::new(new_context());
    let weak: Weak<Context> = Arc::downgrade(&ctx);
    let second_log = Log::default();
    let log2 = second_log.clone();
    let url2 = second.url();
    let busy = Arc::new(Mutex::new(None));
    let busy2 = busy.clone();
    let rec = Rec {
        on_message: Some(Box::new(move |conn, data| {
            conn.send(true, &[b"re:", data].concat()).unwrap();
            let ctx = weak.upgrade().expect("the context");
            assert!(ctx.is_serving_here());
            *busy2.lock().unwrap() = ctx.service(Some(Duration::ZERO)).err().map(|e| e.kind);
            let rec2 = Rec {
                log: log2.clone(),
                ..Rec::default()
            };
            ctx.connect(&url2, short_timeouts(), Box::new(rec2))
                .unwrap();
            conn.close(1000, b"from callback").unwrap();
            // Sending after close is refused.
            assert_eq!(
                conn.send(true, b"late").unwrap_err().kind,
                ErrorKind::NotOpen
            );
        })),
        ..Rec::default()
    };
    let log = rec.log.clone();
    ctx.connect(&first.url(), short_timeouts(), Box::new(rec))
        .unwrap();
    drive(&ctx);
    assert_eq!(*busy.lock().unwrap(), Some(ErrorKind::Busy));
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            Ev::Open,
            Ev::Message(b"go".to_vec(), true),
            close_info(1000, "", ClosedBy::Application, true),
        ]
    );
    assert_eq!(
        *second_log.lock().unwrap(),
        vec![Ev::Open, close_info(1001, "second", ClosedBy::Server, true)]
    );
    assert_eq!(first.join().len(), 2);
    assert_eq!(second.join()[0].close_code(), Some(1001));
}

// ---- fairness ----

/// A server that writes pings as fast as it can must not keep `service` from returning, nor
/// starve another connection's timer: the other connection's handshake timeout fires while
/// the flood is still going on (no wall-clock bound, so a slow machine cannot fail it).
#[test]
fn flooding_server_does_not_block_the_loop() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = Arc::new(AtomicBool::new(true));
    let (stop2, flooding2) = (stop.clone(), flooding.clone());
    let flood = Server::start(move |peer| {
        peer.open();
        let chunk: Vec<u8> = (0..16 * 1024).flat_map(|_| frame(0x89, b"")).collect();
        // Ended by `stop`; the deadline only bounds a test that failed before setting it.
        let until = Instant::now() + Duration::from_secs(60);
        while !stop2.load(Ordering::SeqCst)
            && Instant::now() < until
            && peer.stream.write_all(&chunk).is_ok()
        {}
        flooding2.store(false, Ordering::SeqCst);
    });
    let silent = Server::start(|peer| {
        peer.read_request();
        peer.wait_eof();
    });
    let ctx = new_context();
    let options = Options {
        send_buffer_limit: 64 * 1024,
        ..short_timeouts()
    };
    // Recording millions of pings would only measure the allocator: they are counted.
    struct Counting(Arc<AtomicUsize>);
    impl Handler for Counting {
        fn on_ping(&self, _: &wsc::Connection, _: &[u8]) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let pings = Arc::new(AtomicUsize::new(0));
    let flooded = ctx
        .connect(&flood.url(), options, Box::new(Counting(pings.clone())))
        .unwrap();
    // The flood first reaches the client, then the other connection starts its handshake.
    let start = Instant::now();
    while pings.load(Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no ping arrived");
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    let rec = Rec::default();
    let log = rec.log.clone();
    let options = Options {
        handshake_timeout: Duration::from_millis(200),
        ..short_timeouts()
    };
    ctx.connect(&silent.url(), options, Box::new(rec)).unwrap();
    let start = Instant::now();
    let mut pings_in_last_call;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the timer never fired"
        );
        let before = pings.load(Ordering::SeqCst);
        ctx.service(Some(Duration::from_millis(50))).unwrap();
        pings_in_last_call = pings.load(Ordering::SeqCst) - before;
        if !log.lock().unwrap().is_empty() {
            break;
        }
    }
    // service returned with the timer's event while pings were still being written: the
    // flood neither held the loop nor delayed the timer.
    assert!(
        flooding.load(Ordering::SeqCst),
        "the timer waited for the flood to end"
    );
    // One call gives the flooded connection one turn: a short time slice, at least one read
    // (a read buffer holds 131,072 of these 2-byte pings). How many calls the timer took
    // depends on the machine's speed and load, so it is not asserted.
    let per_buffer = wsc::context::DEFAULT_READ_BUFFER / 2;
    assert!(
        pings_in_last_call <= 2 * per_buffer,
        "{pings_in_last_call} pings read in one call"
    );
    stop.store(true, Ordering::SeqCst);
    flooded.close(1000, b"").unwrap();
    while ctx.live_connections() > 0 && start.elapsed() < Duration::from_secs(30) {
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    flood.join();
    silent.join();
}

// ---- streamed messages (stream_messages) ----

fn streamed() -> Options {
    Options {
        stream_messages: true,
        close_timeout: Duration::from_secs(60),
        ..short_timeouts()
    }
}

fn part_ev(data: &[u8], text: bool, first: bool, last: bool) -> Ev {
    Ev::Part {
        data: data.to_vec(),
        text,
        first,
        last,
    }
}

/// Lengths and limits are checked on the frame header, before any payload: nothing of the
/// frame is delivered, and the same codes as for whole messages.
#[test]
fn streamed_frames_announcing_too_much_fail_before_any_payload() {
    use ErrorKind::{MessageTooBig, Protocol};
    let limited = |frame: u64, message: u64| Options {
        receive_limits: ReceiveLimits {
            max_frame_size: frame,
            max_message_size: message,
            ..ReceiveLimits::default()
        },
        ..streamed()
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, Options, ErrorKind, u16)> = vec![
        ("64-bit length with the top bit", header64(0x82, 1 << 63), streamed(), Protocol, 1002),
        ("64-bit length with the top bit, no message limit", header64(0x82, 1 << 63), limited(u64::MAX, 0), Protocol, 1002),
        ("frame announcing 1 TiB", header64(0x82, 1 << 40), limited(1024, 0), MessageTooBig, 1009),
        ("frame over max_frame_size by one, payload never sent", [0x82, 126, 0x04, 0x01].to_vec(), limited(1024, 0), MessageTooBig, 1009),
        ("frame over max_frame_size by one", frame(0x82, &[b'x'; 1025]), limited(1024, 0), MessageTooBig, 1009),
    ];
    for (name, bytes, options, kind, code) in cases {
        let server = Server::start(move |peer| {
            peer.open();
            peer.write(&bytes);
            peer.read_until_close();
        });
        // Exactly on_open, on_error, on_close: no part.
        assert_violation_closes(name, server, options, kind, code);
    }
}

/// Over `max_message_size` in streamed mode: 1009 once the frame that crosses it is
/// announced; the parts before it were delivered, nothing of that frame.
#[test]
fn streamed_message_over_max_message_size_is_1009() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&frame(0x02, &[b'a'; 600]));
        // The first fragment was handled before the second comes.
        peer.write(&frame(0x89, b"1"));
        assert_eq!(peer.read_frame().map(|f| f.opcode), Some(0xA));
        peer.write(&frame(0x80, &[b'b'; 401]));
        peer.read_until_close();
    });
    let mut options = streamed();
    options.receive_limits.max_message_size = 1000;
    let (events, _) = run(&server.url(), options, Rec::default());
    assert_failed("over", &events, true, ErrorKind::MessageTooBig, 1009);
    let events = merge_parts(&events);
    assert_eq!(events[1], part_ev(&[b'a'; 600], false, true, false));
    assert_eq!(events[2], Ev::Ping(b"1".to_vec()));
    assert_eq!(events.len(), 5, "{events:?}");
    let frames = server.join();
    assert_eq!(frames.last().unwrap().close_code(), Some(1009));
}

/// With `max_message_size` 0 (no limit, allowed only when streaming) or `u64::MAX`, a message
/// larger than the default limit of 64 MiB arrives whole, in parts.
#[test]
fn streamed_message_without_a_limit_passes_the_default_limit() {
    const TOTAL: usize = (64 << 20) + 1;
    for limit in [0, u64::MAX] {
        let server = Server::start(|peer| {
            peer.open();
            let data = vec![b'z'; 4 << 20];
            let mut left = TOTAL;
            let mut first = true;
            while left > 0 {
                let n = left.min(data.len());
                left -= n;
                let b0 = if first { 0x02 } else { 0x00 } | if left == 0 { 0x80 } else { 0 };
                peer.write(&frame(b0, &data[..n]));
                first = false;
            }
            peer.write(&close_frame(1000, b""));
            peer.read_until_close();
        });
        let mut options = streamed();
        options.receive_limits.max_message_size = limit;
        let (events, _) = run(&server.url(), options, Rec::default());
        let events = merge_parts(&events);
        assert_eq!(events.len(), 3, "limit {limit}: {} events", events.len());
        let Ev::Part {
            data,
            text: false,
            first: true,
            last: true,
        } = &events[1]
        else {
            panic!("limit {limit}: not one whole message: {:?}", events[2]);
        };
        assert!(data.len() == TOTAL && data.iter().all(|b| *b == b'z'));
        assert_eq!(events[2], close_info(1000, "", ClosedBy::Server, true));
        server.join();
    }
}

/// A Close frame may come between the fragments of a message (it is a control frame): the
/// parts so far are delivered, the message never ends, and the close is the server's.
#[test]
fn streamed_unfinished_message_then_close() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&[frame(0x01, b"unfin"), frame(0x00, b"ished")].concat());
        peer.write(&close_frame(1001, b"going"));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), streamed(), Rec::default());
    let events = merge_parts(&events);
    assert_eq!(
        events,
        [
            Ev::Open,
            part_ev(b"unfinished", true, true, false),
            close_info(1001, "going", ClosedBy::Server, true),
        ]
    );
    let frames = server.join();
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].close_code(), Some(1001));
}

/// Pings and pongs between every two parts of a message: each ping answered in order, each
/// control frame reported between the parts it came between.
#[test]
fn streamed_parts_with_control_frames_between_every_two() {
    let fragments: [&[u8]; 4] = [b"one ", b"two \xe2\x82", b"\xac three ", b"four"];
    let server = Server::start(move |peer| {
        peer.open();
        for (i, f) in fragments.iter().enumerate() {
            let b0 = if i == 0 { 0x01 } else { 0x00 } | if i == 3 { 0x80 } else { 0 };
            peer.write(&frame(b0, f));
            if i < 3 {
                peer.write(&frame(0x8A, format!("pong{i}").as_bytes()));
                peer.write(&frame(0x89, format!("ping{i}").as_bytes()));
                let pong = peer.read_frame().expect("a pong");
                assert_eq!(
                    (pong.opcode, pong.payload),
                    (0xA, format!("ping{i}").into())
                );
            }
        }
        peer.write(&close_frame(1000, b""));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), streamed(), Rec::default());
    let mut want = vec![Ev::Open];
    for (i, f) in fragments.iter().enumerate() {
        want.push(part_ev(f, true, i == 0, i == 3));
        if i < 3 {
            want.push(Ev::Pong(format!("pong{i}").into()));
            want.push(Ev::Ping(format!("ping{i}").into()));
        }
    }
    want.push(close_info(1000, "", ClosedBy::Server, true));
    assert_eq!(merge_parts(&events), want);
    assert!(errors(&events).is_empty());
    let opcodes: Vec<u8> = server.join().iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0xA, 0xA, 0xA, 0x8]);
}

/// Invalid UTF-8 split between two parts: the first part (valid so far, ending inside a code
/// point) is delivered, the part that holds the impossible byte is not; 1007.
#[test]
fn streamed_invalid_utf8_split_across_parts() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&frame(0x01, b"ok \xe2\x82"));
        // The first part is delivered before the rest is sent.
        peer.write(&frame(0x89, b""));
        assert_eq!(peer.read_frame().map(|f| f.opcode), Some(0xA));
        peer.write(&frame(0x80, b"\x28 rest"));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), streamed(), Rec::default());
    assert_failed("split", &events, true, ErrorKind::InvalidUtf8, 1007);
    let events = merge_parts(&events);
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[1], part_ev(b"ok \xe2\x82", true, true, false));
    assert_eq!(events[2], Ev::Ping(vec![]));
    let frames = server.join();
    assert_eq!(frames.last().unwrap().close_code(), Some(1007));

    // One frame written a byte at a time: whatever was delivered is valid so far and stops
    // before the impossible byte.
    let server = Server::start(|peer| {
        peer.open();
        peer.trickle(&frame(0x81, b"ab\xe2\x82\x28cd"));
        peer.read_until_close();
    });
    let (events, _) = run(&server.url(), streamed(), Rec::default());
    assert_failed("trickled", &events, true, ErrorKind::InvalidUtf8, 1007);
    let delivered: Vec<u8> = events
        .iter()
        .flat_map(|e| match e {
            Ev::Part { data, last, .. } => {
                assert!(!last, "{events:?}");
                data.clone()
            }
            _ => Vec::new(),
        })
        .collect();
    assert!(b"ab\xe2\x82".starts_with(&delivered), "{delivered:?}");
    assert_eq!(server.join().last().unwrap().close_code(), Some(1007));
}
