//! Users on one hub (PROTOCOL.md section 10): every socket of a token's
//! `sub`, reached, listed and closed together; at most N live ones. The
//! cluster-wide side runs in the testkit's `users_cross_nodes` scenario.

mod common;

use common::{TestServer, WsClient, http};
use serde_json::json;
use switchboard::{CloseCode, Hub, TokenVerifier};

const SECRET: &[u8] = b"a test secret that is long enough for HS256";

fn token(sub: &str) -> String {
    switchboard_testkit::hs256_token(SECRET, json!({ "sub": sub }))
}

async fn connect_as(server: &TestServer, user: &str) -> WsClient {
    WsClient::connect(&format!("{}?token={}", server.url(), token(user))).await
}

#[tokio::test]
async fn a_users_sockets_are_reached_listed_and_closed_together() {
    let server = TestServer::start(Hub::builder().tokens(TokenVerifier::hmac(SECRET))).await;
    let mut ada_1 = connect_as(&server, "ada").await;
    let mut ada_2 = connect_as(&server, "ada").await;
    let mut bob = connect_as(&server, "bob").await;
    let mut ids = vec![ada_1.id.clone(), ada_2.id.clone()];
    ids.sort();
    assert_eq!(server.hub.user_sockets("ada"), ids);
    assert_eq!(server.hub.user_sockets("nobody"), Vec::<String>::new());

    // One publish to the user, and to the user plus a room with ada in it:
    // each socket receives once.
    ada_1.join("lobby").await;
    assert_eq!(server.hub.to_user("ada").emit("note", 1).unwrap(), 2);
    assert_eq!(
        server
            .hub
            .to_user("ada")
            .to("lobby")
            .emit("note", 2)
            .unwrap(),
        2
    );
    for client in [&mut ada_1, &mut ada_2] {
        assert_eq!(client.recv_event("note").await["data"], 1);
        assert_eq!(client.recv_event("note").await["data"], 2);
    }
    bob.assert_silent(200).await;

    assert_eq!(server.hub.disconnect_user("ada", CloseCode::Kicked), 2);
    assert_eq!(ada_1.close_code().await, 4000);
    assert_eq!(ada_2.close_code().await, 4000);
    common::eventually("ada's sessions end", || {
        server.hub.user_sockets("ada").is_empty()
    })
    .await;
    assert_eq!(server.hub.user_sockets("bob"), [bob.id.clone()]);
}

#[tokio::test]
async fn a_user_over_its_connection_limit_is_refused_429_limit() {
    let server = TestServer::start(
        Hub::builder()
            .tokens(TokenVerifier::hmac(SECRET))
            .max_connections_per_user(2),
    )
    .await;
    let first = connect_as(&server, "ada").await;
    let _second = connect_as(&server, "ada").await;
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    let third = http(
        server.addr,
        "GET",
        &format!("/ws?token={}", token("ada")),
        &upgrade,
        b"",
    )
    .await;
    third.api_error(429, "limit");
    // Another user is not held back.
    let _bob = connect_as(&server, "bob").await;
    // Once one of ada's links ends, ada gets in again.
    first.close_normally().await;
    common::eventually("ada's first link ends", || {
        server.hub.user_sockets("ada").len() == 1
    })
    .await;
    let _again = connect_as(&server, "ada").await;
}
