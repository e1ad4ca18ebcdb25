//! The order of calls: one socket's calls are made one at a time, in the
//! order of its messages, whatever hook they go to; different sockets' calls
//! run at the same time.

use serde_json::json;
use switchboard_server::options::*;

use crate::common::{TestServer, WsClient};
use crate::config;
use crate::fake::{Call, FakeBackend, Reply, random_delay};

const EVENTS: u64 = 20;

/// Each socket's calls, in arrival order.
fn calls_of(calls: &[Call], socket: &str) -> Vec<Call> {
    calls
        .iter()
        .filter(|call| call.body["socket"] == socket)
        .cloned()
        .collect()
}

/// Two sockets each send 20 events at once; the back end answers each
/// after a random delay of 5-20 ms. Each socket's calls arrive in the
/// order it sent them, the next only after the previous answer, and its
/// replies come back in that order; the two sockets' calls overlap.
#[tokio::test]
async fn one_socket_in_order_sockets_at_once() {
    let backend = FakeBackend::start(|_, body| {
        Reply::json(json!({"data": body["data"]}))
            .after(random_delay(16) + std::time::Duration::from_millis(4))
    })
    .await;
    let server = TestServer::start(config(&[(PROXY_EVENT, &[&backend.url("event")])])).await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let mut b = WsClient::connect_at(server.addr, "/ws").await;
    for n in 0..EVENTS {
        a.send(json!({"event": "step", "data": n, "ack": n})).await;
        b.send(json!({"event": "step", "data": n, "ack": n})).await;
    }
    for client in [&mut a, &mut b] {
        for n in 0..EVENTS {
            let reply = client.recv().await;
            assert_eq!((&reply["reply"], &reply["data"]), (&json!(n), &json!(n)));
        }
    }
    let calls = backend.calls("event");
    assert_eq!(calls.len() as u64, 2 * EVENTS);
    let (of_a, of_b) = (calls_of(&calls, &a.id), calls_of(&calls, &b.id));
    for of_socket in [&of_a, &of_b] {
        let order: Vec<u64> = of_socket
            .iter()
            .map(|call| call.body["data"].as_u64().unwrap())
            .collect();
        assert_eq!(order, (0..EVENTS).collect::<Vec<_>>(), "arrival order");
        for pair in of_socket.windows(2) {
            assert!(
                pair[1].arrived >= pair[0].answered,
                "call {} arrived before call {} was answered",
                pair[1].body["data"],
                pair[0].body["data"]
            );
        }
    }
    let overlap = of_a.iter().any(|x| {
        of_b.iter()
            .any(|y| x.arrived < y.answered && y.arrived < x.answered)
    });
    assert!(overlap, "the two sockets' calls never ran at the same time");
}

/// One socket's `$join`, event and relay, sent at once, reach the join,
/// event and publish hooks in that order, each after the previous answer.
#[tokio::test]
async fn one_socket_in_order_across_hooks() {
    let backend = FakeBackend::start(|_, _| Reply::json(json!({})).after(random_delay(10))).await;
    let server = TestServer::start(config(&[
        (PROXY_JOIN, &[&backend.url("join")]),
        (PROXY_PUBLISH, &[&backend.url("publish")]),
        (PROXY_EVENT, &[&backend.url("event")]),
    ]))
    .await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    for round in 0..3 {
        let room = format!("room-{round}");
        client
            .send(json!({"event": "$join", "data": {"room": room}, "ack": 1}))
            .await;
        client
            .send(json!({"event": "note", "data": round, "ack": 2}))
            .await;
        client
            .send(json!({"event": "say", "room": room, "data": round, "ack": 3}))
            .await;
        for ack in 1..=3 {
            let reply = client.recv().await;
            assert_eq!(reply["reply"], ack, "{reply}");
            assert!(reply.get("error").is_none(), "{reply}");
        }
    }
    let mut calls: Vec<Call> = ["join", "event", "publish"]
        .iter()
        .flat_map(|hook| backend.calls(hook))
        .collect();
    calls.sort_by_key(|call| call.seq);
    let hooks: Vec<&str> = calls.iter().map(|call| call.hook.as_str()).collect();
    assert_eq!(hooks, ["join", "event", "publish"].repeat(3));
    for pair in calls.windows(2) {
        assert!(pair[1].arrived >= pair[0].answered, "{pair:?}");
    }
}
