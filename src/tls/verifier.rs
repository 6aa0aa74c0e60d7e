//! Server certificate verification other than the plain roots: certificates the application
//! gave (self-signed ones marked as a CA included), and the narrow relaxations, each allowing
//! one thing and nothing else.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use crate::log::Level;

/// What may be let through that verification would refuse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relaxations {
    /// A self-signed end-entity certificate (its own issuer, signed with its own key), whoever
    /// it is: it stands as its own trust anchor. Its validity period and name still count.
    pub self_signed: bool,
    /// A certificate for another name: the chain is still verified against the trust.
    pub host_name: bool,
    /// A certificate of the chain past its notAfter date: the chain is verified as of the
    /// moment it was last valid; names and issuers still count, a not-yet-valid one does not
    /// pass.
    pub expired: bool,
}

/// The verifier for trust other than the plain roots, or for anything (insecure). The
/// handshake signature is verified either way: it proves the server holds the key of the
/// certificate it presents.
#[derive(Debug)]
pub struct CustomVerifier {
    pub provider: Arc<CryptoProvider>,
    pub policy: Policy,
}

#[derive(Debug)]
pub enum Policy {
    /// Chains to the roots of `webpki`, or is exactly one of `given` although it is marked as
    /// a CA: OpenSSL 3 marks the usual self-signed test certificate CA:TRUE; webpki refuses a
    /// CA as an end entity, OpenSSL trusts a certificate in its store as it is. Nothing else
    /// loosens: webpki checks the validity period before the CA flag, the name is checked here.
    Verified {
        webpki: Arc<WebPkiServerVerifier>,
        given: Vec<CertificateDer<'static>>,
        relax: Relaxations,
    },
    /// Any certificate for any name.
    Anything,
}

pub fn is_ca_used_as_end_entity(e: &OtherError) -> bool {
    e.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
}

/// One server certificate to verify against one set of roots (`webpki`), with `exempt` the
/// certificates that may be a CA used as the end entity.
struct Check<'a> {
    webpki: &'a WebPkiServerVerifier,
    exempt: &'a [CertificateDer<'a>],
    relax: Relaxations,
    end_entity: &'a CertificateDer<'a>,
    intermediates: &'a [CertificateDer<'a>],
    server_name: &'a ServerName<'a>,
}

impl Check<'_> {
    /// One verification as of `now`.
    fn attempt(&self, now: UnixTime) -> Result<(), rustls::Error> {
        let (end_entity, server_name) = (self.end_entity, self.server_name);
        match self
            .webpki
            .verify_server_cert(end_entity, self.intermediates, server_name, &[], now)
        {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if is_ca_used_as_end_entity(&e) && self.exempt.iter().any(|c| c == end_entity) =>
            {
                if !self.relax.host_name {
                    verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                }
                Ok(())
            }
            // rustls checks the name last, once the chain and its dates have passed.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.relax.host_name => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// [`Self::attempt`], and with `relax.expired` again as of the moment an expired
    /// certificate was last valid, as long as each step moves back to an earlier expiry.
    fn verify(&self, now: UnixTime) -> Result<(), rustls::Error> {
        let first = self.attempt(now);
        if !self.relax.expired {
            return first;
        }
        let mut result = first.clone();
        // Each certificate of the path can move the time back once.
        for _ in 0..=self.intermediates.len() + 1 {
            match result {
                Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                    not_after,
                    ..
                })) => result = self.attempt(not_after),
                // Validity periods that do not overlap: no moment when the chain was valid.
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
                )) => return first,
                other => return other,
            }
        }
        result
    }
}

impl CustomVerifier {
    /// The verdict on a server's chain (see [`Policy`]).
    fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Policy::Verified {
            webpki,
            given,
            relax,
        } = &self.policy
        else {
            return Ok(ServerCertVerified::assertion());
        };
        let verified = Check {
            webpki,
            exempt: given,
            relax: *relax,
            end_entity,
            intermediates,
            server_name,
        }
        .verify(now);
        let Err(refused) = verified else {
            return Ok(ServerCertVerified::assertion());
        };
        if !relax.self_signed {
            return Err(refused);
        }
        // The certificate as its own trust anchor: only a self-signed one verifies.
        let mut own = RootCertStore::empty();
        if own.add(end_entity.clone().into_owned()).is_err() {
            return Err(refused);
        }
        let alone =
            WebPkiServerVerifier::builder_with_provider(Arc::new(own), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        let exempt = [end_entity.clone()];
        let own_anchor = Check {
            webpki: &alone,
            exempt: &exempt,
            relax: *relax,
            end_entity,
            intermediates: &[],
            server_name,
        };
        match own_anchor.verify(now) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            // Not self-signed: the first refusal says why it is not trusted.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            )) => Err(refused),
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if e.0.downcast_ref::<webpki::Error>().is_some() =>
            {
                Err(refused)
            }
            // Self-signed, and wrong in another way (its dates, its name).
            Err(other) => Err(other),
        }
    }
}

impl ServerCertVerifier for CustomVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.decide(end_entity, intermediates, server_name, now);
        if verdict.is_err() && crate::log::current_enabled(Level::Debug) {
            let chain = std::iter::once(end_entity).chain(intermediates);
            crate::log::write_current(
                Level::Debug,
                format_args!(
                    "certificate refused; the chain presented: {}",
                    describe(chain)
                ),
            );
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Each certificate's subject and issuer, for the log: "[0] CN=example.test (issuer CN=Test
/// CA); [1] ...".
fn describe<'a>(chain: impl Iterator<Item = &'a CertificateDer<'a>>) -> String {
    chain
        .enumerate()
        .map(
            |(i, der)| match x509_parser::parse_x509_certificate(der.as_ref()) {
                Ok((_, cert)) => format!("[{i}] {} (issuer {})", cert.subject(), cert.issuer()),
                Err(_) => format!("[{i}] (not a readable X.509 certificate)"),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}
