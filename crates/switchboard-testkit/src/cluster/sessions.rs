//! Sessions that move between nodes (PROTOCOL.md section 11, "A session
//! moves" and "A node drains"): a client resuming on another node gets
//! `resumed:true` with the same id, and every message once, in order,
//! while a third node publishes without pause.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use switchboard::Hub;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::{ClusterBackend, Node, join, test_options};
use crate::{WAIT, WsClient};

const ROOM: &str = "chat";

/// Starts `n` nodes whose queues hold what a test's subscribers, read
/// one after the other, leave waiting.
async fn start_nodes(backend: &impl ClusterBackend, n: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        let builder = Hub::builder().send_queue_capacity(20_000);
        nodes.push(Node::start_with(builder, backend.driver(), test_options()).await);
    }
    for node in &nodes {
        node.wait_status("every node to see the others", |s| {
            s.backend_up && s.peers.len() == n - 1
        })
        .await;
    }
    nodes
}

/// A subscriber that counts what it received, for its resumes.
struct Subscriber {
    client: WsClient,
    id: String,
    token: String,
    /// Counted messages received (all but `$welcome` and `$pong`).
    received: u64,
    /// The numbers of the published messages, as they came.
    numbers: Vec<u64>,
}

impl Subscriber {
    async fn open(node: &Node) -> Self {
        let mut client = WsClient::open(&node.url()).await;
        let welcome = client.recv_event("$welcome").await;
        let mut subscriber = Self {
            id: welcome["data"]["id"].as_str().unwrap().to_owned(),
            token: welcome["data"]["session"].as_str().unwrap().to_owned(),
            client,
            received: 0,
            numbers: Vec::new(),
        };
        join(&mut subscriber.client, ROOM).await;
        subscriber.received += 1; // the `$join` reply
        subscriber
    }

    /// Resumes on `node`; the welcome must say `resumed:true`, same id.
    async fn resume(&mut self, node: &Node) -> WsClient {
        let url = format!(
            "{}?resume={}&last={}",
            node.url(),
            self.token,
            self.received
        );
        let mut client = WsClient::open(&url).await;
        let welcome = client.recv_event("$welcome").await;
        assert_eq!(
            welcome["data"]["resumed"], true,
            "resume on another node: {welcome}"
        );
        assert_eq!(welcome["data"]["id"], self.id.as_str(), "{welcome}");
        std::mem::replace(&mut self.client, client)
    }

    /// The numbers below the highest received that never came.
    fn missing(&self) -> Vec<u64> {
        let got: std::collections::HashSet<u64> = self.numbers.iter().copied().collect();
        let top = self.numbers.iter().copied().max().unwrap_or(0);
        (0..top).filter(|n| !got.contains(n)).take(20).collect()
    }

    fn count(&mut self, message: &Value) {
        if message["event"] == "$pong" {
            return;
        }
        self.received += 1;
        tracing::trace!(id = %self.id, received = self.received, %message, "test subscriber");
        if message["event"] == "n" {
            self.numbers.push(message["data"].as_u64().unwrap());
        }
    }

    /// Reads what comes until the hub closes the link; returns the code.
    async fn read_until_closed(&mut self) -> u16 {
        loop {
            let next = tokio::time::timeout(WAIT, self.client.ws.next()).await;
            match next {
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    self.count(&message);
                }
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    return frame.map_or(1005, |f| u16::from(f.code));
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("expected messages then a close frame, got {other:?}"),
            }
        }
    }

    /// Reads until `n` published messages came.
    async fn read_until(&mut self, n: usize) {
        while self.numbers.len() < n {
            match tokio::time::timeout(WAIT, self.client.ws.next()).await {
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    self.count(&message);
                }
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    panic!(
                        "{}: closed ({frame:?}) after {} of {n} messages",
                        self.id,
                        self.numbers.len()
                    )
                }
                Ok(Some(Ok(_))) => {}
                other => panic!(
                    "{}: {} of {n} messages came, then {other:?} (last: {:?}, missing: {:?})",
                    self.id,
                    self.numbers.len(),
                    self.numbers.last(),
                    self.missing()
                ),
            }
        }
    }
}

/// Publishes `0..count` to the room from `hub`, about a thousand a
/// second (a node publishes to the backend one message at a time: much
/// faster, and a debug build's backlog grows), on a thread of its own;
/// `done` is set at the end.
fn publish(hub: Hub, count: u64, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for n in 0..count {
            hub.to(ROOM).emit("n", n).expect("emit");
            std::thread::sleep(Duration::from_millis(1));
        }
        done.store(true, Ordering::Release);
    })
}

/// Asserts `numbers` is `0..count`: nothing lost, twice or out of order.
fn assert_exactly_once(numbers: &[u64], count: u64) {
    let duplicated = numbers.windows(2).filter(|w| w[1] == w[0]).count();
    let reordered = numbers.windows(2).filter(|w| w[1] < w[0]).count();
    let mut unique = numbers.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let lost = count as usize - unique.len();
    assert_eq!(
        (lost, duplicated, reordered, numbers.len() as u64),
        (0, 0, 0, count),
        "sent {count}: lost {lost}, duplicated {duplicated}, reordered {reordered}"
    );
}

/// A subscriber moves between A and B twelve times while C publishes:
/// half of the moves after its link dropped, half while the old link is
/// still up (which the old node then closes with `4002`). It gets every
/// message once, in order.
pub async fn sessions_move_between_nodes<B: ClusterBackend>(backend: &mut B) {
    let nodes = start_nodes(backend, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let mut subscriber = Subscriber::open(a).await;
    const COUNT: u64 = 2000;
    let done = Arc::new(AtomicBool::new(false));
    let publisher = publish(c.hub.clone(), COUNT, done.clone());
    let mut on = [a, b];
    for step in 0..12u64 {
        subscriber.read_until(((step + 1) * 150) as usize).await;
        on.swap(0, 1);
        let old = subscriber.resume(on[0]).await;
        if step % 2 == 0 {
            old.reset();
        } else {
            // The old link stays up until the old node closes it.
            let mut old = old;
            assert_eq!(
                old.close_code().await,
                4002,
                "the old link of a moved session"
            );
        }
    }
    subscriber.read_until(COUNT as usize).await;
    publisher.join().unwrap();
    assert!(done.load(Ordering::Acquire));
    subscriber.client.assert_silent(200).await;
    assert_exactly_once(&subscriber.numbers, COUNT);
    let moved_in: u64 = nodes.iter().map(|n| n.hub.stats().sessions_moved_in).sum();
    let moved_out: u64 = nodes.iter().map(|n| n.hub.stats().sessions_moved_out).sum();
    assert_eq!((moved_in, moved_out), (12, 12));
    // Once moved, the session is on one node only.
    let holders = nodes
        .iter()
        .filter(|n| n.hub.socket(&subscriber.id).is_some())
        .count();
    assert_eq!(holders, 1);
}

/// A node told to stop while clustered closes its links with `1012` and
/// hands their sessions to whichever node they resume on, while another
/// node publishes: nothing is lost, and no disconnect handler runs on the
/// draining node. It stops once its sessions have moved, well before its
/// shutdown deadline.
pub async fn a_draining_node_hands_its_sessions_over<B: ClusterBackend>(backend: &mut B) {
    let nodes = start_nodes(backend, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        subscribers.push(Subscriber::open(a).await);
    }
    const COUNT: u64 = 1500;
    let done = Arc::new(AtomicBool::new(false));
    let publisher = publish(c.hub.clone(), COUNT, done.clone());
    for subscriber in &mut subscribers {
        subscriber.read_until(300).await;
    }
    let started = tokio::time::Instant::now();
    let draining = {
        let hub = a.hub.clone();
        tokio::spawn(async move { hub.shutdown().await })
    };
    for (i, subscriber) in subscribers.iter_mut().enumerate() {
        assert_eq!(
            subscriber.read_until_closed().await,
            1012,
            "a draining node's close"
        );
        // Each reconnects at once, to one of the other nodes.
        let old = subscriber.resume(if i % 2 == 0 { b } else { c }).await;
        drop(old);
    }
    tokio::time::timeout(WAIT, draining)
        .await
        .expect("the drain ends once every session moved")
        .unwrap();
    assert!(
        started.elapsed() < a.hub.config().shutdown_timeout,
        "the drain waited out its deadline"
    );
    for subscriber in &mut subscribers {
        subscriber.read_until(COUNT as usize).await;
    }
    publisher.join().unwrap();
    for subscriber in &mut subscribers {
        subscriber.client.assert_silent(200).await;
        assert_exactly_once(&subscriber.numbers, COUNT);
    }
    assert_eq!(a.hub.stats().sessions_moved_out, 3);
}

/// A clustered node with no other node to take its sessions shuts down as
/// a single hub does: its links close with `1001` (not `1012`, which
/// would send the clients to resume elsewhere), and it does not wait out
/// its shutdown timeout for resumes that cannot come.
pub async fn a_lone_node_shuts_down_as_a_single_hub<B: ClusterBackend>(backend: &mut B) {
    let nodes = start_nodes(backend, 1).await;
    let alone = &nodes[0];
    let mut subscriber = Subscriber::open(alone).await;
    let started = tokio::time::Instant::now();
    let stopping = {
        let hub = alone.hub.clone();
        tokio::spawn(async move { hub.shutdown().await })
    };
    assert_eq!(subscriber.read_until_closed().await, 1001);
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("the shutdown ends")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < alone.hub.config().shutdown_timeout / 2,
        "a lone node waited {took:?} for its sessions to move"
    );
    assert_eq!(alone.hub.count(), 0);
}
