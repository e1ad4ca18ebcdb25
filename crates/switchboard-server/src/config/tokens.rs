//! `--token-*` and `--allow-anonymous`: how the server checks tokens
//! (PROTOCOL.md section 10).

use std::fmt;
use std::path::PathBuf;

use super::error::ConfigError;
use super::raw::RawOptions;
use super::values::{optional, value};
use crate::options::{
    ALLOW_ANONYMOUS, TOKEN_AUDIENCE, TOKEN_HMAC_SECRET, TOKEN_ISSUER, TOKEN_JWKS_URL,
    TOKEN_PUBLIC_KEY,
};
use crate::units::parse_bool;

/// The shortest HS256 secret taken: RFC 7518 asks for a key as long as the
/// hash (256 bits).
const MIN_HMAC_SECRET: usize = 32;

/// Where the keys that check tokens come from.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenKey {
    /// `--token-hmac-secret`: HS256 with this secret.
    HmacSecret(String),
    /// `--token-public-key`: a PEM public key read from this file.
    PublicKey {
        /// The file it was read from.
        path: PathBuf,
        /// Its contents.
        pem: Vec<u8>,
    },
    /// `--token-jwks-url`: the keys of this JWKS.
    JwksUrl(String),
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HmacSecret(_) => f.write_str("HmacSecret(<hidden>)"),
            Self::PublicKey { path, .. } => write!(f, "PublicKey({})", path.display()),
            Self::JwksUrl(url) => write!(f, "JwksUrl({url})"),
        }
    }
}

/// How the server checks tokens; absent when no key is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The keys.
    pub key: TokenKey,
    /// `--token-issuer`: the `iss` tokens must carry.
    pub issuer: Option<String>,
    /// `--token-audience`: the `aud` tokens must carry.
    pub audience: Option<String>,
    /// `--allow-anonymous`: clients without a token get in, anonymous.
    pub allow_anonymous: bool,
}

fn parse_hmac_secret(text: &str) -> Result<String, String> {
    if text.len() < MIN_HMAC_SECRET {
        return Err(format!(
            "an HS256 secret needs at least {MIN_HMAC_SECRET} bytes (this one has {})",
            text.len()
        ));
    }
    Ok(text.to_owned())
}

fn read_public_key(text: &str) -> Result<TokenKey, String> {
    let path = PathBuf::from(text);
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read the key file: {e}"))?;
    Ok(TokenKey::PublicKey { path, pem })
}

fn parse_jwks_url(text: &str) -> Result<String, String> {
    if text.starts_with("https://") || text.starts_with("http://") {
        Ok(text.to_owned())
    } else {
        Err("a JWKS URL starts with https:// (or http://)".into())
    }
}

fn parse_claim(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(text.to_owned())
    }
}

/// The token settings of merged option values: at most one key source;
/// the issuer, audience and `--allow-anonymous` only with one.
pub(super) fn token_settings(raw: &RawOptions) -> Result<Option<TokenSettings>, ConfigError> {
    let keys = [
        optional(raw, &TOKEN_HMAC_SECRET, parse_hmac_secret)?.map(TokenKey::HmacSecret),
        optional(raw, &TOKEN_PUBLIC_KEY, read_public_key)?,
        optional(raw, &TOKEN_JWKS_URL, parse_jwks_url)?.map(TokenKey::JwksUrl),
    ];
    let mut keys = keys.into_iter().flatten();
    let key = keys.next();
    if keys.next().is_some() {
        return Err(ConfigError::new(
            "give one of --token-hmac-secret, --token-public-key and --token-jwks-url",
        ));
    }
    let issuer = optional(raw, &TOKEN_ISSUER, parse_claim)?;
    let audience = optional(raw, &TOKEN_AUDIENCE, parse_claim)?;
    let allow_anonymous = value(raw, &ALLOW_ANONYMOUS, parse_bool)?;
    let Some(key) = key else {
        if issuer.is_some() || audience.is_some() || allow_anonymous {
            return Err(ConfigError::new(
                "--token-issuer, --token-audience and --allow-anonymous need a token key \
                 (--token-hmac-secret, --token-public-key or --token-jwks-url)",
            ));
        }
        return Ok(None);
    };
    Ok(Some(TokenSettings {
        key,
        issuer,
        audience,
        allow_anonymous,
    }))
}
