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

/// Where a handshake's grant came from: the token alone, or the
/// authentication hook (whose user may differ from the token's `sub`).
/// Rides beside the [`UserGrant`] from admission to the session.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantOrigin {
    /// The grant is the authentication hook's.
    pub(crate) hook: bool,
    /// The `sub` of the handshake's token, if it had one.
    pub(crate) token_subject: Option<String>,
}

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
/// A `$refresh` needs a token of the same `sub` as the handshake's. It
/// takes the new expiry and, when the grants came from the token, the new
/// token's grants; grants the authentication hook made stay until a new
/// handshake (a resume) asks the hook again. The user never changes.
#[derive(Debug)]
pub struct Identity {
    user: Box<str>,
    expires_at: AtomicU64,
    grants: Mutex<Grants>,
}

/// What a token grants, beside its user and expiry, and where the grant
/// came from.
#[derive(Debug, Clone, Default)]
struct Grants {
    info: Option<Value>,
    rooms: Option<Vec<String>>,
    publish: Option<Vec<String>>,
    /// The authentication hook made them.
    hook: bool,
    /// The `sub` of the handshake's token when it is not the user.
    token_subject: Option<Box<str>>,
}

impl Grants {
    fn of(grant: UserGrant, origin: GrantOrigin) -> Self {
        let token_subject = origin
            .token_subject
            .filter(|sub| *sub != grant.user)
            .map(String::into_boxed_str);
        Self {
            info: grant.info,
            rooms: grant.rooms,
            publish: grant.publish,
            hook: origin.hook,
            token_subject,
        }
    }
}

impl Identity {
    /// The identity a grant gives (its `join` is the caller's to apply).
    pub(crate) fn from_grant(grant: UserGrant, origin: GrantOrigin) -> Self {
        Self {
            expires_at: AtomicU64::new(grant.expires_at.unwrap_or(NEVER)),
            user: grant.user.clone().into_boxed_str(),
            grants: Mutex::new(Grants::of(grant, origin)),
        }
    }

    /// Takes the grant of a resuming link of the same user: its expiry
    /// and grants. Returns false (and changes nothing) for another user.
    pub(crate) fn renew(&self, grant: UserGrant, origin: GrantOrigin) -> bool {
        if *grant.user != *self.user {
            return false;
        }
        self.expires_at
            .store(grant.expires_at.unwrap_or(NEVER), Ordering::Release);
        *self.grants.lock() = Grants::of(grant, origin);
        true
    }

    /// Takes a `$refresh`'s token: it must name the `sub` of the
    /// handshake's token (false otherwise, and nothing changes). Its expiry
    /// replaces the old; its grants replace the old ones unless those came
    /// from the authentication hook.
    pub(crate) fn refresh(&self, claims: TokenClaims) -> bool {
        let mut grants = self.grants.lock();
        let subject = grants.token_subject.as_deref().unwrap_or(&self.user);
        if claims.sub != subject {
            return false;
        }
        self.expires_at.store(claims.exp, Ordering::Release);
        if !grants.hook {
            grants.info = claims.info;
            grants.rooms = claims.rooms;
            grants.publish = claims.publish;
        }
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

    fn token_origin(sub: &str) -> GrantOrigin {
        GrantOrigin {
            hook: false,
            token_subject: Some(sub.into()),
        }
    }

    #[test]
    fn a_hooks_grant_survives_a_refresh_by_the_tokens_sub() {
        // The hook named user u-7 for ada's token, with its own rooms.
        let grant = UserGrant {
            user: "u-7".into(),
            expires_at: Some(100),
            rooms: Some(vec!["team-*".into()]),
            ..UserGrant::default()
        };
        let origin = GrantOrigin {
            hook: true,
            token_subject: Some("ada".into()),
        };
        let identity = Identity::from_grant(grant, origin);
        assert!(!identity.refresh(claims("u-7", 200)), "not the token's sub");
        assert!(identity.refresh(claims("ada", 300)));
        assert_eq!(identity.user(), "u-7");
        assert_eq!(identity.expires_at(), Some(300));
        assert_eq!(identity.rooms(), Some(vec!["team-*".to_owned()]), "kept");
    }

    #[test]
    fn a_refresh_keeps_the_user_and_takes_the_new_expiry() {
        let identity = Identity::from_grant(claims("ada", 100).into(), token_origin("ada"));
        assert_eq!(identity.user(), "ada");
        assert_eq!(identity.expires_at(), Some(100));
        assert_eq!(identity.rooms(), Some(vec!["chat.*".to_owned()]));
        let mut next = claims("ada", 200);
        next.rooms = None;
        assert!(identity.refresh(next));
        assert_eq!(identity.expires_at(), Some(200));
        assert_eq!(identity.rooms(), None);
        assert!(!identity.refresh(claims("bob", 300)));
        assert_eq!(identity.user(), "ada");
        assert_eq!(identity.expires_at(), Some(200));
        let forever = Identity::from_grant(
            UserGrant {
                user: "svc".into(),
                ..UserGrant::default()
            },
            GrantOrigin::default(),
        );
        assert_eq!(forever.expires_at(), None);
    }
}
