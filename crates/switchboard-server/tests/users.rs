//! The server's users and tokens (PROTOCOL.md section 10) through its
//! options and HTTP API: tokens with claims, a user's sockets published to,
//! listed and closed, the per-user connection limit.

mod common;

use common::{TestServer, WsClient, http, publish};
use serde_json::{Value, json};
use switchboard_server::Config;
use switchboard_server::config::{TokenKey, TokenSettings};

const SECRET: &str = "a shared secret of at least 32 bytes";

fn token(claims: Value) -> String {
    switchboard_testkit::hs256_token(SECRET.as_bytes(), claims)
}

async fn server(max_per_user: usize) -> TestServer {
    TestServer::start(Config {
        tokens: Some(TokenSettings {
            key: TokenKey::HmacSecret(SECRET.into()),
            issuer: None,
            audience: None,
            allow_anonymous: false,
        }),
        max_connections_per_user: max_per_user,
        ..Config::default()
    })
    .await
}

async fn connect(server: &TestServer, claims: Value) -> WsClient {
    WsClient::connect(&format!("ws://{}/ws?token={}", server.addr, token(claims))).await
}

async fn json_of(server: &TestServer, method: &str, path: &str) -> (u16, Value) {
    let response = http(server.addr, method, path, &[], b"").await;
    (response.status, response.json())
}

#[tokio::test]
async fn users_are_published_to_listed_and_closed_through_the_api() {
    let server = server(0).await;
    let mut ada_1 = connect(&server, json!({"sub": "ada"})).await;
    let mut ada_2 = connect(&server, json!({"sub": "ada"})).await;
    let mut bob = connect(&server, json!({"sub": "bob"})).await;
    let response = publish(
        server.addr,
        r#"{"event":"note","data":"hi ada","user":"ada"}"#,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    for client in [&mut ada_1, &mut ada_2] {
        assert_eq!(client.recv_event("note").await["data"], "hi ada");
    }
    bob.assert_silent(200).await;

    let (status, body) = json_of(&server, "GET", "/api/users/ada").await;
    let mut ids = vec![ada_1.id.clone(), ada_2.id.clone()];
    ids.sort();
    assert_eq!(
        (status, body),
        (200, json!({"user": "ada", "sockets": ids}))
    );
    let (_, body) = json_of(&server, "GET", "/api/users/nobody").await;
    assert_eq!(body, json!({"user": "nobody", "sockets": []}));

    let (status, body) = json_of(&server, "DELETE", "/api/users/ada").await;
    assert_eq!((status, body), (200, json!({"closed": 2})));
    assert_eq!(ada_1.close_code().await, 4000);
    assert_eq!(ada_2.close_code().await, 4000);
}

#[tokio::test]
async fn the_per_user_limit_refuses_429_limit() {
    let server = server(1).await;
    let _ada = connect(&server, json!({"sub": "ada"})).await;
    let response = http(
        server.addr,
        "POST",
        &format!("/ws/poll?token={}", token(json!({"sub": "ada"}))),
        &[],
        b"",
    )
    .await;
    response.api_error(429, "limit");
    let _bob = connect(&server, json!({"sub": "bob"})).await;
}

#[tokio::test]
async fn the_rooms_and_publish_claims_bound_what_a_user_does() {
    let server = server(0).await;
    let mut ada = connect(
        &server,
        json!({"sub": "ada", "rooms": ["team-*"], "publish": ["team-a"], "join": ["news"]}),
    )
    .await;
    let mut bob = connect(&server, json!({"sub": "bob"})).await;
    // `rooms` replaces --rooms (here the default, every room) for ada.
    assert_eq!(ada.join("team-a").await["data"]["room"], "team-a");
    assert_eq!(ada.join("team-b").await["data"]["room"], "team-b");
    assert_eq!(ada.join("lobby").await["error"]["code"], "forbidden");
    assert_eq!(bob.join("lobby").await["data"]["room"], "lobby");
    // `join` joined her to news at connect.
    assert_eq!(server.hub.rooms_of(&ada.id), ["news", "team-a", "team-b"]);
    // `publish` narrows her relays to team-a.
    assert_eq!(bob.join("team-a").await["data"]["room"], "team-a");
    assert_eq!(bob.join("team-b").await["data"]["room"], "team-b");
    let relay =
        |room: &str, ack: u64| json!({"event": "say", "room": room, "data": "hi", "ack": ack});
    ada.send(relay("team-a", 10)).await;
    assert!(ada.recv().await.get("error").is_none());
    assert_eq!(bob.recv_event("say").await["room"], "team-a");
    ada.send(relay("team-b", 11)).await;
    assert_eq!(ada.recv().await["error"]["code"], "forbidden");
    bob.assert_silent(200).await;
}
