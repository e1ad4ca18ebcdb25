//! Presence on one hub (PROTOCOL.md section 10), over real sockets with
//! real tokens: who is in a room with the users' `info`, `$joined` on a
//! user's first socket (a token's `join` claim included, after
//! `$welcome`), `$left` on its last (a leave, or a session's end), the
//! anonymous count, and the refusals. The cluster-wide side runs in the
//! testkit's `presence_cross_nodes` scenario.

mod common;

use std::time::Duration;

use common::{TestServer, WsClient};
use serde_json::{Value, json};
use switchboard::{Hub, HubBuilder, TokenVerifier};

const SECRET: &[u8] = b"a test secret that is long enough for HS256";

fn token(claims: Value) -> String {
    switchboard_testkit::hs256_token(SECRET, claims)
}

fn builder() -> HubBuilder {
    Hub::builder()
        .tokens(TokenVerifier::hmac(SECRET))
        .allow_anonymous(true)
        .presence(|room: &str| room.starts_with("chat-"))
}

async fn connect_as(server: &TestServer, user: &str) -> WsClient {
    let token = token(json!({ "sub": user, "info": { "name": user.to_uppercase() } }));
    WsClient::connect(&format!("{}?token={token}", server.url())).await
}

/// The next message that is not `$pong`.
async fn next(client: &mut WsClient) -> Value {
    loop {
        let message = client.recv().await;
        if message["event"] != "$pong" {
            return message;
        }
    }
}

fn joined(room: &str, user: &str) -> Value {
    json!({
        "event": "$joined",
        "room": room,
        "data": { "user": user, "info": { "name": user.to_uppercase() } },
    })
}

fn left(room: &str, user: &str) -> Value {
    json!({ "event": "$left", "room": room, "data": { "user": user } })
}

async fn join(client: &mut WsClient, room: &str) {
    let reply = client.join(room).await;
    assert_eq!(reply["data"]["room"], room, "{reply}");
}

#[tokio::test]
async fn members_hear_a_users_first_and_last_socket_and_may_ask_who_is_in() {
    let server = TestServer::start(builder()).await;
    let mut anon = server.client().await;
    join(&mut anon, "chat-1").await;
    let mut ada_1 = connect_as(&server, "ada").await;
    join(&mut ada_1, "chat-1").await;
    assert_eq!(
        next(&mut ada_1).await,
        joined("chat-1", "ada"),
        "her own, after the reply"
    );
    assert_eq!(next(&mut anon).await, joined("chat-1", "ada"));
    let mut ada_2 = connect_as(&server, "ada").await;
    join(&mut ada_2, "chat-1").await;
    let mut bob = connect_as(&server, "bob").await;
    join(&mut bob, "chat-1").await;
    // ada's second socket was no news: bob's arrival is the next message.
    assert_eq!(next(&mut anon).await, joined("chat-1", "bob"));
    assert_eq!(next(&mut ada_1).await, joined("chat-1", "bob"));

    let reply = bob.request("$presence", json!({"room": "chat-1"})).await;
    assert_eq!(
        reply["data"],
        json!({
            "room": "chat-1",
            "users": [
                {"user": "ada", "info": {"name": "ADA"}, "sockets": 2},
                {"user": "bob", "info": {"name": "BOB"}, "sockets": 1},
            ],
            "anonymous": 1,
        })
    );
    assert_eq!(
        serde_json::to_value(server.hub.presence("chat-1").unwrap()).unwrap(),
        reply["data"]
    );

    // A leave of one of ada's two sockets is no news; the end of her last
    // session is.
    let reply = ada_1.request("$leave", json!({"room": "chat-1"})).await;
    assert_eq!(reply["data"]["room"], "chat-1");
    bob.close_normally().await;
    assert_eq!(next(&mut anon).await, left("chat-1", "bob"));
    ada_2.close_normally().await;
    assert_eq!(next(&mut anon).await, left("chat-1", "ada"));
    let reply = anon.request("$presence", json!({"room": "chat-1"})).await;
    assert_eq!(
        reply["data"],
        json!({"room": "chat-1", "users": [], "anonymous": 1})
    );
    ada_1.assert_silent(100).await;
}

#[tokio::test]
async fn a_tokens_join_claim_counts_after_the_welcome() {
    let server = TestServer::start(builder()).await;
    let mut anon = server.client().await;
    join(&mut anon, "chat-2").await;
    let token = token(json!({
        "sub": "cy",
        "info": { "name": "CY" },
        "join": ["chat-2"],
    }));
    // `connect` reads the `$welcome` as the first message.
    let mut cy = WsClient::connect(&format!("{}?token={token}", server.url())).await;
    assert_eq!(next(&mut cy).await, joined("chat-2", "cy"));
    assert_eq!(next(&mut anon).await, joined("chat-2", "cy"));
}

#[tokio::test]
async fn only_members_ask_and_only_about_rooms_with_presence() {
    let server = TestServer::start(builder()).await;
    let mut ada = connect_as(&server, "ada").await;
    join(&mut ada, "news").await;
    for room in ["chat-1", "news"] {
        let reply = ada.request("$presence", json!({"room": room})).await;
        assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    }
    assert_eq!(server.hub.presence("news"), None);
    // Without an ack there is nothing to answer under: `bad_message`.
    ada.send(json!({"event": "$presence", "data": {"room": "news"}}))
        .await;
    let error = ada.recv_event("$error").await;
    assert_eq!(error["data"]["code"], "bad_message", "{error}");
    // A hub without presence keeps none anywhere.
    let plain = TestServer::start(Hub::builder()).await;
    let mut client = plain.client().await;
    join(&mut client, "chat-1").await;
    let reply = client.request("$presence", json!({"room": "chat-1"})).await;
    assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    client.assert_silent(100).await;
}

#[tokio::test]
async fn a_session_waiting_for_a_resume_stays_until_its_window_ends() {
    let server = TestServer::start(builder().resume_window(Duration::from_millis(300))).await;
    let mut anon = server.client().await;
    join(&mut anon, "chat-3").await;
    let mut ada = connect_as(&server, "ada").await;
    join(&mut ada, "chat-3").await;
    assert_eq!(next(&mut anon).await, joined("chat-3", "ada"));
    ada.reset();
    // Still present while the session may resume...
    anon.assert_silent(150).await;
    assert_eq!(server.hub.presence("chat-3").unwrap().users.len(), 1);
    // ...and gone when the window ends.
    assert_eq!(next(&mut anon).await, left("chat-3", "ada"));
}
