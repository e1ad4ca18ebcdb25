//! PROTOCOL.md section 11, "A session moves": a WebSocket subscriber's
//! session goes back and forth between nodes A and B fifty times while a
//! publisher on node C sends numbered messages to its room at 200 a
//! second. At each move the subscriber resumes on the other node with
//! `resume=<session>&last=<received>`, through the load balancer; the
//! resume must answer `resumed:true` with the same socket id and user, and
//! in the end the subscriber must have every number, in order, none twice,
//! and be the room's only member.
//!
//! Either the old link is cut first (both ends reset: the hub holding the
//! session sees it drop), or the new link opens while the old one is
//! still up, and the hub must close the old one with `4002`. Either way a
//! few messages are published between the client's last read on the old
//! link and its resume, so that each resume has messages to bring.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::{Backend, BackendServer, Balancer, hs256_token, within};
use tokio::time::Instant;

use crate::chaos::feed::{Publisher, Received, Tally, report};
use crate::chaos::nodes::{Cluster, ROOM};
use crate::chaos::subscriber::{LinkEnd, Subscriber, WsSubscriber};

/// Messages a second from the publisher.
const RATE: u32 = 200;
/// How many times the session moves.
const MOVES: usize = 50;
/// Room messages the subscriber receives before the first move, and on
/// each node before it moves on.
const WARM_UP: usize = 20;
const PER_HOP: usize = 10;
/// Messages published at each move between the client's last read on the
/// old link and its resume on the new one, which the resume must bring.
const AWAY: u64 = 3;
/// How long the last number may take to arrive once the publisher stops.
const SETTLE: Duration = Duration::from_secs(5);
/// How long the old link may stay open after the resume on the other
/// node, before the test fails for want of its `4002`.
const TAKEOVER: Duration = Duration::from_secs(5);
/// The nodes' token secret, and the subscriber's user.
const SECRET: &str = "chaos-sessions-secret-of-32-bytes-or-more";
const USER: &str = "ada";

/// The room the subscriber is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// `chat-1`, a plain room: what the session's resume buffer carries is
    /// all there is.
    Plain,
    /// `feed-1`, a room with history (`--history feed-*`): its messages
    /// carry offsets, which must increase.
    History,
}

impl Room {
    fn name(self) -> &'static str {
        match self {
            Room::Plain => "chat-1",
            Room::History => ROOM,
        }
    }
}

/// How the session leaves its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Move {
    /// The balancer cuts the link (both ends reset, as when a network path
    /// dies) and sends the client's reconnect to the other node.
    LinkDropped,
    /// The client opens its new link to the other node while the old one
    /// is up; the hub must close the old one with `4002`. What the old
    /// link delivers after the new one opened is not counted: the new one
    /// replays it.
    LinkAlive,
}

/// The scenario over `kind`'s backend.
pub(crate) async fn session_moved(kind: Backend, room: Room, how: Move, test: &str) {
    let started = Instant::now();
    let Some(backend) = BackendServer::start(kind).await else {
        return;
    };
    let backend_addr: SocketAddr = format!("127.0.0.1:{}", backend.port()).parse().unwrap();
    let prefix = format!("chaos-{test}-{}", std::process::id());
    let flags = ["--token-hmac-secret", SECRET];
    let cluster = Cluster::start_with(kind, &[backend_addr; 3], &prefix, &flags).await;
    let (a, b, c) = (0, 1, 2);
    let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();

    // The subscriber reaches node A through the balancer, and joins.
    let balancer = Balancer::start(cluster.addrs()).await;
    balancer.route_to(a);
    let token = hs256_token(SECRET.as_bytes(), json!({ "sub": USER }));
    let (mut link, welcome) = WsSubscriber::try_open_with(balancer.addr(), None, Some(&token))
        .await
        .unwrap_or_else(|e| panic!("the first handshake: {e}"));
    assert_eq!(welcome["user"], USER, "{welcome}");
    let id = welcome["id"].as_str().expect("an id").to_owned();
    let session = welcome["session"].as_str().expect("a session").to_owned();
    let mut received = Received::new(room.name(), room == Room::History);
    link.send(json!({"event": "$join", "data": {"room": room.name()}, "ack": 1}))
        .await;
    let joined = received.reply(&mut link, 1).await;
    assert_eq!(joined["room"], room.name(), "{joined}");

    let publisher = Publisher::start(cluster.nodes[c].addr, room.name(), RATE, |n| json!(n));
    within(
        "the first messages",
        received.read_until(&mut link, |r| r.numbers.len() >= WARM_UP),
    )
    .await
    .unwrap_or_else(|e| panic!("the link ended before the first move: {e}"));

    let mut on = a;
    // Each resume's `missed`; how each old link ended; what old links
    // delivered once their client had moved on (`Move::LinkAlive`).
    let mut missed = Vec::new();
    let mut old_ends = Vec::new();
    let mut stray = 0;
    for hop in 1..=MOVES {
        let to = if on == a { b } else { a };
        let step = format!("move {hop} ({} to {})", names[on], names[to]);
        let (new_link, welcome, last) = match how {
            Move::LinkDropped => {
                balancer.move_all_to(to);
                // What reached the client before the cut counts.
                let end = within(
                    "the cut link to end",
                    received.read_until(&mut link, |_| false),
                )
                .await
                .expect_err("reading until false ends only with the link");
                old_ends.push(end);
                let last = link.received();
                // The client is away for a few messages.
                publisher.wait_sent(publisher.sent() + AWAY).await;
                let (new_link, welcome) =
                    resume(balancer.addr(), &session, last, &token, &step).await;
                (new_link, welcome, last)
            }
            Move::LinkAlive => {
                balancer.route_to(to);
                // The client stops reading the old link, and opens the
                // new one a few messages later.
                let last = link.received();
                publisher.wait_sent(publisher.sent() + AWAY).await;
                let (new_link, welcome) =
                    resume(balancer.addr(), &session, last, &token, &step).await;
                if welcome["resumed"] == true {
                    let (end, count) = taken_over(&mut link).await;
                    assert_eq!(
                        end,
                        Some(LinkEnd::Closed(4002)),
                        "{step}: the old link on {} after the resume on {} ({count} messages \
                         on it meanwhile, not counted); {}",
                        names[on],
                        names[to],
                        Tally::of(publisher.sent(), &received.numbers)
                    );
                    old_ends.push(LinkEnd::Closed(4002));
                    stray += count;
                }
                (new_link, welcome, last)
            }
        };
        let kept = welcome["resumed"] == true
            && welcome["id"] == id.as_str()
            && welcome["session"] == session.as_str()
            && welcome["user"] == USER;
        assert!(
            kept,
            "{step}: the resume with last={last} answered {welcome}; want resumed:true, id \
             {id}, the same session and user {USER}; so far: {}",
            Tally::of(publisher.sent(), &received.numbers)
        );
        missed.push(welcome["missed"].as_u64().unwrap_or_else(|| {
            panic!("{step}: a $welcome without missed: {welcome}");
        }));
        link = new_link;
        on = to;
        let target = received.numbers.len() + PER_HOP;
        within(
            "messages on the new link",
            received.read_until(&mut link, |r| r.numbers.len() >= target),
        )
        .await
        .unwrap_or_else(|e| panic!("{step}: the new link ended: {e}"));
    }

    let sent = publisher.stop().await;
    // Whatever does not arrive in time counts as lost below.
    let settled = tokio::time::timeout(
        SETTLE,
        received.read_until(&mut link, |r| r.numbers.contains(&(sent - 1))),
    )
    .await;
    if let Ok(Err(end)) = settled {
        panic!("the link ended after the last move: {end}");
    }
    let members = cluster.nodes[c].members(room.name()).await;

    let tally = Tally::of(sent, &received.numbers);
    let unordered: Vec<(u64, u64)> = received
        .offsets
        .windows(2)
        .filter(|pair| pair[0] >= pair[1])
        .map(|pair| (pair[0], pair[1]))
        .collect();
    let moved = match how {
        Move::LinkDropped => "link cut before each resume",
        Move::LinkAlive => "old link up at each resume",
    };
    report(
        test,
        &format!(
            "{tally} (websocket, room {}, {MOVES} moves between {} and {}, {moved}; missed per \
             resume {}..{} ({} in all); old links {}; {stray} messages on old links after the \
             move, not counted; {:.1} s)",
            room.name(),
            names[a],
            names[b],
            missed.iter().min().unwrap_or(&0),
            missed.iter().max().unwrap_or(&0),
            missed.iter().sum::<u64>(),
            ends_summary(&old_ends),
            started.elapsed().as_secs_f64(),
        ),
    );
    assert!(
        tally.is_clean() && tally.delivered == tally.sent,
        "{tally}: {}",
        tally.faults()
    );
    assert!(
        unordered.is_empty(),
        "offsets that do not increase: {unordered:?}"
    );
    assert_eq!(
        members,
        Ok(vec![id.clone()]),
        "the room's members after the moves (the session {id} alone)"
    );
}

/// Opens a link at `addr` resuming `session` from `last`, with the
/// user's `token`; fails the test when the handshake fails.
async fn resume(
    addr: SocketAddr,
    session: &str,
    last: u64,
    token: &str,
    step: &str,
) -> (WsSubscriber, Value) {
    WsSubscriber::try_open_with(addr, Some((session, last)), Some(token))
        .await
        .unwrap_or_else(|e| panic!("{step}: the resume's handshake: {e}"))
}

/// Reads the old link of a session resumed elsewhere until it ends, for
/// at most [`TAKEOVER`]: how it ended (`None`: still open) and how many
/// messages it delivered meanwhile.
async fn taken_over(old: &mut WsSubscriber) -> (Option<LinkEnd>, usize) {
    let mut count = 0;
    let deadline = Instant::now() + TAKEOVER;
    loop {
        match tokio::time::timeout_at(deadline, old.next()).await {
            Err(_) => return (None, count),
            Ok(Ok(messages)) => count += messages.len(),
            Ok(Err(end)) => return (Some(end), count),
        }
    }
}

/// How a list of links ended, by kind: `closed 4002 ×50`, or `reset ×49,
/// closed 1000 ×1`.
fn ends_summary(ends: &[LinkEnd]) -> String {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for end in ends {
        let kind = match end {
            LinkEnd::Broken(_) => "reset".to_owned(),
            other => other.to_string(),
        };
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => *count += 1,
            None => kinds.push((kind, 1)),
        }
    }
    let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    parts.join(", ")
}
