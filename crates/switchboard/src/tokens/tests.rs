//! The verifier's rules, with tokens signed here (jsonwebtoken) or crafted
//! by hand. The test keys are PEM files made with openssl
//! (tests/keys/README.md).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{TokenError, TokenKeyError, TokenVerifier, unix_now};

pub(super) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
pub(super) const RSA_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa.pem");
pub(super) const RSA_PUBLIC: &[u8] = include_bytes!("../../tests/keys/rsa.pub.pem");
const RSA_PKCS1_PUBLIC: &[u8] = include_bytes!("../../tests/keys/rsa-pkcs1.pub.pem");
pub(super) const EC_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ec.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ec.pub.pem");
pub(super) const EC2_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ec2.pem");
const EC2_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ec2.pub.pem");
pub(super) const ED_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519.pub.pem");
const P384_PUBLIC: &[u8] = include_bytes!("../../tests/keys/p384.pub.pem");
const SECP256K1_PUBLIC: &[u8] = include_bytes!("../../tests/keys/secp256k1.pub.pem");
const ED448_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed448.pub.pem");
const EC_CERTIFICATE: &[u8] = include_bytes!("../../tests/keys/ec.cert.pem");

/// The signing key for `algorithm` (HS256: [`SECRET`]).
pub(super) fn signing_key(algorithm: Algorithm) -> EncodingKey {
    match algorithm {
        Algorithm::HS256 => EncodingKey::from_secret(SECRET).unwrap(),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
        other => panic!("no test key for {other:?}"),
    }
}

/// A token of `claims` signed with `key` for `algorithm`, with `kid`.
pub(super) fn sign_with(
    algorithm: Algorithm,
    key: &EncodingKey,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn sign(algorithm: Algorithm, claims: &Value) -> String {
    sign_with(algorithm, &signing_key(algorithm), None, claims)
}

/// Claims valid for an hour.
pub(super) fn valid_claims() -> Value {
    json!({"sub": "alice", "exp": unix_now() + 3600})
}

/// A token with `header` and `claims` as given, and `signature`, encoded
/// by hand.
fn handmade(header: &Value, claims: &Value, signature: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{signature}")
}

fn hmac() -> TokenVerifier {
    TokenVerifier::hmac(SECRET)
}

fn rsa() -> TokenVerifier {
    TokenVerifier::public_key_pem(RSA_PUBLIC).unwrap()
}

#[track_caller]
fn assert_invalid(result: Result<super::TokenClaims, TokenError>) -> String {
    match result {
        Err(TokenError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn hs256_token_is_accepted() {
    let claims = hmac()
        .verify(&sign(Algorithm::HS256, &valid_claims()))
        .await
        .unwrap();
    assert_eq!(claims.sub, "alice");
    assert!(claims.exp > unix_now());
    assert_eq!(claims.info, None);
    assert_eq!(claims.rooms, None);
    assert_eq!(claims.publish, None);
    assert_eq!(claims.join, None);
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let token = sign_with(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another secret, also 32 bytes long").unwrap(),
        None,
        &valid_claims(),
    );
    let message = assert_invalid(hmac().verify(&token).await);
    assert!(message.contains("signature"), "{message}");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let claims = valid_claims();
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None", "typ": "JWT"}),
        json!({"alg": "NONE"}),
    ] {
        // Without a signature, and with one made with the right secret
        // (the signature part must not matter once `alg` is refused).
        let signature = sign(Algorithm::HS256, &claims)
            .rsplit('.')
            .next()
            .unwrap()
            .to_owned();
        for signature in ["", signature.as_str()] {
            let token = handmade(&header, &claims, signature);
            assert_invalid(hmac().verify(&token).await);
            assert_invalid(rsa().verify(&token).await);
        }
    }
}

#[tokio::test]
async fn hs256_against_an_rsa_key_is_refused() {
    // The classic confusion: the RSA public key, which is public, used as
    // the HMAC secret.
    let token = sign_with(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC).unwrap(),
        None,
        &valid_claims(),
    );
    let message = assert_invalid(rsa().verify(&token).await);
    assert!(message.contains("algorithm"), "{message}");
    // And with the PKCS#1 form of the key as verifier and secret.
    let verifier = TokenVerifier::public_key_pem(RSA_PKCS1_PUBLIC).unwrap();
    let token = sign_with(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PKCS1_PUBLIC).unwrap(),
        None,
        &valid_claims(),
    );
    assert_invalid(verifier.verify(&token).await);
}

#[tokio::test]
async fn rs256_against_an_hmac_secret_is_refused() {
    let token = sign(Algorithm::RS256, &valid_claims());
    let message = assert_invalid(hmac().verify(&token).await);
    assert!(message.contains("algorithm"), "{message}");
}

#[tokio::test]
async fn other_algorithms_than_the_keys_are_refused() {
    let ec = TokenVerifier::public_key_pem(EC_PUBLIC).unwrap();
    let ed = TokenVerifier::public_key_pem(ED_PUBLIC).unwrap();
    let es256 = sign(Algorithm::ES256, &valid_claims());
    let eddsa = sign(Algorithm::EdDSA, &valid_claims());
    assert_invalid(rsa().verify(&es256).await);
    assert_invalid(ed.verify(&es256).await);
    assert_invalid(ec.verify(&eddsa).await);
    assert_invalid(hmac().verify(&eddsa).await);
    // HS384 with the right secret: the verifier takes HS256 only.
    let hs384 = sign_with(
        Algorithm::HS384,
        &EncodingKey::from_secret(SECRET).unwrap(),
        None,
        &valid_claims(),
    );
    assert_invalid(hmac().verify(&hs384).await);
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_are_accepted_with_their_pem_keys() {
    for (algorithm, public) in [
        (Algorithm::RS256, RSA_PUBLIC),
        (Algorithm::RS256, RSA_PKCS1_PUBLIC),
        (Algorithm::ES256, EC_PUBLIC),
        (Algorithm::EdDSA, ED_PUBLIC),
    ] {
        let verifier = TokenVerifier::public_key_pem(public).unwrap();
        let claims = verifier
            .verify(&sign(algorithm, &valid_claims()))
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?}: {e}"));
        assert_eq!(claims.sub, "alice");
    }
}

#[tokio::test]
async fn a_token_signed_by_another_key_of_the_same_type_is_refused() {
    let verifier = TokenVerifier::public_key_pem(EC2_PUBLIC).unwrap();
    let message = assert_invalid(
        verifier
            .verify(&sign(Algorithm::ES256, &valid_claims()))
            .await,
    );
    assert!(message.contains("signature"), "{message}");
    let token = sign_with(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC2_PRIVATE).unwrap(),
        None,
        &valid_claims(),
    );
    verifier.verify(&token).await.unwrap();
}

#[tokio::test]
async fn a_changed_payload_is_refused() {
    let token = sign(Algorithm::HS256, &valid_claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged =
        URL_SAFE_NO_PAD.encode(json!({"sub": "mallory", "exp": unix_now() + 3600}).to_string());
    parts[1] = &forged;
    assert_invalid(hmac().verify(&parts.join(".")).await);
}

#[test]
fn pem_keys_that_cannot_be_used_are_refused_with_the_reason() {
    let error = |pem: &[u8]| TokenVerifier::public_key_pem(pem).unwrap_err();
    assert!(matches!(error(b"hello"), TokenKeyError::NotPem));
    assert!(matches!(error(&[0xff, 0xfe, 0x00]), TokenKeyError::NotPem));
    for private in [RSA_PRIVATE, EC_PRIVATE, ED_PRIVATE] {
        assert!(matches!(error(private), TokenKeyError::PrivateKey(_)));
    }
    assert!(matches!(error(EC_CERTIFICATE), TokenKeyError::Certificate));
    for (pem, says) in [
        (P384_PUBLIC, "P-384"),
        (SECP256K1_PUBLIC, "P-256"),
        (ED448_PUBLIC, "Ed448"),
    ] {
        let error = error(pem);
        assert!(matches!(error, TokenKeyError::Unsupported(_)), "{error:?}");
        assert!(error.to_string().contains(says), "{error}");
    }
    let garbled = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    assert!(TokenVerifier::public_key_pem(garbled).is_err());
    // An Ed25519 key of 16 bytes (jsonwebtoken would slice 32 of them).
    let short = b"-----BEGIN PUBLIC KEY-----\nMBowBQYDK2VwAxEAAQIDBAUGBwgJCgsMDQ4PEA==\n-----END PUBLIC KEY-----\n";
    let error = error(short);
    assert!(matches!(error, TokenKeyError::Malformed(_)), "{error:?}");
}

#[tokio::test]
async fn expired_from_exp_on() {
    for exp in [unix_now(), unix_now() - 1, unix_now() - 3600, 0] {
        let token = sign(Algorithm::HS256, &json!({"sub": "alice", "exp": exp}));
        let error = hmac().verify(&token).await.unwrap_err();
        assert_eq!(error, TokenError::Expired, "exp {exp}");
        assert_eq!(error.code(), "token_expired");
    }
    // A second ahead is still valid.
    let token = sign(
        Algorithm::HS256,
        &json!({"sub": "alice", "exp": unix_now() + 2}),
    );
    hmac().verify(&token).await.unwrap();
}

#[tokio::test]
async fn exp_is_required_and_numeric() {
    for claims in [
        json!({"sub": "alice"}),
        json!({"sub": "alice", "exp": null}),
        json!({"sub": "alice", "exp": "4102444800"}),
        json!({"sub": "alice", "exp": -5}),
        json!({"sub": "alice", "exp": [4102444800u64]}),
    ] {
        let message = assert_invalid(hmac().verify(&sign(Algorithm::HS256, &claims)).await);
        assert!(message.contains("exp"), "{claims}: {message}");
    }
    // A fractional NumericDate is taken, its fraction dropped.
    let exp = (unix_now() + 100) as f64 + 0.75;
    let claims = hmac()
        .verify(&sign(
            Algorithm::HS256,
            &json!({"sub": "alice", "exp": exp}),
        ))
        .await
        .unwrap();
    assert_eq!(claims.exp, unix_now() + 100);
}

#[tokio::test]
async fn sub_is_required_a_non_empty_string() {
    let exp = unix_now() + 3600;
    for claims in [
        json!({"exp": exp}),
        json!({"sub": null, "exp": exp}),
        json!({"sub": "", "exp": exp}),
        json!({"sub": 42, "exp": exp}),
        json!({"sub": ["alice"], "exp": exp}),
        json!({"sub": {"id": "alice"}, "exp": exp}),
        json!({"sub": true, "exp": exp}),
    ] {
        let message = assert_invalid(hmac().verify(&sign(Algorithm::HS256, &claims)).await);
        // jsonwebtoken's own claim checks already fail on an array or an
        // object `sub` ("malformed token"); the others are ours.
        if !claims["sub"].is_array() && !claims["sub"].is_object() {
            assert!(message.contains("sub"), "{claims}: {message}");
        }
    }
}

#[tokio::test]
async fn a_malformed_token_is_invalid_even_when_expired() {
    let token = sign(Algorithm::HS256, &json!({"exp": 1}));
    assert_invalid(hmac().verify(&token).await);
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_named() {
    let verifier = hmac()
        .issuer("https://auth.example")
        .audience("switchboard");
    let exp = unix_now() + 3600;
    let accepted = [
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example", "aud": "switchboard"}),
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example", "aud": ["other", "switchboard"]}),
    ];
    for claims in accepted {
        verifier
            .verify(&sign(Algorithm::HS256, &claims))
            .await
            .unwrap_or_else(|e| panic!("{claims}: {e}"));
    }
    let refused = [
        json!({"sub": "a", "exp": exp, "iss": "https://evil.example", "aud": "switchboard"}),
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example", "aud": "other"}),
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example", "aud": ["other"]}),
        json!({"sub": "a", "exp": exp, "aud": "switchboard"}),
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example"}),
        json!({"sub": "a", "exp": exp, "iss": 7, "aud": "switchboard"}),
        json!({"sub": "a", "exp": exp, "iss": "https://auth.example", "aud": 7}),
    ];
    for claims in refused {
        assert_invalid(verifier.verify(&sign(Algorithm::HS256, &claims)).await);
    }
    // A wrong issuer is refused even when the token has also expired.
    let claims = json!({"sub": "a", "exp": 1, "iss": "https://evil.example", "aud": "switchboard"});
    assert_invalid(verifier.verify(&sign(Algorithm::HS256, &claims)).await);
}

#[tokio::test]
async fn issuer_and_audience_are_ignored_when_not_named() {
    let claims = json!({"sub": "a", "exp": unix_now() + 3600, "iss": "anyone", "aud": ["any"]});
    hmac()
        .verify(&sign(Algorithm::HS256, &claims))
        .await
        .unwrap();
    // Only the issuer named: any audience goes.
    hmac()
        .issuer("anyone")
        .verify(&sign(Algorithm::HS256, &claims))
        .await
        .unwrap();
}

#[tokio::test]
async fn info_rooms_publish_and_join_are_read() {
    let claims = json!({
        "sub": "alice",
        "exp": unix_now() + 3600,
        "info": {"name": "Alice", "tags": [1, 2]},
        "rooms": ["chat:*", "news"],
        "publish": ["chat:*"],
        "join": ["news", "user:alice"],
        "extra": "ignored",
    });
    let read = hmac()
        .verify(&sign(Algorithm::HS256, &claims))
        .await
        .unwrap();
    assert_eq!(read.info, Some(json!({"name": "Alice", "tags": [1, 2]})));
    assert_eq!(
        read.rooms,
        Some(vec!["chat:*".to_owned(), "news".to_owned()])
    );
    assert_eq!(read.publish, Some(vec!["chat:*".to_owned()]));
    assert_eq!(
        read.join,
        Some(vec!["news".to_owned(), "user:alice".to_owned()])
    );
    // Empty arrays are kept (no room at all), `null` is absent, any JSON
    // is info.
    let claims =
        json!({"sub": "a", "exp": unix_now() + 3600, "rooms": [], "publish": null, "info": "text"});
    let read = hmac()
        .verify(&sign(Algorithm::HS256, &claims))
        .await
        .unwrap();
    assert_eq!(read.rooms, Some(vec![]));
    assert_eq!(read.publish, None);
    assert_eq!(read.info, Some(json!("text")));
}

#[tokio::test]
async fn grants_that_are_not_arrays_of_strings_are_invalid() {
    let exp = unix_now() + 3600;
    for name in ["rooms", "publish", "join"] {
        for value in [
            json!("chat:*"),
            json!([1]),
            json!(["a", null]),
            json!({"a": 1}),
        ] {
            let mut claims = json!({"sub": "a", "exp": exp});
            claims[name] = value;
            let message = assert_invalid(hmac().verify(&sign(Algorithm::HS256, &claims)).await);
            assert!(message.contains(name), "{message}");
        }
    }
}

#[tokio::test]
async fn nbf_in_the_future_is_refused_past_the_leeway() {
    let now = unix_now();
    let claims = json!({"sub": "a", "exp": now + 3600, "nbf": now + 600});
    let message = assert_invalid(hmac().verify(&sign(Algorithm::HS256, &claims)).await);
    assert!(message.contains("nbf"), "{message}");
    // Within the leeway (a clock a little ahead) and in the past: fine.
    for nbf in [now + 30, now - 30] {
        let claims = json!({"sub": "a", "exp": now + 3600, "nbf": nbf});
        hmac()
            .verify(&sign(Algorithm::HS256, &claims))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn garbage_is_invalid() {
    let signature = URL_SAFE_NO_PAD.encode([0u8; 64]);
    let good = sign(Algorithm::HS256, &valid_claims());
    let no_signature = good.rsplit_once('.').unwrap().0.to_owned() + ".";
    let mut garbage = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "a.b.c".into(),
        "not a token".into(),
        "Bearer ".to_owned() + &good,
        good.clone() + ".extra",
        good.replace('.', ""),
        no_signature,
        "é.é.é".into(),
        "eyJhbGciOiJIUzI1NiJ9".into(),
        // Valid base64, not JSON.
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode("hello"),
            URL_SAFE_NO_PAD.encode("world")
        ),
        // A JSON header that is not an object, claims that are not one.
        handmade(&json!("HS256"), &valid_claims(), &signature),
        handmade(&json!({"alg": "HS256"}), &json!(["sub", "exp"]), &signature),
        handmade(&json!({"alg": "HS999"}), &valid_claims(), &signature),
        handmade(&json!({}), &valid_claims(), &signature),
        // Too long to be read.
        format!("{good}{}", "A".repeat(20_000)),
    ];
    // Every verifier type on each, with signatures of the wrong length.
    garbage.push(handmade(&json!({"alg": "ES256"}), &valid_claims(), "AAAA"));
    garbage.push(handmade(&json!({"alg": "EdDSA"}), &valid_claims(), "AAAA"));
    garbage.push(handmade(&json!({"alg": "RS256"}), &valid_claims(), "AAAA"));
    let verifiers = [
        hmac(),
        rsa(),
        TokenVerifier::public_key_pem(EC_PUBLIC).unwrap(),
        TokenVerifier::public_key_pem(ED_PUBLIC).unwrap(),
    ];
    for token in &garbage {
        for verifier in &verifiers {
            let error = verifier.verify(token).await.unwrap_err();
            assert!(
                matches!(error, TokenError::Invalid(_)),
                "{token}: {error:?}"
            );
            assert_eq!(error.code(), "unauthorized");
        }
    }
}

#[tokio::test]
async fn an_empty_secret_refuses_every_token() {
    let verifier = TokenVerifier::hmac("");
    let token = sign(Algorithm::HS256, &valid_claims());
    let error = verifier.verify(&token).await.unwrap_err();
    assert!(matches!(error, TokenError::KeysUnavailable(_)), "{error:?}");
    assert_eq!(error.code(), "unavailable");
}

#[tokio::test]
async fn clones_share_the_keys_and_keep_their_checks() {
    let base = hmac();
    let with_issuer = base.clone().issuer("me");
    let token = sign(Algorithm::HS256, &valid_claims());
    base.verify(&token).await.unwrap();
    assert_invalid(with_issuer.verify(&token).await);
    assert!(format!("{with_issuer:?}").contains("HS256"));
    assert!(!format!("{base:?}").contains("0123456789"));
}

#[tokio::test]
async fn the_verifier_and_its_future_can_move_between_threads() {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    let verifier = hmac();
    send_sync(&verifier);
    let token = sign(Algorithm::HS256, &valid_claims());
    let claims = tokio::spawn(async move { verifier.verify(&token).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims.sub, "alice");
}

#[test]
fn error_codes() {
    assert_eq!(TokenError::Invalid("x".into()).code(), "unauthorized");
    assert_eq!(TokenError::Expired.code(), "token_expired");
    assert_eq!(
        TokenError::KeysUnavailable("x".into()).code(),
        "unavailable"
    );
}
