//! Room history on one hub (PROTOCOL.md section 11), over real sockets:
//! offsets on what reaches a history room, the room's place in the
//! `$join` reply, recovery with `since` (in order, none twice, even while
//! the room is busy), the cases that cannot recover, expiry, and
//! `Hub::history`. The cluster side runs in the testkit's scenarios.

mod common;

use std::time::Duration;

use common::{TestServer, WsClient};
use serde_json::{Value, json};
use switchboard::{HistoryError, Hub, HubBuilder};

fn builder() -> HubBuilder {
    Hub::builder().history(|room: &str| room.starts_with("feed-"))
}

/// The next message that is not `$pong`.
async fn next(client: &mut WsClient) -> Value {
    loop {
        let message = client.recv().await;
        if message["event"] != "$pong" {
            return message;
        }
    }
}

async fn join_since(client: &mut WsClient, room: &str, epoch: &str, offset: u64) -> Value {
    let since = json!({ "epoch": epoch, "offset": offset });
    client
        .request("$join", json!({ "room": room, "since": since }))
        .await
}

#[tokio::test]
async fn history_rooms_number_their_messages_and_the_join_tells_where_the_room_is() {
    let server = TestServer::start(builder()).await;
    let (mut a, a_id) = server.joined_client().await;
    let reply = a.join("feed-1").await;
    assert_eq!(reply["data"]["room"], "feed-1");
    assert_eq!(reply["data"]["epoch"], "", "no history yet: {reply}");
    assert_eq!(reply["data"]["offset"], 0);
    let (mut b, _) = server.joined_client().await;
    b.join("feed-1").await;
    let reply = b.join("plain").await;
    assert_eq!(
        reply["data"],
        json!({ "room": "plain" }),
        "other rooms as before"
    );

    server.hub.to("feed-1").emit("news", 1).unwrap();
    let first = next(&mut b).await;
    assert_eq!(first["offset"], 1, "{first}");
    assert_eq!(first["room"], "feed-1");
    let epoch = first_epoch(&server.hub, "feed-1").await;
    // A relay is kept too, and numbered after.
    a.send(json!({ "event": "chat", "data": "hi", "room": "feed-1" }))
        .await;
    let relayed = next(&mut b).await;
    assert_eq!(
        relayed,
        json!({ "event": "chat", "data": "hi", "room": "feed-1", "from": a_id, "offset": 2 })
    );
    assert_eq!(next(&mut a).await["offset"], 1, "a got the broadcast");
    server.hub.to("plain").emit("x", 0).unwrap();
    let plain = next(&mut b).await;
    assert!(plain.get("offset").is_none(), "{plain}");

    let (mut c, _) = server.joined_client().await;
    let reply = c.join("feed-1").await;
    assert_eq!(
        reply["data"],
        json!({ "room": "feed-1", "epoch": epoch, "offset": 2 })
    );
}

async fn first_epoch(hub: &Hub, room: &str) -> String {
    let page = hub.history(room, 0, 10).await.unwrap();
    assert!(!page.epoch.is_empty());
    page.epoch
}

#[tokio::test]
async fn a_join_since_gets_what_was_missed_in_order_then_the_rest() {
    let server = TestServer::start(builder()).await;
    for n in 1..=5 {
        server.hub.to("feed-r").emit("n", n).unwrap();
    }
    let epoch = first_epoch(&server.hub, "feed-r").await;
    let (mut client, _) = server.joined_client().await;
    let reply = join_since(&mut client, "feed-r", &epoch, 2).await;
    assert_eq!(
        reply["data"],
        json!({ "room": "feed-r", "epoch": epoch, "offset": 5, "recovered": true })
    );
    for n in 3..=5u64 {
        let message = next(&mut client).await;
        assert_eq!(
            (message["offset"].as_u64(), message["data"].as_u64()),
            (Some(n), Some(n))
        );
    }
    server.hub.to("feed-r").emit("n", 6).unwrap();
    assert_eq!(next(&mut client).await["offset"], 6);
    // Nothing missed: recovered, and nothing replayed.
    let (mut late, _) = server.joined_client().await;
    let reply = join_since(&mut late, "feed-r", &epoch, 6).await;
    assert_eq!(reply["data"]["recovered"], true);
    late.assert_silent(150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_since_while_the_room_is_busy_loses_nothing_and_repeats_nothing() {
    let server =
        TestServer::start(builder().history_size(10_000).send_queue_capacity(20_000)).await;
    let hub = server.hub.clone();
    hub.to("feed-busy").emit("n", 0).unwrap();
    let epoch = first_epoch(&hub, "feed-busy").await;
    // A thread of its own: the broadcasts race the joins for real.
    let publisher = std::thread::spawn(move || {
        for n in 1..=3000u64 {
            hub.to("feed-busy").emit("n", n).unwrap();
            if n % 20 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    });
    // Clients join at different moments of the stream, each from where an
    // earlier client stood: each must see every offset after its `since`
    // exactly once, in order.
    let mut clients = Vec::new();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (mut client, _) = server.joined_client().await;
        let reply = join_since(&mut client, "feed-busy", &epoch, 1).await;
        assert_eq!(reply["data"]["recovered"], true, "{reply}");
        clients.push(client);
    }
    publisher.join().unwrap();
    for mut client in clients {
        let mut expected = 2u64;
        while expected <= 3001 {
            let message = next(&mut client).await;
            assert_eq!(message["offset"], expected, "{message}");
            assert_eq!(message["data"], expected - 1);
            expected += 1;
        }
        client.assert_silent(100).await;
    }
}

#[tokio::test]
async fn what_cannot_be_recovered_says_so_and_replays_nothing() {
    let server = TestServer::start(builder().history_size(3)).await;
    for n in 1..=6 {
        server.hub.to("feed-s").emit("n", n).unwrap();
    }
    let epoch = first_epoch(&server.hub, "feed-s").await;
    let (mut client, _) = server.joined_client().await;
    // 4, 5 and 6 are kept: a client at 2 missed 3.
    let reply = join_since(&mut client, "feed-s", &epoch, 2).await;
    assert_eq!(reply["data"]["recovered"], false, "{reply}");
    assert_eq!(reply["data"]["offset"], 6);
    let reply = join_since(&mut client, "feed-s", "another-epoch", 5).await;
    assert_eq!(reply["data"]["recovered"], false, "{reply}");
    let reply = join_since(&mut client, "feed-s", &epoch, 9).await;
    assert_eq!(
        reply["data"]["recovered"], false,
        "past the latest: {reply}"
    );
    client.assert_silent(150).await;
    // A client at 3 missed nothing that is gone.
    let reply = join_since(&mut client, "feed-s", &epoch, 3).await;
    assert_eq!(reply["data"]["recovered"], true);
    for n in 4..=6 {
        assert_eq!(next(&mut client).await["offset"], n);
    }
}

#[tokio::test]
async fn more_missed_than_half_the_send_queue_is_not_recovered_on_the_socket() {
    let server = TestServer::start(builder().history_size(500).send_queue_capacity(100)).await;
    for n in 1..=60 {
        server.hub.to("feed-q").emit("n", n).unwrap();
    }
    let epoch = first_epoch(&server.hub, "feed-q").await;
    let (mut client, _) = server.joined_client().await;
    let reply = join_since(&mut client, "feed-q", &epoch, 5).await;
    assert_eq!(
        reply["data"]["recovered"], false,
        "55 missed, 50 fit: {reply}"
    );
    client.assert_silent(150).await;
    let reply = join_since(&mut client, "feed-q", &epoch, 10).await;
    assert_eq!(reply["data"]["recovered"], true, "50 fit: {reply}");
    for n in 11..=60 {
        assert_eq!(next(&mut client).await["offset"], n);
    }
}

#[tokio::test]
async fn a_malformed_since_is_a_bad_message_and_the_socket_goes_on() {
    let server = TestServer::start(builder()).await;
    let (mut client, _) = server.joined_client().await;
    for since in [
        json!("x"),
        json!({ "epoch": 1, "offset": 1 }),
        json!({ "epoch": "e", "offset": -1 }),
    ] {
        client
            .send(
                json!({ "event": "$join", "data": { "room": "feed-1", "since": since }, "ack": 1 }),
            )
            .await;
        let error = client.recv_event("$error").await;
        assert_eq!(error["data"]["code"], "bad_message", "{error}");
    }
    assert_eq!(client.join("feed-1").await["data"]["offset"], 0);
}

#[tokio::test]
async fn history_expires_and_a_new_epoch_begins() {
    let server = TestServer::start(builder().history_ttl(Duration::from_millis(300))).await;
    server.hub.to("feed-t").emit("n", 1).unwrap();
    let epoch = first_epoch(&server.hub, "feed-t").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let page = server.hub.history("feed-t", 0, 10).await.unwrap();
    assert_eq!((page.epoch.as_str(), page.offset), ("", 0), "{page:?}");
    server.hub.to("feed-t").emit("n", 2).unwrap();
    let page = server.hub.history("feed-t", 0, 10).await.unwrap();
    assert_ne!(page.epoch, epoch);
    assert_eq!(page.offset, 1, "offsets start again in the new epoch");
    let (mut client, _) = server.joined_client().await;
    let reply = join_since(&mut client, "feed-t", &epoch, 1).await;
    assert_eq!(reply["data"]["recovered"], false);
    // One who saw the room before this epoch began misses nothing.
    let reply = join_since(&mut client, "feed-t", "", 0).await;
    assert_eq!(reply["data"]["recovered"], true);
    assert_eq!(next(&mut client).await["data"], 2);
}

#[tokio::test]
async fn hub_history_pages_and_refuses_rooms_without_history() {
    let server = TestServer::start(builder()).await;
    for n in 1..=5 {
        server.hub.to("feed-p").to("other").emit("n", n).unwrap();
    }
    let page = server.hub.history("feed-p", 1, 2).await.unwrap();
    assert_eq!(page.offset, 5);
    let data: Vec<_> = page
        .messages
        .iter()
        .map(|m| (m.offset, m.data.clone()))
        .collect();
    assert_eq!(
        data,
        vec![(Some(2), Some(json!(2))), (Some(3), Some(json!(3)))]
    );
    assert!(
        page.messages
            .iter()
            .all(|m| m.room.as_deref() == Some("feed-p"))
    );
    assert_eq!(
        server.hub.history("other", 0, 10).await,
        Err(HistoryError::NotKept("other".into()))
    );
}

#[tokio::test]
async fn a_socket_in_a_history_room_and_another_room_receives_once_with_the_offset() {
    let server = TestServer::start(builder()).await;
    let (mut both, _) = server.joined_client().await;
    both.join("feed-x").await;
    both.join("plain").await;
    let (mut plain_only, _) = server.joined_client().await;
    plain_only.join("plain").await;
    server.hub.to("plain").to("feed-x").emit("e", 1).unwrap();
    let message = next(&mut both).await;
    assert_eq!(
        (message["room"].as_str(), message["offset"].as_u64()),
        (Some("feed-x"), Some(1))
    );
    both.assert_silent(150).await;
    let message = next(&mut plain_only).await;
    assert_eq!(message["room"], "plain");
    assert!(message.get("offset").is_none());
    // Local broadcasts are not kept.
    server.hub.local().to("feed-x").emit("e", 2).unwrap();
    let message = next(&mut both).await;
    assert!(message.get("offset").is_none(), "{message}");
}
