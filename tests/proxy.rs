//! ws:// and wss:// through a local HTTP CONNECT proxy, with and without credentials.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wsc::proxy::ProxySetting;
use wsc::tls::TlsOptions;
use wsc::{ErrorKind, Options};

mod common;
use common::tls::{certificate, serve, trust, Ending};
use common::{
    assert_failed, assert_greeted, closed_port, errors, greeter, read_request, serve_n,
    switching_for, Ev, HELLO, SERVER_READ_TIMEOUT,
};

/// A [`greeter`]'s events against `url`.
fn run(url: &str, options: Options) -> Vec<Ev> {
    common::run(url, options, greeter()).0
}

/// What the proxy saw: the CONNECT request line and its Proxy-Authorization header.
#[derive(Debug, Default, Clone)]
struct Seen {
    request_line: String,
    authorization: Option<String>,
}

/// A one-connection CONNECT proxy on 127.0.0.1. With `password` set, requests without the
/// right Basic credentials get 407.
fn proxy(required: Option<&'static str>) -> (u16, Arc<Mutex<Seen>>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let handle = thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        client.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
        let head = read_request(&mut client);
        assert!(head.ends_with("\r\n\r\n"), "the client hung up: {head:?}");
        let request_line = head.lines().next().unwrap().to_string();
        let authorization = head
            .lines()
            .find_map(|l| l.strip_prefix("Proxy-Authorization: "))
            .map(str::to_string);
        *record.lock().unwrap() = Seen {
            request_line: request_line.clone(),
            authorization: authorization.clone(),
        };
        if required.is_some() && authorization.as_deref() != required {
            client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
                .unwrap();
            return;
        }
        let authority = request_line.split(' ').nth(1).unwrap();
        let server = TcpStream::connect(authority).unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        pipe(client, server);
    });
    (port, seen, handle)
}

/// Copies both ways until each side is done.
fn pipe(client: TcpStream, server: TcpStream) {
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        })
    };
    let up = copy(client.try_clone().unwrap(), server.try_clone().unwrap());
    let down = copy(server, client);
    up.join().unwrap();
    down.join().unwrap();
}

fn options(proxy_port: u16, credentials: &str, tls: TlsOptions) -> Options {
    Options {
        proxy: ProxySetting::Url(format!("http://{credentials}127.0.0.1:{proxy_port}")),
        tls,
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    }
}

#[test]
fn wss_through_a_proxy_with_credentials() {
    let (pem, config) = certificate(&["localhost"]);
    let (server_port, server) = serve(config, Ending::Clean);
    // base64("user:p@ss")
    let (proxy_port, seen, proxy) = proxy(Some("Basic dXNlcjpwQHNz"));
    let r = run(
        &format!("wss://localhost:{server_port}/"),
        options(proxy_port, "user:p%40ss@", trust(&pem)),
    );
    server.join().unwrap();
    proxy.join().unwrap();
    assert_eq!(
        seen.lock().unwrap().request_line,
        format!("CONNECT localhost:{server_port} HTTP/1.1")
    );
    assert_greeted(&r, &[HELLO]);
}

#[test]
fn proxy_authentication_required_is_reported_with_the_status() {
    let (_, config) = certificate(&["localhost"]);
    let (port, _server) = serve(config, Ending::Clean);
    let (proxy_port, seen, proxy) = proxy(Some("Basic dXNlcjpwQHNz"));
    let r = run(
        &format!("wss://localhost:{port}/"),
        options(proxy_port, "", TlsOptions::default()),
    );
    proxy.join().unwrap();
    assert_eq!(seen.lock().unwrap().authorization, None);
    let message = assert_failed("407", &r, false, ErrorKind::Proxy, 1006);
    assert!(message.contains("407"), "{message}");
}

#[test]
fn plain_ws_through_a_proxy() {
    // The TLS server's certificate is not needed: a ws:// server through the same proxy
    // says hello, then closes: the client's close answer ends it.
    let (port, server) = serve_n(
        1,
        |_, request| switching_for(request),
        |_| b"\x81\x05hello\x88\x02\x03\xe8".to_vec(),
    );
    let (proxy_port, seen, proxy) = proxy(None);
    let options = Options {
        deflate: vec![],
        ..options(proxy_port, "", TlsOptions::default())
    };
    let r = run(&format!("ws://127.0.0.1:{port}/"), options);
    server.join().unwrap();
    proxy.join().unwrap();
    assert_eq!(
        seen.lock().unwrap().request_line,
        format!("CONNECT 127.0.0.1:{port} HTTP/1.1")
    );
    // The greeter closes as soon as the message arrives, before the server's Close.
    assert_greeted(&r, &["hello"]);
}

#[test]
fn a_proxy_that_hangs_up_is_a_proxy_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let proxy = thread::spawn(move || drop(listener.accept().unwrap()));
    let r = run(
        "ws://127.0.0.1:9/",
        options(port, "", TlsOptions::default()),
    );
    proxy.join().unwrap();
    let errors = errors(&r);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, ErrorKind::Proxy, "{errors:?}");
}

#[test]
fn a_proxy_that_refuses_the_connection_is_named() {
    let port = closed_port();
    let r = run(
        "ws://127.0.0.1:9/",
        options(port, "", TlsOptions::default()),
    );
    let message = assert_failed("refused", &r, false, ErrorKind::ConnectRefused, 1006);
    assert!(
        message.starts_with(&format!("cannot reach the proxy 127.0.0.1:{port}: ")),
        "{message}"
    );
}

#[test]
fn a_proxy_whose_name_does_not_resolve_is_named() {
    let options = Options {
        proxy: ProxySetting::Url("http://proxy.invalid:3128".into()),
        ..options(0, "", TlsOptions::default())
    };
    let r = run("ws://127.0.0.1:9/", options);
    let message = assert_failed("unresolved", &r, false, ErrorKind::Resolve, 1006);
    assert!(
        message.starts_with("cannot reach the proxy proxy.invalid:3128: cannot resolve"),
        "{message}"
    );
}
