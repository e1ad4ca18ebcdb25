//! The namespace scenario every cluster backend runs: two hubs mounted in
//! one router on each node, kept apart across nodes by their namespaces.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use switchboard::Hub;
use switchboard::adapter::{ClusterAdapter, ClusterOptions};
use tokio::net::TcpListener;

use crate::cluster::{ClusterBackend, test_options};
use crate::{WAIT, WsClient};

/// One node serving two hubs, namespaces `a` and `b`, at `/a/ws` and
/// `/b/ws` of one router on one listener.
#[derive(Debug)]
pub struct TwoHubNode {
    /// The hub of namespace `a`.
    pub a: Hub,
    /// The hub of namespace `b`.
    pub b: Hub,
    /// Where the node listens.
    pub addr: SocketAddr,
}

impl TwoHubNode {
    /// Builds both hubs over drivers of `backend` and serves them.
    pub async fn start<B: ClusterBackend>(backend: &B, options: ClusterOptions) -> Self {
        let hub = |namespace: &str| {
            Hub::builder()
                .namespace(namespace)
                .adapter(ClusterAdapter::new(backend.driver(), options.clone()))
                .cluster_timeout(Duration::from_secs(2))
                .build()
        };
        let (a, b) = (hub("a"), hub("b"));
        let router = a.router("/a/ws").merge(b.router("/b/ws"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let served = a.clone();
        tokio::spawn(async move {
            let _ = served
                .serve_router(listener, router, std::future::pending())
                .await;
        });
        Self { a, b, addr }
    }

    /// A client of the hub at `/{namespace}/ws`.
    pub async fn client(&self, namespace: &str) -> WsClient {
        WsClient::connect(&format!("ws://{}/{namespace}/ws", self.addr)).await
    }
}

/// Waits until `hub` sees exactly `peers` other nodes.
async fn wait_peers(hub: &Hub, peers: usize) {
    let mut watch = hub.cluster().watch();
    tokio::time::timeout(
        WAIT,
        watch.wait_for(|s| s.backend_up && s.peers.len() == peers),
    )
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {peers} peer(s)"))
    .expect("cluster status channel closed");
}

/// Two nodes, each with hubs `a` and `b` on one backend and one cluster
/// prefix: each hub sees only its own namespace's other node; a broadcast
/// to a room of hub `a` reaches `a`'s members on both nodes and none of
/// `b`'s members of the same-named room, and the other way round; the
/// cluster-wide questions answer per namespace.
pub async fn namespaces_stay_apart<B: ClusterBackend>(backend: &B) {
    let one = TwoHubNode::start(backend, test_options()).await;
    let two = TwoHubNode::start(backend, test_options()).await;
    for hub in [&one.a, &one.b, &two.a, &two.b] {
        wait_peers(hub, 1).await;
    }
    let mut a1 = one.client("a").await;
    let mut b1 = one.client("b").await;
    let mut a2 = two.client("a").await;
    let mut b2 = two.client("b").await;
    for client in [&mut a1, &mut b1, &mut a2, &mut b2] {
        let reply = client.join("r").await;
        assert_eq!(reply["data"]["room"], "r", "{reply}");
    }

    // Hub a's room, from node one: a's members on both nodes.
    one.a.to("r").emit("news", "for a").expect("emit");
    for client in [&mut a1, &mut a2] {
        let m = client.recv_event("news").await;
        assert_eq!((&m["data"], &m["room"]), (&json!("for a"), &json!("r")));
    }
    // Hub b's room, from node two: b's members only; their first message
    // proves a's broadcast never reached them.
    two.b.to("r").emit("news", "for b").expect("emit");
    for client in [&mut b1, &mut b2] {
        let m = client.recv_event("news").await;
        assert_eq!(m["data"], "for b", "{m}");
    }
    // And a's members got nothing of b's.
    one.a.to_all().emit("mark", 1).expect("emit");
    for client in [&mut a1, &mut a2] {
        let m = client.recv_event("mark").await;
        assert_eq!(m["data"], 1);
    }

    // A client relay stays in its namespace too.
    b2.send(json!({"event": "chat", "data": "hi", "room": "r", "ack": 9}))
        .await;
    assert_eq!(b2.recv().await["reply"], 9);
    let relayed = b1.recv_event("chat").await;
    assert_eq!(relayed["from"], b2.id.as_str());
    one.a.to_all().emit("mark", 2).expect("emit");
    for client in [&mut a1, &mut a2] {
        assert_eq!(client.recv_event("mark").await["data"], 2);
    }

    // send_to and to_sockets with an id of the other namespace reach
    // nobody; with an id of the same namespace on the other node, it.
    one.a.send_to(&b2.id, "direct", 3).expect("send_to");
    one.a
        .to_sockets([&b1.id, &b2.id, &a2.id])
        .emit("listed", 4)
        .expect("emit");
    assert_eq!(a2.recv_event("listed").await["data"], 4);
    two.b.to_all().emit("mark", 5).expect("emit");
    for client in [&mut b1, &mut b2] {
        assert_eq!(client.recv_event("mark").await["data"], 5);
    }

    // Cluster-wide questions answer per namespace.
    let mut members_a = vec![a1.id.clone(), a2.id.clone()];
    members_a.sort();
    let members = one.a.cluster().members("r").await;
    assert_eq!(members.value, members_a);
    assert_eq!(members.answered.len(), 2);
    assert_eq!(two.b.cluster().count().await.value, 2);
}
