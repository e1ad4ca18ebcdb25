//! The cluster adapter: node discovery, heartbeats, operations, requests and
//! reconnection, written once over any [`Driver`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::nodes::NodeTable;
use super::requests::RequestTable;
use super::wire::{Body, Envelope, all_channel, node_channel};
use super::{
    Adapter, ClusterOptions, ClusterStats, ClusterStatus, Driver, DriverError, DriverLink,
    DriverPublisher, HistoryLimits, NodeHandle, Operation, Query, RemoteReplies, Reply,
    SharedHistoryStore,
};

/// A hub's link to the other nodes of its cluster, over any [`Driver`].
///
/// It connects at start and whenever the connection is lost (with
/// exponential backoff), announces the node every heartbeat interval,
/// forgets nodes that fall silent, publishes operations in the order the
/// hub makes them, and collects replies to cluster-wide questions. While
/// the backend is down, what should cross nodes is dropped and counted.
pub struct ClusterAdapter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ClusterAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("node_id", &self.shared.node_id)
            .field("driver", &self.shared.driver.name())
            .finish_non_exhaustive()
    }
}

/// Where an outbound message goes.
enum Destination {
    All,
    Node(String),
}

struct Outbound {
    destination: Destination,
    payload: Bytes,
    /// Waits out a backend outage (an operation); otherwise (heartbeats,
    /// requests, replies: stale by then) it is skipped while the backend is
    /// away.
    keep: bool,
}

/// The peers awaited after a reconnection, and until when.
#[derive(Default)]
struct Resubscribing {
    awaited: std::collections::HashSet<String>,
    until: Option<Instant>,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    undecodable: AtomicU64,
    reconnects: AtomicU64,
    incomplete_requests: AtomicU64,
}

struct Shared {
    node_id: String,
    driver: Arc<dyn Driver>,
    options: ClusterOptions,
    /// `{prefix}` or `{prefix}.{namespace}`, set at start.
    channel_prefix: OnceLock<String>,
    /// `{channel_prefix}.all`, set at start.
    all_channel: OnceLock<String>,
    nodes: Mutex<NodeTable>,
    requests: RequestTable,
    outbound_tx: mpsc::Sender<Outbound>,
    outbound_rx: Mutex<Option<mpsc::Receiver<Outbound>>>,
    /// The live link's publisher; `None` while the backend is down.
    publisher: Mutex<Option<Arc<dyn DriverPublisher>>>,
    /// Counts the links made: the publish loop waits for the next one.
    links: watch::Sender<u64>,
    /// Bytes of the operations in the outbound queue.
    queued_bytes: AtomicUsize,
    /// Envelopes queued and not yet published (or given up).
    unsent: AtomicUsize,
    /// Woken when `unsent` falls to zero.
    all_sent: Notify,
    /// After a reconnection, the peers not heard from yet: operations wait
    /// (up to the node timeout) until every known peer is subscribed
    /// again, so what an outage held back reaches them.
    resubscribing: Mutex<Resubscribing>,
    /// Whether operations may go out (no peer awaited).
    peers_ready: watch::Sender<bool>,
    /// Woken when a publish finds the link dead.
    link_broken: Notify,
    status: watch::Sender<ClusterStatus>,
    counters: Counters,
    stop: watch::Sender<bool>,
    node: OnceLock<NodeHandle>,
    connected_once: AtomicBool,
    /// Whether a presence snapshot request is in flight (one at a time).
    presence_sync: AtomicBool,
}

impl ClusterAdapter {
    /// An adapter over `driver`; it connects when the hub is built.
    pub fn new(driver: impl Driver, options: ClusterOptions) -> Self {
        let (outbound_tx, outbound_rx) = mpsc::channel(options.outbound_capacity.max(1));
        Self {
            shared: Arc::new(Shared {
                node_id: crate::id::new_socket_id(),
                driver: Arc::new(driver),
                channel_prefix: OnceLock::new(),
                all_channel: OnceLock::new(),
                nodes: Mutex::new(NodeTable::new(options.node_timeout)),
                options,
                requests: RequestTable::default(),
                outbound_tx,
                outbound_rx: Mutex::new(Some(outbound_rx)),
                publisher: Mutex::new(None),
                links: watch::Sender::new(0),
                queued_bytes: AtomicUsize::new(0),
                unsent: AtomicUsize::new(0),
                all_sent: Notify::new(),
                resubscribing: Mutex::new(Resubscribing::default()),
                peers_ready: watch::Sender::new(true),
                link_broken: Notify::new(),
                status: watch::Sender::new(ClusterStatus::default()),
                counters: Counters::default(),
                stop: watch::Sender::new(false),
                node: OnceLock::new(),
                connected_once: AtomicBool::new(false),
                presence_sync: AtomicBool::new(false),
            }),
        }
    }

    /// The options it runs with.
    pub fn options(&self) -> &ClusterOptions {
        &self.shared.options
    }

    /// The prefix of its channels: [`ClusterOptions::prefix`], followed by
    /// `.{namespace}` when its hub has a
    /// [namespace](crate::HubBuilder::namespace). Known once the hub is
    /// built; before, the bare prefix.
    pub fn channel_prefix(&self) -> &str {
        self.shared.channel_prefix()
    }
}

/// Channel prefixes in use by the cluster adapters of this process, with
/// how many use each: two hubs on the same channels act as one.
static PREFIXES_IN_USE: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());

/// Counts one more adapter on `prefix`; warns when it is not the first.
fn claim_prefix(prefix: &str) {
    let mut in_use = PREFIXES_IN_USE.lock();
    if let Some((_, count)) = in_use.iter_mut().find(|(p, _)| p == prefix) {
        *count += 1;
        tracing::warn!(
            prefix,
            hubs = *count,
            "several hubs of this process use the same cluster channels: on one backend \
             they act as one hub (each one's broadcasts reach the other's clients); give \
             each its own HubBuilder::namespace unless they are meant as nodes of one cluster"
        );
    } else {
        in_use.push((prefix.to_owned(), 1));
    }
}

fn release_prefix(prefix: &str) {
    let mut in_use = PREFIXES_IN_USE.lock();
    if let Some(i) = in_use.iter().position(|(p, _)| p == prefix) {
        in_use[i].1 -= 1;
        if in_use[i].1 == 0 {
            in_use.swap_remove(i);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(prefix) = self.channel_prefix.get() {
            release_prefix(prefix);
        }
    }
}

impl Adapter for ClusterAdapter {
    fn start(&self, node: NodeHandle) {
        let prefix = match node.namespace() {
            Some(namespace) => format!("{}.{namespace}", self.shared.options.prefix),
            None => self.shared.options.prefix.clone(),
        };
        if self.shared.node.set(node).is_err() {
            tracing::warn!("a cluster adapter serves one hub: second start ignored");
            return;
        }
        claim_prefix(&prefix);
        let _ = self.shared.all_channel.set(all_channel(&prefix));
        let _ = self.shared.channel_prefix.set(prefix);
        let Some(outbound) = self.shared.outbound_rx.lock().take() else {
            return;
        };
        tokio::spawn(self.shared.clone().publish_loop(outbound));
        tokio::spawn(self.shared.clone().connection_loop());
    }

    fn node_id(&self) -> &str {
        &self.shared.node_id
    }

    fn history(&self, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        let prefix = self.shared.channel_prefix.get()?;
        let store = self.shared.driver.history(prefix, limits);
        if store.is_none() {
            tracing::error!(
                backend = self.shared.driver.name(),
                "this cluster backend keeps no room history: history rooms keep none"
            );
        }
        store
    }

    fn is_clustered(&self) -> bool {
        true
    }

    fn publish(&self, operation: Operation) {
        self.shared
            .send(Destination::All, Body::Operation(operation));
    }

    fn publish_to(&self, node: &str, operation: Operation) {
        self.shared.send(
            Destination::Node(node.to_owned()),
            Body::Operation(operation),
        );
    }

    fn request(&self, query: Query, timeout: Duration) -> BoxFuture<'static, RemoteReplies> {
        let shared = self.shared.clone();
        Box::pin(async move { shared.request(query, timeout).await })
    }

    fn status(&self) -> watch::Receiver<ClusterStatus> {
        self.shared.status.subscribe()
    }

    fn stats(&self) -> ClusterStats {
        let c = &self.shared.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        ClusterStats {
            published: get(&c.published),
            received: get(&c.received),
            dropped: get(&c.dropped),
            undecodable: get(&c.undecodable),
            reconnects: get(&c.reconnects),
            incomplete_requests: get(&c.incomplete_requests),
            queued_bytes: self.shared.queued_bytes.load(Ordering::Relaxed) as u64,
        }
    }

    fn stop(&self) -> BoxFuture<'static, ()> {
        let shared = self.shared.clone();
        Box::pin(async move {
            if *shared.stop.borrow() {
                return;
            }
            // What was queued before goes out first (a moved session's
            // last forwarded frames, say), within a bound.
            shared.flush(Duration::from_secs(1)).await;
            if shared.stop.send_replace(true) {
                return;
            }
            // Say goodbye directly, so peers stop waiting for this node now
            // rather than at the node timeout.
            let publisher = shared.publisher.lock().clone();
            if let Some(publisher) = publisher {
                let leave = Envelope::new(&shared.node_id, Body::Leave).encode();
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = publisher.publish(shared.all_channel(), leave).await;
                    let _ = publisher.flush().await;
                })
                .await;
            }
        })
    }
}

impl Shared {
    fn channel_prefix(&self) -> &str {
        self.channel_prefix
            .get()
            .map_or(self.options.prefix.as_str(), String::as_str)
    }

    fn all_channel(&self) -> &str {
        self.all_channel.get().map_or("", String::as_str)
    }

    fn own_channel(&self) -> String {
        node_channel(self.channel_prefix(), &self.node_id)
    }

    fn drop_one(&self) {
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Queues a body for publishing; never waits. Returns whether it was
    /// queued.
    fn send(&self, destination: Destination, body: Body) -> bool {
        self.send_envelope(destination, Envelope::new(&self.node_id, body))
    }

    /// Queues a heartbeat, with the number of the hub's last presence
    /// change: it leaves after the changes it counts, on the same channel.
    fn send_heartbeat(self: &Arc<Self>) -> bool {
        if !*self.peers_ready.borrow() {
            // Operations are held until the peers are heard from again,
            // and the queued heartbeat waits behind them: the peers, which
            // may be holding theirs for the same reason, hear a direct one,
            // without a presence number (it would count changes still
            // held).
            self.heartbeat_directly();
        }
        let presence = self.node.get().and_then(NodeHandle::presence_seq);
        self.send_envelope(
            Destination::All,
            Envelope::heartbeat(&self.node_id, presence),
        )
    }

    /// Publishes a heartbeat without a presence number past the outbound
    /// queue.
    fn heartbeat_directly(self: &Arc<Self>) {
        let Some(publisher) = self.publisher.lock().clone() else {
            return;
        };
        let shared = self.clone();
        let beat = Envelope::heartbeat(&self.node_id, None).encode();
        tokio::spawn(async move {
            if let Err(error) = publisher.publish(shared.all_channel(), beat).await {
                tracing::debug!(%error, "direct heartbeat failed");
            }
        });
    }

    /// Queues an envelope. An operation waits out a backend outage within
    /// the outbound bounds (beyond them it is dropped and counted); the
    /// rest is skipped while the backend is away.
    fn send_envelope(&self, destination: Destination, envelope: Envelope) -> bool {
        let keep = matches!(envelope.body, Body::Operation(_));
        if !keep && self.publisher.lock().is_none() {
            return false;
        }
        let payload = envelope.encode();
        let len = payload.len();
        if keep {
            let queued = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
            if queued + len > self.options.outbound_bytes {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                self.drop_one();
                return false;
            }
        }
        let outbound = Outbound {
            destination,
            payload,
            keep,
        };
        self.unsent.fetch_add(1, Ordering::AcqRel);
        match self.outbound_tx.try_send(outbound) {
            Ok(()) => true,
            Err(_) => {
                self.sent_one();
                if keep {
                    self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                    self.drop_one();
                }
                false
            }
        }
    }

    /// One queued envelope was published or given up.
    fn sent_one(&self) {
        if self.unsent.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_sent.notify_waiters();
        }
    }

    /// Resolves once every envelope queued so far was published or given
    /// up, or after `timeout`.
    async fn flush(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.all_sent.notified();
                if self.unsent.load(Ordering::Acquire) == 0 || self.publisher.lock().is_none() {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    /// The peers as this node sees them: those heard from within the node
    /// timeout or, while the backend is down, every node known when it
    /// went away (they cannot be heard, so they are neither live nor gone).
    fn peers(&self) -> Vec<String> {
        let backend_up = self.publisher.lock().is_some();
        let nodes = self.nodes.lock();
        if backend_up {
            nodes.live(Instant::now())
        } else {
            nodes.known()
        }
    }

    async fn request(&self, query: Query, timeout: Duration) -> RemoteReplies {
        let peers = self.peers();
        if peers.is_empty() {
            return RemoteReplies::default();
        }
        let (id, all_answered) = self.requests.open(&peers);
        if self.send(Destination::All, Body::Request { id, query }) {
            let _ = tokio::time::timeout(timeout, all_answered).await;
        }
        let replies = self.requests.close(id);
        if !replies.missing.is_empty() {
            self.counters
                .incomplete_requests
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(missing = ?replies.missing, "cluster request incomplete");
        }
        replies
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Publishes queued envelopes one at a time, in order. An operation
    /// that finds the backend away waits for the next link (and is tried
    /// again if the link breaks under it), so what an outage held back goes
    /// out in order once the backend returns.
    async fn publish_loop(self: Arc<Self>, mut outbound: mpsc::Receiver<Outbound>) {
        let mut stop = self.stop.subscribe();
        loop {
            let next = tokio::select! {
                next = outbound.recv() => next,
                _ = stop.wait_for(|stopped| *stopped) => None,
            };
            let Some(next) = next else {
                return;
            };
            if next.keep {
                self.queued_bytes
                    .fetch_sub(next.payload.len(), Ordering::AcqRel);
            }
            let published = self.publish_one(next).await;
            self.sent_one();
            if !published {
                return; // stopped
            }
        }
    }

    /// Publishes one envelope, waiting for the backend if it must; false
    /// once the adapter stops.
    async fn publish_one(&self, next: Outbound) -> bool {
        let channel = match &next.destination {
            Destination::All => self.all_channel().to_owned(),
            Destination::Node(node) => node_channel(self.channel_prefix(), node),
        };
        let mut links = self.links.subscribe();
        let mut ready = self.peers_ready.subscribe();
        loop {
            if next.keep {
                let mut stop = self.stop.subscribe();
                tokio::select! {
                    waited = ready.wait_for(|ready| *ready) => {
                        if waited.is_err() {
                            return false;
                        }
                    }
                    _ = stop.wait_for(|stopped| *stopped) => return false,
                }
            }
            let link = *links.borrow_and_update();
            let publisher = self.publisher.lock().clone();
            let error = match publisher {
                Some(publisher) => match publisher.publish(&channel, next.payload.clone()).await {
                    Ok(()) => {
                        self.counters.published.fetch_add(1, Ordering::Relaxed);
                        return true;
                    }
                    Err(error) => error,
                },
                None if next.keep => DriverError::Unreachable("the backend is away".into()),
                None => return true,
            };
            let unreachable = matches!(error, DriverError::Unreachable(_));
            if unreachable {
                self.link_broken.notify_one();
            }
            if !unreachable || !next.keep {
                tracing::debug!(%error, "cluster publish failed");
                if next.keep {
                    self.drop_one();
                }
                return true;
            }
            // Wait for the next link, then try again.
            let mut stop = self.stop.subscribe();
            tokio::select! {
                changed = links.wait_for(|made| *made != link) => {
                    if changed.is_err() {
                        return false;
                    }
                }
                _ = stop.wait_for(|stopped| *stopped) => return false,
            }
        }
    }

    /// Connects, serves the link until it is lost, and reconnects, until
    /// the adapter stops or its hub is gone; then stops the publisher too.
    async fn connection_loop(self: Arc<Self>) {
        self.clone().serve_until_stopped().await;
        self.stop.send_replace(true);
    }

    async fn serve_until_stopped(self: Arc<Self>) {
        let channels = vec![self.all_channel().to_owned(), self.own_channel()];
        let mut stop = self.stop.subscribe();
        let mut backoff = self.options.reconnect_min;
        let mut failures = 0u32;
        while !self.stopped() && self.hub_alive() {
            let attempt = tokio::select! {
                attempt = self.driver.connect(&channels) => attempt,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match attempt {
                Ok(link) => {
                    if self.connected_once.swap(true, Ordering::AcqRel) {
                        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(backend = self.driver.name(), "cluster backend reconnected");
                        if let Some(node) = self.node.get() {
                            node.backend_returned();
                        }
                    } else {
                        tracing::info!(
                            backend = self.driver.name(),
                            node = %self.node_id,
                            "joined the cluster"
                        );
                    }
                    failures = 0;
                    backoff = self.options.reconnect_min;
                    self.serve_link(link).await;
                    if self.stopped() {
                        return;
                    }
                    tracing::warn!(
                        backend = self.driver.name(),
                        "cluster backend lost: serving local sockets only until it returns"
                    );
                }
                Err(error) => {
                    failures += 1;
                    if failures == 1 {
                        tracing::warn!(backend = self.driver.name(), %error, "cannot reach the cluster backend; retrying");
                    } else {
                        tracing::debug!(backend = self.driver.name(), %error, failures, "cluster backend still unreachable");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
            backoff = (backoff * 2).min(self.options.reconnect_max);
        }
    }

    fn hub_alive(&self) -> bool {
        self.node.get().is_some_and(NodeHandle::is_alive)
    }

    /// Serves one live link: heartbeats out, envelopes in, until the link
    /// is lost or the adapter stops.
    async fn serve_link(self: &Arc<Self>, link: DriverLink) {
        let DriverLink {
            publisher,
            mut incoming,
        } = link;
        *self.publisher.lock() = Some(Arc::from(publisher));
        self.await_peers();
        self.links.send_modify(|made| *made += 1);
        if !*self.peers_ready.borrow() {
            self.heartbeat_directly();
        }
        self.refresh_status();
        let mut stop = self.stop.subscribe();
        let mut heartbeat = tokio::time::interval(self.options.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = incoming.recv() => match message {
                    Some(bytes) => self.receive(&bytes),
                    None => break,
                },
                _ = heartbeat.tick() => {
                    if !self.hub_alive() {
                        break;
                    }
                    self.send_heartbeat();
                    self.prune_nodes();
                    self.peer_heard(None);
                }
                _ = self.link_broken.notified() => break,
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
        }
        if self.stopped() {
            // Keep the publisher: `stop` says goodbye through it.
            return;
        }
        // Peers stay known while the backend is down: questions report
        // them missing. Those still silent a node timeout after the
        // reconnection are dropped then.
        *self.publisher.lock() = None;
        self.refresh_status();
    }

    /// After a (re)connection: holds operations back until every peer
    /// known from before is heard again (it has subscribed anew), for at
    /// most the node timeout.
    fn await_peers(&self) {
        let known = self.nodes.lock().known();
        if known.is_empty() {
            return;
        }
        let mut resubscribing = self.resubscribing.lock();
        resubscribing.awaited = known.into_iter().collect();
        resubscribing.until = Some(Instant::now() + self.options.node_timeout);
        self.peers_ready.send_replace(false);
    }

    /// `node` was heard (or, with `None`, a heartbeat tick passed): lets
    /// operations go once no peer is awaited or the wait is over.
    fn peer_heard(&self, node: Option<&str>) {
        if *self.peers_ready.borrow() {
            return;
        }
        let mut resubscribing = self.resubscribing.lock();
        if let Some(node) = node {
            resubscribing.awaited.remove(node);
        }
        let over = resubscribing
            .until
            .is_none_or(|until| Instant::now() >= until);
        if resubscribing.awaited.is_empty() || over {
            if !resubscribing.awaited.is_empty() {
                tracing::info!(
                    silent = ?resubscribing.awaited,
                    "cluster: publishing what the outage held back without hearing from every peer"
                );
            }
            resubscribing.awaited.clear();
            resubscribing.until = None;
            self.peers_ready.send_replace(true);
        }
    }

    fn prune_nodes(&self) {
        let gone = self.nodes.lock().prune(Instant::now());
        if gone.is_empty() {
            return;
        }
        for node in &gone {
            tracing::info!(node = %node, "cluster node silent past the timeout: dropped");
            self.requests.forget_node(node);
            if let Some(handle) = self.node.get() {
                handle.node_gone(node);
            }
        }
        self.refresh_status();
    }

    /// Asks every node for its presence snapshot and merges the replies,
    /// unless such a request is already in flight.
    fn sync_presence(self: &Arc<Self>) {
        if self.presence_sync.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            let replies = shared
                .request(Query::Presence, shared.options.node_timeout)
                .await;
            if let Some(node) = shared.node.get() {
                for (from, reply) in replies.replies {
                    if let Reply::Presence(snapshot) = reply {
                        node.presence_snapshot(&from, snapshot);
                    }
                }
            }
            shared.presence_sync.store(false, Ordering::Release);
        });
    }

    fn refresh_status(&self) {
        let backend_up = self.publisher.lock().is_some();
        let peers = self.peers();
        self.status.send_if_modified(|status| {
            let changed = status.backend_up != backend_up || status.peers != peers;
            status.backend_up = backend_up;
            status.peers = peers;
            changed
        });
    }

    /// Handles one envelope from the backend.
    fn receive(self: &Arc<Self>, bytes: &[u8]) {
        let envelope = match Envelope::decode(bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.counters.undecodable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "dropped an unreadable cluster message");
                return;
            }
        };
        let Envelope {
            from,
            body,
            presence,
            ..
        } = envelope;
        if from == self.node_id {
            return; // our own broadcast, echoed back by the backend
        }
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        self.peer_heard(Some(&from));
        if matches!(body, Body::Leave) {
            if self.nodes.lock().remove(&from) {
                tracing::info!(node = %from, "cluster node left");
                self.requests.forget_node(&from);
                self.refresh_status();
                if let Some(handle) = self.node.get() {
                    handle.node_gone(&from);
                }
            }
            return;
        }
        if self.nodes.lock().heard(&from, Instant::now()) {
            tracing::info!(node = %from, "cluster node joined (or is back)");
            self.refresh_status();
            // Answer at once so the newcomer learns of this node now.
            self.send_heartbeat();
        }
        let Some(node) = self.node.get() else { return };
        match body {
            Body::Heartbeat => {
                if presence.is_some_and(|seq| node.presence_behind(&from, seq)) {
                    self.sync_presence();
                }
            }
            Body::Leave => {}
            Body::Operation(operation) => {
                node.apply(operation);
            }
            Body::Request { id, query } => {
                let answer = node.answer(query);
                let shared = self.clone();
                tokio::spawn(async move {
                    let reply = answer.await;
                    shared.send(Destination::Node(from), Body::Reply { id, reply });
                });
            }
            Body::Reply { id, reply } => self.requests.answer(id, &from, reply),
        }
    }
}
