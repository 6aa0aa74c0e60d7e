//! Following redirects and reconnecting: a connection handle that outlives one attempt.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsc::config::Reconnect;
use wsc::{CloseInfo, ClosedBy, Connection, Error, ErrorKind, Handler, Options};

mod common;
use common::{
    assert_served, closing_on_open, drive, frame, new_context, run, serve_n, short_timeouts,
    switching_for, Ev, Rec, Server,
};

fn redirect_to(location: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
}

/// Following up to two redirects, with credentials.
fn redirects_with_auth() -> Options {
    Options {
        max_redirects: 2,
        headers: vec![("Authorization".into(), "Bearer secret".into())],
        ..short_timeouts()
    }
}

#[test]
fn a_redirect_is_followed_when_allowed() {
    let (to, target) = serve_n(
        1,
        |_, r| switching_for(r),
        |_| [frame(0x81, b"hi"), frame(0x88, b"\x03\xe8")].concat(),
    );
    let (from, first) = serve_n(
        1,
        move |_, _| redirect_to(&format!("ws://127.0.0.1:{to}/there?x=1")),
        |_| vec![],
    );
    let options = redirects_with_auth();
    let (events, _) = run(
        &format!("ws://127.0.0.1:{from}/here"),
        options,
        Rec::default(),
    );
    first.join().unwrap();
    let requests = target.join().unwrap();
    assert!(
        requests[0].starts_with("GET /there?x=1 HTTP/1.1\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0].contains("Authorization: Bearer secret"),
        "same host keeps credentials"
    );
    assert_served(&events, b"hi");
}

#[test]
fn credentials_are_dropped_when_the_host_changes() {
    let (to, target) = serve_n(1, |_, r| switching_for(r), |_| frame(0x88, b"\x03\xe8"));
    // A relative reference first, then another host name for the same machine.
    let (from, first) = serve_n(
        2,
        move |n, _| match n {
            0 => redirect_to("/again"),
            _ => redirect_to(&format!("ws://localhost:{to}/")),
        },
        |_| vec![],
    );
    let options = redirects_with_auth();
    let (events, _) = run(&format!("ws://127.0.0.1:{from}/"), options, Rec::default());
    let hops = first.join().unwrap();
    assert!(hops[1].starts_with("GET /again HTTP/1.1"), "{}", hops[1]);
    assert!(
        hops[1].contains("Authorization"),
        "the same host keeps them"
    );
    let final_request = &target.join().unwrap()[0];
    assert!(!final_request.contains("Authorization"), "{final_request}");
    assert_eq!(events[0], Ev::Open);
}

#[test]
fn redirects_are_off_by_default_and_limited() {
    let (from, server) = serve_n(1, |_, _| redirect_to("/elsewhere"), |_| vec![]);
    let (events, _) = run(
        &format!("ws://127.0.0.1:{from}/"),
        short_timeouts(),
        Rec::default(),
    );
    server.join().unwrap();
    match &events[0] {
        Ev::Error(ErrorKind::HandshakeStatus, m) => {
            assert!(m.contains("302") && m.contains("off"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let (from, server) = serve_n(2, |_, _| redirect_to("/loop"), |_| vec![]);
    let options = Options {
        max_redirects: 1,
        ..short_timeouts()
    };
    let (events, _) = run(&format!("ws://127.0.0.1:{from}/"), options, Rec::default());
    server.join().unwrap();
    match &events[0] {
        Ev::Error(ErrorKind::HandshakeStatus, m) => assert!(m.contains("stopped after 1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &events[1],
        Ev::Close(CloseInfo {
            code: 1006,
            closed_by: ClosedBy::Failure,
            ..
        })
    ));
}

/// Records events with whether a retry was scheduled at `on_close`; optionally closes the
/// connection from inside the first `on_close` that schedules one.
#[derive(Default)]
struct Retrying {
    log: Mutex<Vec<String>>,
    cancel_in_close: bool,
}

impl Handler for Retrying {
    fn on_open(&self, _: &Connection) {
        self.log.lock().unwrap().push("open".into());
    }
    fn on_message(&self, _: &Connection, data: &[u8], _: bool) {
        self.log
            .lock()
            .unwrap()
            .push(format!("message {}", String::from_utf8_lossy(data)));
    }
    fn on_error(&self, _: &Connection, e: &Error) {
        self.log.lock().unwrap().push(format!("error {:?}", e.kind));
    }
    fn on_close(&self, conn: &Connection, info: &CloseInfo) {
        let retry = conn.retry_in().is_some();
        self.log.lock().unwrap().push(format!(
            "close {} {:?} retry={retry}",
            info.code, info.closed_by
        ));
        if retry && self.cancel_in_close {
            conn.close(1000, b"").unwrap();
        }
    }
}

fn quick_reconnect(max_attempts: u32) -> Options {
    let reconnect = Reconnect {
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_attempts,
    };
    Options {
        reconnect: Some(reconnect),
        ..short_timeouts()
    }
}

/// The log of `handler` connecting to `port` on 127.0.0.1.
fn run_retrying(port: u16, options: Options, handler: Retrying) -> Vec<String> {
    let handler = Arc::new(handler);
    let ctx = new_context();
    let url = format!("ws://127.0.0.1:{port}/");
    ctx.connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    drive(&ctx);
    let log = handler.log.lock().unwrap().clone();
    log
}

#[test]
fn reconnects_after_a_drop_and_opens_again() {
    // The first attempt is refused (503); the second opens, gets a message and a close.
    let (port, server) = serve_n(
        2,
        |n, r| match n {
            0 => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".into(),
            _ => switching_for(r),
        },
        |n| match n {
            0 => vec![],
            _ => [frame(0x81, b"again"), frame(0x88, b"\x03\xe8")].concat(),
        },
    );
    let log = run_retrying(port, quick_reconnect(0), Retrying::default());
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus",
            "close 1006 Failure retry=true",
            "open",
            "message again",
            "close 1000 Server retry=false",
        ]
    );
}

#[test]
fn a_close_while_waiting_stops_reconnecting() {
    let (port, server) = serve_n(1, |_, _| "HTTP/1.1 503 Busy\r\n\r\n".into(), |_| vec![]);
    let handler = Retrying {
        cancel_in_close: true,
        ..Retrying::default()
    };
    let log = run_retrying(port, quick_reconnect(0), handler);
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus",
            "close 1006 Failure retry=true",
            "close 1006 Application retry=false"
        ]
    );
}

#[test]
fn reconnecting_gives_up_after_max_attempts() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = run_retrying(port, quick_reconnect(2), Retrying::default());
    assert_eq!(
        log,
        vec![
            "error ConnectRefused",
            "close 1006 Failure retry=true",
            "error ConnectRefused",
            "close 1006 Failure retry=true",
            "error ConnectRefused",
            "close 1006 Failure retry=false",
        ]
    );
}

#[test]
fn an_application_close_is_never_retried() {
    let server = Server::start(|peer| {
        peer.open();
        peer.read_until_close();
        peer.write(&frame(0x88, b"\x03\xe8"));
    });
    let rec = closing_on_open();
    let (events, _) = run(&server.url(), quick_reconnect(0), rec);
    server.join();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        &events[1],
        Ev::Close(CloseInfo {
            closed_by: ClosedBy::Application,
            clean: true,
            ..
        })
    ));
}

#[test]
fn a_server_going_away_is_retried_but_a_normal_close_is_not() {
    let (port, server) = serve_n(
        2,
        |_, r| switching_for(r),
        |n| match n {
            0 => frame(0x88, b"\x03\xe9restarting"),
            _ => [frame(0x81, b"back"), frame(0x88, b"\x03\xe8")].concat(),
        },
    );
    let log = run_retrying(port, quick_reconnect(0), Retrying::default());
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "open",
            "close 1001 Server retry=true",
            "open",
            "message back",
            "close 1000 Server retry=false"
        ]
    );
}
