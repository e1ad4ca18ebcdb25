//! The client in history rooms (PROTOCOL.md section 11) against an
//! in-process hub that never resumes (resume window 0), so that every
//! reconnect lands on a new session: the client rejoins with `since` and
//! gets what it missed, in order and once, or is told it cannot.

#[path = "client_support.rs"]
mod support;

use support::*;
use switchboard_client::client::HistoryPosition;

const ROOM: &str = "feed-1";

/// A hub keeping the history of `feed-*` rooms that never resumes a
/// session.
fn history_hub() -> HubBuilder {
    Hub::builder()
        .history(|room: &str| room.starts_with("feed-"))
        .resume_window(Duration::ZERO)
}

async fn epoch(hub: &Hub) -> String {
    hub.history(ROOM, 0, 0).await.unwrap().epoch
}

fn position(epoch: &str, offset: u64) -> HistoryPosition {
    HistoryPosition {
        epoch: epoch.to_owned(),
        offset,
    }
}

/// Waits until the client's position in `ROOM` is `expected`.
async fn position_reaches(client: &Client, expected: HistoryPosition) {
    within("the room's position", async {
        while client.room_position(ROOM).as_ref() != Some(&expected) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

fn publish(hub: &Hub, numbers: std::ops::RangeInclusive<u64>) {
    for n in numbers {
        hub.to(ROOM).emit("n", n).unwrap();
    }
}

/// Cuts the client's link and keeps it out until `away` ran: the next
/// session is a new one. Returns what the rejoin of `ROOM` recovered
/// (announced before `Connected`).
async fn away_while(
    proxy: &Proxy,
    events: &mut broadcast::Receiver<Event>,
    away: impl std::future::Future<Output = ()>,
) -> bool {
    proxy.set_down(true);
    proxy.cut();
    next_event(events, |e| {
        matches!(e, Event::Disconnected { .. }).then_some(())
    })
    .await;
    away.await;
    proxy.set_down(false);
    let recovered = recovered(events).await;
    let resumed = next_event(events, |e| match e {
        Event::Connected { resumed, .. } => Some(*resumed),
        _ => None,
    })
    .await;
    assert!(!resumed, "the hub resumes no session");
    recovered
}

async fn recovered(events: &mut broadcast::Receiver<Event>) -> bool {
    next_event(events, |e| match e {
        Event::Recovered { room, recovered } if room == ROOM => Some(*recovered),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_stream_cut_mid_way_arrives_whole_in_order_and_once() {
    const N: u64 = 400;
    let server = TestHub::start(history_hub().history_size(1000)).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join(ROOM).await.unwrap();
    assert_eq!(client.room_position(ROOM), Some(position("", 0)));

    // The hub publishes all along; the link is cut mid-stream, twice.
    let hub = server.hub.clone();
    let publisher = tokio::spawn(async move {
        for n in 1..=N {
            hub.to(ROOM).emit("n", n).unwrap();
            if n % 4 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let mut got = recv_n(&mut rx, 100).await;
    proxy.cut();
    got.extend(recv_n(&mut rx, 150).await);
    proxy.cut();
    got.extend(recv_n(&mut rx, (N - 250) as usize).await);
    publisher.await.unwrap();
    assert_eq!(got, (1..=N).collect::<Vec<_>>());

    for _ in 0..2 {
        assert!(recovered(&mut events).await, "both rejoins recovered");
    }
    assert_eq!(client.reconnect_count(), 2);
    // Nothing more, nothing twice.
    server.hub.to(ROOM).emit("n", N + 1).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![N + 1]);
    assert!(rx.try_recv().is_err());
    let epoch = epoch(&server.hub).await;
    assert_eq!(client.room_position(ROOM), Some(position(&epoch, N + 1)));
    client.close().await;
}

/// A relay is never sent back to its sender live; on a new session, the
/// history's replay of what the client relayed in its earlier session is
/// not handed to it either (it still moves the room's position on).
#[tokio::test]
async fn a_recovery_on_a_new_session_leaves_out_what_the_client_relayed() {
    let server = TestHub::start(history_hub()).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join(ROOM).await.unwrap();
    let (other_builder, mut other_rx) = recorder(fast(&server.url()), "n");
    let other = other_builder.connect().await.unwrap();
    other.join(ROOM).await.unwrap();

    publish(&server.hub, 1..=1); // offset 1
    assert_eq!(recv_n(&mut rx, 1).await, [1]);
    // Offset 2, its `from` this session's id: the other member gets it.
    client.to(ROOM).emit_with_ack("n", 100, None).await.unwrap();
    assert_eq!(recv_n(&mut other_rx, 2).await, [1, 100]);

    let recovered = away_while(&proxy, &mut events, async {
        publish(&server.hub, 2..=2); // offset 3
        other.to(ROOM).emit_with_ack("n", 200, None).await.unwrap(); // offset 4
    })
    .await;
    assert!(recovered);
    publish(&server.hub, 3..=3); // offset 5
    assert_eq!(recv_n(&mut rx, 3).await, [2, 200, 3], "not its own 100");
    assert!(rx.try_recv().is_err());
    let epoch = epoch(&server.hub).await;
    assert_eq!(client.room_position(ROOM), Some(position(&epoch, 5)));
    other.close().await;
    client.close().await;
}

#[tokio::test]
async fn a_room_joined_before_its_history_began_learns_its_epoch_and_recovers() {
    // More messages than the history keeps: recovering from the start of
    // the epoch would fail; only the client's own offset recovers.
    let server = TestHub::start(history_hub().history_size(10)).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join(ROOM).await.unwrap();
    client.join("plain").await.unwrap();
    assert_eq!(client.room_position("plain"), None, "no history there");

    publish(&server.hub, 1..=25);
    assert_eq!(recv_n(&mut rx, 25).await, (1..=25).collect::<Vec<_>>());
    let epoch = epoch(&server.hub).await;
    position_reaches(&client, position(&epoch, 25)).await;

    let recovered = away_while(&proxy, &mut events, async { publish(&server.hub, 26..=30) }).await;
    assert!(recovered);
    publish(&server.hub, 31..=31);
    assert_eq!(recv_n(&mut rx, 6).await, (26..=31).collect::<Vec<_>>());
    assert!(rx.try_recv().is_err());
    assert_eq!(client.rooms(), vec![ROOM.to_owned(), "plain".to_owned()]);
    client.close().await;
}

#[tokio::test]
async fn too_short_a_history_does_not_recover_and_the_client_goes_on() {
    let server = TestHub::start(history_hub().history_size(2)).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join(ROOM).await.unwrap();
    publish(&server.hub, 1..=3);
    assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3]);
    let epoch = epoch(&server.hub).await;
    position_reaches(&client, position(&epoch, 3)).await;

    // Five missed, two kept: the history no longer reaches back.
    let recovered = away_while(&proxy, &mut events, async { publish(&server.hub, 4..=8) }).await;
    assert!(!recovered);
    assert_eq!(client.room_position(ROOM), Some(position(&epoch, 8)));
    assert_eq!(client.rooms(), vec![ROOM.to_owned()], "still in the room");
    publish(&server.hub, 9..=10);
    assert_eq!(recv_n(&mut rx, 2).await, vec![9, 10], "nothing of 4..=8");
    assert!(rx.try_recv().is_err());
    client.close().await;
}

#[tokio::test]
async fn a_history_that_starts_again_while_connected_loses_nothing() {
    let ttl = Duration::from_millis(100);
    let server = TestHub::start(history_hub().history_ttl(ttl)).await;
    let client_url = server.url();
    let (builder, mut rx) = recorder(fast(&client_url), "n");
    let client = builder.connect().await.unwrap();
    client.join(ROOM).await.unwrap();
    publish(&server.hub, 1..=3);
    assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3]);
    let first = epoch(&server.hub).await;
    position_reaches(&client, position(&first, 3)).await;

    // Every message expires: the next starts a new epoch, at offset 1.
    within("the room's history to expire", async {
        while !server
            .hub
            .history(ROOM, 0, 10)
            .await
            .unwrap()
            .epoch
            .is_empty()
        {
            tokio::time::sleep(ttl / 4).await;
        }
    })
    .await;
    publish(&server.hub, 4..=6);
    assert_eq!(
        recv_n(&mut rx, 3).await,
        vec![4, 5, 6],
        "offsets going back are a new epoch, not duplicates"
    );
    let second = epoch(&server.hub).await;
    assert_ne!(first, second);
    position_reaches(&client, position(&second, 3)).await;
    client.close().await;
}

#[tokio::test]
async fn join_since_recovers_from_a_position_the_application_kept() {
    let server = TestHub::start(history_hub()).await;
    let (builder, mut rx) = recorder(fast(&server.url()), "n");
    let first = builder.connect().await.unwrap();
    first.join(ROOM).await.unwrap();
    publish(&server.hub, 1..=5);
    assert_eq!(recv_n(&mut rx, 5).await, vec![1, 2, 3, 4, 5]);
    let epoch = epoch(&server.hub).await;
    position_reaches(&first, position(&epoch, 5)).await;
    let kept = first.room_position(ROOM).unwrap();
    first.close().await;

    publish(&server.hub, 6..=8);
    let (builder, mut rx) = recorder(fast(&server.url()), "n");
    let second = builder.connect().await.unwrap();
    let mut events = second.events();
    assert!(second.join_since(ROOM, &kept).await.unwrap());
    assert!(recovered(&mut events).await);
    publish(&server.hub, 9..=9);
    assert_eq!(recv_n(&mut rx, 4).await, vec![6, 7, 8, 9]);
    assert_eq!(second.rooms(), vec![ROOM.to_owned()]);

    // A position whose epoch the client did not know (it joined before
    // the history began): the whole epoch is replayed and what it had
    // received is dropped.
    let (builder, mut rx) = recorder(fast(&server.url()), "n");
    let third = builder.connect().await.unwrap();
    assert!(third.join_since(ROOM, &position("", 7)).await.unwrap());
    publish(&server.hub, 10..=10);
    assert_eq!(recv_n(&mut rx, 3).await, vec![8, 9, 10]);
    assert!(rx.try_recv().is_err());

    // Too far back in another epoch: not recovered, joined all the same.
    let (builder, mut rx) = recorder(fast(&server.url()), "n");
    let fourth = builder.connect().await.unwrap();
    assert!(!fourth.join_since(ROOM, &position("gone", 3)).await.unwrap());
    assert_eq!(fourth.room_position(ROOM), Some(position(&epoch, 10)));
    publish(&server.hub, 11..=11);
    assert_eq!(recv_n(&mut rx, 1).await, vec![11]);
    for client in [second, third, fourth] {
        client.close().await;
    }
}
