//! How a connection is dialed: another address than the URL's host (`connect_to`), a local
//! address or interface to connect from, Happy Eyeballs among several addresses, Unix domain
//! sockets (`ws+unix://`, `wss+unix://`), and the socket's descriptor.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::tls::{certificate, serve_unix, trust, Ending};
use common::{
    assert_failed, assert_greeted, assert_served, errors, greeter, new_context, run, serve_n,
    serve_n_unix, short_timeouts, switching_for, Ev, Rec, SERVER_READ_TIMEOUT,
};
use wsc::target::ConnectTo;
use wsc::{ErrorKind, Options, ProxySetting};

/// A text message "hi" and a Close 1000 after the 101.
const HI_AND_CLOSE: &[u8] = b"\x81\x02hi\x88\x02\x03\xe8";

fn direct() -> Options {
    Options {
        proxy: ProxySetting::Direct,
        ..short_timeouts()
    }
}

/// A fresh directory for sockets, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wsc-sockets-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn connect_to_dials_another_address_and_keeps_the_urls_host() {
    let (port, server) = serve_n(
        2,
        |_, request| switching_for(request),
        |_| HI_AND_CLOSE.to_vec(),
    );
    // The port of the URL, the host of connect_to.
    let options = Options {
        connect_to: Some(ConnectTo::parse("127.0.0.1").unwrap()),
        ..direct()
    };
    let url = format!("ws://server.invalid:{port}/chat");
    let (events, _) = run(&url, options, Rec::default());
    assert_served(&events, b"hi");
    // Both from connect_to, through a name that resolves: the URL's port is 80.
    let options = Options {
        connect_to: Some(ConnectTo::parse(&format!("localhost:{port}")).unwrap()),
        ..direct()
    };
    let (events, _) = run("ws://server.invalid/other", options, Rec::default());
    assert_served(&events, b"hi");
    let requests = server.join().unwrap();
    assert!(
        requests[0].starts_with(&format!(
            "GET /chat HTTP/1.1\r\nHost: server.invalid:{port}\r\n"
        )),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].starts_with("GET /other HTTP/1.1\r\nHost: server.invalid\r\n"),
        "{}",
        requests[1]
    );
}

#[test]
fn connect_to_keeps_the_urls_host_for_sni_and_certificate() {
    let (pem, config) = certificate(&["server.invalid"]);
    let (port, server) = common::tls::serve(config, Ending::Clean);
    let options = Options {
        connect_to: Some(ConnectTo::parse("127.0.0.1").unwrap()),
        tls: trust(&pem),
        ..direct()
    };
    let url = format!("wss://server.invalid:{port}/");
    let (events, _) = run(&url, options, greeter());
    assert_greeted(&events, &[common::HELLO]);
    server.join().unwrap();
}

#[test]
fn connect_to_is_parsed_with_clear_errors() {
    assert_eq!(
        ConnectTo::parse("backend.internal:8080").unwrap(),
        ConnectTo::Host {
            host: "backend.internal".into(),
            port: Some(8080)
        }
    );
    let addrs =
        |list: &[&str]| ConnectTo::Addresses(list.iter().map(|a| a.parse().unwrap()).collect());
    assert_eq!(ConnectTo::parse("::1").unwrap(), addrs(&["[::1]:0"]));
    assert_eq!(
        ConnectTo::parse("[::1]:9, 10.0.0.1").unwrap(),
        addrs(&["[::1]:9", "10.0.0.1:0"])
    );
    for (bad, why) in [
        ("", "no host"),
        ("host:99999", "bad port"),
        ("[::1", "unclosed"),
        ("a.example,b.example", "IP addresses"),
        ("a b", "spaces"),
    ] {
        let e = ConnectTo::parse(bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}");
        assert!(e.message.contains(why), "{bad}: {}", e.message);
    }
}

/// A loopback address nobody answers: a listener whose one-place queue is full (the kernel
/// drops further SYNs, so a connect neither completes nor fails), and the connection that
/// fills it, both to be kept alive.
fn unanswering() -> (SocketAddr, socket2::Socket, TcpStream) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&any.into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    (addr, socket, filler)
}

#[test]
fn happy_eyeballs_starts_the_next_address_while_the_first_hangs() {
    let (silent, _listener, _filler) = unanswering();
    let (port, server) = serve_n(
        1,
        |_, request| switching_for(request),
        |_| HI_AND_CLOSE.to_vec(),
    );
    let answering: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let options = Options {
        connect_to: Some(ConnectTo::Addresses(vec![silent, answering])),
        connect_timeout: Duration::from_secs(10),
        ..direct()
    };
    let (events, took) = run("ws://server.invalid/", options, Rec::default());
    // The first attempt never completes: the connection was made by the second, started
    // without waiting for the first to fail.
    assert_served(&events, b"hi");
    assert_eq!(server.join().unwrap().len(), 1);
    assert!(
        took < Duration::from_secs(5),
        "well within the connect timeout: {took:?}"
    );
}

#[test]
fn happy_eyeballs_tries_ipv6_first() {
    // Both answer; the list names IPv4 first, but IPv6 is tried first and connects at once,
    // long before the IPv4 attempt is due.
    let (port6, server6) = common::serve_n_on(
        "[::1]:0",
        1,
        |_, request| switching_for(request),
        |_| HI_AND_CLOSE.to_vec(),
    );
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let list = format!(
        "127.0.0.1:{},[::1]:{port6}",
        v4.local_addr().unwrap().port()
    );
    let options = Options {
        connect_to: Some(ConnectTo::parse(&list).unwrap()),
        ..direct()
    };
    let (events, _) = run("ws://server.invalid/", options, Rec::default());
    assert_served(&events, b"hi");
    assert_eq!(server6.join().unwrap().len(), 1);
    v4.set_nonblocking(true).unwrap();
    assert_eq!(
        v4.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the IPv4 address was not tried"
    );
}

#[test]
fn happy_eyeballs_fails_with_every_address_tried() {
    let closed = || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (a, b) = (closed(), closed());
    let options = Options {
        connect_to: Some(ConnectTo::Addresses(vec![a, b])),
        ..direct()
    };
    let (events, _) = run("ws://server.invalid/", options, Rec::default());
    let message = assert_failed("refused", &events, false, ErrorKind::ConnectRefused, 1006);
    assert!(
        message.starts_with("could not connect to any of the 2 addresses of server.invalid: "),
        "{message}"
    );
    assert!(message.contains(&format!("connect to {a}: ")), "{message}");
    assert!(message.contains(&format!("connect to {b}: ")), "{message}");
}

#[test]
fn happy_eyeballs_is_bounded_by_the_connect_timeout() {
    let (silent, _listener, _filler) = unanswering();
    let options = Options {
        connect_to: Some(ConnectTo::Addresses(vec![silent, silent])),
        connect_timeout: Duration::from_millis(600),
        ..direct()
    };
    let (events, _) = run("ws://server.invalid/", options, Rec::default());
    let message = assert_failed("silent", &events, false, ErrorKind::ConnectTimeout, 1006);
    assert!(message.contains("600 ms"), "{message}");
}

/// Accepts one connection and reports where it came from; answers nothing.
fn peer_of_next_connection() -> (u16, thread::JoinHandle<SocketAddr>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        s.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
        let request = common::read_request(&mut s);
        std::io::Write::write_all(&mut s, switching_for(&request).as_bytes()).unwrap();
        std::io::Write::write_all(&mut s, HI_AND_CLOSE).unwrap();
        let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
        peer
    });
    (port, handle)
}

#[test]
fn local_address_is_where_the_connection_comes_from() {
    let (port, server) = peer_of_next_connection();
    let options = Options {
        local_address: Some("127.0.0.2:0".parse().unwrap()),
        ..direct()
    };
    let (events, _) = run(&format!("ws://127.0.0.1:{port}/"), options, Rec::default());
    assert_served(&events, b"hi");
    assert_eq!(server.join().unwrap().ip().to_string(), "127.0.0.2");
}

#[test]
fn a_local_address_that_cannot_be_used_fails_the_connection() {
    // 192.0.2.0/24 is reserved for documentation: no interface has it.
    let options = Options {
        local_address: Some("192.0.2.1:0".parse().unwrap()),
        ..direct()
    };
    let (events, _) = run("ws://127.0.0.1:9/", options, Rec::default());
    let message = assert_failed("bind", &events, false, ErrorKind::Unreachable, 1006);
    assert!(
        message.contains("cannot bind to local_address 192.0.2.1:0"),
        "{message}"
    );
    // An IPv6 local address cannot reach an IPv4 server.
    let options = Options {
        local_address: Some("[::1]:0".parse().unwrap()),
        ..direct()
    };
    let (events, _) = run("ws://127.0.0.1:9/", options, Rec::default());
    let message = assert_failed("family", &events, false, ErrorKind::Unreachable, 1006);
    assert!(message.contains("no IPv6 address"), "{message}");
}

#[test]
fn interface_binds_the_socket_and_an_unknown_one_is_refused_at_connect() {
    let (port, server) = peer_of_next_connection();
    let options = Options {
        interface: Some("lo".into()),
        ..direct()
    };
    let (events, _) = run(&format!("ws://127.0.0.1:{port}/"), options, Rec::default());
    assert_served(&events, b"hi");
    server.join().unwrap();
    let ctx = new_context();
    let options = Options {
        interface: Some("nosuchif0".into()),
        ..direct()
    };
    let e = ctx
        .connect("ws://127.0.0.1:9/", options, Box::new(Rec::default()))
        .err()
        .expect("refused at connect");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message
            .contains("interface \"nosuchif0\": no such network interface"),
        "{}",
        e.message
    );
}

#[test]
fn the_socket_descriptor_is_there_while_connected() {
    let (port, server) = peer_of_next_connection();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_open = seen.clone();
    let rec = Rec {
        on_open: Some(Box::new(move |conn| {
            let fd = conn.socket_fd();
            // The descriptor is the connection's socket: its peer is the server.
            let socket = std::mem::ManuallyDrop::new(
                // SAFETY: a live descriptor, not closed: the wrapper is never dropped.
                unsafe { <socket2::Socket as std::os::fd::FromRawFd>::from_raw_fd(fd) },
            );
            let peer = socket.peer_addr().unwrap().as_socket().unwrap();
            *seen_in_open.lock().unwrap() = Some(peer.port());
        })),
        ..Rec::default()
    };
    let ctx = new_context();
    let conn = ctx
        .connect(&format!("ws://127.0.0.1:{port}/"), direct(), Box::new(rec))
        .unwrap();
    assert_eq!(conn.socket_fd(), -1, "not connected yet");
    common::drive(&ctx);
    assert_eq!(*seen.lock().unwrap(), Some(port));
    assert_eq!(conn.socket_fd(), -1, "closed");
    server.join().unwrap();
}

#[test]
fn ws_unix_reaches_a_unix_socket_with_the_path_after_the_colon() {
    let dir = TempDir::new();
    let path = dir.0.join("app.sock");
    let server = serve_n_unix(
        &path,
        2,
        |_, request| switching_for(request),
        |_| HI_AND_CLOSE.to_vec(),
    );
    // A proxy does not apply to a Unix socket.
    let options = Options {
        proxy: ProxySetting::Url("http://127.0.0.1:9".into()),
        ..short_timeouts()
    };
    let url = format!("ws+unix://{}:/chat?room=1", path.display());
    let (events, _) = run(&url, options.clone(), Rec::default());
    assert_served(&events, b"hi");
    let (events, _) = run(
        &format!("ws+unix://{}", path.display()),
        options,
        Rec::default(),
    );
    assert_served(&events, b"hi");
    let requests = server.join().unwrap();
    assert!(
        requests[0].starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: localhost\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].starts_with("GET / HTTP/1.1\r\nHost: localhost\r\n"),
        "{}",
        requests[1]
    );
}

#[test]
fn wss_unix_is_tls_over_a_unix_socket_for_localhost() {
    let dir = TempDir::new();
    let path = dir.0.join("tls.sock");
    let (pem, config) = certificate(&["localhost"]);
    let server = serve_unix(&path, config, Ending::Clean);
    let options = Options {
        tls: trust(&pem),
        ..short_timeouts()
    };
    let (events, _) = run(
        &format!("wss+unix://{}:/", path.display()),
        options,
        greeter(),
    );
    assert_greeted(&events, &[common::HELLO]);
    server.join().unwrap();
}

#[test]
fn unix_socket_failures_and_refusals() {
    let dir = TempDir::new();
    let missing = dir.0.join("missing.sock");
    let (events, _) = run(
        &format!("ws+unix://{}:/", missing.display()),
        short_timeouts(),
        Rec::default(),
    );
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!(
        errors[0]
            .1
            .contains(&format!("connect to {}", missing.display())),
        "{errors:?}"
    );
    assert!(matches!(events.last(), Some(Ev::Close(_))));

    let ctx = new_context();
    let long = format!("ws+unix:///{}:/", "d/".repeat(60));
    let e = ctx
        .connect(&long, short_timeouts(), Box::new(Rec::default()))
        .err()
        .expect("refused at connect");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message.contains(
            "the socket path is 121 bytes, longer than a Unix socket address holds (107)"
        ),
        "{}",
        e.message
    );
    let options = Options {
        local_address: Some("127.0.0.1:0".parse().unwrap()),
        ..short_timeouts()
    };
    let e = ctx
        .connect("ws+unix:///run/a.sock", options, Box::new(Rec::default()))
        .err()
        .expect("refused at connect");
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message.starts_with("local_address does not apply"),
        "{}",
        e.message
    );
}
