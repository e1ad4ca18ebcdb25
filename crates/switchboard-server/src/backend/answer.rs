//! The back end's answers, read strictly (PROTOCOL.md section 10): a JSON
//! object of the hook's shape, or `{"error":{"code","message"}}`. Anything
//! else (unknown keys, wrong types) is a bad answer, which gives the client
//! `unavailable`: a typo in the back end must not grant or refuse by
//! accident.

use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard::UserGrant;

/// How the back end decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// It agreed, with what the hook's answer carries.
    Allowed(T),
    /// It answered `{"error":{"code","message"}}`.
    Refused {
        /// The error code the client gets.
        code: String,
        /// The message the client gets.
        message: String,
    },
}

/// Reads an answer's body: a refusal, or what `parse` makes of the object.
pub fn read<T>(
    body: &[u8],
    parse: impl FnOnce(Map<String, Value>) -> Result<T, String>,
) -> Result<Outcome<T>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("the answer is not a JSON object".into());
    };
    match object.remove("error") {
        Some(error) if object.is_empty() => refusal(error),
        Some(_) => Err("an `error` answer carries nothing else".into()),
        None => parse(object).map(Outcome::Allowed),
    }
}

/// `{"code":"...","message":"..."}`: a non-empty code and a message.
fn refusal<T>(error: Value) -> Result<Outcome<T>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Error {
        code: String,
        message: String,
    }
    let error: Error = serde_json::from_value(error)
        .map_err(|e| format!("`error` is not {{\"code\",\"message\"}}: {e}"))?;
    if error.code.is_empty() {
        return Err("`error.code` is empty".into());
    }
    Ok(Outcome::Refused {
        code: error.code,
        message: error.message,
    })
}

/// What a connect answer grants: token claims, each optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectGrant {
    /// The user id (replaces a token's `sub`).
    pub user: Option<String>,
    /// Public information about the user.
    pub info: Option<Value>,
    /// Room patterns the user may `$join`.
    pub rooms: Option<Vec<String>>,
    /// Room patterns the user may relay to.
    pub publish: Option<Vec<String>>,
    /// Rooms the socket joins at connect.
    pub join: Option<Vec<String>>,
    /// When the grant ends, Unix seconds.
    pub expires_at: Option<u64>,
}

impl ConnectGrant {
    /// Whether the answer grants anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The grant over the token's (`token`), field by field: what the
    /// answer gives wins. Without a user from either, there is no grant
    /// (the socket stays anonymous and the answer's other fields have no
    /// user to hold them).
    pub fn over(self, token: Option<UserGrant>) -> Option<UserGrant> {
        let mut grant = token.unwrap_or_default();
        if let Some(user) = self.user {
            grant.user = user;
        }
        if grant.user.is_empty() {
            return None;
        }
        if let Some(expires_at) = self.expires_at {
            grant.expires_at = Some(expires_at);
        }
        grant.info = self.info.or(grant.info);
        grant.rooms = self.rooms.or(grant.rooms);
        grant.publish = self.publish.or(grant.publish);
        grant.join = self.join.or(grant.join);
        Some(grant)
    }
}

/// A connect answer: [`ConnectGrant`]'s keys, a non-empty `user`.
pub fn connect(object: Map<String, Value>) -> Result<ConnectGrant, String> {
    let grant: ConnectGrant = serde_json::from_value(Value::Object(object))
        .map_err(|e| format!("not a connect answer: {e}"))?;
    if grant.user.as_deref() == Some("") {
        return Err("`user` is empty".into());
    }
    Ok(grant)
}

/// A join answer: `{}`.
pub fn join(object: Map<String, Value>) -> Result<(), String> {
    only_keys(&object, &[])
}

/// A publish answer: `{}` (relay as sent) or `{"data":...}` (relay this).
pub fn publish(mut object: Map<String, Value>) -> Result<Option<Value>, String> {
    only_keys(&object, &["data"])?;
    Ok(object.remove("data"))
}

/// An event answer: `{"data":...}`, the reply (`{}` replies `null`).
pub fn event(mut object: Map<String, Value>) -> Result<Value, String> {
    only_keys(&object, &["data"])?;
    Ok(object.remove("data").unwrap_or(Value::Null))
}

fn only_keys(object: &Map<String, Value>, keys: &[&str]) -> Result<(), String> {
    match object.keys().find(|key| !keys.contains(&key.as_str())) {
        Some(key) if keys.is_empty() => Err(format!("unknown key `{key}` (expected {{}})")),
        Some(key) => Err(format!(
            "unknown key `{key}` (expected {})",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read_as<T>(
        body: &str,
        parse: impl FnOnce(Map<String, Value>) -> Result<T, String>,
    ) -> Result<Outcome<T>, String> {
        read(body.as_bytes(), parse)
    }

    #[test]
    fn refusals_carry_code_and_message() {
        assert_eq!(
            read_as(r#"{"error":{"code":"banned","message":"go away"}}"#, join),
            Ok(Outcome::Refused {
                code: "banned".into(),
                message: "go away".into()
            })
        );
        for bad in [
            r#"{"error":{"code":"banned"}}"#,
            r#"{"error":{"code":"","message":"m"}}"#,
            r#"{"error":{"code":1,"message":"m"}}"#,
            r#"{"error":"banned"}"#,
            r#"{"error":{"code":"c","message":"m","extra":1}}"#,
            r#"{"error":{"code":"c","message":"m"},"data":1}"#,
        ] {
            assert!(read_as(bad, event).is_err(), "{bad} should be a bad answer");
        }
    }

    #[test]
    fn anything_but_a_json_object_is_a_bad_answer() {
        for bad in ["", "ok", "<html>", "[]", "null", "\"{}\"", "{\"data\":1"] {
            assert!(read_as(bad, event).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn each_hook_reads_its_shape() {
        assert_eq!(read_as("{}", join), Ok(Outcome::Allowed(())));
        assert!(read_as(r#"{"ok":true}"#, join).is_err());
        assert_eq!(read_as("{}", publish), Ok(Outcome::Allowed(None)));
        assert_eq!(
            read_as(r#"{"data":null}"#, publish),
            Ok(Outcome::Allowed(Some(Value::Null)))
        );
        assert!(read_as(r#"{"text":"x"}"#, publish).is_err());
        assert_eq!(
            read_as(r#"{"data":{"a":1}}"#, event),
            Ok(Outcome::Allowed(json!({"a": 1})))
        );
        assert_eq!(read_as("{}", event), Ok(Outcome::Allowed(Value::Null)));
        let Ok(Outcome::Allowed(grant)) = read_as(
            r#"{"user":"ada","info":{"n":1},"rooms":["a*"],"publish":[],"join":["lobby"],"expires_at":9}"#,
            connect,
        ) else {
            panic!("a full connect answer");
        };
        assert_eq!(grant.user.as_deref(), Some("ada"));
        assert_eq!(grant.expires_at, Some(9));
        for bad in [
            r#"{"user":""}"#,
            r#"{"user":7}"#,
            r#"{"rooms":"lobby"}"#,
            r#"{"expires_at":-1}"#,
            r#"{"room":["typo"]}"#,
        ] {
            assert!(read_as(bad, connect).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_connect_grant_lies_over_the_token_field_by_field() {
        let token = UserGrant {
            user: "ada".into(),
            expires_at: Some(100),
            info: Some(json!("token info")),
            rooms: Some(vec!["a".into()]),
            publish: None,
            join: Some(vec!["x".into()]),
        };
        let answer = ConnectGrant {
            rooms: Some(vec!["b".into()]),
            publish: Some(vec!["b".into()]),
            ..ConnectGrant::default()
        };
        let merged = answer.over(Some(token.clone())).unwrap();
        assert_eq!(merged.user, "ada");
        assert_eq!(merged.expires_at, Some(100));
        assert_eq!(merged.info, Some(json!("token info")));
        assert_eq!(merged.rooms, Some(vec!["b".to_owned()]));
        assert_eq!(merged.publish, Some(vec!["b".to_owned()]));
        assert_eq!(merged.join, Some(vec!["x".to_owned()]));
        // Its user and expiry win too.
        let answer = ConnectGrant {
            user: Some("bob".into()),
            expires_at: Some(200),
            ..ConnectGrant::default()
        };
        let merged = answer.over(Some(token)).unwrap();
        assert_eq!(
            (merged.user.as_str(), merged.expires_at),
            ("bob", Some(200))
        );
        // No user from either: no grant.
        let answer = ConnectGrant {
            rooms: Some(vec!["b".into()]),
            ..ConnectGrant::default()
        };
        assert_eq!(answer.over(None), None);
        // A user from the answer alone: no expiry unless it gives one.
        let answer = ConnectGrant {
            user: Some("guest".into()),
            ..ConnectGrant::default()
        };
        let merged = answer.over(None).unwrap();
        assert_eq!((merged.user.as_str(), merged.expires_at), ("guest", None));
    }
}
