//! IPv6: connecting to a literal address, with the brackets in the Host header.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use wsc::{CloseInfo, ClosedBy};

mod common;
use common::{read_request, run, short_timeouts, switching_for, Ev, Rec};

/// One connection on `addr`: 101, a text message, a close, then waits for the client to hang up.
fn serve_once(addr: &str) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let head = read_request(&mut s);
        let response = switching_for(&head);
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
