//! `--tls 1`: wss://. A certificate authority and a leaf certificate for 127.0.0.1 and
//! localhost are made at start (rcgen); the CA's PEM is written to `--ca-out FILE` for the
//! clients' `--ca`. rustls with ring, as wsc uses.
//!
//! A TLS connection runs the same handshake and frame parser as a plain one. Reads go into the
//! runtime thread's one read buffer, borrowed only inside a poll (never across an await), so
//! an idle connection holds no read buffer of its own (rustls keeps its own record buffers).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::{handshake, send_message, Parser, READ, READ_BUF};

/// Makes the CA and the server's certificate, writes the CA's PEM to `ca_out` (when given) and
/// returns the acceptor presenting the leaf certificate.
pub fn acceptor(ca_out: Option<&str>) -> Result<TlsAcceptor, String> {
    let err = |e: rcgen::Error| format!("certificate: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name
        .push(DnType::CommonName, "wsc bench echo server CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().map_err(err)?;
    // "127.0.0.1" becomes an IP address subject alternative name, "localhost" a DNS name.
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "wsc bench echo server");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;

    if let Some(path) = ca_out {
        std::fs::write(path, ca_cert.pem()).map_err(|e| format!("--ca-out {path}: {e}"))?;
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone()], key)
            .map_err(|e| format!("tls: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// One wss:// connection: the TLS handshake, then as `connection` in main.rs.
pub async fn connection(stream: TcpStream, acceptor: TlsAcceptor, deflate: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut stream = acceptor.accept(stream).await?;
    let (leftover, message) = handshake(&mut stream, deflate).await?;
    if let Some(total) = message {
        send_message(&mut stream, total).await?;
    }
    let mut parser = Parser::default();
    let mut out = Vec::new();
    let mut closing = parser.feed(&leftover, &mut out);
    loop {
        if !out.is_empty() {
            stream.write_all(&out).await?;
            if out.capacity() > 2 * READ_BUF {
                out = Vec::new(); // keep idle connections small
            } else {
                out.clear();
            }
        }
        if closing {
            // Close frame echoed: close_notify, then drop (the client closes TCP after it).
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(2), stream.shutdown()).await;
            return Ok(());
        }
        // Read and parse within one poll, so the shared buffer is never held across an await.
        let n = poll_fn(|cx| {
            READ.with(|buf| {
                let mut buf = buf.borrow_mut();
                let mut rb = ReadBuf::new(&mut buf[..]);
                match Pin::new(&mut stream).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        closing = parser.feed(rb.filled(), &mut out);
                        Poll::Ready(Ok(n))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            })
        })
        .await?;
        if n == 0 {
            return Ok(()); // the client closed
        }
    }
}
