//! TLS for wss:// through rustls: which certificates to trust and what may be relaxed, the
//! client's own certificate for mutual TLS, the server name, and key logging for debugging.

mod identity;
mod verifier;

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{AlertDescription, CertificateError, ClientConfig, KeyLogFile, RootCertStore};

use crate::error::{Error, ErrorKind};
pub use identity::Pem;
use verifier::{is_ca_used_as_end_entity, CustomVerifier, Policy, Relaxations};

/// TLS options for wss:// connections; `Default`: the system's trust store, full
/// verification, no client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA certificates to trust instead of the system's (from a file or memory).
    pub ca_pem: Option<Vec<u8>>,
    /// `ca_pem` is trusted in addition to the system's store instead of replacing it.
    pub ca_added_to_system: bool,
    /// Accept any certificate for any name: only for test servers with self-signed
    /// certificates. Encryption stays; authentication is gone.
    pub insecure_skip_verification: bool,
    /// Accept a self-signed server certificate (its own issuer, signed with its own key),
    /// whoever made it. Its dates and its name are still checked.
    pub allow_self_signed: bool,
    /// Do not check that the certificate names the server; the chain is still verified
    /// against the trusted certificates (and its dates).
    pub skip_hostname_verification: bool,
    /// Accept certificates past their notAfter date; names and issuers are still verified
    /// (as of the moment the chain was last valid). A not-yet-valid certificate still fails.
    pub allow_expired: bool,
    /// The client's certificate chain for mutual TLS, the client's own certificate first;
    /// with `client_key`.
    pub client_certificate: Option<Pem>,
    /// The private key of `client_certificate` (PKCS#8, PKCS#1 or SEC1 PEM; RSA, ECDSA
    /// P-256/P-384, Ed25519).
    pub client_key: Option<Pem>,
    /// The name sent in SNI and verified in the certificate instead of the URL's host (the
    /// Host header stays the URL's): a DNS name or an IP address.
    pub server_name: Option<String>,
    /// Append the TLS secrets to the file named by `SSLKEYLOGFILE` (NSS key log format, for
    /// Wireshark). A debugging aid: whoever reads the file can decrypt the recorded sessions.
    pub key_log: bool,
}

impl TlsOptions {
    /// Checks what can be checked before connecting, so that a bad option fails `connect`
    /// naming the option rather than some handshake later.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(name) = &self.server_name {
            server_name_option(name)?;
        }
        if self.ca_pem.is_none() && self.ca_added_to_system {
            return Err(invalid(
                "tls_ca_add_to_system is set but no CA is given (tls_ca_file or tls_ca_pem)",
            ));
        }
        self.identity(&provider())?;
        Ok(())
    }

    /// The client's certificate and key, if given, checked to belong together.
    fn identity(&self, provider: &CryptoProvider) -> Result<Option<Arc<CertifiedKey>>, Error> {
        match (&self.client_certificate, &self.client_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => identity::load(cert, key, provider).map(Some),
            (Some(_), None) => Err(invalid(
                "a client certificate is given (tls_client_cert_file or tls_client_cert_pem) \
                 without its private key (tls_client_key_file or tls_client_key_pem)",
            )),
            (None, Some(_)) => Err(invalid(
                "a client private key is given (tls_client_key_file or tls_client_key_pem) \
                 without its certificate (tls_client_cert_file or tls_client_cert_pem)",
            )),
        }
    }

    fn relaxations(&self) -> Relaxations {
        Relaxations {
            self_signed: self.allow_self_signed,
            host_name: self.skip_hostname_verification,
            expired: self.allow_expired,
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// What a TLS connection is made with: the configuration, and the name to verify instead of
/// the URL's host.
#[derive(Debug, Clone)]
pub struct Client {
    pub config: Arc<ClientConfig>,
    pub server_name: Option<ServerName<'static>>,
}

impl Client {
    /// The name to send and verify for a server reached as `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, Error> {
        match &self.server_name {
            Some(name) => Ok(name.clone()),
            None => server_name(host),
        }
    }
}

/// ring: pure Rust and assembly built by cc with no cmake or Go toolchain (unlike aws-lc-rs),
/// so the library builds fast and anywhere a C compiler exists.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client for these options. The default configuration (system trust store) is built
/// once per process: loading the system store is the slow part.
pub fn client(options: &TlsOptions) -> Result<Client, Error> {
    let server_name = match &options.server_name {
        Some(name) => Some(server_name_option(name)?),
        None => None,
    };
    Ok(Client {
        config: client_config(options)?,
        server_name,
    })
}

/// The configuration for these options (everything but the server name).
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let plain = TlsOptions {
        server_name: None,
        ..options.clone()
    };
    if plain == TlsOptions::default() {
        if let Some(config) = SYSTEM.get() {
            return Ok(config.clone());
        }
        let config = build(options, Trust::Roots(system_roots()))?;
        return Ok(SYSTEM.get_or_init(|| config).clone());
    }
    if options.insecure_skip_verification {
        return build(options, Trust::Anything);
    }
    let trust = match &options.ca_pem {
        Some(pem) if options.ca_added_to_system => {
            Trust::Added(system_roots(), certificates_from_pem(pem)?)
        }
        Some(pem) => Trust::Added(RootCertStore::empty(), certificates_from_pem(pem)?),
        None => Trust::Roots(system_roots()),
    };
    build(options, trust)
}

/// Which server certificates a configuration accepts (before relaxations).
enum Trust {
    /// Those that chain to these roots.
    Roots(RootCertStore),
    /// Those that chain to these roots or to these certificates, or are one of these
    /// certificates (a self-signed server).
    Added(RootCertStore, Vec<CertificateDer<'static>>),
    Anything,
}

fn build(options: &TlsOptions, trust: Trust) -> Result<Arc<ClientConfig>, Error> {
    let provider = provider();
    let setup = |e: &dyn std::fmt::Display| Error::new(ErrorKind::Tls, format!("TLS setup: {e}"));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?;
    let relax = options.relaxations();
    // Verification against `roots`, with the certificates given and the relaxations asked.
    let verified = |roots: RootCertStore, given: Vec<CertificateDer<'static>>| {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| setup(&e))?;
        let policy = Policy::Verified {
            webpki,
            given,
            relax,
        };
        Ok::<_, Error>(Arc::new(CustomVerifier {
            provider: provider.clone(),
            policy,
        }))
    };
    let builder = match trust {
        // The plain roots through a verifier of ours too: it logs the chain it refuses.
        Trust::Roots(roots) => builder
            .dangerous()
            .with_custom_certificate_verifier(verified(roots, Vec::new())?),
        Trust::Added(mut roots, given) => {
            for cert in &given {
                roots.add(cert.clone()).map_err(|e| {
                    Error::new(ErrorKind::InvalidArgument, format!("CA certificates: {e}"))
                })?;
            }
            builder
                .dangerous()
                .with_custom_certificate_verifier(verified(roots, given)?)
        }
        Trust::Anything => {
            let anything = CustomVerifier {
                provider: provider.clone(),
                policy: Policy::Anything,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(anything))
        }
    };
    let mut config = match options.identity(&provider)? {
        Some(key) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(key))),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if options.key_log {
        config.key_log = Arc::new(KeyLogFile::new());
    }
    Ok(Arc::new(config))
}

/// The system's trust store, or Mozilla's (webpki-roots) when the system has none; loaded
/// once per process.
fn system_roots() -> RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let (added, _ignored) =
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if added == 0 {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            roots
        })
        .clone()
}

fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let invalid = |why: String| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("CA certificates: {why}"),
        )
    };
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("bad PEM: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid("no certificate found in the PEM data".into()));
    }
    Ok(certificates)
}

/// `tls_server_name`, checked: a DNS name or an IP address.
fn server_name_option(name: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(name.to_string()).map_err(|_| {
        invalid(format!(
            "tls_server_name {name:?} is neither a DNS name nor an IP address"
        ))
    })
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

/// Turns a rustls failure into our error, naming the certificate problem in words;
/// `identity`: whether the client had a certificate to present.
pub fn error(e: rustls::Error, identity: bool) -> Error {
    match e {
        rustls::Error::InvalidCertificate(cert) => {
            Error::new(ErrorKind::TlsCertificate, describe_certificate_error(&cert))
        }
        rustls::Error::AlertReceived(alert) => {
            match describe_client_certificate_alert(alert, identity) {
                Some(text) => Error::new(ErrorKind::Tls, text),
                None => Error::new(ErrorKind::Tls, format!("TLS: {e}")),
            }
        }
        other => Error::new(ErrorKind::Tls, format!("TLS: {other}")),
    }
}

/// A server's alert about the client's certificate (RFC 8446 §6.2), in words; `None` for
/// the other alerts.
fn describe_client_certificate_alert(alert: AlertDescription, identity: bool) -> Option<String> {
    use AlertDescription::*;
    let name = match alert {
        CertificateRequired => {
            let given = match identity {
                true => "",
                false => "; none was given (tls_client_cert_file and tls_client_key_file)",
            };
            return Some(format!(
                "the server requires a client certificate (TLS alert certificate_required){given}"
            ));
        }
        BadCertificate => "bad_certificate",
        UnsupportedCertificate => "unsupported_certificate",
        CertificateRevoked => "certificate_revoked",
        CertificateExpired => "certificate_expired",
        CertificateUnknown => "certificate_unknown",
        UnknownCA => "unknown_ca",
        _ => return None,
    };
    Some(match identity {
        true => format!("the server rejected the client certificate (TLS alert {name})"),
        // TLS 1.2 has no certificate_required: an empty certificate message is refused so.
        false => format!(
            "the server requires a client certificate (TLS alert {name}); none was given \
             (tls_client_cert_file and tls_client_key_file)"
        ),
    })
}

/// What is wrong with the server's certificate, for a person: the names, dates and the option
/// that helps, followed by rustls' name for the problem in brackets.
fn describe_certificate_error(e: &CertificateError) -> String {
    use CertificateError::*;
    let (text, code) = match e {
        NotValidForNameContext {
            expected,
            presented,
        } if presented.is_empty() => (
            format!(
                "the server's certificate is not valid for {}: it names no host \
                 (no subjectAltName; the common name is not used to match names)",
                expected.to_str()
            ),
            "NotValidForName",
        ),
        NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<String> = presented.iter().map(|n| presented_name(n)).collect();
            let text = format!(
                "the server's certificate is valid for {}, not for {}",
                names.join(", "),
                expected.to_str()
            );
            (text, "NotValidForName")
        }
        NotValidForName => (
            "the server's certificate is not valid for this host name".into(),
            "NotValidForName",
        ),
        ExpiredContext { time, not_after } => (
            format!(
                "the server's certificate expired on {} (it is now {})",
                utc_date(*not_after),
                utc_date(*time)
            ),
            "Expired",
        ),
        Expired => ("the server's certificate has expired".into(), "Expired"),
        NotValidYetContext { time, not_before } => (
            format!(
                "the server's certificate is not valid before {} (it is now {})",
                utc_date(*not_before),
                utc_date(*time)
            ),
            "NotValidYet",
        ),
        NotValidYet => (
            "the server's certificate is not valid yet".into(),
            "NotValidYet",
        ),
        UnknownIssuer => (
            "the server's certificate is not signed by a trusted certificate authority \
             (trust its CA, or for a self-signed server its own certificate, with tls_ca_file \
             or tls_ca_pem)"
                .into(),
            "UnknownIssuer",
        ),
        Other(other) if is_ca_used_as_end_entity(other) => (
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE), which \
             cannot identify a server unless it is exactly a certificate given in tls_ca_file \
             or tls_ca_pem"
                .into(),
            "CaUsedAsEndEntity",
        ),
        BadSignature => (
            "the server's certificate has an invalid signature".into(),
            "BadSignature",
        ),
        Revoked => (
            "the server's certificate has been revoked".into(),
            "Revoked",
        ),
        InvalidPurpose | InvalidPurposeContext { .. } => (
            "the server's certificate is not meant for TLS servers (extended key usage)".into(),
            "InvalidPurpose",
        ),
        BadEncoding => (
            "the server's certificate is not valid DER".into(),
            "BadEncoding",
        ),
        other => return format!("the server's certificate was rejected: {other}"),
    };
    format!("{text} [{code}]")
}

/// A subject name as rustls reports it (`DnsName("a.example")`, `IpAddress(192.0.2.1)`),
/// without the wrapping.
fn presented_name(name: &str) -> String {
    let inner = match (name.find('('), name.strip_suffix(')')) {
        (Some(open), Some(rest)) => &rest[open + 1..],
        _ => name,
    };
    inner.trim_matches('"').to_string()
}

/// A time as a UTC date and time, `2026-12-02 10:56:41 UTC`.
fn utc_date(time: UnixTime) -> String {
    let secs = time.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (proleptic Gregorian), counting from 0000-03-01 in 400-year eras.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ClientConnection, OtherError, ServerConfig, ServerConnection};

    use super::*;

    /// A self-signed certificate for `names` as PEM, and a server configuration presenting it.
    /// `ca`: marked CA:TRUE, as `openssl req -x509` (OpenSSL 3) marks it.
    fn server(names: &[&str], ca: bool, expired: bool) -> (Vec<u8>, Arc<ServerConfig>) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        // A subject of its own, so that no two test certificates claim to be each other's issuer.
        let subject = format!("wsc test {:016x}", rand::random::<u64>());
        params.distinguished_name.push(DnType::CommonName, subject);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], private)
            .unwrap();
        (cert.pem().into_bytes(), Arc::new(config))
    }

    /// A whole TLS handshake in memory: our client configuration against `server` for `name`.
    fn handshake(trust: &TlsOptions, server: Arc<ServerConfig>, name: &str) -> Result<(), Error> {
        let tls = client(trust)?;
        let mut client = ClientConnection::new(tls.config.clone(), tls.server_name(name)?)
            .map_err(|e| error(e, false))?;
        let mut server = ServerConnection::new(server).unwrap();
        let mut wire = Vec::new();
        while client.is_handshaking() {
            wire.clear();
            while client.wants_write() {
                client.write_tls(&mut wire).unwrap();
            }
            server.read_tls(&mut &wire[..]).unwrap();
            server.process_new_packets().ok();
            wire.clear();
            while server.wants_write() {
                server.write_tls(&mut wire).unwrap();
            }
            client.read_tls(&mut &wire[..]).unwrap();
            client.process_new_packets().map_err(|e| error(e, false))?;
        }
        Ok(())
    }

    fn trusting(pem: &[u8]) -> TlsOptions {
        TlsOptions {
            ca_pem: Some(pem.to_vec()),
            ..TlsOptions::default()
        }
    }

    #[test]
    fn a_given_self_signed_certificate_marked_ca_is_accepted_for_its_names_only() {
        let (pem, config) = server(&["localhost", "127.0.0.1"], true, false);
        assert_eq!(
            handshake(&trusting(&pem), config.clone(), "localhost"),
            Ok(())
        );
        assert_eq!(
            handshake(&trusting(&pem), config.clone(), "127.0.0.1"),
            Ok(())
        );
        let wrong_name = handshake(&trusting(&pem), config.clone(), "other.test").unwrap_err();
        assert_eq!(wrong_name.kind, ErrorKind::TlsCertificate);
        assert_eq!(
            wrong_name.message,
            "the server's certificate is valid for localhost, 127.0.0.1, not for other.test \
             [NotValidForName]"
        );
        // Another CA:TRUE certificate, not the one presented: nothing loosens.
        let (other, _) = server(&["localhost"], true, false);
        let refused = handshake(&trusting(&other), config, "localhost").unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TlsCertificate);
        assert!(
            refused.message.ends_with("[CaUsedAsEndEntity]"),
            "{refused}"
        );
        assert!(refused.message.contains("tls_ca_file"), "{refused}");
        // An ordinary server certificate from an issuer not given.
        let (_, stranger) = server(&["localhost"], false, false);
        let unknown = handshake(&trusting(&other), stranger, "localhost").unwrap_err();
        assert!(unknown.message.ends_with("[UnknownIssuer]"), "{unknown}");
        assert!(unknown.message.contains("tls_ca_file"), "{unknown}");
    }

    #[test]
    fn an_expired_given_certificate_is_refused_with_its_dates() {
        let (pem, config) = server(&["localhost"], true, true);
        let e = handshake(&trusting(&pem), config, "localhost").unwrap_err();
        assert_eq!(e.kind, ErrorKind::TlsCertificate);
        assert!(
            e.message
                .starts_with("the server's certificate expired on 2021-01-01 00:00:00 UTC"),
            "{e}"
        );
        assert!(e.message.ends_with("[Expired]"), "{e}");
    }

    #[test]
    fn an_end_entity_certificate_still_verifies_as_before() {
        let (pem, config) = server(&["localhost"], false, false);
        assert_eq!(
            handshake(&trusting(&pem), config.clone(), "localhost"),
            Ok(())
        );
        let anything = TlsOptions {
            insecure_skip_verification: true,
            ..TlsOptions::default()
        };
        assert_eq!(handshake(&anything, config, "other.test"), Ok(()));
    }

    #[test]
    fn certificate_problems_in_words() {
        let name = ServerName::try_from("example.test").unwrap();
        let no_names = CertificateError::NotValidForNameContext {
            expected: name.clone(),
            presented: Vec::new(),
        };
        assert_eq!(
            describe_certificate_error(&no_names),
            "the server's certificate is not valid for example.test: it names no host \
             (no subjectAltName; the common name is not used to match names) [NotValidForName]"
        );
        let ca = CertificateError::Other(OtherError(Arc::new(webpki::Error::CaUsedAsEndEntity)));
        assert!(describe_certificate_error(&ca).ends_with("[CaUsedAsEndEntity]"));
        assert_eq!(presented_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(presented_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(
            utc_date(UnixTime::since_unix_epoch(std::time::Duration::ZERO)),
            "1970-01-01 00:00:00 UTC"
        );
        let leap = UnixTime::since_unix_epoch(std::time::Duration::from_secs(951_782_400 + 3_661));
        assert_eq!(utc_date(leap), "2000-02-29 01:01:01 UTC");
    }

    /// A CA's certificate as PEM, and a server presenting a certificate for `names` it issued
    /// (valid in `period`: 0 now, -1 expired, 1 not yet valid).
    fn issued(names: &[&str], period: i32) -> (Vec<u8>, Arc<ServerConfig>) {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        let subject = format!("wsc test CA {:016x}", rand::random::<u64>());
        ca.distinguished_name.push(DnType::CommonName, subject);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf = CertificateParams::new(names).unwrap();
        match period {
            -1 => {
                leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
                leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            1 => {
                leaf.not_before = rcgen::date_time_ymd(2090, 1, 1);
                leaf.not_after = rcgen::date_time_ymd(2091, 1, 1);
            }
            _ => {}
        }
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], private)
            .unwrap();
        (ca_cert.pem().into_bytes(), Arc::new(config))
    }

    /// The bracketed code of a certificate refusal.
    fn refusal(result: Result<(), Error>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.kind, ErrorKind::TlsCertificate, "{e}");
        let code = e.message.rsplit('[').next().unwrap().trim_end_matches(']');
        code.to_string()
    }

    #[test]
    fn skipping_the_host_name_check_still_verifies_the_chain() {
        let skip = |pem: &[u8]| TlsOptions {
            skip_hostname_verification: true,
            ..trusting(pem)
        };
        let (ca, config) = issued(&["example.test"], 0);
        assert_eq!(handshake(&skip(&ca), config.clone(), "localhost"), Ok(()));
        // Without the relaxation the same is refused.
        let plain = handshake(&trusting(&ca), config.clone(), "localhost");
        assert_eq!(refusal(plain), "NotValidForName");
        // A CA that did not issue it.
        let (other_ca, _) = issued(&["example.test"], 0);
        let unknown = handshake(&skip(&other_ca), config, "localhost");
        let e = unknown.clone().unwrap_err();
        assert!(e.message.contains("not signed by a trusted"), "{e}");
        assert_eq!(refusal(unknown), "UnknownIssuer");
        // Expired, from the trusted CA.
        let (ca, expired) = issued(&["example.test"], -1);
        assert_eq!(
            refusal(handshake(&skip(&ca), expired, "localhost")),
            "Expired"
        );
        // A self-signed certificate is not trusted by it either.
        let (_, self_signed) = server(&["localhost"], false, false);
        let (ca, _) = issued(&["localhost"], 0);
        let e = handshake(&skip(&ca), self_signed, "localhost");
        assert_eq!(refusal(e), "UnknownIssuer");
    }

    #[test]
    fn allowing_expired_certificates_still_verifies_names_and_issuers() {
        let expired_ok = |pem: &[u8]| TlsOptions {
            allow_expired: true,
            ..trusting(pem)
        };
        let (ca, config) = issued(&["localhost"], -1);
        assert_eq!(
            refusal(handshake(&trusting(&ca), config.clone(), "localhost")),
            "Expired"
        );
        assert_eq!(
            handshake(&expired_ok(&ca), config.clone(), "localhost"),
            Ok(())
        );
        let e = handshake(&expired_ok(&ca), config.clone(), "other.test");
        assert_eq!(refusal(e), "NotValidForName");
        let (other_ca, _) = issued(&["localhost"], 0);
        let e = handshake(&expired_ok(&other_ca), config, "localhost");
        assert_eq!(refusal(e), "UnknownIssuer");
        // Not valid yet is not expired.
        let (ca, future) = issued(&["localhost"], 1);
        let e = handshake(&expired_ok(&ca), future, "localhost");
        assert_eq!(refusal(e), "NotValidYet");
        // An expired self-signed certificate given as the CA.
        let (pem, config) = server(&["localhost"], true, true);
        assert_eq!(handshake(&expired_ok(&pem), config, "localhost"), Ok(()));
    }

    #[test]
    fn allowing_self_signed_accepts_any_self_signed_certificate_and_nothing_more() {
        let self_signed_ok = TlsOptions {
            allow_self_signed: true,
            ..TlsOptions::default()
        };
        for ca in [false, true] {
            let (_, config) = server(&["localhost"], ca, false);
            assert_eq!(
                handshake(&self_signed_ok, config.clone(), "localhost"),
                Ok(())
            );
            let without = handshake(&TlsOptions::default(), config.clone(), "localhost");
            let expected = if ca {
                "CaUsedAsEndEntity"
            } else {
                "UnknownIssuer"
            };
            assert_eq!(refusal(without), expected);
            let e = handshake(&self_signed_ok, config, "other.test");
            assert_eq!(refusal(e), "NotValidForName");
        }
        // Expired: refused, unless expired certificates are allowed too.
        let (_, expired) = server(&["localhost"], false, true);
        let e = handshake(&self_signed_ok, expired.clone(), "localhost");
        assert_eq!(refusal(e), "Expired");
        let both = TlsOptions {
            allow_expired: true,
            ..self_signed_ok.clone()
        };
        assert_eq!(handshake(&both, expired, "localhost"), Ok(()));
        // Issued by an unknown CA: not self-signed.
        let (_, issued_by_stranger) = issued(&["localhost"], 0);
        let e = handshake(&self_signed_ok, issued_by_stranger.clone(), "localhost");
        assert_eq!(refusal(e), "UnknownIssuer");
        // With a CA that does not match: the same refusal, naming the options that help.
        let (other_ca, _) = issued(&["localhost"], 0);
        let with_ca = TlsOptions {
            allow_self_signed: true,
            ..trusting(&other_ca)
        };
        let e = handshake(&with_ca, issued_by_stranger, "localhost").unwrap_err();
        assert!(e.message.contains("tls_ca_file"), "{e}");
    }

    #[test]
    fn a_ca_added_to_the_system_store_is_trusted_with_it() {
        let (ca, config) = issued(&["localhost"], 0);
        let added = TlsOptions {
            ca_added_to_system: true,
            ..trusting(&ca)
        };
        assert_eq!(handshake(&added, config, "localhost"), Ok(()));
        let no_ca = TlsOptions {
            ca_added_to_system: true,
            ..TlsOptions::default()
        };
        let e = no_ca.validate().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("tls_ca_add_to_system"), "{e}");
    }

    #[test]
    fn the_server_name_replaces_the_host_for_verification() {
        let (ca, config) = issued(&["service.test"], 0);
        let named = TlsOptions {
            server_name: Some("service.test".into()),
            ..trusting(&ca)
        };
        assert_eq!(handshake(&named, config.clone(), "127.0.0.1"), Ok(()));
        let e = handshake(&trusting(&ca), config, "127.0.0.1");
        assert_eq!(refusal(e), "NotValidForName");
        for bad in ["", "bad name", "a..b", "host:443"] {
            let options = TlsOptions {
                server_name: Some(bad.into()),
                ..TlsOptions::default()
            };
            let e = options.validate().unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.starts_with("tls_server_name"), "{e}");
        }
        for good in ["example.test", "192.0.2.1", "::1"] {
            let options = TlsOptions {
                server_name: Some(good.into()),
                ..TlsOptions::default()
            };
            assert_eq!(options.validate(), Ok(()));
        }
    }

    fn with_identity(cert: Pem, key: Pem) -> TlsOptions {
        TlsOptions {
            client_certificate: Some(cert),
            client_key: Some(key),
            ..TlsOptions::default()
        }
    }

    fn identity_error(cert: Pem, key: Pem) -> String {
        let e = with_identity(cert, key).validate().unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
        e.message
    }

    fn generated(algorithm: &'static rcgen::SignatureAlgorithm) -> (Pem, Pem) {
        let key = KeyPair::generate_for(algorithm).unwrap();
        let params = CertificateParams::new(vec!["client.test".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (
            Pem::Memory(cert.pem().into_bytes()),
            Pem::Memory(key.serialize_pem().into_bytes()),
        )
    }

    #[test]
    fn client_identities_of_each_kind_load() {
        for algorithm in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
        ] {
            let (cert, key) = generated(algorithm);
            assert_eq!(with_identity(cert, key).validate(), Ok(()));
        }
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls_keys/");
        for (cert, key) in [("rsa.crt", "rsa-pkcs1.key"), ("p384.crt", "p384-sec1.key")] {
            let key_text = std::fs::read_to_string(format!("{keys}{key}")).unwrap();
            assert!(
                key_text.starts_with("-----BEGIN RSA PRIVATE KEY")
                    || key_text.starts_with("-----BEGIN EC PRIVATE KEY"),
                "{key}"
            );
            let options = with_identity(
                Pem::File(format!("{keys}{cert}").into()),
                Pem::File(format!("{keys}{key}").into()),
            );
            assert_eq!(options.validate(), Ok(()), "{key}");
            assert!(client_config(&options)
                .unwrap()
                .client_auth_cert_resolver
                .has_certs());
        }
    }

    #[test]
    fn a_bad_client_identity_is_refused_saying_what_is_wrong() {
        let (cert, _) = generated(&rcgen::PKCS_ECDSA_P256_SHA256);
        let (_, other_key) = generated(&rcgen::PKCS_ECDSA_P256_SHA256);
        let e = identity_error(cert.clone(), other_key.clone());
        assert_eq!(
            e,
            "the private key in tls_client_key_pem is not the key of the certificate in \
             tls_client_cert_pem (the first certificate must be the client's own)"
        );
        let missing = Pem::File("/nonexistent/client.pem".into());
        let e = identity_error(missing, other_key.clone());
        assert!(
            e.starts_with("tls_client_cert_file /nonexistent/client.pem: cannot read the file"),
            "{e}"
        );
        let e = identity_error(other_key.clone(), other_key.clone());
        assert!(
            e.starts_with("tls_client_cert_pem: no certificate found"),
            "{e}"
        );
        let e = identity_error(cert.clone(), cert.clone());
        assert!(
            e.starts_with("tls_client_key_pem: no private key found"),
            "{e}"
        );
        let encrypted = Pem::Memory(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
                .to_vec(),
        );
        let e = identity_error(cert.clone(), encrypted);
        assert!(e.contains("encrypted"), "{e}");
        let alone = TlsOptions {
            client_certificate: Some(cert),
            ..TlsOptions::default()
        };
        assert!(alone
            .validate()
            .unwrap_err()
            .message
            .contains("without its private key"));
        let alone = TlsOptions {
            client_key: Some(other_key),
            ..TlsOptions::default()
        };
        assert!(alone
            .validate()
            .unwrap_err()
            .message
            .contains("without its certificate"));
    }

    #[test]
    fn server_alerts_about_the_client_certificate_in_words() {
        let rejected = error(
            rustls::Error::AlertReceived(AlertDescription::BadCertificate),
            true,
        );
        assert_eq!(rejected.kind, ErrorKind::Tls);
        assert_eq!(
            rejected.message,
            "the server rejected the client certificate (TLS alert bad_certificate)"
        );
        let required = error(
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
            false,
        );
        assert!(
            required
                .message
                .starts_with("the server requires a client certificate (TLS alert certificate_required); none was given"),
            "{required}"
        );
        let other = error(
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
            true,
        );
        assert!(other.message.starts_with("TLS: "), "{other}");
    }
}
