//! `--tls-cert` and `--tls-key`: both or neither, and the files they name
//! read and checked at start-up.

use std::path::PathBuf;
use std::sync::Arc;

use switchboard::TlsConfigError;
use switchboard::rustls::ServerConfig;

use super::error::ConfigError;
use super::raw::RawOptions;
use super::values::optional;
use crate::options::{TLS_CERT, TLS_KEY};

/// The PEM files the server serves TLS with (`--tls-cert`, `--tls-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tls-cert`: the certificate chain.
    pub cert: PathBuf,
    /// `--tls-key`: its private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and makes the TLS configuration (ALPN
    /// `http/1.1`); the error names the option and the file at fault.
    pub fn load(&self) -> Result<Arc<ServerConfig>, ConfigError> {
        switchboard::tls_config_from_pem_files(&self.cert, &self.key).map_err(|error| {
            let flag = match &error {
                TlsConfigError::Read { path, .. } if *path == self.cert => "--tls-cert",
                TlsConfigError::Read { .. } | TlsConfigError::Key { .. } => "--tls-key",
                TlsConfigError::Certificate { .. } => "--tls-cert",
                _ => "--tls-cert and --tls-key",
            };
            ConfigError::new(format!("{flag}: {error}"))
        })
    }
}

/// `--tls-cert` and `--tls-key`, both or neither.
pub(super) fn tls_files(raw: &RawOptions) -> Result<Option<TlsFiles>, ConfigError> {
    let cert = optional(raw, &TLS_CERT, parse_file)?;
    let key = optional(raw, &TLS_KEY, parse_file)?;
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::new(
            "--tls-cert is set without --tls-key: serving TLS takes both the \
             certificate chain and its private key",
        )),
        (None, Some(_)) => Err(ConfigError::new(
            "--tls-key is set without --tls-cert: serving TLS takes both the \
             certificate chain and its private key",
        )),
    }
}

fn parse_file(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("a file path is needed".to_owned());
    }
    Ok(PathBuf::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::options::Source;
    use switchboard_testkit::TestPki;

    fn resolve(pairs: &[(&crate::options::OptionSpec, &str, Source)]) -> Result<Config, String> {
        let mut raw = RawOptions::default();
        for (option, value, source) in pairs {
            raw.set(option, vec![(*value).to_owned()], source.clone());
        }
        Config::resolve(&raw).map_err(|e| e.to_string())
    }

    #[test]
    fn both_or_neither() {
        assert_eq!(resolve(&[]).unwrap().tls, None);
        let both = resolve(&[
            (&TLS_CERT, "c.pem", Source::Flag),
            (&TLS_KEY, "k.pem", Source::Env),
        ])
        .unwrap();
        assert_eq!(
            both.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        let error = resolve(&[(&TLS_CERT, "c.pem", Source::Flag)]).unwrap_err();
        assert!(
            error.starts_with("--tls-cert is set without --tls-key"),
            "{error}"
        );
        let error = resolve(&[(&TLS_KEY, "k.pem", Source::Env)]).unwrap_err();
        assert!(
            error.starts_with("--tls-key is set without --tls-cert"),
            "{error}"
        );
        let error = resolve(&[
            (&TLS_CERT, "", Source::Env),
            (&TLS_KEY, "k.pem", Source::Env),
        ])
        .unwrap_err();
        assert!(
            error.contains("SWITCHBOARD_TLS_CERT") && error.contains("a file path is needed"),
            "{error}"
        );
    }

    #[test]
    fn loading_names_the_option_and_the_file() {
        let pki = TestPki::localhost();
        let files = pki.write_files();
        let good = TlsFiles {
            cert: files.cert.clone(),
            key: files.key.clone(),
        };
        let config = good.load().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);

        let missing = files.dir().join("missing.pem");
        let error = TlsFiles {
            cert: missing.clone(),
            key: files.key.clone(),
        }
        .load()
        .unwrap_err()
        .to_string();
        let expected = format!("--tls-cert: cannot read {}: ", missing.display());
        assert!(error.starts_with(&expected), "{error}");

        let error = TlsFiles {
            cert: files.cert.clone(),
            key: missing.clone(),
        }
        .load()
        .unwrap_err()
        .to_string();
        let expected = format!("--tls-key: cannot read {}: ", missing.display());
        assert!(error.starts_with(&expected), "{error}");

        // Swapped: the key file holds no certificate.
        let error = TlsFiles {
            cert: files.key.clone(),
            key: files.cert.clone(),
        }
        .load()
        .unwrap_err()
        .to_string();
        let expected = format!("--tls-cert: {}: no certificate in it", files.key.display());
        assert!(error.starts_with(&expected), "{error}");
    }
}
