//! A TLS WebSocket echo server for tests, with certificates made at test time (rcgen).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use wsc::protocol::frame::{FrameHeader, OpCode};
use wsc::protocol::handshake::accept_key;
use wsc::protocol::mask::apply_mask;

/// A certificate for `names`, self-signed: trusting it as a CA makes it valid for those names.
pub fn certificate(names: &[&str]) -> (String, Arc<ServerConfig>) {
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
#[allow(dead_code)] // each test crate uses some of the endings
pub enum Ending {
    /// Echo the Close frame, send close_notify, close TCP.
    Clean,
    /// Echo the Close frame, then drop TCP without close_notify.
    Truncated,
}

/// Serves one TLS WebSocket connection on 127.0.0.1: echoes messages, answers Close.
pub fn serve(config: Arc<ServerConfig>, ending: Ending) -> (u16, thread::JoinHandle<()>) {
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
                let reply = FrameHeader {
                    mask: None,
                    rsv1: false,
                    ..h
                };
                let mut head = [0u8; wsc::protocol::frame::MAX_HEADER_LEN];
                let n = reply.write(&mut head);
                let mut frame = head[..n].to_vec();
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
