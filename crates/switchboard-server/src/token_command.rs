//! `switchboard token`: signs an HS256 token for the server's
//! `--token-hmac-secret`, for demos and tests (PROTOCOL.md section 10). A
//! real application's back end signs its users' tokens itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Arg, ArgAction, ArgMatches, Command};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Map, Value, json};

use crate::units::parse_duration;

/// The `token` subcommand's arguments.
pub fn command() -> Command {
    let many = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name("ROOM")
            .action(ArgAction::Append)
            .value_delimiter(',')
            .help(help)
    };
    Command::new("token")
        .about("Print an HS256 token for --token-hmac-secret (demos and tests)")
        .arg(
            Arg::new("sub")
                .long("sub")
                .value_name("USER")
                .required(true)
                .help("The user id (`sub`)"),
        )
        .arg(
            Arg::new("secret")
                .long("secret")
                .env("SWITCHBOARD_TOKEN_HMAC_SECRET")
                .hide_env_values(true)
                .value_name("SECRET")
                .required(true)
                .help("The server's --token-hmac-secret"),
        )
        .arg(
            Arg::new("ttl")
                .long("ttl")
                .value_name("DURATION")
                .default_value("1h")
                .help("How long the token is valid (e.g. 15m, 1h)"),
        )
        .arg(
            Arg::new("info")
                .long("info")
                .value_name("JSON")
                .help("Public information about the user (`info`), as JSON"),
        )
        .arg(many("rooms", "Room patterns the user may $join (`rooms`)"))
        .arg(many(
            "publish",
            "Room patterns the user may relay to (`publish`)",
        ))
        .arg(many("join", "Rooms joined at connect (`join`)"))
        .arg(
            Arg::new("issuer")
                .long("issuer")
                .value_name("ISSUER")
                .help("`iss`"),
        )
        .arg(
            Arg::new("audience")
                .long("audience")
                .value_name("AUDIENCE")
                .help("`aud`"),
        )
}

/// The token the arguments ask for, or what is wrong with them.
pub fn token(matches: &ArgMatches, now: SystemTime) -> Result<String, String> {
    let text = |name: &str| matches.get_one::<String>(name).cloned();
    let sub = text("sub").unwrap_or_default();
    if sub.is_empty() {
        return Err("--sub must not be empty".into());
    }
    let ttl =
        parse_duration(&text("ttl").unwrap_or_default()).map_err(|e| format!("--ttl: {e}"))?;
    if ttl < Duration::from_secs(1) {
        return Err("--ttl must be at least 1s".into());
    }
    let secret = text("secret").unwrap_or_default();
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(sub));
    claims.insert("iat".into(), json!(now.as_secs()));
    claims.insert("exp".into(), json!((now + ttl).as_secs()));
    if let Some(info) = text("info") {
        let info: Value =
            serde_json::from_str(&info).map_err(|e| format!("--info is not JSON: {e}"))?;
        claims.insert("info".into(), info);
    }
    for name in ["rooms", "publish", "join"] {
        if let Some(values) = matches.get_many::<String>(name) {
            claims.insert(name.into(), json!(values.collect::<Vec<_>>()));
        }
    }
    for (arg, claim) in [("issuer", "iss"), ("audience", "aud")] {
        if let Some(value) = text(arg) {
            claims.insert(claim.into(), json!(value));
        }
    }
    let key = EncodingKey::from_secret(secret.as_bytes()).map_err(|e| format!("--secret: {e}"))?;
    encode(&Header::default(), &Value::Object(claims), &key).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::TokenVerifier;

    const SECRET: &str = "a shared secret of at least 32 bytes";

    fn matches(args: &[&str]) -> ArgMatches {
        command()
            .try_get_matches_from(["token"].iter().chain(args))
            .unwrap()
    }

    #[tokio::test]
    async fn the_token_is_one_the_server_accepts() {
        let args = matches(&[
            "--sub",
            "alice",
            "--secret",
            SECRET,
            "--ttl",
            "15m",
            "--info",
            r#"{"name":"Alice"}"#,
            "--join",
            "lobby,news",
        ]);
        let jwt = token(&args, SystemTime::now()).unwrap();
        let claims = TokenVerifier::hmac(SECRET).verify(&jwt).await.unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.info, Some(json!({"name": "Alice"})));
        assert_eq!(claims.join, Some(vec!["lobby".into(), "news".into()]));
        let left = claims.exp
            - SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
        assert!((899..=900).contains(&left), "{left}");
    }

    #[test]
    fn bad_arguments_are_explained() {
        let bad = |args: &[&str]| token(&matches(args), SystemTime::now()).unwrap_err();
        assert!(bad(&["--sub", "", "--secret", SECRET]).contains("--sub"));
        assert!(bad(&["--sub", "a", "--secret", SECRET, "--ttl", "soon"]).contains("--ttl"));
        assert!(bad(&["--sub", "a", "--secret", SECRET, "--info", "{"]).contains("--info"));
        assert!(
            command()
                .try_get_matches_from(["token", "--secret", SECRET])
                .is_err()
        );
    }
}
