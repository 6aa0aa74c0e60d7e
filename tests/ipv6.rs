//! IPv6: connecting to a literal address, with the brackets in the Host header.

mod common;
use common::{assert_served, run, serve_n_on, short_timeouts, switching_for, Rec};

#[test]
fn an_ipv6_literal() {
    // One connection on [::1]: 101, a text message, a close, then it waits for the client to
    // hang up.
    let (port, server) = serve_n_on(
        "[::1]:0",
        1,
        |_, request| switching_for(request),
        |_| b"\x81\x02v6\x88\x02\x03\xe8".to_vec(),
    );
    let (events, _) = run(
        &format!("ws://[::1]:{port}/"),
        short_timeouts(),
        Rec::default(),
    );
    let head = &server.join().unwrap()[0];
    assert!(
        head.contains(&format!("Host: [::1]:{port}\r\n")) || head.contains("Host: localhost:"),
        "{head}"
    );
    assert_served(&events, b"v6");
}
