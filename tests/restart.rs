//! Following redirects and reconnecting: a connection handle that outlives one attempt.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsc::config::Reconnect;
use wsc::{CloseInfo, ClosedBy, Connection, Error, ErrorKind, Handler, Options};

mod common;
use common::{
    assert_served, closed_port, closing_on_open, drive, frame, new_context, run, serve_n,
    short_timeouts, switching_for, Ev, Rec, Server,
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

/// Records events with whether a retry was scheduled at `on_error` and `on_close`; optionally
/// closes the connection from inside the first `on_error` or `on_close` that schedules one, and
/// changes the URL and a header in `on_reconnect`.
#[derive(Default)]
struct Retrying {
    log: Mutex<Vec<String>>,
    cancel_in_close: bool,
    cancel_in_error: bool,
    /// The URL and the X-Attempt header set in `on_reconnect`.
    redirect_retries_to: Option<String>,
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
    fn on_error(&self, conn: &Connection, e: &Error) {
        let retry = conn.retry_in().is_some();
        self.log
            .lock()
            .unwrap()
            .push(format!("error {:?} retry={retry}", e.kind));
        if retry && self.cancel_in_error {
            conn.close(1000, b"").unwrap();
            assert_eq!(conn.retry_in(), None, "cancelled at once");
        }
    }
    fn on_close(&self, conn: &Connection, info: &CloseInfo) {
        let retry = conn.retry_in().is_some();
        self.log.lock().unwrap().push(format!(
            "close {} {:?} retry={retry}",
            info.code, info.closed_by
        ));
        if retry && self.cancel_in_close {
            conn.close(1000, b"").unwrap();
            assert_eq!(conn.retry_in(), None, "cancelled at once");
        }
    }
    fn on_reconnect(&self, conn: &Connection, attempt: u32) {
        self.log
            .lock()
            .unwrap()
            .push(format!("reconnect {attempt}"));
        if let Some(url) = &self.redirect_retries_to {
            conn.set_url(url).unwrap();
            conn.set_header("x-attempt", Some(&attempt.to_string()))
                .unwrap();
            conn.set_header("X-Gone", None).unwrap();
        }
    }
}

fn quick_reconnect(max_attempts: u32) -> Options {
    let reconnect = Reconnect {
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_attempts,
        on_client_error: false,
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
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=true",
            "reconnect 1",
            "open",
            "message again",
            "close 1000 Server retry=false",
        ]
    );
}

/// A close from inside on_close cancels the retry at once; a last on_close (closed by the
/// application, no retry) follows, as for a close during the wait.
#[test]
fn a_close_in_on_close_cancels_the_retry() {
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
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=true",
            "close 1006 Application retry=false",
        ]
    );
}

#[test]
fn a_close_in_on_error_cancels_the_retry_and_one_on_close_follows() {
    let (port, server) = serve_n(1, |_, _| "HTTP/1.1 503 Busy\r\n\r\n".into(), |_| vec![]);
    let handler = Retrying {
        cancel_in_error: true,
        ..Retrying::default()
    };
    let log = run_retrying(port, quick_reconnect(0), handler);
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=false",
        ]
    );
}

#[test]
fn a_close_during_the_wait_stops_reconnecting() {
    let (port, server) = serve_n(1, |_, _| "HTTP/1.1 503 Busy\r\n\r\n".into(), |_| vec![]);
    let handler = Arc::new(Retrying::default());
    let ctx = new_context();
    let url = format!("ws://127.0.0.1:{port}/");
    let options = Options {
        reconnect: Some(Reconnect {
            min_delay: Duration::from_secs(20),
            max_delay: Duration::from_secs(20),
            max_attempts: 0,
            on_client_error: false,
        }),
        ..short_timeouts()
    };
    let conn = ctx
        .connect(&url, options, Box::new(handler.clone()))
        .unwrap();
    while handler.log.lock().unwrap().len() < 2 {
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    assert!(conn.retry_in().is_some());
    conn.close(1000, b"").unwrap();
    drive(&ctx);
    server.join().unwrap();
    let log = handler.log.lock().unwrap().clone();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=true",
            "close 1006 Application retry=false"
        ]
    );
}

#[test]
fn a_4xx_refusal_ends_the_connection_unless_retrying_client_errors() {
    let unauthorized = |_: usize, _: &str| -> String {
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".into()
    };
    let (port, server) = serve_n(1, unauthorized, |_| vec![]);
    let log = run_retrying(port, quick_reconnect(0), Retrying::default());
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus retry=false",
            "close 1006 Failure retry=false",
        ]
    );

    let (port, server) = serve_n(2, unauthorized, |_| vec![]);
    let mut options = quick_reconnect(1);
    if let Some(r) = &mut options.reconnect {
        r.on_client_error = true;
    }
    let log = run_retrying(port, options, Retrying::default());
    server.join().unwrap();
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=true",
            "reconnect 1",
            "error HandshakeStatus retry=false",
            "close 1006 Failure retry=false",
        ]
    );
}

#[test]
fn on_reconnect_changes_the_url_and_headers_of_the_next_attempt() {
    let (to, target) = serve_n(1, |_, r| switching_for(r), |_| frame(0x88, b"\x03\xe8"));
    let (from, first) = serve_n(
        1,
        |_, _| "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".into(),
        |_| vec![],
    );
    let handler = Retrying {
        redirect_retries_to: Some(format!("ws://127.0.0.1:{to}/elsewhere")),
        ..Retrying::default()
    };
    let mut options = quick_reconnect(0);
    options.headers = vec![
        ("X-Gone".into(), "old".into()),
        ("X-Attempt".into(), "0".into()),
    ];
    let log = run_retrying(from, options, handler);
    let before = first.join().unwrap();
    let after = target.join().unwrap();
    assert!(before[0].contains("X-Attempt: 0\r\n"), "{}", before[0]);
    assert!(before[0].contains("X-Gone: old\r\n"), "{}", before[0]);
    assert!(
        after[0].starts_with("GET /elsewhere HTTP/1.1\r\n"),
        "{}",
        after[0]
    );
    assert!(after[0].contains("x-attempt: 1\r\n"), "{}", after[0]);
    assert!(!after[0].contains("X-Attempt: 0"), "replaced: {}", after[0]);
    assert!(!after[0].contains("X-Gone"), "removed: {}", after[0]);
    assert_eq!(
        log,
        vec![
            "error HandshakeStatus retry=true",
            "close 1006 Failure retry=true",
            "reconnect 1",
            "open",
            "close 1000 Server retry=false",
        ]
    );
}

/// `max_attempts` counts retries: with 2, the first attempt and two retries fail, three
/// `on_close` in all, and only the last says no retry follows.
#[test]
fn reconnecting_gives_up_after_max_attempts_retries() {
    let log = run_retrying(closed_port(), quick_reconnect(2), Retrying::default());
    assert_eq!(
        log,
        vec![
            "error ConnectRefused retry=true",
            "close 1006 Failure retry=true",
            "reconnect 1",
            "error ConnectRefused retry=true",
            "close 1006 Failure retry=true",
            "reconnect 2",
            "error ConnectRefused retry=false",
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
            "reconnect 1",
            "open",
            "message back",
            "close 1000 Server retry=false"
        ]
    );
}
