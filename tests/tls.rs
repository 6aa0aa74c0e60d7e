//! wss:// against a local TLS WebSocket echo server with certificates made at test time.

use std::sync::Arc;
use std::time::Duration;

use wsc::tls::TlsOptions;
use wsc::{Context, ErrorKind, Handler, Options};

mod common;
use common::tls::{
    certificate, certificate_requiring_clients, client_identity, serve, trust, Ending,
};
use common::{
    assert_failed, assert_greeted, closed, drive_within, errors, greeter, messages, run, Ev, Rec,
    HELLO,
};
use wsc::tls::Pem;

/// A [`greeter`]'s events against a TLS echo server with a certificate for `names`, reached
/// as `host`; `tls` makes the client's TLS options from the certificate (PEM).
fn greet(names: &[&str], host: &str, ending: Ending, tls: fn(&str) -> TlsOptions) -> Vec<Ev> {
    let (pem, config) = certificate(names);
    let (port, server) = serve(config, ending);
    let options = Options {
        tls: tls(&pem),
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let (events, _) = run(&format!("wss://{host}:{port}/"), options, greeter());
    server.join().unwrap();
    events
}

/// Runs `handler` against a TLS echo server that it trusts, on a context with a 64 KiB read
/// buffer, failing past `limit`.
fn run_against_echo(handler: impl Handler + 'static, options: Options, limit: Duration) {
    let (pem, config) = certificate(&["localhost"]);
    let (port, server) = serve(config, Ending::Clean);
    let ctx = Context::new(64 * 1024).unwrap();
    let options = Options {
        tls: trust(&pem),
        ..options
    };
    let url = format!("wss://localhost:{port}/");
    ctx.connect(&url, options, Box::new(handler)).unwrap();
    drive_within(&ctx, limit);
    server.join().unwrap();
}

#[test]
fn wss_echo_with_a_ca_file() {
    let r = greet(&["localhost"], "localhost", Ending::Clean, trust);
    assert_greeted(&r, &[HELLO]);
}

#[test]
fn ip_literal_hosts_match_ip_address_names() {
    let r = greet(&["127.0.0.1"], "127.0.0.1", Ending::Clean, trust);
    assert_eq!(messages(&r).len(), 1);
    assert!(closed(&r).clean);
}

/// The handshake failed on the certificate, with `needle` in the message.
fn assert_rejected(r: &[Ev], needle: &str) {
    let message = assert_failed("rejected", r, false, ErrorKind::TlsCertificate, 1006);
    assert!(message.contains(needle), "{message}");
    assert!(messages(r).is_empty());
}

#[test]
fn unknown_issuer_is_rejected() {
    let r = greet(&["localhost"], "localhost", Ending::Clean, |_| {
        TlsOptions::default()
    });
    assert_rejected(&r, "UnknownIssuer");
}

#[test]
fn wrong_host_name_is_rejected() {
    let r = greet(&["example.com"], "localhost", Ending::Clean, trust);
    assert_rejected(&r, "NotValidForName");
}

#[test]
fn the_insecure_switch_accepts_a_self_signed_certificate() {
    let insecure = |_: &str| TlsOptions {
        insecure_skip_verification: true,
        ..TlsOptions::default()
    };
    let r = greet(&["example.com"], "localhost", Ending::Clean, insecure);
    assert_eq!(messages(&r).len(), 1);
    assert!(closed(&r).clean);
}

#[test]
fn a_stream_without_close_notify_is_an_unclean_close() {
    let r = greet(&["localhost"], "localhost", Ending::Truncated, trust);
    let errors = errors(&r);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorKind::ConnectionLost);
    assert!(errors[0].1.contains("close_notify"), "{errors:?}");
    let closed = closed(&r);
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
        .connect("wss://localhost:1/", options, Box::new(Rec::default()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(ctx.live_connections(), 0);
}

/// Many messages of many sizes through TLS, each echoed and compared: the TLS record layer
/// and the WebSocket framing must agree however the bytes are cut.
#[test]
fn soak_echo_over_wss() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use wsc::Connection;

    const MESSAGES: usize = 400;
    fn payload(i: usize) -> Vec<u8> {
        let len = (i * 7919) % 70_000;
        (0..len).map(|j| (i + j * 31) as u8).collect()
    }
    struct Soak {
        next: AtomicUsize,
        ok: AtomicUsize,
    }
    impl Handler for Soak {
        fn on_open(&self, conn: &Connection) {
            conn.send(false, &payload(0)).unwrap();
        }
        fn on_message(&self, conn: &Connection, data: &[u8], is_text: bool) {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            assert!(!is_text);
            assert!(
                data == payload(i).as_slice(),
                "message {i} came back different"
            );
            self.ok.fetch_add(1, Ordering::SeqCst);
            if i + 1 < MESSAGES {
                conn.send(false, &payload(i + 1)).unwrap();
            } else {
                conn.close(1000, b"soaked").unwrap();
            }
        }
    }
    let soak = Arc::new(Soak {
        next: AtomicUsize::new(0),
        ok: AtomicUsize::new(0),
    });
    let options = Options {
        deflate: vec![],
        ..Options::default()
    };
    run_against_echo(soak.clone(), options, Duration::from_secs(60));
    assert_eq!(soak.ok.load(Ordering::SeqCst), MESSAGES);
}

/// Large messages queued all at once, so the TCP socket blocks under TLS in both directions:
/// nothing may be sent twice or lost when rustls has taken bytes the socket has not. Every
/// other message is lent (masked piece by piece as the socket takes it) rather than copied.
#[test]
fn large_messages_through_a_blocked_tls_socket() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use wsc::Connection;

    const MESSAGES: usize = 24;
    fn payload(i: usize) -> Vec<u8> {
        (0..700_000).map(|j| (i * 13 + j / 7) as u8).collect()
    }
    struct Flood {
        received: AtomicUsize,
    }
    impl Handler for Flood {
        fn on_open(&self, conn: &Connection) {
            for i in 0..MESSAGES {
                if i % 2 == 0 {
                    conn.send(false, &payload(i)).unwrap();
                } else {
                    conn.send_lent(false, payload(i)).unwrap();
                }
            }
        }
        fn on_message(&self, conn: &Connection, data: &[u8], _: bool) {
            let i = self.received.fetch_add(1, Ordering::SeqCst);
            assert!(
                data == payload(i).as_slice(),
                "message {i} came back different"
            );
            if i + 1 == MESSAGES {
                conn.close(1000, b"").unwrap();
            }
        }
    }
    let flood = Arc::new(Flood {
        received: AtomicUsize::new(0),
    });
    let options = Options {
        deflate: vec![],
        send_buffer_limit: 64 << 20,
        ..Options::default()
    };
    run_against_echo(flood.clone(), options, Duration::from_secs(120));
    assert_eq!(flood.received.load(Ordering::SeqCst), MESSAGES);
}

/// A [`greeter`]'s events against a TLS echo server that requires a client certificate
/// issued by `client_ca`, with `tls` the client's options on top of trusting the server.
fn greet_requiring_clients(client_ca: &str, tls: TlsOptions) -> Vec<Ev> {
    let (pem, config) = certificate_requiring_clients(&["localhost"], client_ca);
    let (port, server) = serve(config, Ending::Clean);
    let options = Options {
        tls: TlsOptions {
            ca_pem: Some(pem.into_bytes()),
            ..tls
        },
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let (events, _) = run(&format!("wss://localhost:{port}/"), options, greeter());
    server.join().unwrap();
    events
}

fn presenting(cert: &str, key: &str) -> TlsOptions {
    TlsOptions {
        client_certificate: Some(Pem::Memory(cert.as_bytes().to_vec())),
        client_key: Some(Pem::Memory(key.as_bytes().to_vec())),
        ..TlsOptions::default()
    }
}

#[test]
fn a_client_certificate_the_server_trusts_opens_the_connection() {
    let (cert, key) = client_identity();
    let r = greet_requiring_clients(&cert, presenting(&cert, &key));
    assert_greeted(&r, &[HELLO]);
}

#[test]
fn a_client_certificate_the_server_rejects_is_reported_in_words() {
    let (trusted, _) = client_identity();
    let (cert, key) = client_identity();
    let r = greet_requiring_clients(&trusted, presenting(&cert, &key));
    let message = assert_failed("rejected", &r, false, ErrorKind::Tls, 1006);
    assert!(
        message.starts_with("the server rejected the client certificate (TLS alert "),
        "{message}"
    );
}

#[test]
fn a_server_requiring_a_client_certificate_says_so() {
    let (trusted, _) = client_identity();
    let r = greet_requiring_clients(&trusted, TlsOptions::default());
    let message = assert_failed("required", &r, false, ErrorKind::Tls, 1006);
    assert!(
        message.starts_with(
            "the server requires a client certificate (TLS alert certificate_required); none \
             was given"
        ),
        "{message}"
    );
}

#[test]
fn a_client_key_that_is_not_the_certificates_fails_connect_at_once() {
    let (cert, _) = client_identity();
    let (_, other_key) = client_identity();
    let ctx = Context::new(64 * 1024).unwrap();
    let options = Options {
        tls: presenting(&cert, &other_key),
        ..Options::default()
    };
    let err = ctx
        .connect("wss://localhost:1/", options, Box::new(Rec::default()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(
        err.message.contains("is not the key of the certificate"),
        "{err}"
    );
    assert_eq!(ctx.live_connections(), 0);
}

/// The only test of this binary that sets `SSLKEYLOGFILE`, and the only one with key logging
/// on: the others neither read nor write it.
#[test]
fn key_logging_writes_secrets_only_when_asked() {
    let dir = std::env::temp_dir().join(format!("wsc-keylog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.log");
    let _ = std::fs::remove_file(&file);
    std::env::set_var("SSLKEYLOGFILE", &file);
    let r = greet(&["localhost"], "localhost", Ending::Clean, trust);
    assert_greeted(&r, &[HELLO]);
    assert!(!file.exists(), "secrets written without key_log");
    let logging = |pem: &str| TlsOptions {
        key_log: true,
        ..trust(pem)
    };
    let r = greet(&["localhost"], "localhost", Ending::Clean, logging);
    assert_greeted(&r, &[HELLO]);
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(log.contains("CLIENT_TRAFFIC_SECRET_0 "), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_server_name_is_verified_instead_of_the_url_host() {
    let (pem, config) = certificate(&["service.test"]);
    let (port, server) = serve(config, Ending::Clean);
    let options = Options {
        tls: TlsOptions {
            server_name: Some("service.test".into()),
            ..trust(&pem)
        },
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let (r, _) = run(&format!("wss://127.0.0.1:{port}/"), options, greeter());
    assert_greeted(&r, &[HELLO]);
    let request = server.join().unwrap();
    // The Host header stays the URL's.
    let host = format!("\r\nHost: 127.0.0.1:{port}\r\n");
    assert!(request.contains(&host), "{request}");
    let r = greet(&["service.test"], "127.0.0.1", Ending::Clean, trust);
    assert_rejected(&r, "NotValidForName");
}
