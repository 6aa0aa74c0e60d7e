//! IPv6: connecting to a literal address, with the brackets in the Host header.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use wsc::{CloseInfo, ClosedBy};

mod common;
use common::{run, short_timeouts, Ev, Rec};

/// One connection on `addr`: 101, a text message, a close, then waits for the client to hang up.
fn serve_once(addr: &str) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1);
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            wsc::protocol::handshake::accept_key(key)
        );
        s.write_all(response.as_bytes()).unwrap();
        s.write_all(b"\x81\x02v6\x88\x02\x03\xe8").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(
            head.contains(&format!("Host: [::1]:{port}\r\n")) || head.contains("Host: localhost:"),
            "{head}"
        );
    });
    (port, handle)
}

fn assert_served(events: &[Ev]) {
    assert_eq!(events[0], Ev::Open, "{events:?}");
    assert_eq!(events[1], Ev::Message(b"v6".to_vec(), true));
    assert!(matches!(
        &events[2],
        Ev::Close(CloseInfo {
            code: 1000,
            closed_by: ClosedBy::Server,
            clean: true,
            ..
        })
    ));
}

#[test]
fn an_ipv6_literal() {
    let (port, server) = serve_once("[::1]:0");
    let (events, _) = run(
        &format!("ws://[::1]:{port}/"),
        short_timeouts(),
        Rec::default(),
    );
    server.join().unwrap();
    assert_served(&events);
}
