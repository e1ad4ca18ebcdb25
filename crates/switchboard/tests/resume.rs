//! Session resume (PROTOCOL.md section 5) over WebSocket and long-polling.

mod common;

use std::time::Duration;

use common::{Ended, PollClient, TestServer, WsClient};
use rand::Rng;
use serde_json::{Value, json};
use switchboard::{DisconnectReason, Hub, HubBuilder};
use tokio::sync::mpsc;

/// A WebSocket client that counts what it receives, as a resuming client
/// must.
struct Counting {
    client: WsClient,
    id: String,
    token: String,
    received: u64,
}

impl Counting {
    async fn connect(server: &TestServer, resume: Option<(&str, u64)>) -> (Self, Value) {
        let url = match resume {
            Some((token, last)) => format!("{}?resume={token}&last={last}", server.url()),
            None => server.url(),
        };
        let mut client = WsClient::open(&url).await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome");
        let data = welcome["data"].clone();
        let received = match (resume, data["resumed"].as_bool().unwrap()) {
            (Some((_, last)), true) => last,
            _ => 0,
        };
        let this = Self {
            client,
            id: data["id"].as_str().unwrap().to_owned(),
            token: data["session"].as_str().unwrap().to_owned(),
            received,
        };
        (this, data)
    }

    async fn recv(&mut self) -> Value {
        let message = self.client.recv().await;
        if message["event"] != "$pong" {
            self.received += 1;
        }
        message
    }

    /// Drops the TCP connection without a close frame.
    fn cut(self) -> (String, u64) {
        (self.token, self.received)
    }
}

fn hub() -> HubBuilder {
    Hub::builder()
}

#[tokio::test]
async fn dropped_link_resumes_with_same_id_rooms_and_missed_messages() {
    let server = TestServer::start(hub()).await;
    let (mut a, _) = Counting::connect(&server, None).await;
    a.client.call("$join", json!({"room": "r"}), 1).await;
    a.received += 1;
    server.hub.to("r").emit("n", 1).unwrap();
    assert_eq!(a.recv().await["data"], 1);
    let id = a.id.clone();
    let (token, last) = a.cut();
    common::eventually("the link drop is seen", || server.hub.count() == 0).await;
    // The session waits: still a member, not a live connection.
    assert_eq!(server.hub.session_count(), 1);
    assert_eq!(server.hub.members("r"), vec![id.clone()]);
    for n in 2..=4 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    let (mut b, welcome) = Counting::connect(&server, Some((&token, last))).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["id"], id.as_str());
    assert_eq!(welcome["session"], token.as_str());
    assert_eq!(welcome["missed"], 3);
    for n in 2..=4 {
        assert_eq!(
            b.recv().await,
            json!({"event": "n", "data": n, "room": "r"})
        );
    }
    server.hub.to("r").emit("n", 5).unwrap();
    assert_eq!(b.recv().await["data"], 5);
    assert_eq!(b.received, last + 4);
    assert_eq!(server.hub.count(), 1);
}

#[tokio::test]
async fn resume_outside_the_buffer_or_unknown_gives_a_fresh_session() {
    let server = TestServer::start(hub().resume_buffer(2)).await;
    let (mut a, _) = Counting::connect(&server, None).await;
    a.client.call("$join", json!({"room": "r"}), 1).await;
    a.received += 1;
    let (token, last) = a.cut();
    common::eventually("the link drop is seen", || server.hub.count() == 0).await;
    // Three messages overflow a buffer of two: `last` is too old now.
    for n in 1..=3 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    let (b, welcome) = Counting::connect(&server, Some((&token, last))).await;
    assert_eq!(welcome["resumed"], false);
    assert_ne!(welcome["session"], token.as_str());
    assert!(
        server.hub.rooms_of(&b.id).is_empty(),
        "a fresh session has no rooms"
    );
    // Unknown token, and `last` beyond what was sent.
    let (_, welcome) = Counting::connect(&server, Some(("nope", 0))).await;
    assert_eq!(welcome["resumed"], false);
    let (c, _) = Counting::connect(&server, None).await;
    let (token, _) = c.cut();
    common::eventually("the link drop is seen", || server.hub.count() == 2).await;
    let (_, welcome) = Counting::connect(&server, Some((&token, 99))).await;
    assert_eq!(welcome["resumed"], false);
}

#[tokio::test]
async fn session_expires_after_the_resume_window_and_disconnect_fires_once() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(
        hub()
            .resume_window(Duration::from_millis(100))
            .on_disconnect(move |socket, reason| {
                let gone_tx = gone_tx.clone();
                async move {
                    let _ = gone_tx.send((socket.id().to_owned(), reason));
                }
            }),
    )
    .await;
    let (a, _) = Counting::connect(&server, None).await;
    let id = a.id.clone();
    let (token, last) = a.cut();
    let (who, reason) = common::within("the awaited step", gone.recv())
        .await
        .unwrap();
    assert_eq!(who, id);
    assert!(
        matches!(reason, DisconnectReason::TransportError(_)),
        "{reason:?}"
    );
    let (b, welcome) = Counting::connect(&server, Some((&token, last))).await;
    assert_eq!(welcome["resumed"], false);
    assert_ne!(b.id, id);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), gone.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn resuming_an_open_link_takes_it_over_with_4002() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel::<DisconnectReason>();
    let server = TestServer::start(hub().on_disconnect(move |_s, reason| {
        let gone_tx = gone_tx.clone();
        async move {
            let _ = gone_tx.send(reason);
        }
    }))
    .await;
    let (mut a, _) = Counting::connect(&server, None).await;
    server.hub.send_to(&a.id, "x", 1).unwrap();
    assert_eq!(a.recv().await["event"], "x");
    let (mut b, welcome) = Counting::connect(&server, Some((&a.token, a.received))).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["missed"], 0);
    assert_eq!(a.client.closed().await, Ended::Close(4002));
    server.hub.send_to(&b.id, "y", 2).unwrap();
    assert_eq!(b.recv().await["event"], "y");
    assert_eq!(server.hub.count(), 1);
    // The takeover did not end the session.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), gone.recv())
            .await
            .is_err()
    );
    // A client close frame ends it.
    b.client.close().await;
    assert_eq!(
        common::within("the awaited step", gone.recv())
            .await
            .unwrap(),
        DisconnectReason::ClientClosed(1000)
    );
    let (_, welcome) = Counting::connect(&server, Some((&b.token, b.received))).await;
    assert_eq!(
        welcome["resumed"], false,
        "an ended session cannot be resumed"
    );
}

#[tokio::test]
async fn resume_off_ends_the_session_on_a_dropped_link() {
    let server = TestServer::start(hub().resume_buffer(0)).await;
    let (a, _) = Counting::connect(&server, None).await;
    let (token, last) = a.cut();
    common::eventually("the session ends", || server.hub.session_count() == 0).await;
    let (_, welcome) = Counting::connect(&server, Some((&token, last))).await;
    assert_eq!(welcome["resumed"], false);
}

/// Publishes 1..=total to room "feed", paced so cuts land mid-stream.
fn publish_stream(hub: Hub, total: u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for n in 1..=total {
            hub.to("feed").emit("n", n).unwrap();
            if n % 25 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    })
}

#[tokio::test]
async fn numbered_stream_survives_random_cuts_over_websocket() {
    const TOTAL: u64 = 2000;
    let server = TestServer::start(hub()).await;
    let (mut client, _) = Counting::connect(&server, None).await;
    client
        .client
        .call("$join", json!({"room": "feed"}), 1)
        .await;
    client.received += 1;
    let publisher = publish_stream(server.hub.clone(), TOTAL);
    let mut rng = rand::rng();
    let mut seen = Vec::new();
    let mut cuts = 0;
    while seen.len() < TOTAL as usize {
        let message = client.recv().await;
        assert_eq!(message["event"], "n", "{message}");
        seen.push(message["data"].as_u64().unwrap());
        if cuts < 8 && rng.random_range(0..100) == 0 {
            cuts += 1;
            let (token, last) = client.cut();
            let (resumed, welcome) = Counting::connect(&server, Some((&token, last))).await;
            assert_eq!(welcome["resumed"], true, "cut {cuts}");
            client = resumed;
        }
    }
    publisher.await.unwrap();
    let expected: Vec<u64> = (1..=TOTAL).collect();
    assert_eq!(
        seen, expected,
        "complete, in order, no duplicates ({cuts} cuts)"
    );
    assert!(cuts > 0);
}

#[tokio::test]
async fn numbered_stream_survives_random_cuts_over_long_polling() {
    const TOTAL: u64 = 600;
    let server = TestServer::start(hub()).await;
    let (mut client, _) = PollClient::open(server.addr, None).await;
    let (status, _) = client
        .post(r#"{"event":"$join","data":{"room":"feed"},"ack":1}"#)
        .await;
    assert_eq!(status, 204);
    assert!(client.next().await[0].get("reply").is_some());
    let publisher = publish_stream(server.hub.clone(), TOTAL);
    let mut rng = rand::rng();
    let mut seen = Vec::new();
    let mut cuts = 0;
    while seen.len() < TOTAL as usize {
        for message in client.next().await {
            assert_eq!(message["event"], "n", "{message}");
            seen.push(message["data"].as_u64().unwrap());
        }
        if cuts == 0 || (cuts < 6 && rng.random_range(0..4) == 0) {
            // Abandon the link (no DELETE) and resume on a new one.
            cuts += 1;
            let token = client.sid.clone();
            let (resumed, messages) =
                PollClient::open(server.addr, Some((&token, client.received))).await;
            assert_eq!(messages[0]["data"]["resumed"], true);
            for message in &messages[1..] {
                seen.push(message["data"].as_u64().unwrap());
            }
            client = resumed;
        }
    }
    publisher.await.unwrap();
    let expected: Vec<u64> = (1..=TOTAL).collect();
    assert_eq!(
        seen, expected,
        "complete, in order, no duplicates ({cuts} cuts)"
    );
    assert!(cuts > 0);
}

#[tokio::test]
async fn a_session_moves_between_transports() {
    let server = TestServer::start(hub()).await;
    let (mut poll, _) = PollClient::open(server.addr, None).await;
    server.hub.send_to(&poll.id, "a", 1).unwrap();
    assert_eq!(poll.next().await[0]["event"], "a");
    server.hub.send_to(&poll.id, "b", 2).unwrap();
    // Resume the long-polling session over WebSocket.
    let (mut ws, welcome) = Counting::connect(&server, Some((&poll.sid, poll.received))).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["id"], poll.id.as_str());
    assert_eq!(ws.recv().await["event"], "b");
    // The long-polling link is superseded.
    let (status, answer) = poll.get().await;
    assert_eq!(status, 409, "{answer:?}");
}

#[tokio::test]
async fn kicking_a_session_that_waits_for_resume_ends_it_at_once() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(hub().on_disconnect(move |_s, reason| {
        let gone_tx = gone_tx.clone();
        async move {
            let _ = gone_tx.send(reason);
        }
    }))
    .await;
    let (a, _) = Counting::connect(&server, None).await;
    let id = a.id.clone();
    let (token, last) = a.cut();
    common::eventually("the link drop is seen", || server.hub.count() == 0).await;
    assert!(server.hub.disconnect(&id, switchboard::CloseCode::Kicked));
    assert_eq!(
        common::within("the awaited step", gone.recv())
            .await
            .unwrap(),
        DisconnectReason::ServerClosed(switchboard::CloseCode::Kicked)
    );
    assert_eq!(server.hub.session_count(), 0);
    let (_, welcome) = Counting::connect(&server, Some((&token, last))).await;
    assert_eq!(welcome["resumed"], false);
}

#[tokio::test]
async fn the_oldest_detached_sessions_end_past_the_detached_limit() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(hub().max_detached_sessions(2).on_disconnect(
        move |socket, reason| {
            let gone_tx = gone_tx.clone();
            async move {
                let _ = gone_tx.send((socket.id().to_owned(), reason));
            }
        },
    ))
    .await;
    let mut cut = Vec::new();
    for n in 1..=3 {
        let (a, _) = Counting::connect(&server, None).await;
        let id = a.id.clone();
        cut.push((id, a.cut()));
        common::eventually("the link drop is seen", || {
            server.hub.count() == 0 && server.hub.session_count() == n.min(2)
        })
        .await;
    }
    // The first one ended at once, with the reason its link dropped.
    let (id, reason) = common::within("the awaited step", gone.recv())
        .await
        .unwrap();
    assert_eq!(id, cut[0].0);
    assert!(
        matches!(reason, DisconnectReason::TransportError(_)),
        "{reason}"
    );
    assert_eq!(server.hub.stats().resources.detached_sessions_evicted, 1);
    // (Connections kept open: a dropped one would detach a session too.)
    let mut open = Vec::new();
    for (id, (token, last)) in &cut[1..] {
        let (client, welcome) = Counting::connect(&server, Some((token, *last))).await;
        assert_eq!(welcome["resumed"], true);
        assert_eq!(welcome["id"], id.as_str());
        open.push(client);
    }
    let (_client, welcome) = Counting::connect(&server, Some((&cut[0].1.0, 0))).await;
    assert_eq!(welcome["resumed"], false);
    assert_eq!(server.hub.stats().resources.detached_sessions, 0);
}

#[tokio::test]
async fn the_resume_buffer_is_bounded_in_bytes() {
    let server = TestServer::start(hub().resume_buffer_bytes(1000)).await;
    let (mut a, _) = Counting::connect(&server, None).await;
    a.client.call("$join", json!({"room": "r"}), 1).await;
    a.received += 1;
    let (token, last) = a.cut();
    common::eventually("the link drop is seen", || server.hub.count() == 0).await;
    // Ten messages of ~300 bytes: the last three fit in 1,000 bytes.
    for n in 1..=10 {
        server.hub.to("r").emit("n", format!("{n:0>280}")).unwrap();
    }
    let held = server.hub.stats().resources.detached_bytes;
    assert!((900..=1000 + 256).contains(&held), "{held}");
    // Numbers: 1 the join's reply, 2..=11 the messages; 9..=11 are kept.
    assert_eq!(last, 1);
    let (_, welcome) = Counting::connect(&server, Some((&token, 7))).await;
    assert_eq!(welcome["resumed"], false, "message 8 is no longer kept");
    let (mut b, welcome) = Counting::connect(&server, Some((&token, 8))).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["missed"], 3);
    for n in 8..=10 {
        assert_eq!(b.recv().await["data"], format!("{n:0>280}"));
    }
}
