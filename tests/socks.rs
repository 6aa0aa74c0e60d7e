//! ws:// and wss:// through a local SOCKS5 proxy: what the client asks of it (an address for
//! socks5://, the name for socks5h://, credentials), and every way the proxy can say no.

use std::time::Duration;

use wsc::proxy::ProxySetting;
use wsc::tls::TlsOptions;
use wsc::{ErrorKind, Options};

mod common;
use common::socks::{proxy, Script, Seen};
use common::tls::{certificate, serve, trust, Ending};
use common::{
    assert_failed, assert_greeted, greeter, new_context, serve_n, switching_for, Ev, HELLO,
};

fn run(url: &str, options: Options) -> Vec<Ev> {
    common::run(url, options, greeter()).0
}

fn options(proxy_url: String, tls: TlsOptions) -> Options {
    Options {
        proxy: ProxySetting::Url(proxy_url),
        tls,
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    }
}

/// A ws:// server for one connection that says hello and closes.
fn hello_server() -> (u16, std::thread::JoinHandle<Vec<String>>) {
    serve_n(
        1,
        |_, request| switching_for(request),
        |_| b"\x81\x05hello\x88\x02\x03\xe8".to_vec(),
    )
}

#[test]
fn wss_through_socks5h_with_credentials_sends_the_name() {
    let (pem, config) = certificate(&["localhost"]);
    let (server_port, server) = serve(config, Ending::Clean);
    let (proxy_port, seen, proxy) = proxy(Script::Authenticate("user", "p@ss"));
    let r = run(
        &format!("wss://localhost:{server_port}/"),
        options(
            format!("socks5h://user:p%40ss@127.0.0.1:{proxy_port}"),
            trust(&pem),
        ),
    );
    server.join().unwrap();
    proxy.join().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        Seen {
            methods: vec![0, 2],
            credentials: Some(("user".into(), "p@ss".into())),
            atyp: 3,
            host: "localhost".into(),
            port: server_port,
        }
    );
    assert_greeted(&r, &[HELLO]);
}

#[test]
fn ws_through_socks5_sends_an_address() {
    let (port, server) = hello_server();
    let (proxy_port, seen, proxy) = proxy(Script::Relay);
    let options = Options {
        deflate: vec![],
        ..options(
            format!("socks5://127.0.0.1:{proxy_port}"),
            TlsOptions::default(),
        )
    };
    let r = run(&format!("ws://localhost:{port}/"), options);
    server.join().unwrap();
    proxy.join().unwrap();
    let seen = seen.lock().unwrap().clone();
    // The name was resolved here: the proxy got an address, IPv4 or IPv6.
    assert_eq!(seen.methods, [0]);
    assert_eq!(seen.credentials, None);
    assert!(matches!(seen.atyp, 1 | 4), "{seen:?}");
    assert!(
        seen.host.parse::<std::net::IpAddr>().unwrap().is_loopback(),
        "{seen:?}"
    );
    assert_eq!(seen.port, port);
    assert_greeted(&r, &["hello"]);
}

#[test]
fn wss_through_socks5_to_an_ip_literal() {
    let (pem, config) = certificate(&["127.0.0.1"]);
    let (server_port, server) = serve(config, Ending::Clean);
    let (proxy_port, seen, proxy) = proxy(Script::Relay);
    let r = run(
        &format!("wss://127.0.0.1:{server_port}/"),
        options(format!("socks5h://127.0.0.1:{proxy_port}"), trust(&pem)),
    );
    server.join().unwrap();
    proxy.join().unwrap();
    let seen = seen.lock().unwrap().clone();
    // Even socks5h:// sends an IP literal as an address.
    assert_eq!((seen.atyp, seen.host.as_str()), (1, "127.0.0.1"));
    assert_greeted(&r, &[HELLO]);
}

/// The one error of a connection through a proxy following `script`.
fn refused_by(script: Script, credentials: &str) -> String {
    let (proxy_port, _seen, proxy) = proxy(script);
    let r = run(
        "ws://127.0.0.1:9/",
        Options {
            connect_timeout: Duration::from_secs(5),
            ..options(
                format!("socks5://{credentials}127.0.0.1:{proxy_port}"),
                TlsOptions::default(),
            )
        },
    );
    proxy.join().unwrap();
    assert_failed("through SOCKS", &r, false, ErrorKind::Proxy, 1006)
}

#[test]
fn each_reply_code_is_reported_in_words() {
    for (code, words) in [
        (1, "general SOCKS server failure"),
        (2, "connection not allowed by ruleset"),
        (3, "network unreachable"),
        (4, "host unreachable"),
        (5, "connection refused"),
        (6, "TTL expired"),
        (7, "command not supported"),
        (8, "address type not supported"),
    ] {
        let message = refused_by(Script::Refuse(code), "");
        assert_eq!(
            message,
            format!(
                "the SOCKS proxy could not connect to 127.0.0.1:9: {words} (reply 0x{code:02x})"
            )
        );
    }
}

#[test]
fn wrong_credentials_are_rejected() {
    let message = refused_by(Script::Authenticate("user", "right"), "user:wrong@");
    assert_eq!(
        message,
        "the SOCKS proxy rejected the user name or password (status 0x01)"
    );
}

#[test]
fn a_proxy_demanding_credentials_we_lack() {
    let message = refused_by(Script::Authenticate("user", "right"), "");
    assert!(
        message.starts_with("the SOCKS proxy accepted none of the authentication methods"),
        "{message}"
    );
}

#[test]
fn answers_that_are_not_socks5() {
    let message = refused_by(Script::Garbage(b"\x04\x5a"), "");
    assert_eq!(
        message,
        "the proxy's answer is not SOCKS5 (version byte 0x04, expected 0x05)"
    );
    let message = refused_by(Script::Garbage(b"HTTP/1.1 400 Bad Request\r\n\r\n"), "");
    assert!(
        message.contains("as HTTP does): use an http:// proxy URL"),
        "{message}"
    );
    // One byte, then nothing.
    let message = refused_by(Script::Garbage(b"\x05"), "");
    assert_eq!(
        message,
        "the SOCKS proxy closed the connection in the middle of its answer to the greeting"
    );
    let message = refused_by(Script::Garbage(b""), "");
    assert_eq!(
        message,
        "the SOCKS proxy closed the connection before answering the greeting"
    );
}

#[test]
fn a_proxy_closing_mid_reply() {
    let message = refused_by(Script::CloseMidReply, "");
    assert_eq!(
        message,
        "the SOCKS proxy closed the connection in the middle of its answer to CONNECT"
    );
}

#[test]
fn a_silent_proxy_runs_into_the_connect_timeout() {
    let (proxy_port, _seen, proxy) = proxy(Script::Silent);
    let r = run(
        "ws://127.0.0.1:9/",
        Options {
            connect_timeout: Duration::from_millis(300),
            ..options(
                format!("socks5://127.0.0.1:{proxy_port}"),
                TlsOptions::default(),
            )
        },
    );
    proxy.join().unwrap();
    assert_failed("silent", &r, false, ErrorKind::ConnectTimeout, 1006);
}

#[test]
fn bad_proxy_urls_fail_at_connect() {
    let ctx = new_context();
    let long_name = format!("ws://{}.example/", "a".repeat(250));
    for (url, proxy_url, says) in [
        (
            "ws://a.example/",
            "socks4://p:1080",
            "socks4:// is not supported",
        ),
        ("ws://a.example/", "https://p", "https:// is not supported"),
        (
            "ws://a.example/",
            &format!("socks5://{}:pw@p", "u".repeat(256)),
            "user name is 256 bytes long",
        ),
        (
            "ws://a.example/",
            &format!("socks5h://user:{}@p", "p".repeat(256)),
            "password is 256 bytes long",
        ),
        (long_name.as_str(), "socks5h://p", "258 bytes long"),
    ] {
        let e = ctx
            .connect(
                url,
                options(proxy_url.to_string(), TlsOptions::default()),
                Box::new(greeter()),
            )
            .err()
            .unwrap_or_else(|| panic!("{proxy_url} was accepted"));
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
        assert!(e.message.contains(says), "{proxy_url}: {e}");
    }
}

#[test]
fn socks5_reports_a_name_it_cannot_resolve() {
    // socks5:// resolves the name here, while the greeting goes on with the proxy.
    let (proxy_port, seen, proxy) = proxy(Script::Silent);
    let r = run(
        "ws://no-such-host.invalid/",
        options(
            format!("socks5://127.0.0.1:{proxy_port}"),
            TlsOptions::default(),
        ),
    );
    proxy.join().unwrap();
    let message = assert_failed("unresolvable", &r, false, ErrorKind::Resolve, 1006);
    assert!(message.contains("no-such-host.invalid"), "{message}");
    assert_eq!(seen.lock().unwrap().methods, [0]);
}
