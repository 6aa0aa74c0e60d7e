//! TLS for wss:// through rustls: which certificates to trust, and the insecure switch for
//! self-signed test servers.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind};

/// Which servers to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA certificates to trust instead of the system's (from a file or memory).
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate for any name: only for test servers with self-signed
    /// certificates. Encryption stays; authentication is gone.
    pub insecure_skip_verification: bool,
}

/// ring: pure Rust and assembly built by cc with no cmake or Go toolchain (unlike aws-lc-rs),
/// so the library builds fast and anywhere a C compiler exists.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The configuration for these options. The default one (system trust store) is built once per
/// process: loading the system store is the slow part.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if options == &TlsOptions::default() {
        if let Some(config) = SYSTEM.get() {
            return Ok(config.clone());
        }
        let config = build(system_roots(), false)?;
        return Ok(SYSTEM.get_or_init(|| config).clone());
    }
    let roots = match &options.ca_pem {
        Some(pem) => roots_from_pem(pem)?,
        None => system_roots(),
    };
    build(roots, options.insecure_skip_verification)
}

fn build(roots: RootCertStore, insecure: bool) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The system's trust store, or Mozilla's (webpki-roots) when the system has none.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, Error> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("CA certificates: {why}"),
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| invalid(format!("bad PEM: {e}")))?;
        roots.add(cert).map_err(|e| invalid(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(invalid("no certificate found in the PEM data".into()));
    }
    Ok(roots)
}

/// The name to verify and send as SNI; IP literals are matched against iPAddress SANs and no
/// SNI is sent for them (RFC 6066 §3).
pub fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("invalid TLS server name {host:?}: {e}"),
        )
    })
}

/// Turns a rustls failure into our error, naming the certificate problem when there is one.
pub fn error(e: rustls::Error) -> Error {
    match e {
        rustls::Error::InvalidCertificate(cert) => Error::new(
            ErrorKind::TlsCertificate,
            format!("server certificate rejected: {cert:?}"),
        ),
        other => Error::new(ErrorKind::Tls, format!("TLS: {other}")),
    }
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
