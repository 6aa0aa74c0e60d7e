//! A handshake the server refuses (a status other than 101): its status, header fields and the
//! start of its body stay readable during that attempt's `on_error` and `on_close`.

use std::sync::{Arc, Mutex};

use wsc::{CloseInfo, Connection, Error, ErrorKind, Handler};

mod common;
use common::{drive, new_context, serve_n, short_timeouts};

/// What each callback saw of the refused response.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

fn describe(conn: &Connection) -> String {
    let status = conn.response_status();
    let auth = conn
        .response_header("www-authenticate")
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    let body = conn
        .response_body()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    format!("{status:?} {auth:?} {body:?}")
}

impl Handler for Seen {
    fn on_error(&self, conn: &Connection, e: &Error) {
        assert_eq!(e.kind, ErrorKind::HandshakeStatus);
        let mut seen = self.0.lock().unwrap();
        seen.push(format!("error {}", e.message));
        seen.push(format!("error {}", describe(conn)));
    }
    fn on_close(&self, conn: &Connection, _: &CloseInfo) {
        self.0
            .lock()
            .unwrap()
            .push(format!("close {}", describe(conn)));
    }
}

fn refused_with(header: &'static str, body: &'static [u8]) -> Vec<String> {
    // The header and the body go out in two writes: the body may arrive in a later read.
    let (port, server) = serve_n(1, move |_, _| header.into(), move |_| body.to_vec());
    let seen = Arc::new(Seen::default());
    let ctx = new_context();
    let url = format!("ws://127.0.0.1:{port}/");
    ctx.connect(&url, short_timeouts(), Box::new(seen.clone()))
        .unwrap();
    drive(&ctx);
    server.join().unwrap();
    let log = seen.0.lock().unwrap().clone();
    log
}

#[test]
fn a_401_keeps_its_status_headers_and_body() {
    let log = refused_with(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"api\"\r\n\
         Content-Length: 24\r\n\r\n",
        b"missing X-Token header\r\n",
    );
    let seen = "Some((401, \"Unauthorized\")) Some(\"Bearer realm=\\\"api\\\"\") \
                Some(\"missing X-Token header\\r\\n\")";
    assert_eq!(
        log,
        [
            "error server answered 401 Unauthorized, not 101 Switching Protocols: missing \
             X-Token header"
                .to_string(),
            format!("error {seen}"),
            format!("close {seen}"),
        ]
    );
}

#[test]
fn a_long_body_is_kept_to_1_kib_and_quoted_sanitized_and_cut() {
    static BODY: [u8; 3000] = {
        let mut b = [b'x'; 3000];
        b[0] = b'a';
        b[1] = 0x1b; // ESC: a control character
        b[2] = b'b';
        b
    };
    let log = refused_with(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3000\r\n\r\n",
        &BODY,
    );
    let message = log[0].strip_prefix("error ").unwrap();
    let quoted = message
        .strip_prefix("server answered 503 Service Unavailable, not 101 Switching Protocols: a b")
        .expect(message);
    assert!(quoted.ends_with("x..."), "{message}");
    assert!(quoted.len() < 300, "cut: {message}");
    let kept = format!(
        "Some((503, \"Service Unavailable\")) None Some({:?})",
        String::from_utf8_lossy(&BODY[..1024])
    );
    assert_eq!(log[1], format!("error {kept}"));
    assert_eq!(log[2], format!("close {kept}"));
}

#[test]
fn a_refusal_without_a_body_has_an_empty_one() {
    let log = refused_with("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", b"");
    assert_eq!(
        log,
        [
            "error server answered 403 Forbidden, not 101 Switching Protocols",
            "error Some((403, \"Forbidden\")) None Some(\"\")",
            "close Some((403, \"Forbidden\")) None Some(\"\")",
        ]
    );
}
