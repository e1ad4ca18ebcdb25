//! A private certificate authority made for one test run, and a server
//! certificate it signed for `localhost` and `127.0.0.1`: what the TLS
//! tests serve and trust (nothing is read from or written to the
//! machine's trust store).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A test CA and the server certificate it signed.
pub struct TestPki {
    /// The CA's certificate, DER: the root a client trusts.
    pub ca_der: Vec<u8>,
    /// The CA's certificate, PEM.
    pub ca_pem: String,
    /// The server's certificate chain, PEM: its certificate, then the CA's.
    pub cert_pem: String,
    /// The server's private key, PEM (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// A new CA and a server certificate for `localhost` and `127.0.0.1`.
    pub fn localhost() -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Switchboard test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server parameters");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("server key");
        let cert = server.signed_by(&key, &ca).expect("server certificate");

        Self {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            cert_pem: format!("{}{}", cert.pem(), ca.pem()),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the server's chain, its key and the CA to files in a new
    /// directory, removed when the returned handle drops.
    pub fn write_files(&self) -> TlsFiles {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "switchboard-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a certificate file");
            path
        };
        TlsFiles {
            cert: write("cert.pem", &self.cert_pem),
            key: write("key.pem", &self.key_pem),
            ca: write("ca.pem", &self.ca_pem),
            dir,
        }
    }
}

/// PEM files of a [`TestPki`] in a directory of their own, removed on
/// drop.
#[derive(Debug)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The CA's certificate.
    pub ca: PathBuf,
    dir: PathBuf,
}

impl TlsFiles {
    /// The directory holding them.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
