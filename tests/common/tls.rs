//! A TLS WebSocket echo server for tests, with certificates made at test time (rcgen).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use wsc::tls::TlsOptions;

use super::{frame, read_request, switching_for, SERVER_READ_TIMEOUT};

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

/// Like [`certificate`], for a server that requires a client certificate issued by (or
/// being) `client_ca`, a PEM certificate.
pub fn certificate_requiring_clients(
    names: &[&str],
    client_ca: &str,
) -> (String, Arc<ServerConfig>) {
    let key =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(client_ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![key.cert.der().clone()], private)
        .unwrap();
    (key.cert.pem(), Arc::new(config))
}

/// A client certificate and its key, as PEM.
pub fn client_identity() -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["client.test".to_string()]).unwrap();
    // A subject of its own: two identities must not pass for each other's issuer.
    let subject = format!("wsc test client {:016x}", rand::random::<u64>());
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// TLS options that trust `pem` (a certificate from [`certificate`]) and nothing else.
pub fn trust(pem: &str) -> TlsOptions {
    TlsOptions {
        ca_pem: Some(pem.as_bytes().to_vec()),
        ..TlsOptions::default()
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Ending {
    /// Echo the Close frame, send close_notify, close TCP.
    Clean,
    /// Echo the Close frame, then drop TCP without close_notify.
    Truncated,
}

/// Serves one TLS WebSocket connection on 127.0.0.1: echoes messages, answers Close. The
/// thread returns the handshake request (what came of it when the handshake failed).
pub fn serve(config: Arc<ServerConfig>, ending: Ending) -> (u16, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
        echo(tcp, config, ending)
    });
    (port, handle)
}

/// [`serve`] on a Unix domain socket at `path`.
pub fn serve_unix(
    path: &std::path::Path,
    config: Arc<ServerConfig>,
    ending: Ending,
) -> thread::JoinHandle<String> {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(SERVER_READ_TIMEOUT)).unwrap();
        echo(stream, config, ending)
    })
}

/// The TLS echo server's side of one connection over `stream`; returns the handshake request.
fn echo(stream: impl Read + Write, config: Arc<ServerConfig>, ending: Ending) -> String {
    let mut tls = StreamOwned::new(ServerConnection::new(config).unwrap(), stream);
    let request = read_request(&mut tls);
    if !request.ends_with("\r\n\r\n") {
        return request; // the client gave up (certificate rejected)
    }
    tls.write_all(switching_for(&request).as_bytes()).unwrap();
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = tls.read(&mut chunk).unwrap();
        assert!(n > 0, "client hung up before closing");
        buf.extend_from_slice(&chunk[..n]);
        while let Some((f, len)) = wsc_testkit::frame::parse(&buf) {
            buf.drain(..len);
            assert!(f.masked, "an unmasked frame from the client");
            // The same frame back, unmasked and without RSV1.
            tls.write_all(&frame(f.first_byte() & !0x40, &f.payload))
                .unwrap();
            if f.opcode == 0x8 {
                if ending == Ending::Clean {
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
                return request;
            }
        }
    }
}
