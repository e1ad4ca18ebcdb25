//! The client behind a load balancer in front of a cluster (PROTOCOL.md
//! section 11): when its node drains (`1012`), it reconnects at once, the
//! balancer sends it to the other node, and its session moves there,
//! without a gap.

#[path = "client_support.rs"]
mod support;

use support::*;
use switchboard::adapter::MemoryBus;
use switchboard_testkit::Balancer;
use switchboard_testkit::cluster::{Node, test_options};

// Two threads: the client's handlers run in order on any runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_the_session_to_the_other_one_without_a_gap() {
    let bus = MemoryBus::new();
    let a = Node::start(bus.clone(), test_options()).await;
    let b = Node::start(bus, test_options()).await;
    for node in [&a, &b] {
        node.wait_status("the nodes to see each other", |s| s.peers.len() == 1)
            .await;
    }
    let balancer = Balancer::start([a.addr, b.addr]).await;
    balancer.route_to(0);
    // A long backoff: the reconnect after `1012` must not wait for it.
    let url = format!("ws://{}/", balancer.addr());
    let (builder, mut rx) = recorder(
        client::connect(&url).reconnect_delay(Duration::from_secs(30)),
        "n",
    );
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join("r").await.unwrap();
    let id = client.id().unwrap();
    // The publisher is on the node that stays.
    for n in 1..=5 {
        b.hub.to("r").emit("n", n).unwrap();
    }
    assert_eq!(recv_n(&mut rx, 5).await, vec![1, 2, 3, 4, 5]);

    // New connections go to B; A drains.
    balancer.route_to(1);
    let hub = a.hub.clone();
    let drained = tokio::spawn(async move { hub.shutdown().await });
    let reason = next_event(&mut events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect: true,
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 1012, .. }),
        "{reason:?}"
    );
    let delay = next_event(&mut events, |e| match e {
        Event::Reconnecting { attempt: 1, delay } => Some(*delay),
        _ => None,
    })
    .await;
    assert_eq!(
        delay,
        Duration::ZERO,
        "after 1012 the client reconnects at once"
    );
    // Sent while the session moves.
    for n in 6..=10 {
        b.hub.to("r").emit("n", n).unwrap();
    }
    let resumed = next_event(&mut events, |e| match e {
        Event::Connected { resumed, .. } => Some(*resumed),
        _ => None,
    })
    .await;
    assert!(resumed, "the session moved to B");
    assert_eq!(client.id().unwrap(), id, "same id on the other node");
    assert!(b.hub.socket(&id).is_some(), "B holds the session");
    for n in 11..=15 {
        b.hub.to("r").emit("n", n).unwrap();
    }
    assert_eq!(recv_n(&mut rx, 10).await, (6..=15).collect::<Vec<_>>());
    // A's drain ends once its one session moved, well before its deadline.
    within("A's drain", drained).await.unwrap();
    assert_eq!(a.hub.stats().sessions_moved_out, 1);
    client.close().await;
}
