//! Tokens for tests of PROTOCOL.md section 10, signed with a real JWT
//! library as an application's login would sign them.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

/// An HS256 token of `claims` signed with `secret`; an `exp` ten minutes
/// ahead is added unless the claims have one.
pub fn hs256_token(secret: &[u8], claims: Value) -> String {
    let mut claims = claims;
    if claims.get("exp").is_none() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs();
        claims["exp"] = json!(now + 600);
    }
    let key = EncodingKey::from_secret(secret).expect("an HMAC key");
    encode(&Header::default(), &claims, &key).expect("claims sign")
}
