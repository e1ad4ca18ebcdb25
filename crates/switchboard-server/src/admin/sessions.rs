//! The admin dashboard's logins: a bounded table of sessions, each with a
//! secret cookie token, a CSRF token and an expiry.
//!
//! Tokens are 256 random bits from the operating system's CSPRNG
//! (`rand`'s thread generator, seeded from it), URL-safe base64. The table
//! keys sessions by the SHA-256 digest of their token, so a lookup's
//! timing says nothing about a live token. It holds at most
//! [`MAX_SESSIONS`] live sessions: a login past that ends the oldest one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The most live admin sessions; a new login past it ends the oldest.
pub const MAX_SESSIONS: usize = 32;

/// A new secret token: 256 random bits, 43 URL-safe characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 digest of a token: the table's key.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// One login.
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The token every state-changing request must carry in its
    /// `X-CSRF-Token` header.
    pub csrf: String,
    /// When it was made.
    pub created: Instant,
    /// When it ends.
    pub expires: Instant,
}

/// A new login: the cookie's token and the session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The secret for the session cookie.
    pub token: String,
    /// The session.
    pub session: AdminSession,
}

/// The live admin sessions.
#[derive(Debug)]
pub struct SessionStore {
    ttl: Duration,
    sessions: Mutex<HashMap<[u8; 32], AdminSession>>,
}

impl SessionStore {
    /// A store whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session at `now`, ending expired ones and, at
    /// [`MAX_SESSIONS`], the oldest.
    pub fn open(&self, now: Instant) -> NewSession {
        let token = new_token();
        let session = AdminSession {
            csrf: new_token(),
            created: now,
            expires: now + self.ttl,
        };
        let mut sessions = self.sessions.lock();
        sessions.retain(|_, s| s.expires > now);
        while sessions.len() >= MAX_SESSIONS {
            let oldest = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => sessions.remove(&key),
                None => break,
            };
        }
        sessions.insert(digest(&token), session.clone());
        NewSession { token, session }
    }

    /// The live session of `token` at `now` (an expired one is ended).
    pub fn get(&self, token: &str, now: Instant) -> Option<AdminSession> {
        let key = digest(token);
        let mut sessions = self.sessions.lock();
        match sessions.get(&key) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends the session of `token`; returns whether there was one.
    pub fn close(&self, token: &str) -> bool {
        self.sessions.lock().remove(&digest(token)).is_some()
    }

    /// The number of sessions held (expired ones included until the next
    /// login or lookup ends them).
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn sessions_expire_and_close() {
        let store = SessionStore::new(Duration::from_secs(60));
        let now = Instant::now();
        let login = store.open(now);
        let session = store.get(&login.token, now).expect("live");
        assert_eq!(session.csrf, login.session.csrf);
        assert_ne!(session.csrf, login.token);
        assert!(store.get("not a token", now).is_none());
        assert!(
            store
                .get(&login.token, now + Duration::from_secs(61))
                .is_none()
        );
        assert!(store.is_empty(), "an expired session is ended on lookup");
        let login = store.open(now);
        assert!(store.close(&login.token));
        assert!(!store.close(&login.token));
        assert!(store.get(&login.token, now).is_none());
    }

    #[test]
    fn the_table_is_bounded_and_ends_the_oldest() {
        let store = SessionStore::new(Duration::from_secs(60));
        let start = Instant::now();
        let first = store.open(start);
        for i in 1..=MAX_SESSIONS as u64 {
            store.open(start + Duration::from_millis(i));
        }
        assert_eq!(store.len(), MAX_SESSIONS);
        assert!(store.get(&first.token, start).is_none(), "the oldest ended");
    }
}
