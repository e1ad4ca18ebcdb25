//! What the admin dashboard reads from the hub: per-room traffic (counted
//! only while asked for, top N), a socket's queue depths and when its
//! session opened.

mod common;

use std::time::{Duration, SystemTime};

use common::TestServer;
use serde_json::json;
use switchboard::{Hub, RoomTraffic};

#[tokio::test]
async fn room_traffic_is_counted_only_while_on_and_taken_top_first() {
    let server = TestServer::start(Hub::builder()).await;
    let (mut a, _) = server.joined_client().await;
    let (mut b, _) = server.joined_client().await;
    a.call("$join", json!({"room": "big"}), 1).await;
    b.call("$join", json!({"room": "big"}), 1).await;
    a.call("$join", json!({"room": "small"}), 2).await;
    a.call("$join", json!({"room": "quiet"}), 3).await;
    let hub = &server.hub;

    // Off (the default): nothing is counted.
    hub.to("big").emit("e", 0).unwrap();
    assert!(hub.take_room_traffic(10).is_empty());

    hub.count_room_traffic(true);
    for _ in 0..3 {
        hub.to("big").emit("e", 1).unwrap();
    }
    hub.to("small").emit("e", 2).unwrap();
    let traffic = hub.take_room_traffic(10);
    assert_eq!(
        traffic,
        vec![
            RoomTraffic {
                room: "big".into(),
                members: 2,
                messages: 3,
                deliveries: 6
            },
            RoomTraffic {
                room: "small".into(),
                members: 1,
                messages: 1,
                deliveries: 1
            },
        ],
        "most deliveries first; the quiet room is left out"
    );
    // Taken: counts start again; the top N bound holds.
    assert!(hub.take_room_traffic(10).is_empty());
    hub.to("big").emit("e", 3).unwrap();
    hub.to("small").emit("e", 3).unwrap();
    let top = hub.take_room_traffic(1);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].room, "big");

    hub.count_room_traffic(false);
    hub.to("big").emit("e", 4).unwrap();
    assert!(hub.take_room_traffic(10).is_empty());
    // Drain what the clients got, so nothing is left unread.
    for _ in 0..6 {
        assert_eq!(b.recv().await["event"], "e");
    }
}

#[tokio::test]
async fn a_socket_tells_its_queue_depths_and_when_it_opened() {
    let before = SystemTime::now() - Duration::from_secs(1);
    let server = TestServer::start(Hub::builder()).await;
    let (mut client, id) = server.joined_client().await;
    let socket = server.hub.socket(&id).expect("connected here");
    let opened = socket.handshake().opened_at();
    assert!(
        opened >= before && opened <= SystemTime::now(),
        "{opened:?}"
    );
    server.hub.send_to(&id, "e", 1).unwrap();
    assert_eq!(client.recv().await["event"], "e");
    let depths = socket.queue_depths();
    assert_eq!(depths.pending, 0, "{depths:?}");
    assert!(depths.resume_messages >= 1, "{depths:?}");
    assert!(depths.resume_bytes > 0, "{depths:?}");
}
