//! The keys tokens are checked with, each bound to the one algorithm it
//! verifies: an HMAC secret (HS256), a PEM public key (RS256, ES256,
//! EdDSA) or a JWK of a key set.
//!
//! Binding a key to its algorithm is what refuses algorithm confusion: a
//! token whose header names another algorithm (HS256 against an RSA key,
//! `none`) never reaches a signature check.

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::error::TokenKeyError;

/// A key and the one algorithm it verifies.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    pub(super) key: DecodingKey,
    pub(super) algorithm: Algorithm,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key itself stays out of logs (an HMAC secret).
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The signature backend: jsonwebtoken's RustCrypto provider, unless the
/// process installed one of its own. With both of jsonwebtoken's backends
/// enabled in the build (feature unification) and none installed,
/// jsonwebtoken would panic on first use; this installs RustCrypto's then.
pub(super) fn crypto() -> &'static CryptoProvider {
    if let Some(provider) = CryptoProvider::try_get_default() {
        return provider;
    }
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    CryptoProvider::try_get_default()
        .unwrap_or(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER)
}

/// HS256 with `secret`; `None` for an empty secret, which would let anyone
/// sign tokens.
pub(super) fn hmac(secret: &[u8]) -> Option<VerifyingKey> {
    if secret.len() < 32 {
        tracing::warn!(
            bytes = secret.len(),
            "the HS256 token secret is shorter than 32 bytes (RFC 7518 asks for at least 256 bits)"
        );
    }
    let key = DecodingKey::from_secret(secret).ok()?;
    Some(VerifyingKey {
        key,
        algorithm: Algorithm::HS256,
    })
}

/// The label of a PEM text's first block: `PUBLIC KEY` for
/// `-----BEGIN PUBLIC KEY-----`.
fn pem_label(pem: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let end = rest.find("-----")?;
    Some(rest[..end].trim())
}

/// A PEM public key, its algorithm told by its type: RSA → RS256, EC P-256
/// → ES256, Ed25519 → EdDSA. Anything else is refused with the reason.
pub(super) fn from_pem(pem: &[u8]) -> Result<VerifyingKey, TokenKeyError> {
    let label = pem_label(pem).ok_or(TokenKeyError::NotPem)?;
    match label {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => {
            return Err(TokenKeyError::Certificate);
        }
        label if label.contains("PRIVATE KEY") => {
            return Err(TokenKeyError::PrivateKey(label.to_owned()));
        }
        label => {
            return Err(TokenKeyError::Unsupported(format!(
                "a PEM `{label}` block is not a public key"
            )));
        }
    }
    // Each of these reads the key type from the key itself (its algorithm
    // identifier), so at most one succeeds.
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        let der = key
            .try_get_as_bytes()
            .map_err(|e| TokenKeyError::Malformed(e.to_string()))?;
        (crypto().key_utils.rsa_pub_components_from_public_key)(der)
            .map_err(|e| TokenKeyError::Malformed(format!("an RSA public key: {e}")))?;
        return Ok(VerifyingKey {
            key,
            algorithm: Algorithm::RS256,
        });
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return ed25519(key);
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return p256(key);
    }
    Err(TokenKeyError::Unsupported(
        "a public key that is neither RSA, EC nor Ed25519 (Ed448 and others are not supported)"
            .into(),
    ))
}

/// An Ed25519 key, checked: 32 bytes, a valid point.
fn ed25519(key: DecodingKey) -> Result<VerifyingKey, TokenKeyError> {
    // jsonwebtoken slices the first 32 bytes without checking the length.
    let len = key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
    if len != 32 {
        return Err(TokenKeyError::Malformed(format!(
            "an Ed25519 public key has 32 bytes, this one {len}"
        )));
    }
    checked(key, Algorithm::EdDSA)
}

/// An EC key, checked to be on P-256.
fn p256(key: DecodingKey) -> Result<VerifyingKey, TokenKeyError> {
    let len = key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
    if len == 97 {
        return Err(TokenKeyError::Unsupported(
            "an EC key on P-384 (ES384)".into(),
        ));
    }
    checked(key, Algorithm::ES256).map_err(|_| {
        TokenKeyError::Unsupported("an EC key that is not a P-256 point (only P-256, ES256)".into())
    })
}

/// The key as the signature backend reads it for `algorithm`: a key that
/// does not parse is refused now, not on every token.
fn checked(key: DecodingKey, algorithm: Algorithm) -> Result<VerifyingKey, TokenKeyError> {
    (crypto().verifier_factory)(&algorithm, &key)
        .map_err(|e| TokenKeyError::Malformed(e.to_string()))?;
    Ok(VerifyingKey { key, algorithm })
}

/// A key of a JWKS, with its `kid`. Keys for encryption (`use` other than
/// `sig`), symmetric keys (`oct`: a secret has no place in a published key
/// set) and keys of an unsupported type are refused with the reason.
///
/// The algorithm is the key's `alg` when it names one of the key type's
/// signature algorithms, otherwise the default of its type: RSA → RS256,
/// EC P-256 → ES256, Ed25519 → EdDSA.
#[cfg(feature = "jwks")]
pub(super) fn from_jwk(
    jwk: &jsonwebtoken::jwk::Jwk,
) -> Result<(Option<String>, VerifyingKey), String> {
    use jsonwebtoken::AlgorithmFamily;
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};

    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err("a key that is not for signatures (`use`)".into());
    }
    let declared = match jwk.common.key_algorithm {
        None => None,
        Some(alg) => Some(
            alg.to_string()
                .parse::<Algorithm>()
                .map_err(|_| format!("`alg` {alg} is not a supported signature algorithm"))?,
        ),
    };
    let (family, default) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (AlgorithmFamily::Rsa, Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => (AlgorithmFamily::Ec, Algorithm::ES256),
            EllipticCurve::P384 => (AlgorithmFamily::Ec, Algorithm::ES384),
            _ => {
                return Err(format!(
                    "an EC key on an unsupported curve ({:?})",
                    ec.curve
                ));
            }
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => (AlgorithmFamily::Ed, Algorithm::EdDSA),
            _ => {
                return Err(format!(
                    "an OKP key on an unsupported curve ({:?})",
                    okp.curve
                ));
            }
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric (`oct`) key: not taken from a key set".into());
        }
        _ => return Err("a key of an unsupported type".into()),
    };
    let algorithm = match declared {
        Some(alg) if alg.family() == family => alg,
        Some(alg) => return Err(format!("`alg` {alg:?} does not suit the key's type")),
        None => default,
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    if family == AlgorithmFamily::Ed && key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0) != 32 {
        return Err("an Ed25519 key that is not 32 bytes".into());
    }
    let key = checked(key, algorithm).map_err(|e| e.to_string())?;
    Ok((jwk.common.key_id.clone(), key))
}
