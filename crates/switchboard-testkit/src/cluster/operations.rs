//! The scenario of every hub operation across nodes: three nodes, four
//! sockets, and one step per kind of operation, in this order.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::CloseCode;

use super::{ClusterBackend, Node, expect, join, start_nodes};
use crate::{Ended, WAIT, WsClient};

/// Every operation reaches the sockets of every node: broadcast to all, to
/// rooms, with `except`; `send_to`; relays; members, rooms of, count;
/// acks; kicks; and a broadcast crosses the backend once however many
/// sockets it reaches.
pub async fn every_operation_crosses_nodes<B: ClusterBackend>(backend: &B) {
    let nodes = start_nodes(backend, 3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let mut s = Sockets::connect(a, b, c).await;
    join(&mut s.a1, "r").await;
    join(&mut s.b1, "r").await;

    broadcasts(a, b, c, &mut s).await;
    direct_and_relay(a, &mut s).await;
    cluster_questions(a, c, &s).await;
    local_and_once(a, &mut s).await;
    socket_lists(a, b, c, &mut s).await;
    acks(a, &mut s).await;
    kicks(a, &mut s).await;
}

/// The scenario's sockets: two on A, one on B, one on C (A's `a1` and B's
/// `b1` join room `r`).
struct Sockets {
    a1: WsClient,
    a2: WsClient,
    b1: WsClient,
    c1: WsClient,
}

impl Sockets {
    /// Connects them, and checks no socket id repeats across nodes.
    async fn connect(a: &Node, b: &Node, c: &Node) -> Self {
        let sockets = Self {
            a1: a.client().await,
            a2: a.client().await,
            b1: b.client().await,
            c1: c.client().await,
        };
        let ids = [
            &sockets.a1.id,
            &sockets.a2.id,
            &sockets.b1.id,
            &sockets.c1.id,
        ];
        for (i, id) in ids.iter().enumerate() {
            assert!(!ids[i + 1..].contains(id), "socket ids repeat across nodes");
        }
        sockets
    }

    /// All four, in the order a1, a2, b1, c1.
    fn all(&mut self) -> [&mut WsClient; 4] {
        [&mut self.a1, &mut self.a2, &mut self.b1, &mut self.c1]
    }

    /// Asserts each of the four gets `event` with `data` next.
    async fn all_expect(&mut self, event: &str, data: Value) {
        for client in self.all() {
            expect(client, event, data.clone()).await;
        }
    }
}

/// To all, to a room from a node without members, and to a room with
/// `except`; a broadcast to all after each proves who got nothing.
async fn broadcasts(a: &Node, b: &Node, c: &Node, s: &mut Sockets) {
    // To all, from A.
    a.hub.to_all().emit("all", 1).expect("emit");
    s.all_expect("all", json!(1)).await;

    // To a room, from C (which has no member): A and B members get it with
    // `room`; the next broadcast to all proves the others got nothing.
    c.hub.to("r").emit("room", 2).expect("emit");
    let m = expect(&mut s.a1, "room", json!(2)).await;
    assert_eq!(m["room"], "r");
    expect(&mut s.b1, "room", json!(2)).await;
    c.hub.to_all().emit("mark", 3).expect("emit");
    s.all_expect("mark", json!(3)).await;

    // Except, from B: A's member gets it, B's does not.
    b.hub
        .to("r")
        .except(&s.b1.id)
        .emit("except", 4)
        .expect("emit");
    expect(&mut s.a1, "except", json!(4)).await;
    b.hub.to_all().emit("mark", 5).expect("emit");
    expect(&mut s.b1, "mark", json!(5)).await;
    expect(&mut s.a1, "mark", json!(5)).await;
    for client in [&mut s.a2, &mut s.c1] {
        expect(client, "mark", json!(5)).await;
    }
}

/// `send_to` an id on another node; a relay from B's member reaches A's
/// member, not the sender.
async fn direct_and_relay(a: &Node, s: &mut Sockets) {
    a.hub.send_to(&s.c1.id, "direct", 6).expect("send_to");
    expect(&mut s.c1, "direct", json!(6)).await;

    s.b1.send(json!({"event": "chat", "data": "hi", "room": "r", "ack": 7}))
        .await;
    let reply = s.b1.recv().await;
    assert_eq!(reply["reply"], 7, "relay ack: {reply}");
    let relayed = expect(&mut s.a1, "chat", json!("hi")).await;
    assert_eq!(relayed["from"], s.b1.id.as_str());
    assert_eq!(relayed["room"], "r");
}

/// Cluster-wide questions, asked from a node holding none of the answer;
/// the local ones stay local.
async fn cluster_questions(a: &Node, c: &Node, s: &Sockets) {
    let members = c.hub.cluster().members("r").await;
    let mut expected = vec![s.a1.id.clone(), s.b1.id.clone()];
    expected.sort();
    assert_eq!(members.value, expected);
    assert!(members.is_complete(), "missing: {:?}", members.missing);
    assert_eq!(members.answered.len(), 3);
    assert_eq!(members.answered[0], c.hub.node_id());
    let rooms = a.hub.cluster().rooms_of(&s.b1.id).await;
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
}

/// `local()` stays on this node; one broadcast crosses the backend once,
/// whatever it reaches.
async fn local_and_once(a: &Node, s: &mut Sockets) {
    a.hub.local().emit("local", 8).expect("emit");
    expect(&mut s.a1, "local", json!(8)).await;
    expect(&mut s.a2, "local", json!(8)).await;
    a.hub.to_all().emit("mark", 9).expect("emit");
    s.all_expect("mark", json!(9)).await;

    let before = a.hub.cluster().stats().published;
    a.hub.to_all().emit("once", 10).expect("emit");
    s.all_expect("once", json!(10)).await;
    assert_eq!(a.hub.cluster().stats().published - before, 1);
}

/// To lists of socket ids: across nodes in one message, never across nodes
/// when all are here, and together with a room and `except`.
async fn socket_lists(a: &Node, b: &Node, c: &Node, s: &mut Sockets) {
    // To a list of socket ids on several nodes, from A: the ids A holds
    // are served here, the others cross the backend in one message; a2
    // (not listed) and an unknown id get nothing.
    let before = a.hub.cluster().stats().published;
    let listed = [
        s.a1.id.clone(),
        s.b1.id.clone(),
        s.c1.id.clone(),
        "nobody".into(),
    ];
    let here = a.hub.to_sockets(&listed).emit("listed", 11).expect("emit");
    assert_eq!(here, 1, "one listed socket is on A");
    for client in [&mut s.a1, &mut s.b1, &mut s.c1] {
        let m = expect(client, "listed", json!(11)).await;
        assert!(m.get("room").is_none(), "reached by id, not a room: {m}");
    }
    assert_eq!(a.hub.cluster().stats().published - before, 1);
    // Ids all held here never cross nodes.
    let before = a.hub.cluster().stats().published;
    a.hub
        .to_sockets([&s.a1.id, &s.a2.id])
        .emit("here", 12)
        .expect("emit");
    expect(&mut s.a1, "here", json!(12)).await;
    expect(&mut s.a2, "here", json!(12)).await;
    assert_eq!(a.hub.cluster().stats().published - before, 0);
    // A room and ids together, with except: b1 (room member and listed)
    // once with `room`, c1 by id, a1 excluded.
    c.hub
        .to("r")
        .to_sockets([&s.b1.id, &s.c1.id, &s.a1.id])
        .except(&s.a1.id)
        .emit("mixed", 13)
        .expect("emit");
    let m = expect(&mut s.b1, "mixed", json!(13)).await;
    assert_eq!(m["room"], "r");
    let m = expect(&mut s.c1, "mixed", json!(13)).await;
    assert!(m.get("room").is_none(), "{m}");
    b.hub.to_all().emit("mark", 14).expect("emit");
    s.all_expect("mark", json!(14)).await;
}

/// Acks from every node: A's and B's members answer, C's (which joins the
/// room first) stays silent and times out.
async fn acks(a: &Node, s: &mut Sockets) {
    join(&mut s.c1, "r").await;
    let hub = a.hub.clone();
    let acks = tokio::spawn(async move {
        hub.to("r")
            .emit_with_ack::<Value>("ask", "q", Duration::from_millis(800))
            .await
    });
    for client in [&mut s.a1, &mut s.b1] {
        let ask = expect(client, "ask", json!("q")).await;
        let ack = ask["ack"].as_u64().expect("ack id");
        let id = client.id.clone();
        client
            .send(json!({"reply": ack, "data": {"from": id}}))
            .await;
    }
    let silent = expect(&mut s.c1, "ask", json!("q")).await;
    assert!(silent["ack"].is_u64());
    let mut replies = tokio::time::timeout(WAIT, acks)
        .await
        .expect("acks within the wait")
        .expect("ack task")
        .expect("emit_with_ack");
    replies.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(replies.len(), 3, "{replies:?}");
    for (id, result) in &replies {
        if *id == s.c1.id {
            assert!(
                matches!(result, Err(switchboard::AckError::Timeout(_))),
                "{result:?}"
            );
        } else {
            assert_eq!(result.as_ref().expect("reply")["from"], id.as_str());
        }
    }
}

/// Kicks on another node, by id (the answer says whether it was found) and
/// through a room operator.
async fn kicks(a: &Node, s: &mut Sockets) {
    // Kick on another node: the socket gets 4000, the answer says found.
    let kicked = a
        .hub
        .cluster()
        .disconnect(&s.c1.id, CloseCode::Kicked)
        .await;
    assert!(kicked.value && kicked.is_complete());
    assert_eq!(s.c1.closed().await, Ended::Close(4000));
    let unknown = a
        .hub
        .cluster()
        .disconnect("nobody", CloseCode::Kicked)
        .await;
    assert!(!unknown.value && unknown.is_complete());

    // Disconnect through a room operator reaches other nodes too.
    a.hub.to("r").except(&s.a1.id).disconnect(CloseCode::Kicked);
    assert_eq!(s.b1.closed().await, Ended::Close(4000));
}
