//! Users and presence across two real `switchboard` processes clustered
//! over a private Redis or NATS server (PROTOCOL.md section 10): a publish
//! to a user reaches its sockets on both nodes, a user is closed from the
//! node holding none of its sockets, `$joined` / `$left` are heard once per
//! user wherever its sockets are, and the users of a node killed with
//! SIGKILL leave once the survivor counts it gone, except a user still
//! connected to the survivor.
//!
//! The backend binary missing skips the test outside CI (see
//! `switchboard_testkit::BackendServer::start`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Binary, WsClient, command, get, http, publish};
use serde_json::{Value, json};
use switchboard_testkit::{Backend, BackendServer};
use tokio::time::Instant;

const SECRET: &str = "a shared secret of at least 32 bytes";
const ROOM: &str = "chat-1";

fn token(user: &str) -> String {
    let claims = json!({"sub": user, "info": {"name": user.to_uppercase()}});
    switchboard_testkit::hs256_token(SECRET.as_bytes(), claims)
}

async fn start_node(backend: &BackendServer, prefix: &str) -> Binary {
    let flag = match backend.backend() {
        Backend::Redis => "--redis",
        Backend::Nats => "--nats",
    };
    let url = backend.url();
    Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        flag,
        &url,
        "--cluster-prefix",
        prefix,
        "--token-hmac-secret",
        SECRET,
        "--presence",
        "chat-*",
    ]))
    .await
}

/// Connects as `user` to the node at `addr` and joins [`ROOM`]; its own
/// `$joined` comes next when it is the user's first socket anywhere.
async fn join_as(addr: SocketAddr, user: &str) -> WsClient {
    let mut client = WsClient::connect_at(addr, &format!("/ws?token={}", token(user))).await;
    let reply = client.join(ROOM).await;
    assert_eq!(reply["data"], json!({"room": ROOM}), "{user}: {reply}");
    client
}

fn joined(user: &str) -> Value {
    json!({
        "event": "$joined",
        "room": ROOM,
        "data": {"user": user, "info": {"name": user.to_uppercase()}},
    })
}

fn left(user: &str) -> Value {
    json!({"event": "$left", "room": ROOM, "data": {"user": user}})
}

/// The next message of `client` (a `$pong` aside) is `expected`.
async fn expect(client: &mut WsClient, who: &str, expected: Value) {
    let message = loop {
        let message = client.recv().await;
        if message["event"] != "$pong" {
            break message;
        }
    };
    assert_eq!(message, expected, "{who} got an unexpected message");
}

/// `GET /api/rooms/chat-1/presence` of the node at `addr`, as
/// `[(user, sockets)]`.
async fn presence(addr: SocketAddr) -> Vec<(String, u64)> {
    let response = get(addr, &format!("/api/rooms/{ROOM}/presence")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    body["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users: {body}"))
        .iter()
        .map(|u| {
            (
                u["user"].as_str().unwrap().to_owned(),
                u["sockets"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn users(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(u, n)| ((*u).to_owned(), *n)).collect()
}

/// Polls `/api/stats` of `addr` until the cluster counts `nodes` nodes.
async fn wait_nodes(addr: SocketAddr, nodes: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = get(addr, "/api/stats").await.json();
        if stats["cluster"] == "ok" && stats["nodes"] == nodes {
            return;
        }
        assert!(Instant::now() < deadline, "no {nodes} nodes: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn users_and_presence_across_two_processes_over_redis() {
    scenario(Backend::Redis).await;
}

#[tokio::test]
async fn users_and_presence_across_two_processes_over_nats() {
    scenario(Backend::Nats).await;
}

async fn scenario(kind: Backend) {
    let Some(backend) = BackendServer::start(kind).await else {
        return;
    };
    let prefix = format!("users-{}-{}", kind.scheme(), std::process::id());
    let a = start_node(&backend, &prefix).await;
    let mut b = start_node(&backend, &prefix).await;
    wait_nodes(a.addr, 2).await;
    wait_nodes(b.addr, 2).await;

    // ada on node a hears her own arrival, then bob's (node b); her second
    // socket (node b) is no news to anyone.
    let mut ada_a = join_as(a.addr, "ada").await;
    expect(&mut ada_a, "ada on a", joined("ada")).await;
    let mut bob = join_as(b.addr, "bob").await;
    expect(&mut bob, "bob", joined("bob")).await;
    expect(&mut ada_a, "ada on a", joined("bob")).await;
    let mut ada_b = join_as(b.addr, "ada").await;
    let expected = users(&[("ada", 2), ("bob", 1)]);
    assert_eq!(presence(b.addr).await, expected);
    let deadline = Instant::now() + Duration::from_secs(5);
    while presence(a.addr).await != expected {
        assert!(Instant::now() < deadline, "node a never counted ada twice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A publish to ada from node b reaches both her sockets, once each.
    let response = publish(
        b.addr,
        &json!({"event": "note", "data": "for ada", "user": "ada"}).to_string(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let note = json!({"event": "note", "data": "for ada"});
    expect(&mut ada_a, "ada on a", note.clone()).await;
    expect(&mut ada_b, "ada on b", note).await;

    // bob is closed from node a, which holds none of his sockets: he
    // leaves the room for everyone.
    let closed = http(a.addr, "DELETE", "/api/users/bob", &[], b"").await;
    assert_eq!(closed.status, 200, "{}", closed.text());
    assert_eq!(closed.json()["closed"], 1);
    assert_eq!(bob.close_code().await, 4000);
    expect(&mut ada_a, "ada on a", left("bob")).await;

    // cy arrives on node b, which is then killed: once node a counts it
    // gone (its heartbeats stop; 3 s), cy leaves, and ada, still on node
    // a, stays.
    let _cy = join_as(b.addr, "cy").await;
    expect(&mut ada_a, "ada on a", joined("cy")).await;
    let killed = Instant::now();
    b.child.start_kill().expect("SIGKILL node b");
    expect(&mut ada_a, "ada on a", left("cy")).await;
    let took = killed.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "cy left {took:?} after the kill: before node b could count as gone"
    );
    assert_eq!(presence(a.addr).await, users(&[("ada", 1)]));
    wait_nodes(a.addr, 1).await;
    ada_a.assert_silent(300).await;
}
