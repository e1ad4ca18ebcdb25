//! The one TLS setup of the crate: rustls with the ring provider, the
//! system's root certificates or the caller's, and the TLS connect.

use std::sync::{Arc, OnceLock};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::error::DialError;

/// The crypto provider of every TLS config (ring).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Adds the system's root certificates (rustls-native-certs) to `store`.
fn add_system_roots(store: &mut RootCertStore) {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::debug!(%error, "while loading system root certificates");
    }
    let (added, ignored) = store.add_parsable_certificates(loaded.certs);
    tracing::debug!(added, ignored, "system root certificates loaded");
}

/// A rustls client configuration trusting exactly `roots` (for private CAs
/// and self-signed test certificates). Build your own [`ClientConfig`] for
/// client certificates and pass it to
/// [`ConnectionOptions::tls`](crate::pool::ConnectionOptions::tls).
pub fn tls_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The default TLS configuration: the system's root certificates, loaded
/// once per process.
pub(crate) fn system_tls() -> Arc<ClientConfig> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            add_system_roots(&mut roots);
            tls_config_with_roots(roots)
        })
        .clone()
}

/// Builds a rustls client config: `roots` if given, else the system roots;
/// a client certificate chain and key if given.
pub(crate) fn tls_config(
    roots: Option<Vec<CertificateDer<'static>>>,
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, DialError> {
    let mut store = RootCertStore::empty();
    match roots {
        Some(roots) => {
            for cert in roots {
                store
                    .add(cert)
                    .map_err(|e| DialError::Tls(format!("bad root certificate: {e}")))?;
            }
        }
        None => add_system_roots(&mut store),
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::Tls(e.to_string()))?
        .with_root_certificates(store);
    let config = match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| DialError::Tls(format!("bad client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Runs the TLS handshake for `host` over `tcp`.
pub(crate) async fn connect_tls(
    host: &str,
    tcp: TcpStream,
    config: &Arc<ClientConfig>,
) -> Result<TlsStream<TcpStream>, DialError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| DialError::Tls(format!("bad server name {host}: {e}")))?;
    TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| DialError::Tls(e.to_string()))
}
