//! wss:// against a local TLS WebSocket echo server with certificates made at test time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use wsc::protocol::frame::{FrameHeader, OpCode};
use wsc::protocol::handshake::accept_key;
use wsc::protocol::mask::apply_mask;
use wsc::tls::TlsOptions;
use wsc::{CloseInfo, ClosedBy, Connection, Context, Error, ErrorKind, Handler, Options};

/// A certificate for `names`, self-signed: trusting it as a CA makes it valid for those names.
fn certificate(names: &[&str]) -> (String, Arc<ServerConfig>) {
    let key =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let pem = key.cert.pem();
    let der: CertificateDer<'static> = key.cert.der().clone();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], private)
            .unwrap();
    (pem, Arc::new(config))
}

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// Echo the Close frame, send close_notify, close TCP.
    Clean,
    /// Echo the Close frame, then drop TCP without close_notify.
    Truncated,
}

/// Serves one TLS WebSocket connection on 127.0.0.1: echoes messages, answers Close.
fn serve(config: Arc<ServerConfig>, ending: Ending) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") {
            if tls.read(&mut byte).unwrap_or(0) == 0 {
                return; // the client gave up (certificate rejected)
            }
            request.push(byte[0]);
        }
        let request = String::from_utf8(request).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .expect("a key");
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        );
        tls.write_all(response.as_bytes()).unwrap();
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = tls.read(&mut chunk).unwrap();
            assert!(n > 0, "client hung up before closing");
            buf.extend_from_slice(&chunk[..n]);
            while let Some((h, len)) = FrameHeader::parse(&buf).unwrap() {
                let end = len + h.payload_len as usize;
                if buf.len() < end {
                    break;
                }
                let mut payload = buf[len..end].to_vec();
                apply_mask(&mut payload, h.mask.expect("masked"));
                buf.drain(..end);
                let mut frame = vec![0x80 | h.opcode as u8];
                assert!(payload.len() < 126, "short test messages");
                frame.push(payload.len() as u8);
                frame.extend_from_slice(&payload);
                tls.write_all(&frame).unwrap();
                if h.opcode == OpCode::Close {
                    if ending == Ending::Clean {
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                    return;
                }
            }
        }
    });
    (port, handle)
}

#[derive(Default)]
struct Recorder {
    messages: Mutex<Vec<String>>,
    errors: Mutex<Vec<(ErrorKind, String)>>,
    closed: Mutex<Option<CloseInfo>>,
}

struct Echo(Arc<Recorder>);

impl Handler for Echo {
    fn on_open(&self, conn: &Connection) {
        conn.send(true, "hello over TLS ✓".as_bytes()).unwrap();
    }
    fn on_message(&self, conn: &Connection, data: &[u8], _: bool) {
        self.0
            .messages
            .lock()
            .unwrap()
            .push(String::from_utf8(data.to_vec()).unwrap());
        conn.close(1000, b"done").unwrap();
    }
    fn on_error(&self, _: &Connection, e: &Error) {
        self.0
            .errors
            .lock()
            .unwrap()
            .push((e.kind, e.message.clone()));
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.0.closed.lock().unwrap() = Some(info.clone());
    }
}

fn run(url: &str, tls: TlsOptions) -> Arc<Recorder> {
    let ctx = Context::new(64 * 1024).unwrap();
    let record = Arc::new(Recorder::default());
    let options = Options {
        tls,
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    ctx.connect(url, options, Box::new(Echo(record.clone())))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ctx.live_connections() > 0 {
        assert!(Instant::now() < deadline, "the connection did not end");
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    record
}

fn trust(pem: &str) -> TlsOptions {
    TlsOptions {
        ca_pem: Some(pem.as_bytes().to_vec()),
        insecure_skip_verification: false,
    }
}

#[test]
fn wss_echo_with_a_ca_file() {
    let (pem, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Clean);
    let r = run(&format!("wss://localhost:{port}/"), trust(&pem));
    server.join().unwrap();
    assert_eq!(
        *r.messages.lock().unwrap(),
        vec!["hello over TLS ✓".to_string()]
    );
    assert_eq!(*r.errors.lock().unwrap(), vec![]);
    let closed = r.closed.lock().unwrap().clone().unwrap();
    assert_eq!(
        (closed.code, closed.closed_by, closed.clean),
        (1000, ClosedBy::Application, true)
    );
}

#[test]
fn ip_literal_hosts_match_ip_address_names() {
    let (pem, config) = certificate(&["127.0.0.1"]);
    let (port, server) = serve(config, Ending::Clean);
    let r = run(&format!("wss://127.0.0.1:{port}/"), trust(&pem));
    server.join().unwrap();
    assert_eq!(r.messages.lock().unwrap().len(), 1);
    assert!(r.closed.lock().unwrap().as_ref().unwrap().clean);
}

fn assert_rejected(r: &Recorder, needle: &str) {
    let errors = r.errors.lock().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorKind::TlsCertificate, "{errors:?}");
    assert!(errors[0].1.contains(needle), "{errors:?}");
    let closed = r.closed.lock().unwrap().clone().unwrap();
    assert_eq!(
        (closed.code, closed.closed_by, closed.clean),
        (1006, ClosedBy::Failure, false)
    );
    assert!(r.messages.lock().unwrap().is_empty());
}

#[test]
fn unknown_issuer_is_rejected() {
    let (_, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Clean);
    let r = run(&format!("wss://localhost:{port}/"), TlsOptions::default());
    server.join().unwrap();
    assert_rejected(&r, "UnknownIssuer");
}

#[test]
fn wrong_host_name_is_rejected() {
    let (pem, config) = certificate(&["example.com"]);
    let (port, server) = serve(config, Ending::Clean);
    let r = run(&format!("wss://localhost:{port}/"), trust(&pem));
    server.join().unwrap();
    assert_rejected(&r, "NotValidForName");
}

#[test]
fn the_insecure_switch_accepts_a_self_signed_certificate() {
    let (_, config) = certificate(&["example.com"]);
    let (port, server) = serve(config, Ending::Clean);
    let options = TlsOptions {
        ca_pem: None,
        insecure_skip_verification: true,
    };
    let r = run(&format!("wss://localhost:{port}/"), options);
    server.join().unwrap();
    assert_eq!(r.messages.lock().unwrap().len(), 1);
    assert!(r.closed.lock().unwrap().as_ref().unwrap().clean);
}

#[test]
fn a_stream_without_close_notify_is_an_unclean_close() {
    let (pem, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Truncated);
    let r = run(&format!("wss://localhost:{port}/"), trust(&pem));
    server.join().unwrap();
    let errors = r.errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorKind::ConnectionLost);
    assert!(errors[0].1.contains("close_notify"), "{errors:?}");
    let closed = r.closed.lock().unwrap().clone().unwrap();
    assert_eq!((closed.code, closed.clean), (1006, false));
}

#[test]
fn bad_ca_data_fails_connect_at_once() {
    let ctx = Context::new(64 * 1024).unwrap();
    let options = Options {
        tls: trust("not a certificate"),
        ..Options::default()
    };
    let err = ctx
        .connect(
            "wss://localhost:1/",
            options,
            Box::new(Echo(Arc::default())),
        )
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(ctx.live_connections(), 0);
}
