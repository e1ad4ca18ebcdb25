//! The `$welcome` payload (PROTOCOL.md section 3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::Message;
use crate::reserved;

/// The `$welcome` payload, sent by the hub before anything else on a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The socket's public id, unique across the cluster.
    pub id: String,
    /// The secret session token (resumes the session, names it on
    /// long-polling).
    pub session: String,
    /// How often the hub sends WebSocket Ping frames.
    pub ping_interval_ms: u64,
    /// How much longer than `ping_interval_ms` a silent link is kept.
    pub ping_timeout_ms: u64,
    /// Whether this link resumed an existing session.
    pub resumed: bool,
    /// How many buffered messages follow at once (resume only).
    pub missed: u64,
    /// The user the socket's token names (its `sub`); absent for an
    /// anonymous socket (section 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When the socket's token expires, Unix seconds (its `exp`); absent
    /// without a token (section 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

impl Welcome {
    /// The `$welcome` event carrying this payload.
    pub fn into_message(self) -> Message {
        let mut data = serde_json::Map::new();
        data.insert("id".to_owned(), Value::from(self.id));
        data.insert("session".to_owned(), Value::from(self.session));
        data.insert(
            "ping_interval_ms".to_owned(),
            Value::from(self.ping_interval_ms),
        );
        data.insert(
            "ping_timeout_ms".to_owned(),
            Value::from(self.ping_timeout_ms),
        );
        data.insert("resumed".to_owned(), Value::from(self.resumed));
        data.insert("missed".to_owned(), Value::from(self.missed));
        if let Some(user) = self.user {
            data.insert("user".to_owned(), Value::from(user));
        }
        if let Some(expires_at) = self.expires_at {
            data.insert("expires_at".to_owned(), Value::from(expires_at));
        }
        Message::event(reserved::WELCOME, Value::Object(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The example of PROTOCOL.md section 3, verbatim.
    const EXAMPLE: &str = r#"{"event":"$welcome","data":{"id":"<socket id>","session":"<token>","ping_interval_ms":25000,"ping_timeout_ms":20000,"resumed":false,"missed":0}}"#;

    fn example() -> Welcome {
        Welcome {
            id: "<socket id>".into(),
            session: "<token>".into(),
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            resumed: false,
            missed: 0,
            user: None,
            expires_at: None,
        }
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn welcome_matches_the_protocol_example() {
        let encoded = serde_json::to_vec(&example().into_message()).unwrap();
        let ours: Value = serde_json::from_slice(&encoded).unwrap();
        let theirs: Value = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(keys(&ours), keys(&theirs));
        assert_eq!(keys(&ours["data"]), keys(&theirs["data"]));
        assert_eq!(ours, theirs);
        // Same bytes up to the order of the data keys (which depends on
        // serde_json's `preserve_order` feature).
        let mut ours_sorted = encoded.clone();
        let mut theirs_sorted = EXAMPLE.as_bytes().to_vec();
        ours_sorted.sort_unstable();
        theirs_sorted.sort_unstable();
        assert_eq!(ours_sorted, theirs_sorted);
        assert!(encoded.starts_with(br#"{"event":"$welcome","data":{"#));
    }

    #[test]
    fn a_users_welcome_names_the_user_and_expiry() {
        let welcome = Welcome {
            user: Some("ada".into()),
            expires_at: Some(1_800_000_000),
            ..example()
        };
        let data = welcome.clone().into_message().data.unwrap();
        assert_eq!(data["user"], "ada");
        assert_eq!(data["expires_at"], 1_800_000_000);
        let back: Welcome = serde_json::from_value(data).unwrap();
        assert_eq!(back, welcome);
    }

    #[test]
    fn welcome_payload_deserializes_back() {
        let msg = example().into_message();
        let back: Welcome = serde_json::from_value(msg.data.unwrap()).unwrap();
        assert_eq!(back, example());
    }
}
