//! Room history across nodes (PROTOCOL.md section 11): the backend's store
//! numbers each history room's messages, and every node's members get them
//! in that order, whoever published them; a client recovers on another
//! node from where it stood; a node that missed messages in an outage
//! gets them from the store once the backend is back.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{Hub, HubBuilder};

use super::{ClusterBackend, Node, test_options};
use crate::{WAIT, WsClient};

const ROOM: &str = "feed-1";

fn hub_with_history() -> HubBuilder {
    Hub::builder()
        .history(|room: &str| room.starts_with("feed-"))
        .history_size(10_000)
        .send_queue_capacity(20_000)
}

async fn start(backend: &impl ClusterBackend, n: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start_with(hub_with_history(), backend.driver(), test_options()).await);
    }
    for node in &nodes {
        node.wait_status("every node to see the others", |s| {
            s.backend_up && s.peers.len() == n - 1
        })
        .await;
    }
    nodes
}

/// The `$join` reply's data, with `since` when given.
async fn join(client: &mut WsClient, since: Option<(&str, u64)>) -> Value {
    let mut data = json!({ "room": ROOM });
    if let Some((epoch, offset)) = since {
        data["since"] = json!({ "epoch": epoch, "offset": offset });
    }
    let reply = client.request("$join", data).await;
    assert!(reply.get("error").is_none(), "join refused: {reply}");
    reply["data"].clone()
}

/// The next `n` messages of the room, with their offsets: each offset the
/// one after the last (`after` first), asserted.
async fn read_in_order(client: &mut WsClient, after: u64, n: usize) -> Vec<Value> {
    let mut got = Vec::with_capacity(n);
    let mut expected = after + 1;
    while got.len() < n {
        let message = client.recv().await;
        if message["event"] == "$pong" {
            continue;
        }
        assert_eq!(message["room"], ROOM, "{message}");
        assert_eq!(
            message["offset"], expected,
            "in order, none twice: {message}"
        );
        expected += 1;
        got.push(message["data"].clone());
    }
    got
}

/// Publishers on every node at once: each member of every node gets the
/// room's messages in the store's order, the same order everywhere, each
/// publisher's own in the order it sent them; a client recovers on the
/// other node; relays leave out their sender; the history reads the same
/// on every node. Then the backend goes away mid-stream: a member of the
/// node that did not publish gets everything once it is back.
pub async fn history_cross_nodes<B: ClusterBackend>(backend: &mut B) {
    let nodes = start(backend, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut on_a = a.client().await;
    let mut on_b = b.client().await;
    let first = join(&mut on_a, None).await;
    assert_eq!(
        (first["epoch"].as_str(), first["offset"].as_u64()),
        (Some(""), Some(0)),
        "{first}"
    );
    join(&mut on_b, None).await;

    // 2 × 300 messages, from both nodes at once.
    const EACH: u64 = 300;
    let publish = |hub: Hub, name: &'static str| {
        std::thread::spawn(move || {
            for n in 0..EACH {
                hub.to(ROOM)
                    .emit("n", json!({ "from": name, "n": n }))
                    .expect("emit");
                if n % 30 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let (pa, pb) = (publish(a.hub.clone(), "a"), publish(b.hub.clone(), "b"));
    let total = (2 * EACH) as usize;
    let seen_a = read_in_order(&mut on_a, 0, total).await;
    let seen_b = read_in_order(&mut on_b, 0, total).await;
    pa.join().unwrap();
    pb.join().unwrap();
    assert_eq!(seen_a, seen_b, "every node delivers in the store's order");
    let mut next: HashMap<String, u64> = HashMap::new();
    for message in &seen_a {
        let from = message["from"].as_str().unwrap().to_owned();
        let expected = next.entry(from).or_default();
        assert_eq!(message["n"], *expected, "each publisher's own order kept");
        *expected += 1;
    }
    let page = a.hub.history(ROOM, 0, 10_000).await.expect("history");
    assert_eq!(page.offset, total as u64);
    assert_eq!(page.messages.len(), total);
    assert_eq!(
        b.hub
            .history(ROOM, 590, 5)
            .await
            .expect("history")
            .messages
            .len(),
        5
    );
    let epoch = page.epoch.clone();

    // A client at 500 comes back on the other node.
    let mut moved = b.client().await;
    let reply = join(&mut moved, Some((&epoch, 500))).await;
    assert_eq!(reply["recovered"], true, "{reply}");
    assert_eq!(reply["offset"], total as u64);
    let recovered = read_in_order(&mut moved, 500, 100).await;
    assert_eq!(recovered[..], seen_a[500..]);

    // A relay from a member of A: the others get it, numbered; not it.
    on_a.send(json!({ "event": "chat", "data": "hi", "room": ROOM }))
        .await;
    for client in [&mut on_b, &mut moved] {
        let message = client.recv_event("chat").await;
        assert_eq!(message["offset"], total as u64 + 1, "{message}");
    }
    on_a.assert_silent(200).await;

    // One broadcast from A to the history room and a plain room: B's
    // member of both gets it once, through the history room (numbered),
    // as on one hub; B's member of the plain room alone gets it there.
    let mut plain_only = b.client().await;
    for client in [&mut on_b, &mut plain_only] {
        let reply = client.join("plain").await;
        assert!(reply.get("error").is_none(), "{reply}");
    }
    a.hub
        .to(ROOM)
        .to("plain")
        .emit("both", json!({ "n": 1 }))
        .expect("emit");
    let numbered = on_b.recv_event("both").await;
    assert_eq!(
        (&numbered["room"], &numbered["offset"]),
        (&json!(ROOM), &json!(total as u64 + 2)),
        "{numbered}"
    );
    let plain = plain_only.recv_event("both").await;
    assert_eq!(plain["room"], "plain", "{plain}");
    assert!(plain.get("offset").is_none(), "{plain}");
    on_b.assert_silent(300).await;
    plain_only.assert_silent(100).await;
    let numbered_on_a = on_a.recv_event("both").await;
    assert_eq!(numbered_on_a["offset"], total as u64 + 2);
    on_a.assert_silent(100).await;

    // The backend goes away while A publishes; B's member gets it all
    // once it is back, in order. A backend that restarts with empty memory
    // (a Redis process killed and started again) begins a new epoch: the
    // messages then count from 1.
    backend.cut().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A client joining meanwhile joins, told it did not recover.
    let mut during = b.client().await;
    let reply = join(&mut during, Some((&epoch, 10))).await;
    assert_eq!(reply["recovered"], false, "{reply}");
    assert_eq!(
        reply["offset"],
        total as u64 + 2,
        "where B's deliveries stand: {reply}"
    );
    for n in 0..20 {
        a.hub
            .to(ROOM)
            .emit("n", json!({ "from": "a", "n": 1000 + n }))
            .expect("emit");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    backend.restore().await;
    let first = tokio::time::timeout(WAIT * 2, on_b.recv_event("n"))
        .await
        .expect("the outage's messages arrive once the backend is back");
    let start = first["offset"].as_u64().expect("an offset");
    assert!(start == total as u64 + 3 || start == 1, "{first}");
    let mut after_outage = vec![first["data"].clone()];
    after_outage.extend(read_in_order(&mut on_b, start, 19).await);
    let numbers: Vec<u64> = after_outage
        .iter()
        .map(|m| m["n"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1000..1020).collect::<Vec<_>>());
}
