//! Why a token is refused, and why a key cannot be used.

/// Why [`TokenVerifier::verify`](super::TokenVerifier::verify) refused a
/// token. [`TokenError::code`] gives the wire error code of each (PROTOCOL.md
/// section 10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token cannot be accepted: malformed, a bad signature, an
    /// algorithm the verifier does not take (`none` included), a missing or
    /// malformed claim (`sub`, `exp`, the grants), a wrong issuer or audience,
    /// a key id the key set does not hold (after a re-fetch), an `nbf` in the
    /// future. Wire code `unauthorized`.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token is otherwise valid but has expired: its `exp` is now or in
    /// the past (no leeway). Wire code `token_expired`.
    #[error("the token has expired")]
    Expired,
    /// The verifier has no keys to check the token with: the JWKS could not
    /// be fetched (unreachable, timed out, not `200`, not a key set), or the
    /// verifier was built with an empty HMAC secret. Not the client's fault;
    /// wire code `unavailable`.
    #[error("the keys to verify tokens are unavailable: {0}")]
    KeysUnavailable(String),
}

impl TokenError {
    /// The wire error code (PROTOCOL.md section 10): `unauthorized`,
    /// `token_expired` or `unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Invalid(_) => "unauthorized",
            TokenError::Expired => "token_expired",
            TokenError::KeysUnavailable(_) => "unavailable",
        }
    }
}

/// Why a [`TokenVerifier`](super::TokenVerifier) cannot be built from a key
/// or a JWKS URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenKeyError {
    /// The key is not PEM text (`-----BEGIN PUBLIC KEY-----` …).
    #[error("the key is not PEM text: expected a `-----BEGIN PUBLIC KEY-----` block")]
    NotPem,
    /// The PEM holds a private key: the verifier takes the public key.
    #[error(
        "the PEM holds a private key (`{0}`): give the public key instead \
         (`openssl pkey -in key.pem -pubout`)"
    )]
    PrivateKey(String),
    /// The PEM holds a certificate: the verifier takes the public key.
    #[error(
        "the PEM holds a certificate: give its public key instead \
         (`openssl x509 -in cert.pem -pubkey -noout`)"
    )]
    Certificate,
    /// A key of a type or curve the verifier does not take.
    #[error(
        "unsupported key: {0}; use an RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA) public key"
    )]
    Unsupported(String),
    /// A key of a supported type that does not parse.
    #[error("the key does not parse: {0}")]
    Malformed(String),
    /// The JWKS URL is not an `http` or `https` URL.
    #[error("invalid JWKS URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client for the JWKS could not be set up (TLS configuration,
    /// the system's trust store).
    #[error("the HTTP client for the JWKS cannot be set up: {0}")]
    HttpClient(String),
}
