//! A SOCKS5 proxy for tests (RFC 1928, RFC 1929) on 127.0.0.1, for one connection: it records
//! what the client asked for and, as scripted, relays to the server asked for, or refuses,
//! demands credentials, answers garbage, closes in the middle of its reply, or stays silent.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use super::SERVER_READ_TIMEOUT;

/// What the proxy does with the connection.
#[derive(Debug, Clone)]
pub enum Script {
    /// Accepts without authentication (method 0x00) and relays.
    Relay,
    /// Demands this user name and password (method 0x02), then relays; wrong ones get
    /// status 0x01. A client offering no 0x02 gets 0xFF.
    Authenticate(&'static str, &'static str),
    /// Answers the request with this reply code (RFC 1928 §6).
    Refuse(u8),
    /// Answers the greeting with these bytes, then closes.
    Garbage(&'static [u8]),
    /// Sends the first bytes of a success reply to the request, then closes.
    CloseMidReply,
    /// Reads the greeting and answers nothing, holding the connection until the client goes.
    Silent,
}

/// What the client sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The methods offered in the greeting.
    pub methods: Vec<u8>,
    /// The user name and password, when sent.
    pub credentials: Option<(String, String)>,
    /// The CONNECT request's address type (1: IPv4, 3: domain, 4: IPv6) and address.
    pub atyp: u8,
    pub host: String,
    pub port: u16,
}

/// Starts the proxy: its port, what it saw (filled as it goes), and its thread.
pub fn proxy(script: Script) -> (u16, Arc<Mutex<Seen>>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let handle = thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        client.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
        serve(&mut client, script, &record);
    });
    (port, seen, handle)
}

fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf)
        .expect("the client hung up mid-message");
    buf
}

fn serve(client: &mut TcpStream, script: Script, seen: &Mutex<Seen>) {
    let head = read_exact(client, 2);
    assert_eq!(head[0], 5, "not a SOCKS5 greeting");
    let methods = read_exact(client, head[1] as usize);
    seen.lock().unwrap().methods = methods.clone();
    match script {
        Script::Garbage(bytes) => {
            client.write_all(bytes).unwrap();
            return;
        }
        Script::Silent => {
            let _ = client.read_to_end(&mut Vec::new());
            return;
        }
        Script::Authenticate(user, password) => {
            if !methods.contains(&2) {
                client.write_all(&[5, 0xff]).unwrap();
                return;
            }
            client.write_all(&[5, 2]).unwrap();
            let version = read_exact(client, 1);
            assert_eq!(version, [1], "RFC 1929 version");
            let ulen = read_exact(client, 1)[0] as usize;
            let got_user = String::from_utf8(read_exact(client, ulen)).unwrap();
            let plen = read_exact(client, 1)[0] as usize;
            let got_password = String::from_utf8(read_exact(client, plen)).unwrap();
            let right = got_user == user && got_password == password;
            seen.lock().unwrap().credentials = Some((got_user, got_password));
            if !right {
                client.write_all(&[1, 1]).unwrap();
                return;
            }
            client.write_all(&[1, 0]).unwrap();
        }
        _ => {
            assert!(methods.contains(&0), "no-authentication not offered");
            client.write_all(&[5, 0]).unwrap();
        }
    }
    let request = read_exact(client, 4);
    assert_eq!(request[..3], [5, 1, 0], "not a CONNECT request");
    let atyp = request[3];
    let host = match atyp {
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(read_exact(client, 4)).unwrap()).to_string(),
        4 => Ipv6Addr::from(<[u8; 16]>::try_from(read_exact(client, 16)).unwrap()).to_string(),
        3 => {
            let len = read_exact(client, 1)[0] as usize;
            String::from_utf8(read_exact(client, len)).unwrap()
        }
        other => panic!("address type {other}"),
    };
    let port_bytes = read_exact(client, 2);
    let port = u16::from_be_bytes([port_bytes[0], port_bytes[1]]);
    {
        let mut seen = seen.lock().unwrap();
        seen.atyp = atyp;
        seen.host = host.clone();
        seen.port = port;
    }
    match script {
        Script::Refuse(code) => {
            client
                .write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0])
                .unwrap();
        }
        Script::CloseMidReply => {
            client.write_all(&[5, 0, 0, 1, 127]).unwrap();
        }
        _ => {
            // The echo servers listen on 127.0.0.1: a loopback address of either family
            // (what "localhost" resolved to) leads there.
            let server = match host.parse::<IpAddr>() {
                Ok(ip) if ip.is_loopback() => {
                    TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                }
                _ => TcpStream::connect((host.as_str(), port)),
            }
            .unwrap();
            // BND.ADDR as a domain name, the least common form.
            let mut reply = vec![5, 0, 0, 3, 5];
            reply.extend_from_slice(b"relay");
            reply.extend_from_slice(&port.to_be_bytes());
            client.write_all(&reply).unwrap();
            pipe(client.try_clone().unwrap(), server);
        }
    }
}

/// Copies both ways until each side is done.
fn pipe(client: TcpStream, server: TcpStream) {
    client.set_read_timeout(None).unwrap();
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
