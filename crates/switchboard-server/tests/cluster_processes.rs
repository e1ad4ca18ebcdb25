//! Three real `switchboard` processes clustered over one private Redis or
//! NATS server: publishes, relays, room members and kicks across nodes, a
//! backend outage (local traffic goes on, the cluster heals) and a graceful
//! leave on SIGTERM.
//!
//! The backend binary missing skips the test outside CI (see
//! `switchboard_testkit::BackendServer::start`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Binary, WsClient, command, get, http, publish, within};
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchboard_testkit::{Backend, BackendServer};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How often the cluster state is polled while waiting for it.
const POLL: Duration = Duration::from_millis(50);

/// One `switchboard` process.
struct Node {
    name: &'static str,
    addr: SocketAddr,
    binary: Binary,
}

impl Node {
    async fn start(name: &'static str, backend: &BackendServer, prefix: &str) -> Self {
        let flag = match backend.backend() {
            Backend::Redis => "--redis",
            Backend::Nats => "--nats",
        };
        let url = backend.url();
        let binary = Binary::start(command(&[
            "--listen",
            "127.0.0.1:0",
            flag,
            &url,
            "--cluster-prefix",
            prefix,
        ]))
        .await;
        Self {
            name,
            addr: binary.addr,
            binary,
        }
    }
}

/// `GET /api/stats` of one node, as JSON.
async fn stats(addr: SocketAddr) -> Value {
    let response = get(addr, "/api/stats").await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

/// Polls `/api/stats` of every node in `nodes` until `ok` holds for each,
/// failing after `limit` (one deadline for all of them).
async fn wait_stats(nodes: &[&Node], limit: Duration, what: &str, ok: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + limit;
    for node in nodes {
        loop {
            let stats = stats(node.addr).await;
            if ok(&stats) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what} within {limit:?}; last /api/stats: {stats}",
                node.name
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

fn cluster_is(state: &'static str, nodes: u64) -> impl Fn(&Value) -> bool {
    move |stats| stats["cluster"] == state && stats["nodes"] == nodes
}

/// `POST /api/publish` with `body`; must answer `200 {"ok":true}`.
async fn publish_ok(node: &Node, body: Value) {
    let response = publish(node.addr, &body.to_string()).await;
    assert_eq!(response.status, 200, "{}: {}", node.name, response.text());
    assert_eq!(response.json(), json!({"ok": true}));
}

/// Waits for the close frame, answers it (so the node need not wait out its
/// close grace) and returns its code.
async fn closed(client: &mut WsClient) -> u16 {
    let code = client.close_code().await;
    within("the end of the close handshake", async {
        while let Some(Ok(_)) = client.ws.next().await {}
    })
    .await;
    code
}

/// The next message of `client` is `expected`.
async fn expect(client: &mut WsClient, who: &str, expected: Value) {
    let message = client.recv().await;
    assert_eq!(message, expected, "{who} got an unexpected message");
}

#[tokio::test]
async fn three_processes_over_redis() {
    scenario(Backend::Redis).await;
}

#[tokio::test]
async fn three_processes_over_nats() {
    scenario(Backend::Nats).await;
}

async fn scenario(kind: Backend) {
    let Some(mut backend) = BackendServer::start(kind).await else {
        return;
    };
    let prefix = format!("procs-{}-{}", kind.scheme(), std::process::id());

    // 1. Three processes find each other.
    let n1 = Node::start("node 1", &backend, &prefix).await;
    let n2 = Node::start("node 2", &backend, &prefix).await;
    let mut n3 = Node::start("node 3", &backend, &prefix).await;
    wait_stats(
        &[&n1, &n2, &n3],
        Duration::from_secs(10),
        "\"nodes\":3 and \"cluster\":\"ok\"",
        cluster_is("ok", 3),
    )
    .await;

    // 2. Publishes from the API reach sockets on every node.
    let mut c1 = WsClient::connect_at(n1.addr, "/ws").await;
    let mut c2 = WsClient::connect_at(n2.addr, "/ws").await;
    let mut c3 = WsClient::open(&format!("ws://{}/ws", n3.addr)).await;
    let welcome = c3.recv().await;
    c3.id = welcome["data"]["id"].as_str().unwrap().to_owned();
    let c3_session = welcome["data"]["session"].as_str().unwrap().to_owned();
    for (client, who) in [(&mut c1, "c1"), (&mut c2, "c2")] {
        let reply = client.join("r").await;
        assert_eq!(
            reply["data"],
            json!({"room": "r"}),
            "{who}'s $join: {reply}"
        );
    }

    publish_ok(&n3, json!({"event": "news", "data": 1, "room": "r"})).await;
    let news = json!({"event": "news", "data": 1, "room": "r"});
    expect(&mut c1, "c1", news.clone()).await;
    expect(&mut c2, "c2", news).await;

    publish_ok(
        &n1,
        json!({"event": "direct", "data": "for c2", "to": c2.id}),
    )
    .await;
    expect(&mut c2, "c2", json!({"event": "direct", "data": "for c2"})).await;

    publish_ok(&n2, json!({"event": "everyone", "data": 2})).await;
    let everyone = json!({"event": "everyone", "data": 2});
    // c3 is in no room: its next message is this one, not the room's news.
    expect(&mut c3, "c3", everyone.clone()).await;
    expect(&mut c1, "c1", everyone.clone()).await;
    expect(&mut c2, "c2", everyone).await;

    // 3. A relay crosses nodes, with its sender's id.
    c1.send(json!({"event": "chat", "data": "hi", "room": "r", "ack": 5}))
        .await;
    let reply = c1.recv().await;
    assert_eq!(reply["reply"], 5, "c1 expected its ack reply: {reply}");
    assert!(
        reply.get("error").is_none(),
        "the relay was refused: {reply}"
    );
    expect(
        &mut c2,
        "c2",
        json!({"event": "chat", "data": "hi", "room": "r", "from": c1.id}),
    )
    .await;

    // 4. Room members, cluster-wide, from a node holding none of them.
    let room = get(n3.addr, "/api/rooms/r").await;
    assert_eq!(room.status, 200, "{}", room.text());
    let room = room.json();
    let mut ids = vec![c1.id.clone(), c2.id.clone()];
    ids.sort();
    assert_eq!(room["members"], json!(ids), "{room}");
    assert_eq!(room["missing"], json!([]), "{room}");
    assert_eq!(
        room["nodes"], 3,
        "every node answers, node 3 included: {room}"
    );

    // 5. Kicks reach the node holding the socket.
    let kick = http(
        n2.addr,
        "DELETE",
        &format!("/api/sockets/{}", c1.id),
        &[],
        b"",
    )
    .await;
    assert_eq!(kick.status, 204, "{}", kick.text());
    assert_eq!(closed(&mut c1).await, 4000);
    let unknown = http(n2.addr, "DELETE", "/api/sockets/nope", &[], b"").await;
    let message = unknown.api_error(404, "not_found");
    assert!(message.contains("nope"), "{message}");

    // 6. Backend outage: every node keeps serving its own sockets.
    backend.stop().await;
    for node in [&n1, &n2, &n3] {
        let health = get(node.addr, "/healthz").await;
        assert_eq!(
            (health.status, health.text().as_str()),
            (200, "ok"),
            "{}",
            node.name
        );
    }
    wait_stats(
        &[&n1, &n2, &n3],
        Duration::from_secs(10),
        "\"cluster\":\"degraded\"",
        |stats| stats["cluster"] == "degraded",
    )
    .await;
    publish_ok(&n2, json!({"event": "local", "data": 3})).await;
    expect(&mut c2, "c2", json!({"event": "local", "data": 3})).await;

    // ... and the cluster heals once the backend is back (reconnect
    // backoff up to 5 s, then heartbeats).
    backend.restart().await;
    wait_stats(
        &[&n1, &n2, &n3],
        Duration::from_secs(20),
        "\"nodes\":3, \"cluster\":\"ok\" and a reconnection after the backend restarted",
        |stats| {
            cluster_is("ok", 3)(stats) && stats["cluster_detail"]["reconnects"].as_u64() >= Some(1)
        },
    )
    .await;
    // Cluster-wide questions are answered by every node again; c1 (kicked)
    // has left the room.
    let room = get(n1.addr, "/api/rooms/r").await.json();
    assert_eq!(room["members"], json!([c2.id]), "{room}");
    assert_eq!(room["missing"], json!([]), "{room}");
    publish_ok(&n3, json!({"event": "news", "data": 4, "room": "r"})).await;
    expect(
        &mut c2,
        "c2",
        json!({"event": "news", "data": 4, "room": "r"}),
    )
    .await;

    // 7. A node stopped with SIGTERM drains (PROTOCOL.md section 11): it
    // closes its links with 1012, its client resumes on another node, and
    // once its sessions moved it says goodbye: the others drop it at once,
    // not after the 3 s silence timeout (2 to 4 s after its last
    // heartbeat).
    let terminated = Instant::now();
    n3.binary.terminate();
    // Counted messages c3 got: `everyone`, and whatever came before the
    // close.
    let mut received = 1u64;
    let code = within("c3's close", async {
        loop {
            match c3.ws.next().await {
                Some(Ok(WsMessage::Text(_))) => received += 1,
                Some(Ok(WsMessage::Close(frame))) => {
                    return frame.map_or(1005, |f| u16::from(f.code));
                }
                Some(Ok(_)) => {}
                other => panic!("c3 before its close: {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(code, 1012, "a draining node's close");
    let mut c3 = WsClient::open(&format!(
        "ws://{}/ws?resume={c3_session}&last={received}",
        n1.addr
    ))
    .await;
    let welcome = c3.recv().await;
    assert_eq!(
        welcome["data"]["resumed"], true,
        "c3 resumes on node 1: {welcome}"
    );
    wait_stats(
        &[&n1, &n2],
        Duration::from_secs(5),
        "\"nodes\":2 after node 3 left",
        cluster_is("ok", 2),
    )
    .await;
    let took = terminated.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "node 3 was dropped only {took:?} after SIGTERM: its leave was not heard"
    );
    let status = n3.binary.wait().await;
    assert_eq!(status.code(), Some(0), "node 3 exited with {status}");
    let rest = n3.binary.rest_of_stdout().await;
    assert!(
        rest.len() == 1
            && rest[0].starts_with("cluster node ")
            && rest[0].ends_with(&format!("(prefix {prefix})")),
        "node 3's stdout after the start-up lines: {rest:?}"
    );
}
