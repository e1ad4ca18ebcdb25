//! Tokens over real sockets (PROTOCOL.md section 10): who may connect, the
//! user in `$welcome`, `$refresh`, `4003` at expiry and resume by the same
//! user only, on both transports. Tokens are signed with `jsonwebtoken`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TestServer, WsClient, http, http_json};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use switchboard::{Hub, HubBuilder, Socket, TokenVerifier};

const SECRET: &[u8] = b"a test secret that is long enough for HS256";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with `SECRET` carrying `claims`.
fn sign(claims: Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// A token of `sub` valid for `ttl` seconds.
fn token(sub: &str, ttl: u64) -> String {
    sign(json!({"sub": sub, "exp": now() + ttl}))
}

fn hub_with_tokens() -> HubBuilder {
    Hub::builder().tokens(TokenVerifier::hmac(SECRET))
}

/// The WebSocket handshake at `server` with `query`: the `$welcome` data,
/// or the refusal's status.
async fn welcome(server: &TestServer, query: &str) -> Result<(WsClient, Value), u16> {
    let url = format!("{}?{query}", server.url());
    let mut client = WsClient::try_open_with(&url, &[]).await?;
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    Ok((client, welcome["data"].clone()))
}

#[tokio::test]
async fn a_valid_token_names_the_user_in_the_welcome() {
    let server = TestServer::start(hub_with_tokens().on(
        "whoami",
        |socket: Socket, _: Value| async move {
            Ok::<_, switchboard::HandlerError>(json!({
                "user": socket.user(),
                "expires_at": socket.identity().map(|i| i.expires_at()),
            }))
        },
    ))
    .await;
    let exp = now() + 600;
    let jwt = sign(json!({"sub": "ada", "exp": exp, "info": {"name": "Ada"}}));
    let (mut client, data) = welcome(&server, &format!("token={jwt}")).await.unwrap();
    assert_eq!(data["user"], "ada");
    assert_eq!(data["expires_at"], exp);
    let answer = client.call("whoami", Value::Null, 1).await;
    assert_eq!(answer["data"], json!({"user": "ada", "expires_at": exp}));
}

#[tokio::test]
async fn a_bearer_header_is_a_token_too() {
    let server = TestServer::start(hub_with_tokens()).await;
    let bearer = format!("Bearer {}", token("bob", 600));
    let mut client = WsClient::try_open_with(&server.url(), &[("Authorization", &bearer)])
        .await
        .unwrap();
    let welcome = client.recv().await;
    assert_eq!(welcome["data"]["user"], "bob");
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_refused_401() {
    let server = TestServer::start(hub_with_tokens()).await;
    let path = |query: &str| format!("/ws?{query}");
    let cases = [
        ("".to_owned(), "unauthorized"),
        ("token=garbage".to_owned(), "unauthorized"),
        (
            format!(
                "token={}",
                encode(
                    &Header::default(),
                    &json!({"sub": "ada", "exp": now() + 600}),
                    &EncodingKey::from_secret(b"another secret, long enough for HS256 too")
                        .unwrap()
                )
                .unwrap()
            ),
            "unauthorized",
        ),
        (
            format!("token={}", sign(json!({"sub": "ada", "exp": now() - 1}))),
            "token_expired",
        ),
        (
            format!("token={}", sign(json!({"exp": now() + 600}))),
            "unauthorized",
        ),
    ];
    for (query, code) in cases {
        let response = http(
            server.addr,
            "GET",
            &path(&query),
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
            b"",
        )
        .await;
        response.api_error(401, code);
        // The same on long-polling.
        let (status, body) = http_json(server.addr, "POST", &format!("/ws/poll?{query}"), "").await;
        assert_eq!(status, 401, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
}

#[tokio::test]
async fn anonymous_clients_get_in_only_when_allowed_and_without_a_token() {
    let strict = TestServer::start(hub_with_tokens()).await;
    assert_eq!(welcome(&strict, "").await.err(), Some(401));
    let open = TestServer::start(hub_with_tokens().allow_anonymous(true)).await;
    let (_client, data) = welcome(&open, "").await.unwrap();
    assert!(data.get("user").is_none(), "{data}");
    assert!(data.get("expires_at").is_none(), "{data}");
    // A bad token is still refused.
    assert_eq!(welcome(&open, "token=garbage").await.err(), Some(401));
}

#[tokio::test]
async fn the_join_claim_joins_rooms_at_connect() {
    let server = TestServer::start(hub_with_tokens()).await;
    let jwt = sign(json!({"sub": "ada", "exp": now() + 600, "join": ["news", "team"]}));
    let (client, data) = welcome(&server, &format!("token={jwt}")).await.unwrap();
    let id = data["id"].as_str().unwrap();
    assert_eq!(server.hub.rooms_of(id), ["news", "team"]);
    server.hub.to("news").emit("headline", "hi").unwrap();
    let mut client = client;
    assert_eq!(client.recv_event("headline").await["data"], "hi");
}

#[tokio::test]
async fn refresh_extends_the_expiry_for_the_same_user_only() {
    let server = TestServer::start(hub_with_tokens()).await;
    let (mut client, data) = welcome(&server, &format!("token={}", token("ada", 600)))
        .await
        .unwrap();
    let later = now() + 3600;
    let fresh = sign(json!({"sub": "ada", "exp": later}));
    let answer = client.call("$refresh", json!({"token": fresh}), 1).await;
    assert_eq!(answer["data"], json!({"expires_at": later}), "{answer}");
    let other = client
        .call("$refresh", json!({"token": token("bob", 600)}), 2)
        .await;
    assert_eq!(other["error"]["code"], "unauthorized", "{other}");
    let expired = sign(json!({"sub": "ada", "exp": now() - 5}));
    let answer = client.call("$refresh", json!({"token": expired}), 3).await;
    assert_eq!(answer["error"]["code"], "token_expired", "{answer}");
    let answer = client.call("$refresh", json!({"token": "nope"}), 4).await;
    assert_eq!(answer["error"]["code"], "unauthorized", "{answer}");
    // The refused ones changed nothing.
    let socket = server.hub.socket(data["id"].as_str().unwrap()).unwrap();
    assert_eq!(socket.identity().unwrap().expires_at(), Some(later));
}

#[tokio::test]
async fn an_unrefreshed_token_closes_the_link_4003_and_the_same_user_resumes() {
    let server = TestServer::start(hub_with_tokens()).await;
    let (mut client, data) = welcome(&server, &format!("token={}", token("ada", 2)))
        .await
        .unwrap();
    let id = data["id"].as_str().unwrap().to_owned();
    let session = data["session"].as_str().unwrap().to_owned();
    let code = tokio::time::timeout(Duration::from_secs(5), client.close_code())
        .await
        .expect("the link closes when the token expires");
    assert_eq!(code, 4003);
    assert_eq!(server.hub.stats().token_expiry_closes, 1);
    // The session waits: a message sent meanwhile is kept for the resume.
    server.hub.send_to(&id, "note", 1).unwrap();
    // Another user's token does not take it over: a new session.
    let (_other, other) = welcome(
        &server,
        &format!("token={}&resume={session}&last=0", token("bob", 600)),
    )
    .await
    .unwrap();
    assert_eq!(other["resumed"], false);
    assert_ne!(other["id"], id.as_str());
    // The same user with a fresh token resumes it, and gets what it missed.
    let fresh_exp = now() + 600;
    let fresh = sign(json!({"sub": "ada", "exp": fresh_exp}));
    let (mut again, back) = welcome(&server, &format!("token={fresh}&resume={session}&last=0"))
        .await
        .unwrap();
    assert_eq!(back["resumed"], true, "{back}");
    assert_eq!(back["id"], id.as_str());
    assert_eq!(back["expires_at"], fresh_exp);
    assert_eq!(again.recv_event("note").await["data"], 1);
}

#[tokio::test]
async fn a_refreshed_token_keeps_the_link_open_past_the_old_expiry() {
    let server = TestServer::start(hub_with_tokens()).await;
    let (mut client, _) = welcome(&server, &format!("token={}", token("ada", 2)))
        .await
        .unwrap();
    let answer = client
        .call("$refresh", json!({"token": token("ada", 600)}), 1)
        .await;
    assert!(answer.get("error").is_none(), "{answer}");
    // Past the first token's expiry, the link is open and answers.
    client.assert_silent(3_000).await;
    client.send(json!({"event": "$ping"})).await;
    assert_eq!(client.recv().await["event"], "$pong");
}

#[tokio::test]
async fn long_polling_gets_401_token_expired_then_resumes_with_a_fresh_token() {
    let server = TestServer::start(hub_with_tokens()).await;
    let query = format!("?token={}", token("ada", 2));
    let (status, answer) = http_json(server.addr, "POST", &format!("/ws/poll{query}"), "").await;
    assert_eq!(status, 200, "{answer}");
    let welcome = answer[0]["data"].clone();
    assert_eq!(welcome["user"], "ada");
    let sid = welcome["session"].as_str().unwrap().to_owned();
    // Held GETs until the token expires.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    let expired = loop {
        let (status, body) =
            http_json(server.addr, "GET", &format!("/ws/poll?sid={sid}"), "").await;
        if status != 200 {
            break (status, body);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token never expired"
        );
    };
    assert_eq!(expired.0, 401, "{}", expired.1);
    assert_eq!(expired.1["error"]["code"], "token_expired");
    let fresh = token("ada", 600);
    let body = json!({"resume": sid, "last": 0}).to_string();
    let (status, answer) = http_json(
        server.addr,
        "POST",
        &format!("/ws/poll?token={fresh}"),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer[0]["data"]["resumed"], true, "{answer}");
}

#[tokio::test]
async fn the_authentication_hook_sees_the_token_and_may_grant_the_user() {
    use std::sync::{Arc, Mutex};
    use switchboard::{AuthRejection, Transport, UserGrant};

    /// What the hook saw of one handshake: the socket id, the user, the
    /// transport.
    type Seen = (String, Option<String>, Transport);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    let server = TestServer::start(hub_with_tokens().allow_anonymous(true).authenticate(
        move |request| {
            record.lock().unwrap().push((
                request.socket_id.clone(),
                request.user.as_ref().map(|grant| grant.user.clone()),
                request.transport,
            ));
            let query = request.uri.query().unwrap_or_default().to_owned();
            async move {
                let mut data = http::Extensions::new();
                if query.contains("down") {
                    return Err(AuthRejection::unavailable("the back end did not answer"));
                }
                if query.contains("banned") {
                    return Err(AuthRejection::with_code("banned", "not here"));
                }
                if query.contains("guest") {
                    data.insert(UserGrant {
                        user: "guest-1".into(),
                        join: Some(vec!["lobby".into()]),
                        ..UserGrant::default()
                    });
                }
                Ok(data)
            }
        },
    ))
    .await;
    // A token's user: the hook sees it, and the socket gets the id the
    // hook was told.
    let (_ada, data) = welcome(&server, &format!("token={}", token("ada", 600)))
        .await
        .unwrap();
    let (id, user, transport) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (user.as_deref(), transport),
        (Some("ada"), Transport::WebSocket)
    );
    assert_eq!(data["id"], id.as_str());
    // The hook's own grant, for an anonymous client: no expiry.
    let (_guest, data) = welcome(&server, "guest=1").await.unwrap();
    assert_eq!(data["user"], "guest-1");
    assert!(data.get("expires_at").is_none(), "{data}");
    assert_eq!(server.hub.rooms_of(data["id"].as_str().unwrap()), ["lobby"]);
    // Refusals: 503 unavailable, 403 with the hook's code.
    let (status, body) = http_json(server.addr, "POST", "/ws/poll?down=1", "").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    let (status, body) = http_json(server.addr, "POST", "/ws/poll?banned=1", "").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("banned")),
        "{body}"
    );
    assert_eq!(seen.lock().unwrap()[2].2, Transport::LongPolling);
}

#[tokio::test]
async fn what_is_sent_while_a_4003_close_is_written_is_kept_for_the_resume() {
    let server = TestServer::start(hub_with_tokens()).await;
    let (mut client, data) = welcome(&server, &format!("token={}", token("ada", 600)))
        .await
        .unwrap();
    let id = data["id"].as_str().unwrap().to_owned();
    let session = data["session"].as_str().unwrap().to_owned();
    // Close the link as an expiry does, and send at once: the link task
    // has not written the close yet.
    let socket = server.hub.socket(&id).unwrap();
    socket.disconnect(switchboard::CloseCode::TokenExpired);
    server.hub.send_to(&id, "during", 1).unwrap();
    assert_eq!(server.hub.to_user("ada").emit("during", 2).unwrap(), 1);
    assert_eq!(client.close_code().await, 4003);
    let (mut again, back) = welcome(
        &server,
        &format!("token={}&resume={session}&last=0", token("ada", 600)),
    )
    .await
    .unwrap();
    assert_eq!(
        (back["resumed"].as_bool(), back["missed"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(again.recv_event("during").await["data"], 1);
    assert_eq!(again.recv_event("during").await["data"], 2);
}
