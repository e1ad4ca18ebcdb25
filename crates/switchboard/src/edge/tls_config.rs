//! A rustls server configuration from a PEM certificate chain and key
//! (feature `tls`), with errors that name the file at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::{self, InconsistentKeys, ServerConfig};

/// The ALPN protocol the hub serves: HTTP/1.1 (WebSocket upgrades need it).
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Why a TLS configuration could not be made from PEM. Each message names
/// where the bad input came from (the file, or "the certificate PEM").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why not.
        source: std::io::Error,
    },
    /// The certificate PEM holds no certificate, or a malformed one.
    #[error("{origin}: {problem}")]
    Certificate {
        /// Where the PEM came from: the file, or "the certificate PEM".
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The key PEM holds no private key, or a malformed one.
    #[error("{origin}: {problem}")]
    Key {
        /// Where the PEM came from: the file, or "the key PEM".
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the pair: the key is not the certificate's, or its
    /// kind is not supported.
    #[error("{certificate} with {key}: {problem}")]
    Refused {
        /// Where the certificate came from.
        certificate: String,
        /// Where the key came from.
        key: String,
        /// What rustls refused, in words.
        problem: String,
        /// rustls' error (boxed: it is large).
        source: Box<rustls::Error>,
    },
}

/// A TLS configuration for [`Hub::serve_tls`](crate::Hub::serve_tls) and
/// [`Hub::serve_router_tls`](crate::Hub::serve_router_tls) from PEM
/// text: `cert_chain` holds the server's certificate first, then any
/// intermediates (`-----BEGIN CERTIFICATE-----` blocks); `key` its private
/// key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE
/// KEY`, not encrypted). TLS 1.2 and 1.3 with rustls' safe defaults over
/// ring, no client certificates, ALPN `http/1.1`. Feature `tls`.
///
/// # Errors
///
/// [`TlsConfigError::Certificate`] or [`TlsConfigError::Key`] when a PEM
/// holds none or a malformed one; [`TlsConfigError::Refused`] when the key
/// is not the certificate's or is of a kind rustls does not support.
pub fn tls_config_from_pem(
    cert_chain: &[u8],
    key: &[u8],
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    build(
        cert_chain,
        "the certificate PEM".to_owned(),
        key,
        "the key PEM".to_owned(),
    )
}

/// [`tls_config_from_pem`] from two files: the certificate chain's and
/// the private key's (they may be the same file, holding both). Feature
/// `tls`.
///
/// ```no_run
/// # fn run() -> Result<(), switchboard::TlsConfigError> {
/// let tls = switchboard::tls_config_from_pem_files("/etc/switchboard/cert.pem", "/etc/switchboard/key.pem")?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`TlsConfigError::Read`] when a file cannot be read, and the errors of
/// [`tls_config_from_pem`], each naming its file.
pub fn tls_config_from_pem_files(
    cert_chain: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsConfigError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let (cert_path, key_path) = (cert_chain.as_ref(), key.as_ref());
    build(
        &read(cert_path)?,
        cert_path.display().to_string(),
        &read(key_path)?,
        key_path.display().to_string(),
    )
}

fn build(
    cert_pem: &[u8],
    cert_origin: String,
    key_pem: &[u8],
    key_origin: String,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsConfigError::Certificate {
            origin: cert_origin.clone(),
            problem: format!("not a readable PEM certificate chain: {error}"),
        })?;
    if chain.is_empty() {
        return Err(TlsConfigError::Certificate {
            origin: cert_origin,
            problem: "no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| {
        let problem = match error {
            rustls_pki_types::pem::Error::NoItemsFound => {
                "no private key in it (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` \
                 or `EC PRIVATE KEY` block, not encrypted)"
                    .to_owned()
            }
            other => format!("not a readable PEM private key: {other}"),
        };
        TlsConfigError::Key {
            origin: key_origin.clone(),
            problem,
        }
    })?;
    let refused = |source: rustls::Error| {
        let problem = match &source {
            rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
                "the private key is not the certificate's".to_owned()
            }
            other => other.to_string(),
        };
        TlsConfigError::Refused {
            certificate: cert_origin.clone(),
            key: key_origin.clone(),
            problem,
            source: Box::new(source),
        }
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(refused)?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certified(name: &str) -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap()
    }

    #[test]
    fn a_matching_pair_makes_a_config_offering_http_1_1() {
        let pair = certified("localhost");
        let config = tls_config_from_pem(
            pair.cert.pem().as_bytes(),
            pair.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn each_error_names_what_is_wrong_and_where() {
        let pair = certified("localhost");
        let other = certified("other");
        let (cert, key) = (pair.cert.pem(), pair.signing_key.serialize_pem());

        let error = tls_config_from_pem(key.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(
            matches!(error, TlsConfigError::Certificate { .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("the certificate PEM: no certificate"),
            "{error}"
        );

        let error = tls_config_from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(matches!(error, TlsConfigError::Key { .. }), "{error}");
        assert!(
            error.to_string().starts_with("the key PEM: no private key"),
            "{error}"
        );

        let other_key = other.signing_key.serialize_pem();
        let error = tls_config_from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the certificate PEM with the key PEM: the private key is not the certificate's"
        );

        let missing = Path::new("/nonexistent/switchboard-test/cert.pem");
        let error = tls_config_from_pem_files(missing, missing).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read /nonexistent/switchboard-test/cert.pem: "),
            "{error}"
        );
    }
}
