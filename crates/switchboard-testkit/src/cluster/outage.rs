//! Backend outages: what must cross nodes waits in a bounded queue and goes
//! out in order once the backend (and the other nodes' subscriptions) are
//! back; only what overflows the bound is dropped and counted.

use std::time::Duration;

use switchboard::Hub;
use tokio::sync::mpsc;

use super::{ClusterBackend, Node, join, start_nodes, test_options};
use crate::{WAIT, WsClient};

/// Forwards every `n` event's data a client receives into a channel.
fn collect_numbers(mut client: WsClient) -> mpsc::UnboundedReceiver<u64> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let message = client.recv().await;
            if message["event"] == "n" {
                let n = message["data"].as_u64().expect("number");
                if tx.send(n).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// Waits until a number at least `n` has arrived (at once if one has);
/// adds every number read to `seen`.
async fn read_until(rx: &mut mpsc::UnboundedReceiver<u64>, n: u64, seen: &mut Vec<u64>) {
    if seen.last().is_some_and(|last| *last >= n) {
        return;
    }
    tokio::time::timeout(WAIT, async {
        while let Some(got) = rx.recv().await {
            seen.push(got);
            if got >= n {
                return;
            }
        }
        panic!("number stream ended");
    })
    .await
    .unwrap_or_else(|_| panic!("number {n} did not arrive; last {:?}", seen.last()));
}

/// The backend stops and restarts under traffic: local delivery never
/// stops, what must cross nodes waits and arrives in order once the
/// backend is back, and cluster answers say who is missing meanwhile.
pub async fn backend_outage_mid_traffic<B: ClusterBackend>(backend: &mut B) {
    let nodes = start_nodes(backend, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut a1 = a.client().await;
    let mut b1 = b.client().await;
    join(&mut a1, "r").await;
    join(&mut b1, "r").await;
    let b_id = b.hub.node_id().to_owned();
    let mut local = collect_numbers(a1);
    let mut remote = collect_numbers(b1);

    // A steady publisher on A: one message per millisecond.
    let hub = a.hub.clone();
    let (next_tx, mut next_rx) = tokio::sync::watch::channel(0u64);
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let publisher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut n = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop_rx => return n - 1,
            }
            hub.to("r").emit("n", n).expect("emit");
            next_tx.send_replace(n);
            n += 1;
        }
    });
    let (mut local_seen, mut remote_seen) = (Vec::new(), Vec::new());
    read_until(&mut remote, 50, &mut remote_seen).await;

    backend.cut().await;
    a.wait_status("A to see the backend down", |s| !s.backend_up)
        .await;
    b.wait_status("B to see the backend down", |s| !s.backend_up)
        .await;
    let cut_at = *next_rx.borrow_and_update();
    // Local traffic goes on while the backend is down; the outage lasts
    // past the node timeout (600 ms), so peers go stale meanwhile.
    read_until(&mut local, cut_at + 900, &mut local_seen).await;
    let members = a.hub.cluster().members("r").await;
    assert_eq!(members.missing, [b_id], "B cannot answer while down");
    assert_eq!(members.value.len(), 1, "only A's member is known");
    assert!(
        a.hub.cluster().stats().queued_bytes > 0,
        "what must cross waits"
    );

    backend.restore().await;
    for node in [a, b] {
        node.wait_status("the cluster to re-form", |s| {
            s.backend_up && s.peers.len() == 1
        })
        .await;
    }
    let restored_at = *next_rx.borrow_and_update();
    read_until(&mut remote, restored_at + 100, &mut remote_seen).await;
    let _ = stop_tx.send(());
    let last = publisher.await.expect("publisher");
    read_until(&mut local, last, &mut local_seen).await;

    read_until(&mut remote, last, &mut remote_seen).await;

    // Local: every number, in order, none twice.
    assert_eq!(local_seen, (0..=last).collect::<Vec<_>>());
    // Remote: in order, none twice, and everything published once A knew
    // the backend was away (it waited in A's queue) arrived after it. What
    // A published as the backend died may have missed B.
    assert!(remote_seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    // (`cut_at` itself may have been published as the backend died.)
    let missing: Vec<u64> = (cut_at + 1..=last)
        .filter(|n| remote_seen.binary_search(n).is_err())
        .collect();
    assert!(missing.is_empty(), "lost in the outage: {missing:?}");
    for node in [a, b] {
        let stats = node.hub.cluster().stats();
        assert!(stats.reconnects >= 1, "{stats:?}");
        assert_eq!((stats.dropped, stats.queued_bytes), (0, 0), "{stats:?}");
    }
    assert!(a.hub.cluster().members("r").await.is_complete());
}

/// An outage longer than the backlog's bound: the first operations (within
/// it) arrive after the outage, in order; the rest are dropped and counted.
pub async fn outage_backlog_is_bounded<B: ClusterBackend>(backend: &mut B) {
    let a = Node::start_with(
        Hub::builder(),
        backend.driver(),
        test_options().outbound_bounds(50, 1 << 20),
    )
    .await;
    let b = Node::start(backend.driver(), test_options()).await;
    for node in [&a, &b] {
        node.wait_status("the two nodes to meet", |s| {
            s.backend_up && s.peers.len() == 1
        })
        .await;
    }
    let mut b1 = b.client().await;
    join(&mut b1, "r").await;
    let mut remote = collect_numbers(b1);
    backend.cut().await;
    a.wait_status("A to see the backend down", |s| !s.backend_up)
        .await;
    for n in 0..200u64 {
        a.hub.to("r").emit("n", n).expect("emit");
    }
    let stats = a.hub.cluster().stats();
    assert_eq!(stats.dropped, 150, "{stats:?}");
    backend.restore().await;
    let mut seen = Vec::new();
    read_until(&mut remote, 49, &mut seen).await;
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), remote.recv())
            .await
            .is_err(),
        "nothing past the bound arrives"
    );
}

/// Two nodes that both held operations back through an outage hear each
/// other at once when the backend returns, so both backlogs go out well
/// before the node timeout (which each would otherwise wait out, its
/// heartbeats queued behind its own backlog).
pub async fn held_backlogs_go_out_without_waiting_out_the_node_timeout<B: ClusterBackend>(
    backend: &mut B,
) {
    let options = || test_options().node_timeout(Duration::from_secs(8));
    let a = Node::start_with(Hub::builder(), backend.driver(), options()).await;
    let b = Node::start_with(Hub::builder(), backend.driver(), options()).await;
    for node in [&a, &b] {
        node.wait_status("the two nodes to meet", |s| {
            s.backend_up && s.peers.len() == 1
        })
        .await;
    }
    let (mut a1, mut b1) = (a.client().await, b.client().await);
    join(&mut a1, "on-a").await;
    join(&mut b1, "on-b").await;
    let (mut on_a, mut on_b) = (collect_numbers(a1), collect_numbers(b1));
    backend.cut().await;
    for node in [&a, &b] {
        node.wait_status("the backend to go", |s| !s.backend_up)
            .await;
    }
    for n in 0..20u64 {
        a.hub.to("on-b").emit("n", n).expect("emit");
        b.hub.to("on-a").emit("n", n).expect("emit");
    }
    let restored = tokio::time::Instant::now();
    backend.restore().await;
    let (mut seen_a, mut seen_b) = (Vec::new(), Vec::new());
    read_until(&mut on_b, 19, &mut seen_b).await;
    read_until(&mut on_a, 19, &mut seen_a).await;
    let took = restored.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "the backlogs went out {took:?} after the restore: the node timeout was waited out"
    );
    assert_eq!(seen_a, (0..20).collect::<Vec<_>>());
    assert_eq!(seen_b, (0..20).collect::<Vec<_>>());
}
