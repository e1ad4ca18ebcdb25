//! The claims a token carries (PROTOCOL.md section 10) and their checks,
//! once its signature holds.

use serde_json::{Map, Value};

use super::error::TokenError;

/// What a verified token grants: its user and expiry, with the optional
/// public information and grants of PROTOCOL.md section 10.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    /// `sub`: the user id, a non-empty string.
    pub sub: String,
    /// `exp`: the expiry, Unix seconds. The token counts as expired from
    /// this second on.
    pub exp: u64,
    /// `info`: public information about the user (presence, back end), any
    /// JSON; `None` when absent or `null`.
    pub info: Option<serde_json::Value>,
    /// `rooms`: patterns of the rooms the user may `$join`; `None`: the
    /// server's own `rooms` patterns apply.
    pub rooms: Option<Vec<String>>,
    /// `publish`: patterns of the rooms the user may relay to (as a member);
    /// `None`: every room the user is a member of.
    pub publish: Option<Vec<String>>,
    /// `join`: rooms the hub joins the socket to at connect, without `$join`.
    pub join: Option<Vec<String>>,
}

fn invalid(message: impl Into<String>) -> TokenError {
    TokenError::Invalid(message.into())
}

/// The claims of a token whose signature, algorithm, issuer, audience and
/// `nbf` already hold: `sub` and `exp` present and well-formed, the grants
/// arrays of strings, then the expiry against `now` (Unix seconds): a
/// malformed token is refused as invalid even when it has also expired.
pub(super) fn check(mut claims: Map<String, Value>, now: u64) -> Result<TokenClaims, TokenError> {
    let sub = match claims.remove("sub") {
        None | Some(Value::Null) => return Err(invalid("the token has no `sub` claim")),
        Some(Value::String(sub)) if sub.is_empty() => {
            return Err(invalid("the token's `sub` claim is empty"));
        }
        Some(Value::String(sub)) => sub,
        Some(_) => return Err(invalid("the token's `sub` claim is not a string")),
    };
    let exp = match claims.get("exp") {
        None | Some(Value::Null) => return Err(invalid("the token has no `exp` claim")),
        Some(Value::Number(exp)) => numeric_date(exp)
            .ok_or_else(|| invalid("the token's `exp` claim is not a non-negative number"))?,
        Some(_) => return Err(invalid("the token's `exp` claim is not a number")),
    };
    let info = match claims.remove("info") {
        None | Some(Value::Null) => None,
        Some(info) => Some(info),
    };
    let rooms = strings(&mut claims, "rooms")?;
    let publish = strings(&mut claims, "publish")?;
    let join = strings(&mut claims, "join")?;
    if exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(TokenClaims {
        sub,
        exp,
        info,
        rooms,
        publish,
        join,
    })
}

/// A NumericDate (RFC 7519): seconds, possibly with a fraction, which is
/// dropped (the token then expires up to a second early, never late).
fn numeric_date(number: &serde_json::Number) -> Option<u64> {
    if let Some(seconds) = number.as_u64() {
        return Some(seconds);
    }
    let seconds = number.as_f64()?;
    // `as` saturates; the bounds keep the value meaningful.
    (seconds.is_finite() && seconds >= 0.0 && seconds < u64::MAX as f64)
        .then(|| seconds.floor() as u64)
}

/// An optional claim that must be an array of strings when present.
fn strings(claims: &mut Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, TokenError> {
    match claims.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(item) => Ok(item),
                _ => Err(invalid(format!(
                    "the token's `{name}` claim is not an array of strings"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid(format!(
            "the token's `{name}` claim is not an array of strings"
        ))),
    }
}
