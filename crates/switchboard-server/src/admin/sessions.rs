//! The admin dashboard's logins: a bounded table of sessions, each with a
//! secret cookie token, a CSRF token and an expiry.
//!
//! Tokens are 256 random bits from the operating system's CSPRNG
//! (`rand`'s thread generator, seeded from it), URL-safe base64. The table
//! keys sessions by the SHA-256 digest of their token, so a lookup's
//! timing says nothing about a live token. It holds at most
//! [`MAX_SESSIONS`] live sessions: a login past that ends the oldest one,
//! and each login at most [`MAX_STREAMS_PER_SESSION`] live-overview
//! streams at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The most live admin sessions; a new login past it ends the oldest.
pub const MAX_SESSIONS: usize = 32;

/// The most live-overview streams one login holds open at once (a few
/// tabs); each keeps the sample history and a receiver.
pub const MAX_STREAMS_PER_SESSION: usize = 4;

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
    /// Live-overview streams open, by session key (only keys with one or
    /// more: at most [`MAX_SESSIONS`] × [`MAX_STREAMS_PER_SESSION`] while
    /// sessions are live, and a stream of an ended session ends at its next
    /// sample).
    streams: Mutex<HashMap<[u8; 32], usize>>,
}

/// One open live-overview stream of a login: its place is given back when
/// this is dropped (the stream ended or its client went away).
#[derive(Debug)]
pub struct StreamSlot {
    store: Arc<SessionStore>,
    key: [u8; 32],
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.store.streams.lock();
        if let Some(open) = streams.get_mut(&self.key) {
            *open -= 1;
            if *open == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

impl SessionStore {
    /// A store whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            sessions: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more live-overview stream of `token`'s login, or
    /// `None` when it already holds [`MAX_STREAMS_PER_SESSION`].
    pub fn open_stream(self: &Arc<Self>, token: &str) -> Option<StreamSlot> {
        let key = digest(token);
        let mut streams = self.streams.lock();
        let open = streams.entry(key).or_insert(0);
        if *open >= MAX_STREAMS_PER_SESSION {
            return None;
        }
        *open += 1;
        Some(StreamSlot {
            store: self.clone(),
            key,
        })
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
    fn a_login_holds_a_bounded_number_of_streams() {
        let store = Arc::new(SessionStore::new(Duration::from_secs(60)));
        let login = store.open(Instant::now());
        let mut slots: Vec<StreamSlot> = (0..MAX_STREAMS_PER_SESSION)
            .map(|_| store.open_stream(&login.token).expect("a place"))
            .collect();
        assert!(store.open_stream(&login.token).is_none(), "past the bound");
        let other = store.open(Instant::now());
        assert!(store.open_stream(&other.token).is_some(), "per login");
        slots.pop();
        assert!(
            store.open_stream(&login.token).is_some(),
            "a place given back"
        );
        slots.clear();
        assert!(store.streams.lock().len() <= 1, "emptied keys are removed");
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
