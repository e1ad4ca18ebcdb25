//! The cluster scenarios every backend runs: the memory bus here, Redis in
//! `switchboard-redis`, NATS in `switchboard-nats`. Each starts real hubs on
//! `127.0.0.1:0` with real WebSocket clients.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use switchboard::adapter::{ClusterAdapter, ClusterOptions, Driver, MemoryBus};
use switchboard::{Hub, HubBuilder};
use tokio::net::TcpListener;

use crate::{WAIT, WsClient};

mod history;
mod operations;
mod outage;
mod presence;
mod sessions;
mod users;

pub use history::history_cross_nodes;
pub use operations::every_operation_crosses_nodes;
pub use outage::{
    backend_outage_mid_traffic, held_backlogs_go_out_without_waiting_out_the_node_timeout,
    outage_backlog_is_bounded,
};
pub use presence::presence_cross_nodes;
pub use sessions::{
    a_draining_node_hands_its_sessions_over, a_lone_node_shuts_down_as_a_single_hub,
    sessions_move_between_nodes,
};
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
