//! The JWKS source against a key set served by a small axum server on
//! 127.0.0.1, which counts its requests. The intervals are shortened.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Value, json};

use super::jwks::Timings;
use super::tests::{
    EC_PRIVATE, EC2_PRIVATE, ED_PRIVATE, RSA_PRIVATE, sign_with, signing_key, valid_claims,
};
use super::{TokenError, TokenKeyError, TokenVerifier};

/// Re-fetches at most once a second in these tests (short, but long
/// enough for a loaded machine to run a test's checks within it).
const INTERVAL: Duration = Duration::from_secs(1);
/// A wait past [`INTERVAL`].
const PAST_INTERVAL: Duration = Duration::from_millis(1_100);

fn timings() -> Timings {
    Timings {
        refetch_interval: INTERVAL,
        fetch_timeout: Duration::from_secs(2),
        max_age: Duration::from_secs(3600),
    }
}

/// What the server answers, and how often it was asked.
struct Served {
    document: parking_lot::Mutex<Value>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    hits: AtomicUsize,
}

struct Server {
    addr: SocketAddr,
    served: Arc<Served>,
}

impl Server {
    async fn start(document: Value) -> Server {
        let served = Arc::new(Served {
            document: parking_lot::Mutex::new(document),
            status: AtomicU16::new(200),
            delay_ms: AtomicU64::new(0),
            hits: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/jwks.json", axum::routing::get(serve_jwks))
            .with_state(Arc::clone(&served));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server { addr, served }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn verifier(&self) -> TokenVerifier {
        TokenVerifier::jwks_with(&self.url(), timings()).unwrap()
    }

    fn hits(&self) -> usize {
        self.served.hits.load(Ordering::SeqCst)
    }

    fn set_keys(&self, document: Value) {
        *self.served.document.lock() = document;
    }
}

async fn serve_jwks(State(served): State<Arc<Served>>) -> Response {
    served.hits.fetch_add(1, Ordering::SeqCst);
    let delay = served.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(served.status.load(Ordering::SeqCst)).unwrap();
    let document = served.document.lock().clone();
    (status, Json(document)).into_response()
}

/// The public JWK of a test key, with `kid`.
fn jwk(private: &[u8], algorithm: Algorithm, kid: &str) -> Value {
    let key = match algorithm {
        Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(private).unwrap(),
        Algorithm::RS256 => jsonwebtoken::EncodingKey::from_rsa_pem(private).unwrap(),
        Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(private).unwrap(),
        other => panic!("no test key for {other:?}"),
    };
    let mut jwk = Jwk::from_encoding_key(&key, algorithm).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

fn key_a() -> Value {
    jwk(EC_PRIVATE, Algorithm::ES256, "a")
}

fn key_b() -> Value {
    jwk(EC2_PRIVATE, Algorithm::ES256, "b")
}

/// A valid token signed with key `a` (EC) or `b` (the other EC key),
/// under `kid`.
fn token(key: &str, kid: &str) -> String {
    let private = if key == "a" { EC_PRIVATE } else { EC2_PRIVATE };
    let signing = jsonwebtoken::EncodingKey::from_ec_pem(private).unwrap();
    sign_with(Algorithm::ES256, &signing, Some(kid), &valid_claims())
}

#[track_caller]
fn assert_invalid(result: Result<super::TokenClaims, TokenError>) {
    assert!(
        matches!(result, Err(TokenError::Invalid(_))),
        "expected Invalid, got {result:?}"
    );
}

#[tokio::test]
async fn keys_are_fetched_on_first_use_and_cached() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    assert_eq!(
        server.hits(),
        0,
        "nothing is fetched before the first token"
    );
    for _ in 0..5 {
        let claims = verifier.verify(&token("a", "a")).await.unwrap();
        assert_eq!(claims.sub, "alice");
    }
    // Clones share the cache; tokens that fail their signature fetch nothing.
    let clone = verifier.clone();
    clone.verify(&token("a", "a")).await.unwrap();
    assert_invalid(clone.verify(&token("b", "a")).await);
    assert_invalid(clone.verify("garbage").await);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_new_kid_triggers_one_refetch_and_is_accepted() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    verifier.verify(&token("a", "a")).await.unwrap();
    assert_eq!(server.hits(), 1);
    // The issuer rotates: key b joins the set.
    server.set_keys(json!({"keys": [key_a(), key_b()]}));
    tokio::time::sleep(PAST_INTERVAL).await;
    verifier.verify(&token("b", "b")).await.unwrap();
    assert_eq!(server.hits(), 2);
    verifier.verify(&token("b", "b")).await.unwrap();
    verifier.verify(&token("a", "a")).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_kid_still_unknown_after_the_refetch_is_invalid() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    verifier.verify(&token("a", "a")).await.unwrap();
    tokio::time::sleep(PAST_INTERVAL).await;
    let error = verifier.verify(&token("b", "b")).await.unwrap_err();
    assert!(
        matches!(&error, TokenError::Invalid(m) if m.contains("`b`")),
        "{error:?}"
    );
    assert_eq!(error.code(), "unauthorized");
    assert_eq!(server.hits(), 2);
    // A token naming key a's id but signed by another key: refused, and
    // no fetch (the kid is known).
    assert_invalid(verifier.verify(&token("b", "a")).await);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn the_first_fetch_also_resolves_an_unknown_kid() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    assert_invalid(verifier.verify(&token("b", "b")).await);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn refetches_are_rate_limited() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    verifier.verify(&token("a", "a")).await.unwrap();
    assert_eq!(server.hits(), 1);
    // Unknown kids right after a fetch: refused without fetching.
    for kid in ["x", "y", "z", "b"] {
        assert_invalid(verifier.verify(&token("b", kid)).await);
    }
    assert_eq!(server.hits(), 1);
    // Key b is published, but within the interval it is not seen yet.
    server.set_keys(json!({"keys": [key_a(), key_b()]}));
    assert_invalid(verifier.verify(&token("b", "b")).await);
    assert_eq!(server.hits(), 1);
    // Past the interval: one fetch, then b is known.
    tokio::time::sleep(PAST_INTERVAL).await;
    verifier.verify(&token("b", "b")).await.unwrap();
    assert_eq!(server.hits(), 2);
    for kid in ["x", "y", "z"] {
        assert_invalid(verifier.verify(&token("b", kid)).await);
    }
    assert_eq!(server.hits(), 2);
    // Within the next interval an unknown kid flood makes one fetch at most.
    tokio::time::sleep(PAST_INTERVAL).await;
    for kid in ["x", "y", "z", "w"] {
        assert_invalid(verifier.verify(&token("b", kid)).await);
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn concurrent_verifications_share_one_fetch() {
    let server = Server::start(json!({"keys": [key_a(), key_b()]})).await;
    server.served.delay_ms.store(200, Ordering::SeqCst);
    let verifier = server.verifier();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let verifier = verifier.clone();
        let key = if i % 2 == 0 { "a" } else { "b" };
        tasks.push(tokio::spawn(async move {
            verifier.verify(&token(key, key)).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_waiter_that_gives_up_does_not_stop_the_fetch() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    server.served.delay_ms.store(200, Ordering::SeqCst);
    let verifier = server.verifier();
    let gave_up =
        tokio::time::timeout(Duration::from_millis(50), verifier.verify(&token("a", "a"))).await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The fetch completed in its own task: the key is cached.
    server.served.delay_ms.store(0, Ordering::SeqCst);
    verifier.verify(&token("a", "a")).await.unwrap();
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_server_that_is_down_gives_keys_unavailable() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let verifier =
        TokenVerifier::jwks_with(&format!("http://{addr}/jwks.json"), timings()).unwrap();
    let error = verifier.verify(&token("a", "a")).await.unwrap_err();
    assert!(matches!(error, TokenError::KeysUnavailable(_)), "{error:?}");
    assert_eq!(error.code(), "unavailable");
    // Still unavailable right after (rate limited, no new attempt), and a
    // garbage token is still just invalid.
    let error = verifier.verify(&token("a", "a")).await.unwrap_err();
    assert!(matches!(error, TokenError::KeysUnavailable(_)), "{error:?}");
    assert_invalid(verifier.verify("garbage").await);
}

#[tokio::test]
async fn an_error_status_or_a_document_that_is_no_key_set_gives_keys_unavailable() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    server.served.status.store(500, Ordering::SeqCst);
    let verifier = server.verifier();
    let error = verifier.verify(&token("a", "a")).await.unwrap_err();
    assert!(
        matches!(&error, TokenError::KeysUnavailable(m) if m.contains("500")),
        "{error:?}"
    );
    // Recovers once the server does, after the interval.
    server.served.status.store(200, Ordering::SeqCst);
    tokio::time::sleep(PAST_INTERVAL).await;
    verifier.verify(&token("a", "a")).await.unwrap();
    assert_eq!(server.hits(), 2);

    for document in [json!({"no": "keys"}), json!([1, 2]), json!("text")] {
        let server = Server::start(document.clone()).await;
        let error = server
            .verifier()
            .verify(&token("a", "a"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, TokenError::KeysUnavailable(_)),
            "{document}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_fetch_that_takes_too_long_gives_keys_unavailable() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    server.served.delay_ms.store(2_000, Ordering::SeqCst);
    let verifier = TokenVerifier::jwks_with(
        &server.url(),
        Timings {
            fetch_timeout: Duration::from_millis(200),
            ..timings()
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let error = verifier.verify(&token("a", "a")).await.unwrap_err();
    assert!(matches!(error, TokenError::KeysUnavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(1_500));
}

#[tokio::test]
async fn a_stale_key_set_is_refreshed_in_the_background() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = TokenVerifier::jwks_with(
        &server.url(),
        Timings {
            max_age: INTERVAL,
            ..timings()
        },
    )
    .unwrap();
    verifier.verify(&token("a", "a")).await.unwrap();
    // The issuer drops key a.
    server.set_keys(json!({"keys": [key_b()]}));
    tokio::time::sleep(PAST_INTERVAL).await;
    // Stale: a still serves while the set is re-fetched.
    verifier.verify(&token("a", "a")).await.unwrap();
    for _ in 0..50 {
        if server.hits() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.hits(), 2);
    // Let the refresh record its set.
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Refreshed: a is gone, b is in.
    assert_invalid(verifier.verify(&token("a", "a")).await);
    verifier.verify(&token("b", "b")).await.unwrap();
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn rsa_and_ed25519_keys_and_their_algorithms() {
    let server = Server::start(json!({"keys": [
        jwk(RSA_PRIVATE, Algorithm::RS256, "rsa"),
        jwk(ED_PRIVATE, Algorithm::EdDSA, "ed"),
        key_a(),
    ]}))
    .await;
    let verifier = server.verifier().issuer("me");
    let claims = json!({"sub": "s", "exp": super::unix_now() + 60, "iss": "me"});
    for (algorithm, kid) in [
        (Algorithm::RS256, "rsa"),
        (Algorithm::EdDSA, "ed"),
        (Algorithm::ES256, "a"),
    ] {
        let token = sign_with(algorithm, &signing_key(algorithm), Some(kid), &claims);
        verifier
            .verify(&token)
            .await
            .unwrap_or_else(|e| panic!("{kid}: {e}"));
    }
    // A key's algorithm is its own: an EdDSA token under the RSA key's id,
    // an HS256 token made with the RSA key's public parts as secret.
    let token = sign_with(
        Algorithm::EdDSA,
        &signing_key(Algorithm::EdDSA),
        Some("rsa"),
        &claims,
    );
    assert_invalid(verifier.verify(&token).await);
    let public = serde_json::to_vec(&jwk(RSA_PRIVATE, Algorithm::RS256, "rsa")).unwrap();
    let hs256 = jsonwebtoken::EncodingKey::from_secret(&public).unwrap();
    assert_invalid(
        verifier
            .verify(&sign_with(Algorithm::HS256, &hs256, Some("rsa"), &claims))
            .await,
    );
    // Expiry and issuer apply as with any key.
    let expired = json!({"sub": "s", "exp": 5, "iss": "me"});
    let token = sign_with(
        Algorithm::ES256,
        &signing_key(Algorithm::ES256),
        Some("a"),
        &expired,
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn keys_that_cannot_be_used_are_left_out() {
    let mut encryption = key_b();
    encryption["use"] = json!("enc");
    let mut mismatched = jwk(EC2_PRIVATE, Algorithm::ES256, "mismatched");
    mismatched["alg"] = json!("RS256");
    let server = Server::start(json!({"keys": [
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
        encryption,
        mismatched,
        {"kty": "EC", "kid": "bad", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "kid": "short", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "XYZ", "kid": "odd"},
        key_a(),
    ]}))
    .await;
    let verifier = server.verifier();
    verifier.verify(&token("a", "a")).await.unwrap();
    // HS256 with the `oct` key's secret: that key was never taken.
    let secret =
        jsonwebtoken::EncodingKey::from_secret(b"secret-secret-secret-secret-secret").unwrap();
    let token_oct = sign_with(Algorithm::HS256, &secret, Some("secret"), &valid_claims());
    assert_invalid(verifier.verify(&token_oct).await);
    assert_invalid(verifier.verify(&token("b", "b")).await);
    assert_invalid(verifier.verify(&token("b", "mismatched")).await);
    let short = sign_with(
        Algorithm::EdDSA,
        &signing_key(Algorithm::EdDSA),
        Some("short"),
        &valid_claims(),
    );
    assert_invalid(verifier.verify(&short).await);
}

#[tokio::test]
async fn a_token_without_kid_takes_the_only_key() {
    let server = Server::start(json!({"keys": [key_a()]})).await;
    let verifier = server.verifier();
    let signing = jsonwebtoken::EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    verifier
        .verify(&sign_with(
            Algorithm::ES256,
            &signing,
            None,
            &valid_claims(),
        ))
        .await
        .unwrap();
    // With several keys, a token must name one.
    let server = Server::start(json!({"keys": [key_a(), key_b()]})).await;
    let verifier = server.verifier();
    assert_invalid(
        verifier
            .verify(&sign_with(
                Algorithm::ES256,
                &signing,
                None,
                &valid_claims(),
            ))
            .await,
    );
}

#[test]
fn urls_that_cannot_be_used_are_refused() {
    for url in [
        "not a url",
        "ftp://example.com/jwks.json",
        "file:///etc/jwks.json",
        "/jwks.json",
    ] {
        let error = TokenVerifier::jwks_url(url).unwrap_err();
        assert!(
            matches!(error, TokenKeyError::InvalidUrl { .. }),
            "{url}: {error:?}"
        );
    }
    // Building fetches nothing (no runtime needed).
    TokenVerifier::jwks_url("http://127.0.0.1:9/jwks.json").unwrap();
}
