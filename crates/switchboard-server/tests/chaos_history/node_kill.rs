//! Issue 19's proofs 3 and 5: the node holding a subscriber is killed
//! with SIGKILL mid-stream; the subscriber's link dies, it reconnects
//! through the load balancer to another node, gets a new session there
//! (its resume token died with the node) and recovers the room from its
//! last offset: every number, in order, none twice.

use serde_json::{Value, json};
use switchboard_testkit::{Backend, BackendServer, Balancer, within};
use tokio::time::Instant;

use crate::chaos::feed::{Publisher, Received, Tally, report};
use crate::chaos::nodes::{Cluster, ROOM, start_history};
use crate::chaos::subscriber::Subscriber;

/// Messages a second from the publisher.
const RATE: u32 = 200;
/// Messages the subscriber receives before the kill, and after its
/// recovery before the publisher stops.
const BEFORE_KILL: usize = 100;
const AFTER_RECOVERY: usize = 100;
/// Messages published while the subscriber is away (its reconnect's
/// backoff), which it must recover.
const WHILE_AWAY: u64 = 50;

/// `{"event":"$join",...}` for [`ROOM`] with ack `ack`, from `since`.
fn join(ack: u64, since: Option<(&str, u64)>) -> Value {
    let mut data = json!({ "room": ROOM });
    if let Some((epoch, offset)) = since {
        data["since"] = json!({ "epoch": epoch, "offset": offset });
    }
    json!({"event": "$join", "data": data, "ack": ack})
}

/// The scenario over `kind`'s backend with a subscriber of type `S`.
pub(crate) async fn subscriber_node_killed<S: Subscriber>(kind: Backend, test: &str) {
    let started = Instant::now();
    let Some(backend) = BackendServer::start(kind).await else {
        return;
    };
    let backend_addr = format!("127.0.0.1:{}", backend.port()).parse().unwrap();
    let prefix = format!("chaos-kill-{}-{}", kind.scheme(), std::process::id());
    let mut cluster = Cluster::start(kind, &[backend_addr; 3], &prefix).await;
    let (a, c) = (0, 2);
    let epoch = start_history(&cluster.nodes[c]).await;

    // The subscriber reaches node A through the balancer.
    let balancer = Balancer::start(cluster.addrs()).await;
    balancer.route_to(a);
    let (mut subscriber, welcome) = S::open(balancer.addr(), None).await;
    let token = welcome["session"].as_str().expect("a session").to_owned();
    let mut received = Received::new(ROOM, true);
    subscriber.send(join(1, None)).await;
    let joined = received.reply(&mut subscriber, 1).await;
    assert_eq!(joined["epoch"], epoch.as_str(), "{joined}");
    let joined_at = joined["offset"].as_u64().expect("an offset");

    // Numbers to node C for the whole test.
    let publisher = Publisher::start(cluster.nodes[c].addr, ROOM, RATE, |n| json!(n));
    within(
        "the first messages",
        received.read_until(&mut subscriber, |r| r.numbers.len() >= BEFORE_KILL),
    )
    .await
    .unwrap_or_else(|e| panic!("the link died before the kill: {e}"));

    // SIGKILL node A; the subscriber's link dies with it.
    cluster.nodes[a].kill().await;
    let killed_at = publisher.sent();
    let died = within(
        "the subscriber's link to die",
        received.read_until(&mut subscriber, |_| false),
    )
    .await
    .expect_err("the link outlived its node");
    let before = received.numbers.len();
    let last_offset = received.offsets.last().copied().unwrap_or(joined_at);

    // The client backs off while messages go on.
    publisher.wait_sent(killed_at + WHILE_AWAY).await;

    // The balancer's health check drops A; a long-polling session must
    // stay on one node (each request is a connection of its own).
    balancer.remove(a);
    if S::NEEDS_STICKY_ROUTING {
        balancer.route_to(1);
    }
    let (mut subscriber, welcome) =
        S::open(balancer.addr(), Some((&token, subscriber.received()))).await;
    assert_eq!(
        welcome["resumed"], false,
        "a session of a killed node cannot resume: {welcome}"
    );
    let landed = (1..3)
        .find(|&i| balancer.forwarded(i) > 0)
        .map_or("?", |i| cluster.nodes[i].name.as_str())
        .to_owned();
    subscriber.send(join(2, Some((&epoch, last_offset)))).await;
    let rejoined = received.reply(&mut subscriber, 2).await;
    assert_eq!(rejoined["recovered"], true, "{rejoined}");
    assert_eq!(rejoined["epoch"], epoch.as_str(), "{rejoined}");
    let rejoined_at = rejoined["offset"].as_u64().expect("an offset");

    within(
        "messages after the recovery",
        received.read_until(&mut subscriber, |r| {
            r.numbers.len() >= before + AFTER_RECOVERY
        }),
    )
    .await
    .unwrap_or_else(|e| panic!("the new link died: {e}"));
    let sent = publisher.stop().await;
    within(
        "the last number",
        received.read_until(&mut subscriber, |r| r.numbers.contains(&(sent - 1))),
    )
    .await
    .unwrap_or_else(|e| panic!("the new link died: {e}"));

    let replayed = received.offsets[before..]
        .iter()
        .filter(|&&offset| offset <= rejoined_at)
        .count();
    let tally = Tally::of(sent, &received.numbers);
    let breaks = received.offset_breaks(joined_at);
    report(
        test,
        &format!(
            "{tally} ({}; A killed after {killed_at} sent, link died: {died}; \
             {before} received before; recovered {replayed} from offset {last_offset} on node \
             {landed}; {:.1} s)",
            S::TRANSPORT,
            started.elapsed().as_secs_f64(),
        ),
    );
    assert!(
        tally.is_clean() && breaks.is_empty(),
        "{tally}: {}; offset breaks {breaks:?}; {}",
        tally.faults(),
        cluster.history_counters().await
    );
}
