//! Token verification (PROTOCOL.md section 10, "Tokens"): a JSON Web Token
//! checked against an HMAC secret, a PEM public key or a JWKS, with its
//! claims read into [`TokenClaims`].
//!
//! Signatures are checked by the `jsonwebtoken` crate (its pure-Rust
//! RustCrypto backend). This module decides which key and which one
//! algorithm a token is checked with, and the claims' rules:
//!
//! - Each key verifies one algorithm, told by the key: an HMAC secret HS256,
//!   a PEM key RS256 (RSA), ES256 (EC P-256) or EdDSA (Ed25519), a JWK its
//!   `alg` or its type's default. A token whose header names another
//!   algorithm (`none` included) is refused before any signature check.
//! - `sub` must be a non-empty string and `exp` a number (Unix seconds); a
//!   token counts as expired from its `exp` on, with no leeway.
//! - `info` is any JSON; `rooms`, `publish` and `join`, when present, arrays
//!   of strings.
//! - `iss` and `aud` are checked when the verifier names them
//!   ([`TokenVerifier::issuer`], [`TokenVerifier::audience`]), and then
//!   required; otherwise they are ignored.
//! - `nbf`, when present, is honoured with 60 s of leeway for clocks that
//!   differ (a token minted "now" by an issuer whose clock runs ahead).
//! - A token over 16 KiB is refused unread.
//!
//! The module stands on its own (the crate's foundations): the handshake,
//! `$refresh` and resume use it through [`TokenVerifier::verify`].

mod claims;
mod error;
#[cfg(feature = "jwks")]
mod jwks;
mod keys;

pub use claims::TokenClaims;
pub use error::{TokenError, TokenKeyError};

use std::sync::Arc;

use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

use keys::VerifyingKey;

/// A token longer than this is refused without being decoded.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Leeway on `nbf` (not on `exp`), for clocks that differ.
const NBF_LEEWAY_SECS: u64 = 60;

/// Where the keys come from.
enum KeySource {
    /// One key: an HMAC secret or a PEM public key.
    Key(VerifyingKey),
    /// No usable key (an empty HMAC secret): every token is refused.
    Unusable(String),
    /// A key set fetched from a URL, cached.
    #[cfg(feature = "jwks")]
    Jwks(jwks::JwksKeys),
}

/// Checks JSON Web Tokens (PROTOCOL.md section 10) and reads their claims.
///
/// Built from one key source ([`hmac`](Self::hmac),
/// [`public_key_pem`](Self::public_key_pem), or, with the `jwks` feature,
/// `jwks_url`), optionally with an [`issuer`](Self::issuer) and an
/// [`audience`](Self::audience) to require. Cloning is cheap: the key
/// source, with its cache, is shared.
///
/// ```
/// use switchboard::{TokenError, TokenVerifier};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let verifier = TokenVerifier::hmac("a secret of at least thirty-two bytes")
///     .issuer("https://auth.example.com");
/// let error = verifier.verify("not.a.token").await.unwrap_err();
/// assert!(matches!(error, TokenError::Invalid(_)));
/// assert_eq!(error.code(), "unauthorized");
/// # }
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<KeySource>,
    issuer: Option<Arc<str>>,
    audience: Option<Arc<str>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &*self.keys {
            KeySource::Key(key) => format!("{:?}", key.algorithm),
            KeySource::Unusable(_) => "unusable".to_owned(),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(_) => "jwks".to_owned(),
        };
        f.debug_struct("TokenVerifier")
            .field("keys", &keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenVerifier {
    fn with_keys(keys: KeySource) -> Self {
        TokenVerifier {
            keys: Arc::new(keys),
            issuer: None,
            audience: None,
        }
    }

    /// Tokens signed with HS256 and this shared secret; other algorithms
    /// are refused.
    ///
    /// The secret should have at least 32 bytes (RFC 7518; a shorter one
    /// is logged as a warning). An empty secret would let anyone sign: the
    /// verifier then refuses every token with
    /// [`TokenError::KeysUnavailable`] (and logs an error).
    pub fn hmac(secret: impl AsRef<[u8]>) -> Self {
        match keys::hmac(secret.as_ref()) {
            Some(key) => Self::with_keys(KeySource::Key(key)),
            None => {
                tracing::error!("the HS256 token secret is empty: every token will be refused");
                Self::with_keys(KeySource::Unusable(
                    "the verifier's HMAC secret is empty".into(),
                ))
            }
        }
    }

    /// Tokens signed with the private key of this PEM public key, the
    /// algorithm told by the key: RSA → RS256, EC P-256 → ES256, Ed25519 →
    /// EdDSA. The PEM is `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo,
    /// what `openssl pkey -pubout` writes) or, for RSA,
    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
    ///
    /// # Errors
    ///
    /// [`TokenKeyError`] for text that is not PEM, a private key, a
    /// certificate, another key type or curve (P-384, secp256k1, Ed448, …),
    /// or a key that does not parse.
    pub fn public_key_pem(pem: &[u8]) -> Result<Self, TokenKeyError> {
        keys::from_pem(pem).map(|key| Self::with_keys(KeySource::Key(key)))
    }

    /// Tokens signed with a key of the JSON Web Key Set at `url` (`https`,
    /// or `http`, which is logged as a warning unless the host is
    /// loopback); the key is the one named by the token's `kid` header (a
    /// token without `kid` takes the set's only key).
    ///
    /// - The set is fetched on first use (nothing is fetched here) and
    ///   cached; it is re-fetched in the background once it is 5 minutes
    ///   old, its keys serving meanwhile.
    /// - A token whose `kid` the cached set lacks triggers a re-fetch; still
    ///   unknown after it, the token is [`TokenError::Invalid`].
    /// - Fetches are rate limited: at most one per 10 seconds, whatever
    ///   their outcome. Within that time an unknown `kid` is refused without
    ///   a fetch.
    /// - Concurrent verifications share one fetch, which times out after
    ///   5 seconds. A set that cannot be fetched (and no cached key for the
    ///   token) gives [`TokenError::KeysUnavailable`].
    /// - A key's algorithm is its `alg`, or its type's default (RSA → RS256,
    ///   EC P-256 → ES256, Ed25519 → EdDSA). Symmetric (`oct`) keys,
    ///   encryption keys and unsupported types are left out (logged).
    ///
    /// HTTPS uses rustls with the system's trust store.
    ///
    /// # Errors
    ///
    /// [`TokenKeyError::InvalidUrl`] for a URL that is not `http` or
    /// `https`; [`TokenKeyError::HttpClient`] when the HTTP client cannot be
    /// set up (for `https`: no CA certificates on the system).
    #[cfg(feature = "jwks")]
    pub fn jwks_url(url: &str) -> Result<Self, TokenKeyError> {
        Self::jwks_with(url, jwks::Timings::default())
    }

    #[cfg(feature = "jwks")]
    fn jwks_with(url: &str, timings: jwks::Timings) -> Result<Self, TokenKeyError> {
        jwks::JwksKeys::new(url, timings).map(|keys| Self::with_keys(KeySource::Jwks(keys)))
    }

    /// Requires the `iss` claim, equal to `issuer` (a token without `iss`
    /// is refused).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into().into());
        self
    }

    /// Requires the `aud` claim to be `audience` or an array holding it (a
    /// token without `aud` is refused). Without this, `aud` is not checked.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into().into());
        self
    }

    /// Checks `token` (the compact JWS form, `header.payload.signature`) and
    /// returns its claims.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] for a token that cannot be accepted,
    /// [`TokenError::Expired`] for a valid one whose `exp` has come, and
    /// [`TokenError::KeysUnavailable`] when the keys to check it with cannot
    /// be had. [`TokenError::code`] gives the wire error code.
    pub async fn verify(&self, token: &str) -> Result<TokenClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid(format!(
                "the token is over {MAX_TOKEN_LEN} bytes"
            )));
        }
        match &*self.keys {
            KeySource::Key(key) => self.check(token, key),
            KeySource::Unusable(reason) => Err(TokenError::KeysUnavailable(reason.clone())),
            #[cfg(feature = "jwks")]
            KeySource::Jwks(keys) => {
                // A token that does not even decode fetches nothing.
                let header = jsonwebtoken::decode_header(token).map_err(rejected)?;
                let key = keys.key_for(header.kid.as_deref()).await?;
                self.check(token, &key)
            }
        }
    }

    /// The signature (with `key`'s one algorithm), the issuer, audience and
    /// `nbf`, then the claims.
    fn check(&self, token: &str, key: &VerifyingKey) -> Result<TokenClaims, TokenError> {
        keys::crypto();
        let mut validation = Validation::new(key.algorithm);
        validation.required_spec_claims.clear();
        // `exp` is checked by `claims::check`, without leeway.
        validation.validate_exp = false;
        validation.validate_nbf = true;
        validation.leeway = NBF_LEEWAY_SECS;
        validation.validate_aud = false;
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[&**issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        if let Some(audience) = &self.audience {
            validation.validate_aud = true;
            validation.set_audience(&[&**audience]);
            validation.required_spec_claims.insert("aud".to_owned());
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(rejected)?;
        claims::check(data.claims, unix_now())
    }
}

/// Seconds since the Unix epoch; a clock before it expires every token.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u64::MAX, |since| since.as_secs())
}

/// What `jsonwebtoken` refused, as the client may read it.
fn rejected(error: jsonwebtoken::errors::Error) -> TokenError {
    let message = match error.kind() {
        ErrorKind::InvalidSignature => "the signature does not match".to_owned(),
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => "the token's algorithm (`alg`) is not accepted".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer (`iss`)".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience (`aud`)".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("the token's `{claim}` claim is malformed"),
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)".to_owned(),
        ErrorKind::ExpiredSignature => return TokenError::Expired,
        _ => format!("malformed token: {error}"),
    };
    TokenError::Invalid(message)
}

#[cfg(all(test, feature = "jwks"))]
mod jwks_tests;
#[cfg(test)]
mod tests;
