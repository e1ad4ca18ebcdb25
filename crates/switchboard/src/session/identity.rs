//! Who a session's user is (PROTOCOL.md section 10): what the token it
//! connected with grants (or what the authentication hook granted instead),
//! updated by each `$refresh`.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::Value;

use crate::tokens::TokenClaims;

/// `expires_at` of a grant without an end (a token's `exp` is never 0: it
/// would have expired).
const NEVER: u64 = 0;

/// The id a new session takes: the one the authentication hook was told.
/// Rides in the handshake's app data from admission to the session.
#[derive(Debug, Clone)]
pub(crate) struct PresetSocketId(pub(crate) String);

/// What a socket's user is granted at the handshake: from its token's
/// claims, or set by the authentication hook
/// ([`HubBuilder::authenticate`](crate::HubBuilder::authenticate): put a
/// `UserGrant` in the data it answers, and it replaces the token's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserGrant {
    /// The user id (a token's `sub`).
    pub user: String,
    /// When the grant ends, Unix seconds (a token's `exp`); `None`: never.
    pub expires_at: Option<u64>,
    /// Public information about the user.
    pub info: Option<Value>,
    /// The room patterns the user may `$join`.
    pub rooms: Option<Vec<String>>,
    /// The room patterns the user may relay to.
    pub publish: Option<Vec<String>>,
    /// Rooms the socket joins at connect.
    pub join: Option<Vec<String>>,
}

impl From<TokenClaims> for UserGrant {
    fn from(claims: TokenClaims) -> Self {
        Self {
            user: claims.sub,
            expires_at: Some(claims.exp),
            info: claims.info,
            rooms: claims.rooms,
            publish: claims.publish,
            join: claims.join,
        }
    }
}

/// The user of a socket that connected with a token (or was granted one
/// by the authentication hook): its id, and what it is granted. A socket
/// without one (anonymous) has none.
///
/// A `$refresh` with a token of the same user replaces the grants and the
/// expiry; the user never changes.
#[derive(Debug)]
pub struct Identity {
    user: Box<str>,
    expires_at: AtomicU64,
    grants: Mutex<Grants>,
}

/// What a token grants, beside its user and expiry.
#[derive(Debug, Clone, Default)]
struct Grants {
    info: Option<Value>,
    rooms: Option<Vec<String>>,
    publish: Option<Vec<String>>,
}

impl Identity {
    /// The identity a grant gives (its `join` is the caller's to apply).
    pub(crate) fn from_grant(grant: UserGrant) -> Self {
        Self {
            user: grant.user.into_boxed_str(),
            expires_at: AtomicU64::new(grant.expires_at.unwrap_or(NEVER)),
            grants: Mutex::new(Grants {
                info: grant.info,
                rooms: grant.rooms,
                publish: grant.publish,
            }),
        }
    }

    /// Takes a new grant of the same user (a refreshed token, or the token
    /// of a resuming link): its expiry and grants. Returns false (and
    /// changes nothing) for another user.
    pub(crate) fn refresh(&self, grant: UserGrant) -> bool {
        if *grant.user != *self.user {
            return false;
        }
        *self.grants.lock() = Grants {
            info: grant.info,
            rooms: grant.rooms,
            publish: grant.publish,
        };
        self.expires_at
            .store(grant.expires_at.unwrap_or(NEVER), Ordering::Release);
        true
    }

    /// The user id: the token's `sub`.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// When the token expires, Unix seconds (its `exp`); `None` for a
    /// grant without an end.
    pub fn expires_at(&self) -> Option<u64> {
        match self.expires_at.load(Ordering::Acquire) {
            NEVER => None,
            at => Some(at),
        }
    }

    /// Public information about the user (the token's `info` claim).
    pub fn info(&self) -> Option<Value> {
        self.grants.lock().info.clone()
    }

    /// The room patterns the user may `$join` (the `rooms` claim); `None`
    /// leaves it to the application's rules.
    pub fn rooms(&self) -> Option<Vec<String>> {
        self.grants.lock().rooms.clone()
    }

    /// The room patterns the user may relay to (the `publish` claim);
    /// `None`: every room the socket is a member of.
    pub fn publish(&self) -> Option<Vec<String>> {
        self.grants.lock().publish.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str, exp: u64) -> TokenClaims {
        TokenClaims {
            sub: sub.into(),
            exp,
            info: Some(serde_json::json!({"name": sub})),
            rooms: Some(vec!["chat.*".into()]),
            publish: None,
            join: Some(vec!["lobby".into()]),
        }
    }

    #[test]
    fn a_refresh_keeps_the_user_and_takes_the_new_expiry() {
        let identity = Identity::from_grant(claims("ada", 100).into());
        assert_eq!(identity.user(), "ada");
        assert_eq!(identity.expires_at(), Some(100));
        assert_eq!(identity.rooms(), Some(vec!["chat.*".to_owned()]));
        let mut next = claims("ada", 200);
        next.rooms = None;
        assert!(identity.refresh(next.into()));
        assert_eq!(identity.expires_at(), Some(200));
        assert_eq!(identity.rooms(), None);
        assert!(!identity.refresh(claims("bob", 300).into()));
        assert_eq!(identity.user(), "ada");
        assert_eq!(identity.expires_at(), Some(200));
        let forever = Identity::from_grant(UserGrant {
            user: "svc".into(),
            ..UserGrant::default()
        });
        assert_eq!(forever.expires_at(), None);
    }
}
