//! The log: what a connection's lines say, at which level, and where they go (a context's
//! handler, the process-wide one, or stderr through `WSC_LOG`).

use std::process::Command;
use std::sync::{Arc, Mutex};

use wsc::{Context, LogHandler, LogLevel, Options};

mod common;
use common::tls::{certificate, serve, trust, Ending};
use common::{close_frame, drive, frame, request_key, serve_n, short_timeouts, Rec, SWITCHING};

/// Lines a handler received, with their levels.
type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

fn collector(max: LogLevel) -> (LogHandler, Lines) {
    let lines: Lines = Arc::default();
    let sink = lines.clone();
    let handler = LogHandler::new(max, move |level, line| {
        sink.lock().unwrap().push((level, line.to_string()))
    });
    (handler, lines)
}

fn texts(lines: &Lines) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l.clone())
        .collect()
}

/// A server that accepts, sets a cookie, sends "hi" and closes with 1000 "bye".
fn cookie_server() -> (u16, std::thread::JoinHandle<Vec<String>>) {
    serve_n(
        1,
        |_, request| {
            let accept = wsc::protocol::handshake::accept_key(request_key(request));
            SWITCHING.replace("ACCEPT", &accept) + "Set-Cookie: sid=s3cr3t-cookie\r\n\r\n"
        },
        |_| {
            let mut bytes = frame(0x81, b"hi");
            bytes.extend(close_frame(1000, b"bye"));
            bytes
        },
    )
}

fn with_authorization() -> Options {
    let mut options = short_timeouts();
    options.headers = vec![("Authorization".into(), "Bearer s3cr3t-token".into())];
    options
}

/// Runs one connection to the cookie server on a context logging to `handler`; returns
/// the connection's log number.
fn run_logged(handler: Option<LogHandler>) -> u64 {
    let (port, server) = cookie_server();
    let ctx = Context::with_log(wsc::DEFAULT_READ_BUFFER, handler).unwrap();
    let url = format!("ws://127.0.0.1:{port}/chat");
    let conn = ctx
        .connect(&url, with_authorization(), Box::new(Rec::default()))
        .unwrap();
    drive(&ctx);
    server.join().unwrap();
    conn.log_id()
}

#[test]
fn trace_shows_the_connection_its_headers_redacted_and_its_frames() {
    let (handler, lines) = collector(LogLevel::Trace);
    let id = run_logged(Some(handler));
    let lines = texts(&lines);
    let all = lines.join("\n");
    let prefix = format!("[#{id} 127.0.0.1] ");
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{all}");
    for expected in [
        "connecting to ws://127.0.0.1:",
        "connected to 127.0.0.1:",
        "> GET /chat HTTP/1.1",
        "> Authorization: [redacted]",
        "< HTTP/1.1 101 Switching Protocols",
        "< Set-Cookie: [redacted]",
        "open (subprotocol none, no compression)",
        "recv frame Text fin=1 rsv1=0 len=2 unmasked",
        "recv frame Close fin=1 rsv1=0 len=5 unmasked",
        "close: received 1000 \"bye\"",
        "send frame Close fin=1 rsv1=0 len=2 masked",
        "closed: code 1000 \"bye\", by Server, clean",
    ] {
        assert!(all.contains(expected), "no {expected:?} in:\n{all}");
    }
    assert!(!all.contains("s3cr3t"), "a credential leaked:\n{all}");
}

#[test]
fn a_level_keeps_the_lines_above_it_out() {
    let (handler, lines) = collector(LogLevel::Info);
    run_logged(Some(handler));
    let lines = lines.lock().unwrap().clone();
    assert!(lines.iter().all(|(level, _)| *level <= LogLevel::Info));
    let all: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert!(all
        .iter()
        .any(|l| l.ends_with("open (subprotocol none, no compression)")));
    assert!(all.iter().any(|l| l.contains("closed: code 1000")));
    assert!(
        !all.iter()
            .any(|l| l.contains("> GET") || l.contains("frame")),
        "{all:?}"
    );
    let (handler, lines) = collector(LogLevel::Off);
    run_logged(Some(handler));
    assert!(lines.lock().unwrap().is_empty(), "off means nothing");
}

#[test]
fn a_context_handler_overrides_the_process_handler() {
    // Other tests of this binary may log to the process handler meanwhile: lines are told
    // apart by their connection's number.
    let (process, process_lines) = collector(LogLevel::Debug);
    wsc::log::set_handler(Some(process));
    let (own, own_lines) = collector(LogLevel::Debug);
    let with_own = run_logged(Some(own));
    let with_process = run_logged(None);
    wsc::log::set_handler(None);
    let after = run_logged(None);
    let named = |lines: &Lines, id: u64| {
        texts(lines)
            .iter()
            .filter(|l| l.starts_with(&format!("[#{id} ")))
            .count()
    };
    assert!(named(&own_lines, with_own) > 5);
    assert_eq!(named(&process_lines, with_own), 0, "went to the context's");
    assert!(named(&process_lines, with_process) > 5);
    assert_eq!(named(&own_lines, with_process), 0);
    assert_eq!(named(&process_lines, after), 0, "the handler was removed");
    assert!(
        with_own != with_process && with_process != after,
        "numbers are unique"
    );
}

#[test]
fn tls_lines_say_what_was_negotiated_and_carry_rustls_own() {
    let (pem, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Clean);
    let (handler, lines) = collector(LogLevel::Trace);
    let ctx = Context::with_log(wsc::DEFAULT_READ_BUFFER, Some(handler)).unwrap();
    let options = Options {
        tls: trust(&pem),
        ..short_timeouts()
    };
    let rec = Rec {
        on_open: Some(Box::new(|conn| conn.close(1000, b"").unwrap())),
        ..Rec::default()
    };
    let url = format!("wss://localhost:{port}/");
    ctx.connect(&url, options, Box::new(rec)).unwrap();
    drive(&ctx);
    server.join().unwrap();
    let all = texts(&lines).join("\n");
    assert!(all.contains("] TLS: TLSv1_3 TLS13_"), "{all}");
    assert!(all.contains(", ALPN none"), "{all}");
    assert!(all.contains("] rustls: "), "rustls' own lines: {all}");
}

#[test]
fn a_refused_certificate_chain_is_described_at_debug() {
    let (_, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Clean);
    let (handler, lines) = collector(LogLevel::Debug);
    let ctx = Context::with_log(wsc::DEFAULT_READ_BUFFER, Some(handler)).unwrap();
    // The system's roots: the server's self-signed certificate is from an unknown issuer.
    let url = format!("wss://localhost:{port}/");
    ctx.connect(&url, short_timeouts(), Box::new(Rec::default()))
        .unwrap();
    drive(&ctx);
    server.join().unwrap();
    let all = texts(&lines).join("\n");
    assert!(
        all.contains(
            "certificate refused; the chain presented: [0] CN=rcgen self signed cert \
             (issuer CN=rcgen self signed cert)"
        ),
        "{all}"
    );
}

/// The child half of `wsc_log_sends_lines_to_stderr`: runs only in the process it starts.
#[test]
fn child_logging_through_the_environment() {
    if std::env::var_os("WSC_LOG_TEST_CHILD").is_none() {
        return;
    }
    run_logged(None);
}

#[test]
fn wsc_log_sends_lines_to_stderr() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_logging_through_the_environment",
            "--nocapture",
        ])
        .env("WSC_LOG", "debug")
        .env("WSC_LOG_TEST_CHILD", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("> Authorization:"))
        .unwrap_or_else(|| panic!("no request header line on stderr:\n{stderr}"));
    // 2024-05-01T12:34:56.789Z wsc DEBUG [#1 127.0.0.1] > Authorization: [redacted]
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(rest.starts_with("wsc DEBUG [#"), "{line}");
    assert!(
        rest.ends_with("127.0.0.1] > Authorization: [redacted]"),
        "{line}"
    );
    assert!(
        !stderr.contains("TRACE"),
        "debug leaves out trace:\n{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"));
}
