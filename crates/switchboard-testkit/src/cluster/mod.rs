//! The cluster scenarios every backend runs: the memory bus here, Redis in
//! `switchboard-redis`, NATS in `switchboard-nats`. Each starts real hubs on
//! `127.0.0.1:0` with real WebSocket clients.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use switchboard::adapter::{ClusterAdapter, ClusterOptions, Driver, MemoryBus};
use switchboard::{Hub, HubBuilder};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::{WAIT, WsClient};

mod operations;
mod presence;
mod users;

pub use operations::every_operation_crosses_nodes;
pub use presence::presence_cross_nodes;
pub use users::users_cross_nodes;

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
        Self::start_with(Hub::builder(), driver, options).await
    }

    /// [`Node::start`] from the application's own builder.
    pub async fn start_with(
        builder: HubBuilder,
        driver: impl Driver,
        options: ClusterOptions,
    ) -> Self {
        let hub = builder
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
