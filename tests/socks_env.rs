//! all_proxy selects a SOCKS5 proxy when the scheme's own variable is unset, and no_proxy
//! exempts hosts from it. Alone in its binary: it changes the process environment.

use std::time::Duration;

use wsc::Options;

mod common;
use common::socks::{proxy, Script};
use common::{assert_greeted, closed_port, greeter, serve_n, switching_for};

fn hello_server() -> (u16, std::thread::JoinHandle<Vec<String>>) {
    serve_n(
        1,
        |_, request| switching_for(request),
        |_| b"\x81\x05hello\x88\x02\x03\xe8".to_vec(),
    )
}

fn options() -> Options {
    Options {
        deflate: vec![],
        close_timeout: Duration::from_millis(500),
        ..Options::default()
    }
}

#[test]
fn all_proxy_with_no_proxy() {
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        std::env::remove_var(name);
    }

    // Through the proxy named by all_proxy, which resolves the name (socks5h://).
    let (port, server) = hello_server();
    let (proxy_port, seen, proxy) = proxy(Script::Relay);
    std::env::set_var("all_proxy", format!("socks5h://127.0.0.1:{proxy_port}"));
    std::env::set_var("no_proxy", "other.example");
    let r = common::run(&format!("ws://localhost:{port}/"), options(), greeter()).0;
    server.join().unwrap();
    proxy.join().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!((seen.atyp, seen.host.as_str()), (3, "localhost"));
    assert_greeted(&r, &["hello"]);

    // no_proxy exempts the host: a direct connection, though all_proxy names a port where
    // nothing listens.
    std::env::set_var("all_proxy", format!("socks5://127.0.0.1:{}", closed_port()));
    std::env::set_var("no_proxy", "other.example, localhost");
    let (port, server) = hello_server();
    let r = common::run(&format!("ws://localhost:{port}/"), options(), greeter()).0;
    server.join().unwrap();
    assert_greeted(&r, &["hello"]);
}
