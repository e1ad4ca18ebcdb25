//! Signing the clients' tokens: HS256 over `{"sub","iat","exp"}` (and a
//! `pad` claim when asked), with the `jsonwebtoken` crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};

/// The user of the fan-out workloads' publisher.
pub const PUBLISHER: &str = "publisher";

/// The user of client `n` of a run: `user-<n>`.
pub fn client_user(n: usize) -> String {
    format!("user-{n}")
}

/// Signs the run's tokens: one secret, one expiry for all. Sent to worker
/// processes with their share, so that each signs its own clients' tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minter {
    secret: String,
    /// Issued at, Unix seconds.
    iat: u64,
    /// Expiry, Unix seconds.
    exp: u64,
    /// Bytes of the `pad` claim (none when 0).
    #[serde(default)]
    pad: usize,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("secret", &"…")
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .field("pad", &self.pad)
            .finish()
    }
}

impl Minter {
    /// Signs with `secret` tokens that expire `ttl` from now.
    pub fn new(secret: &str, ttl: Duration) -> Result<Self> {
        if secret.is_empty() {
            return Err(Error::Usage("--token-hmac-secret must not be empty".into()));
        }
        if ttl < Duration::from_secs(1) {
            return Err(Error::Usage("--token-ttl must be at least 1".into()));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Self {
            secret: secret.to_owned(),
            iat: now.as_secs(),
            exp: (now + ttl).as_secs(),
            pad: 0,
        })
    }

    /// The same, each token with a claim `pad` of `bytes` characters
    /// (none when 0), which the hub ignores.
    pub fn padded(self, bytes: usize) -> Self {
        Self { pad: bytes, ..self }
    }

    /// The secret, for a hub spawned for the run.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When the tokens expire, Unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.exp
    }

    /// A token for user `sub`.
    pub fn mint(&self, sub: &str) -> Result<String> {
        self.sign(&self.key()?, sub)
    }

    /// The tokens of clients `first..first + count`, in order.
    pub fn mint_clients(&self, first: usize, count: usize) -> Result<Vec<String>> {
        let key = self.key()?;
        (first..first + count)
            .map(|n| self.sign(&key, &client_user(n)))
            .collect()
    }

    fn key(&self) -> Result<EncodingKey> {
        EncodingKey::from_secret(self.secret.as_bytes())
            .map_err(|e| Error::Usage(format!("--token-hmac-secret: {e}")))
    }

    fn sign(&self, key: &EncodingKey, sub: &str) -> Result<String> {
        let mut claims = json!({"sub": sub, "iat": self.iat, "exp": self.exp});
        if self.pad > 0 {
            claims["pad"] = json!("x".repeat(self.pad));
        }
        encode(&Header::default(), &claims, key)
            .map_err(|e| Error::Usage(format!("cannot sign a token: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a secret of at least thirty-two bytes";

    #[tokio::test]
    async fn the_hubs_verifier_accepts_the_tokens() {
        let minter = Minter::new(SECRET, Duration::from_secs(3600)).unwrap();
        let tokens = minter.mint_clients(7, 2).unwrap();
        let verifier = switchboard::TokenVerifier::hmac(SECRET);
        let claims = verifier.verify(&tokens[0]).await.unwrap();
        assert_eq!(claims.sub, "user-7");
        assert_eq!(claims.exp, minter.expires_at());
        assert_eq!(verifier.verify(&tokens[1]).await.unwrap().sub, "user-8");
        let padded = minter.clone().padded(600).mint("user-9").unwrap();
        assert!(padded.len() > tokens[1].len() + 800, "{}", padded.len());
        assert_eq!(verifier.verify(&padded).await.unwrap().sub, "user-9");
        let other = switchboard::TokenVerifier::hmac("another secret of thirty-two bytes!");
        assert!(other.verify(&tokens[0]).await.is_err());
        // URL-safe as they are: base64url and dots.
        assert!(
            tokens[0]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
    }

    #[test]
    fn refuses_what_cannot_sign_and_hides_the_secret() {
        assert!(Minter::new("", Duration::from_secs(60)).is_err());
        assert!(Minter::new(SECRET, Duration::ZERO).is_err());
        let minter = Minter::new(SECRET, Duration::from_secs(60)).unwrap();
        assert!(!format!("{minter:?}").contains("thirty-two"));
        assert_eq!(client_user(3), "user-3");
    }
}
