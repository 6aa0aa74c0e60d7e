//! The client's certificate chain and private key for mutual TLS, read from PEM files or
//! memory, and checked to belong together before any connection is made.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use crate::error::{Error, ErrorKind};

/// PEM text, from a file or from memory.
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// Read when the connection is made.
    File(PathBuf),
    Memory(Vec<u8>),
}

/// Key material stays out of logs: only where it comes from is shown.
impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pem::File(path) => f.debug_tuple("File").field(path).finish(),
            Pem::Memory(bytes) => write!(f, "Memory({} bytes)", bytes.len()),
        }
    }
}

impl Pem {
    /// The text, and how to name it in an error ("tls_client_key_file /etc/key.pem").
    fn load(&self, file_option: &str, memory_option: &str) -> Result<(Vec<u8>, String), Error> {
        match self {
            Pem::File(path) => {
                let origin = format!("{file_option} {}", path.display());
                let text = std::fs::read(path)
                    .map_err(|e| invalid(format!("{origin}: cannot read the file: {e}")))?;
                Ok((text, origin))
            }
            Pem::Memory(bytes) => Ok((bytes.clone(), memory_option.to_string())),
        }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// The certificate chain (end entity first) and its private key, parsed with `provider`'s key
/// loader and checked to match: a key that is not the certificate's would only fail later, as
/// a server's refusal with no reason given.
pub fn load(
    certificate: &Pem,
    key: &Pem,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, Error> {
    let (cert_text, cert_origin) =
        certificate.load("tls_client_cert_file", "tls_client_cert_pem")?;
    let (key_text, key_origin) = key.load("tls_client_key_file", "tls_client_key_pem")?;
    let chain = CertificateDer::pem_slice_iter(&cert_text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{cert_origin}: not valid PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(format!(
            "{cert_origin}: no certificate found (expected a \"BEGIN CERTIFICATE\" PEM block)"
        )));
    }
    let private = match PrivateKeyDer::from_pem_slice(&key_text) {
        Ok(private) => private,
        Err(pem::Error::NoItemsFound) if contains(&key_text, b"ENCRYPTED PRIVATE KEY") => {
            return Err(invalid(format!(
                "{key_origin}: the private key is encrypted, which is not supported (decrypt \
                 it with `openssl pkey -in KEY -out PLAIN`)"
            )))
        }
        Err(pem::Error::NoItemsFound) => {
            return Err(invalid(format!(
                "{key_origin}: no private key found (expected a \"BEGIN PRIVATE KEY\", \
                 \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\" PEM block)"
            )))
        }
        Err(e) => return Err(invalid(format!("{key_origin}: not valid PEM: {e}"))),
    };
    let signer = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| {
            invalid(format!(
            "{key_origin}: the private key cannot be used ({e}); RSA, ECDSA P-256 or P-384 and \
             Ed25519 keys are supported"
        ))
        })?;
    let certified = CertifiedKey::new(chain, signer);
    match certified.keys_match() {
        // A key that cannot tell its public half is let through, as rustls does.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(invalid(format!(
                "the private key in {key_origin} is not the key of the certificate in \
                 {cert_origin} (the first certificate must be the client's own)"
            )))
        }
        Err(e) => Err(invalid(format!(
            "{cert_origin}: the certificate cannot be used: {e}"
        ))),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
