//! The cluster scenarios every backend runs: the memory bus here, Redis in
//! `switchboard-redis`, NATS in `switchboard-nats`. Each starts real hubs on
//! `127.0.0.1:0` with real WebSocket clients.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::adapter::{ClusterAdapter, ClusterOptions, Driver, MemoryBus};
use switchboard::{CloseCode, Hub};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::{Ended, WAIT, WsClient};

/// A backend the scenarios can run on and cut off.
pub trait ClusterBackend {
    /// The driver type.
    type Driver: Driver;

    /// A new driver for one more node.
    fn driver(&self) -> Self::Driver;

    /// Makes the backend unreachable (every node's link drops).
    fn cut(&mut self) -> impl std::future::Future<Output = ()> + Send;

    /// Makes it reachable again.
    fn restore(&mut self) -> impl std::future::Future<Output = ()> + Send;
}

/// The in-process bus as a scenario backend.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    bus: MemoryBus,
}

impl ClusterBackend for MemoryBackend {
    type Driver = MemoryBus;

    fn driver(&self) -> MemoryBus {
        self.bus.clone()
    }

    async fn cut(&mut self) {
        self.bus.set_available(false);
    }

    async fn restore(&mut self) {
        self.bus.set_available(true);
    }
}

/// A real backend process as a scenario backend: `make` builds a driver
/// for its URL; cutting it kills the process, restoring starts it again on
/// the same port.
pub struct ServerBackend<F> {
    /// The backend process.
    pub server: crate::BackendServer,
    make: F,
}

impl<F> std::fmt::Debug for ServerBackend<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBackend")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<F> ServerBackend<F> {
    /// Starts a private server of `backend`; `None` to skip the test when
    /// its binary is missing outside CI.
    pub async fn start(backend: crate::Backend, make: F) -> Option<Self> {
        let server = crate::BackendServer::start(backend).await?;
        Some(Self { server, make })
    }
}

impl<D: Driver, F: Fn(&str) -> D + Send> ClusterBackend for ServerBackend<F> {
    type Driver = D;

    fn driver(&self) -> D {
        (self.make)(&self.server.url())
    }

    async fn cut(&mut self) {
        self.server.stop().await;
    }

    async fn restore(&mut self) {
        self.server.restart().await;
    }
}

/// Options for quick tests: fast heartbeats and reconnects.
pub fn test_options() -> ClusterOptions {
    ClusterOptions::default()
        .heartbeat_interval(Duration::from_millis(200))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400))
}

/// One hub serving on a free port.
#[derive(Debug)]
pub struct Node {
    /// The hub.
    pub hub: Hub,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Node {
    /// Builds a hub over `driver` and serves it at `/`.
    pub async fn start(driver: impl Driver, options: ClusterOptions) -> Self {
        let hub = Hub::builder()
            .adapter(ClusterAdapter::new(driver, options))
            .cluster_timeout(Duration::from_secs(2))
            .build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let served = hub.clone();
        tokio::spawn(async move {
            let _ = served.serve(listener).await;
        });
        Self { hub, addr }
    }

    /// The hub's WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// A client connected to this node.
    pub async fn client(&self) -> WsClient {
        WsClient::connect(&self.url()).await
    }

    /// Waits until this node's view of the cluster satisfies `condition`.
    pub async fn wait_status(
        &self,
        what: &str,
        condition: impl FnMut(&switchboard::adapter::ClusterStatus) -> bool,
    ) {
        let mut watch = self.hub.cluster().watch();
        tokio::time::timeout(WAIT, watch.wait_for(condition))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("cluster status channel closed");
    }
}

/// Starts `n` nodes over `backend` and waits until each sees the others.
pub async fn start_nodes<B: ClusterBackend>(backend: &B, n: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start(backend.driver(), test_options()).await);
    }
    for node in &nodes {
        node.wait_status("every node to see the others", |s| {
            s.backend_up && s.peers.len() == n - 1
        })
        .await;
    }
    nodes
}

/// Asserts `client`'s next message is `event` with `data`, and returns it.
async fn expect(client: &mut WsClient, event: &str, data: Value) -> Value {
    let message = client.recv_event(event).await;
    assert_eq!(message["data"], data, "{event} to {}: {message}", client.id);
    message
}

/// Joins `client` to `room`, asserting the hub agreed.
async fn join(client: &mut WsClient, room: &str) {
    let reply = client.join(room).await;
    assert_eq!(reply["data"]["room"], room, "join refused: {reply}");
}

/// Every operation reaches the sockets of every node: broadcast to all, to
/// rooms, with `except`; `send_to`; relays; members, rooms of, count;
/// acks; kicks; and a broadcast crosses the backend once however many
/// sockets it reaches.
pub async fn every_operation_crosses_nodes<B: ClusterBackend>(backend: &B) {
    let nodes = start_nodes(backend, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let mut a1 = a.client().await;
    let mut a2 = a.client().await;
    let mut b1 = b.client().await;
    let mut c1 = c.client().await;
    let ids = [&a1.id, &a2.id, &b1.id, &c1.id];
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[i + 1..].contains(id), "socket ids repeat across nodes");
    }
    join(&mut a1, "r").await;
    join(&mut b1, "r").await;

    // To all, from A.
    a.hub.to_all().emit("all", 1).expect("emit");
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        expect(client, "all", json!(1)).await;
    }

    // To a room, from C (which has no member): A and B members get it with
    // `room`; the next broadcast to all proves the others got nothing.
    c.hub.to("r").emit("room", 2).expect("emit");
    let m = expect(&mut a1, "room", json!(2)).await;
    assert_eq!(m["room"], "r");
    expect(&mut b1, "room", json!(2)).await;
    c.hub.to_all().emit("mark", 3).expect("emit");
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        expect(client, "mark", json!(3)).await;
    }

    // Except, from B: A's member gets it, B's does not.
    b.hub
        .to("r")
        .except(&b1.id)
        .emit("except", 4)
        .expect("emit");
    expect(&mut a1, "except", json!(4)).await;
    b.hub.to_all().emit("mark", 5).expect("emit");
    expect(&mut b1, "mark", json!(5)).await;
    expect(&mut a1, "mark", json!(5)).await;
    for client in [&mut a2, &mut c1] {
        expect(client, "mark", json!(5)).await;
    }

    // send_to an id on another node.
    a.hub.send_to(&c1.id, "direct", 6).expect("send_to");
    expect(&mut c1, "direct", json!(6)).await;

    // A relay from B's member reaches A's member, not the sender.
    b1.send(json!({"event": "chat", "data": "hi", "room": "r", "ack": 7}))
        .await;
    let reply = b1.recv().await;
    assert_eq!(reply["reply"], 7, "relay ack: {reply}");
    let relayed = expect(&mut a1, "chat", json!("hi")).await;
    assert_eq!(relayed["from"], b1.id.as_str());
    assert_eq!(relayed["room"], "r");

    // Cluster-wide questions, asked from a node holding none of the answer.
    let members = c.hub.cluster().members("r").await;
    let mut expected = vec![a1.id.clone(), b1.id.clone()];
    expected.sort();
    assert_eq!(members.value, expected);
    assert!(members.is_complete(), "missing: {:?}", members.missing);
    assert_eq!(members.answered.len(), 3);
    assert_eq!(members.answered[0], c.hub.node_id());
    let rooms = a.hub.cluster().rooms_of(&b1.id).await;
    assert_eq!(rooms.value, ["r"]);
    assert!(c.hub.cluster().rooms_of("nobody").await.value.is_empty());
    let count = c.hub.cluster().count().await;
    assert_eq!(count.value, 4);
    assert_eq!(c.hub.count(), 1, "count() stays this node's");
    assert_eq!(
        c.hub.members("r"),
        Vec::<String>::new(),
        "members() stays local"
    );

    // local() stays on this node.
    a.hub.local().emit("local", 8).expect("emit");
    expect(&mut a1, "local", json!(8)).await;
    expect(&mut a2, "local", json!(8)).await;
    a.hub.to_all().emit("mark", 9).expect("emit");
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        expect(client, "mark", json!(9)).await;
    }

    // One broadcast crosses the backend once, whatever it reaches.
    let before = a.hub.cluster().stats().published;
    a.hub.to_all().emit("once", 10).expect("emit");
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        expect(client, "once", json!(10)).await;
    }
    assert_eq!(a.hub.cluster().stats().published - before, 1);

    // To a list of socket ids on several nodes, from A: the ids A holds
    // are served here, the others cross the backend in one message; a2
    // (not listed) and an unknown id get nothing.
    let before = a.hub.cluster().stats().published;
    let listed = [a1.id.clone(), b1.id.clone(), c1.id.clone(), "nobody".into()];
    let here = a.hub.to_sockets(&listed).emit("listed", 11).expect("emit");
    assert_eq!(here, 1, "one listed socket is on A");
    for client in [&mut a1, &mut b1, &mut c1] {
        let m = expect(client, "listed", json!(11)).await;
        assert!(m.get("room").is_none(), "reached by id, not a room: {m}");
    }
    assert_eq!(a.hub.cluster().stats().published - before, 1);
    // Ids all held here never cross nodes.
    let before = a.hub.cluster().stats().published;
    a.hub
        .to_sockets([&a1.id, &a2.id])
        .emit("here", 12)
        .expect("emit");
    expect(&mut a1, "here", json!(12)).await;
    expect(&mut a2, "here", json!(12)).await;
    assert_eq!(a.hub.cluster().stats().published - before, 0);
    // A room and ids together, with except: b1 (room member and listed)
    // once with `room`, c1 by id, a1 excluded.
    c.hub
        .to("r")
        .to_sockets([&b1.id, &c1.id, &a1.id])
        .except(&a1.id)
        .emit("mixed", 13)
        .expect("emit");
    let m = expect(&mut b1, "mixed", json!(13)).await;
    assert_eq!(m["room"], "r");
    let m = expect(&mut c1, "mixed", json!(13)).await;
    assert!(m.get("room").is_none(), "{m}");
    b.hub.to_all().emit("mark", 14).expect("emit");
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        expect(client, "mark", json!(14)).await;
    }

    // Acks from every node: A's and B's members answer, C's stays silent
    // and times out.
    join(&mut c1, "r").await;
    let hub = a.hub.clone();
    let acks = tokio::spawn(async move {
        hub.to("r")
            .emit_with_ack::<Value>("ask", "q", Duration::from_millis(800))
            .await
    });
    for client in [&mut a1, &mut b1] {
        let ask = expect(client, "ask", json!("q")).await;
        let ack = ask["ack"].as_u64().expect("ack id");
        let id = client.id.clone();
        client
            .send(json!({"reply": ack, "data": {"from": id}}))
            .await;
    }
    let silent = expect(&mut c1, "ask", json!("q")).await;
    assert!(silent["ack"].is_u64());
    let mut replies = tokio::time::timeout(WAIT, acks)
        .await
        .expect("acks within the wait")
        .expect("ack task")
        .expect("emit_with_ack");
    replies.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(replies.len(), 3, "{replies:?}");
    for (id, result) in &replies {
        if *id == c1.id {
            assert!(
                matches!(result, Err(switchboard::AckError::Timeout(_))),
                "{result:?}"
            );
        } else {
            assert_eq!(result.as_ref().expect("reply")["from"], id.as_str());
        }
    }

    // Kick on another node: the socket gets 4000, the answer says found.
    let kicked = a.hub.cluster().disconnect(&c1.id, CloseCode::Kicked).await;
    assert!(kicked.value && kicked.is_complete());
    assert_eq!(c1.closed().await, Ended::Close(4000));
    let unknown = a
        .hub
        .cluster()
        .disconnect("nobody", CloseCode::Kicked)
        .await;
    assert!(!unknown.value && unknown.is_complete());

    // Disconnect through a room operator reaches other nodes too.
    a.hub.to("r").except(&a1.id).disconnect(CloseCode::Kicked);
    assert_eq!(b1.closed().await, Ended::Close(4000));
}

/// Nodes leaving: a node shut down gracefully is dropped at once; a node
/// that stops heart-beating (its hub is gone) is dropped after the node
/// timeout; both stop being waited for.
pub async fn nodes_come_and_go<B: ClusterBackend>(backend: &B) {
    let nodes = start_nodes(backend, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let c_id = c.hub.node_id().to_owned();
    c.hub.shutdown().await;
    for node in [a, b] {
        node.wait_status("the shut-down node to be dropped", |s| {
            !s.peers.contains(&c_id)
        })
        .await;
    }
    // A hub that is simply dropped falls silent.
    let ghost = Hub::builder()
        .adapter(ClusterAdapter::new(backend.driver(), test_options()))
        .build();
    let ghost_id = ghost.node_id().to_owned();
    a.wait_status("the new node to be seen", |s| s.peers.contains(&ghost_id))
        .await;
    drop(ghost);
    a.wait_status("the silent node to be dropped", |s| {
        !s.peers.contains(&ghost_id)
    })
    .await;
    let count = a.hub.cluster().count().await;
    assert!(count.is_complete(), "missing: {:?}", count.missing);
    assert_eq!(count.answered.len(), 2);
    let _ = b;
}

/// Forwards every `n` event's data a client receives into a channel.
fn collect_numbers(mut client: WsClient) -> mpsc::UnboundedReceiver<u64> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let message = client.recv().await;
            if message["event"] == "n" {
                let n = message["data"].as_u64().expect("number");
                if tx.send(n).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Waits until a number at least `n` arrives; returns every number read.
async fn read_until(rx: &mut mpsc::UnboundedReceiver<u64>, n: u64, seen: &mut Vec<u64>) {
    tokio::time::timeout(WAIT, async {
        while let Some(got) = rx.recv().await {
            seen.push(got);
            if got >= n {
                return;
            }
        }
        panic!("number stream ended");
    })
    .await
    .unwrap_or_else(|_| panic!("number {n} did not arrive; last {:?}", seen.last()));
}

/// The backend stops and restarts under traffic: local delivery never
/// stops, cross-node delivery resumes by itself, what could not cross is
/// counted, and cluster answers say who is missing meanwhile.
pub async fn backend_outage_mid_traffic<B: ClusterBackend>(backend: &mut B) {
    let nodes = start_nodes(backend, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut a1 = a.client().await;
    let mut b1 = b.client().await;
    join(&mut a1, "r").await;
    join(&mut b1, "r").await;
    let b_id = b.hub.node_id().to_owned();
    let mut local = collect_numbers(a1);
    let mut remote = collect_numbers(b1);

    // A steady publisher on A: one message per millisecond.
    let hub = a.hub.clone();
    let (next_tx, mut next_rx) = tokio::sync::watch::channel(0u64);
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let publisher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut n = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop_rx => return n - 1,
            }
            hub.to("r").emit("n", n).expect("emit");
            next_tx.send_replace(n);
            n += 1;
        }
    });
    let (mut local_seen, mut remote_seen) = (Vec::new(), Vec::new());
    read_until(&mut remote, 50, &mut remote_seen).await;

    backend.cut().await;
    a.wait_status("A to see the backend down", |s| !s.backend_up)
        .await;
    b.wait_status("B to see the backend down", |s| !s.backend_up)
        .await;
    let cut_at = *next_rx.borrow_and_update();
    // Local traffic goes on while the backend is down; the outage lasts
    // past the node timeout (600 ms), so peers go stale meanwhile.
    read_until(&mut local, cut_at + 900, &mut local_seen).await;
    let members = a.hub.cluster().members("r").await;
    assert_eq!(members.missing, [b_id], "B cannot answer while down");
    assert_eq!(members.value.len(), 1, "only A's member is known");
    assert!(a.hub.cluster().stats().dropped >= 100);

    backend.restore().await;
    for node in [a, b] {
        node.wait_status("the cluster to re-form", |s| {
            s.backend_up && s.peers.len() == 1
        })
        .await;
    }
    let restored_at = *next_rx.borrow_and_update();
    read_until(&mut remote, restored_at + 100, &mut remote_seen).await;
    let _ = stop_tx.send(());
    let last = publisher.await.expect("publisher");
    read_until(&mut local, last, &mut local_seen).await;

    // Local: every number, in order, none twice.
    assert_eq!(local_seen, (0..=last).collect::<Vec<_>>());
    // Remote: increasing, no duplicates, a gap only around the outage.
    assert!(remote_seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert!(
        remote_seen.iter().any(|n| *n > restored_at),
        "nothing after the restore"
    );
    for node in [a, b] {
        let stats = node.hub.cluster().stats();
        assert!(stats.reconnects >= 1, "{stats:?}");
    }
    assert!(a.hub.cluster().members("r").await.is_complete());
}
