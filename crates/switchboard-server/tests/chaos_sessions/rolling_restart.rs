//! PROTOCOL.md section 11, "A node drains": a rolling restart of a
//! three-node cluster under subscribers. For each node in turn, the load
//! balancer stops routing to it and it gets SIGTERM: it must hand its
//! sessions to the cluster and close its WebSocket links with `1012`; the
//! subscribers reconnect at once through the balancer, resume on another
//! node and get `resumed:true` with the same socket id. A new process
//! (on a new port) then takes the node's place, and the next node goes.
//! Numbered messages flow to the subscribers' room the whole time; in the
//! end every subscriber must have every number, in order, none twice.
//!
//! WebSocket subscribers go through one round-robin balancer. Long-polling
//! sessions need a balancer that keeps each at one node (each request is
//! a connection of its own): each has a balancer of its own, pinned, which
//! the test re-pins to a live node as the node drains (a sticky balancer
//! whose node leaves). The publisher sends through the HTTP API of the
//! node restarted last, and moves to one already restarted before that
//! node goes: it holds, lets everything sent arrive, and moves (two nodes'
//! messages are not ordered with each other).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::{Backend, BackendServer, Balancer};
use tokio::time::Instant;

use crate::chaos::feed::{Publisher, Tally, report};
use crate::chaos::nodes::{Cluster, Node};
use crate::chaos::subscriber::{LinkEnd, PollSubscriber, WsSubscriber};
use crate::roaming::{Fleet, Log};

/// Nodes in the cluster.
const NODES: usize = 3;
/// The subscribers' room: a plain room, without history to fall back on.
const ROOM: &str = "chat-1";
/// WebSocket subscribers (through the round-robin balancer: every node
/// holds some of them when its turn comes), and long-polling ones with
/// the node each is pinned to first.
const WEBSOCKETS: usize = 4;
const POLL_PINS: [usize; 2] = [0, 1];
/// Messages a second from the publisher.
const RATE: u32 = 100;
/// Messages each subscriber receives before the first node stops, and
/// messages published after the last restart before the publisher stops.
const WARM_UP: usize = 20;
const AFTER: u64 = 100;
/// The nodes' `--shutdown-timeout`: how long a draining node keeps the
/// sessions it hands over available for takeover; far more than the
/// subscribers' immediate resumes need, and short enough that a node
/// waiting it out keeps the test brief.
const SHUTDOWN_TIMEOUT: &str = "4s";
/// How long the cluster may take to see a new node (heartbeats every
/// second).
const REFORM: Duration = Duration::from_secs(10);

/// A long-polling subscriber's own balancer, pinned to one node.
struct Sticky {
    balancer: Balancer,
    /// The node slot it is pinned to.
    slot: usize,
}

/// The scenario over `kind`'s backend.
pub(crate) async fn rolling_restart(kind: Backend, test: &str) {
    let started = Instant::now();
    let Some(backend) = BackendServer::start(kind).await else {
        return;
    };
    let backend_addr: SocketAddr = format!("127.0.0.1:{}", backend.port()).parse().unwrap();
    let prefix = format!("chaos-{test}-{}", std::process::id());
    let flags = ["--shutdown-timeout", SHUTDOWN_TIMEOUT];
    let mut cluster = Cluster::start_with(kind, &[backend_addr; NODES], &prefix, &flags).await;
    let balancer = Balancer::start(cluster.addrs()).await;
    // Each node slot's upstream index, the same in every balancer: they
    // are given the same nodes in the same order.
    let mut upstream: Vec<usize> = (0..NODES).collect();

    let mut fleet = Fleet::new();
    for i in 0..WEBSOCKETS {
        let name = format!("ws-{i}");
        fleet
            .add::<WsSubscriber>(&name, balancer.addr(), ROOM)
            .await;
    }
    let mut sticky = Vec::new();
    for (i, slot) in POLL_PINS.into_iter().enumerate() {
        let pinned = Balancer::start(cluster.addrs()).await;
        pinned.route_to(upstream[slot]);
        let name = format!("poll-{i}");
        fleet
            .add::<PollSubscriber>(&name, pinned.addr(), ROOM)
            .await;
        sticky.push(Sticky {
            balancer: pinned,
            slot,
        });
    }
    let mut publishing_on = NODES - 1;
    let publisher = Publisher::start(cluster.nodes[publishing_on].addr, ROOM, RATE, |n| json!(n));
    let flowing = |logs: &[Log]| logs.iter().all(|l| l.numbers.len() >= WARM_UP);
    if let Err(stuck) = fleet.wait("first messages everywhere", flowing).await {
        panic!("the messages did not flow: {stuck}");
    }

    let mut steps = Vec::new();
    for slot in 0..NODES {
        let name = cluster.nodes[slot].name.clone();
        let next = (slot + 1) % NODES;
        if slot == publishing_on {
            let hold = publisher.hold().await;
            let sent = publisher.sent();
            let all = |logs: &[Log]| logs.iter().all(|l| l.reached(sent - 1));
            let what = format!("all {sent} messages before the publisher leaves {name}");
            if let Err(stuck) = fleet.wait(&what, all).await {
                panic!("{stuck}");
            }
            publishing_on = next;
            publisher.retarget(cluster.nodes[next].addr);
            drop(hold);
        }

        // The balancers stop routing to the node, which gets SIGTERM.
        let before: Vec<(usize, usize)> = fleet.look(|logs| {
            logs.iter()
                .map(|l| (l.ends.len(), l.welcomes.len()))
                .collect()
        });
        let links = balancer.open_to(upstream[slot]);
        assert!(
            links > 0,
            "no WebSocket subscriber on node {name}: its drain would test nothing (the \
             balancer's round-robin placed them otherwise)"
        );
        balancer.remove(upstream[slot]);
        for pinned in sticky.iter_mut().filter(|s| s.slot == slot) {
            pinned.balancer.route_to(upstream[next]);
            pinned.slot = next;
        }
        cluster.nodes[slot].terminate();
        let sigterm = Instant::now();

        // Its WebSocket links end, and every subscriber is linked again.
        let back = |logs: &[Log]| {
            let ended: usize = logs[..WEBSOCKETS]
                .iter()
                .zip(&before)
                .map(|(log, (ends, _))| log.ends.len() - ends)
                .sum();
            ended >= links && logs.iter().all(Log::linked)
        };
        let what = format!("node {name}'s {links} WebSocket subscribers to resume elsewhere");
        if let Err(stuck) = fleet.wait(&what, back).await {
            panic!("{stuck}");
        }
        let back_in = sigterm.elapsed();

        // A new process takes its place, on a new port.
        let replacement =
            Node::start(&format!("{name}'"), kind, backend_addr, &prefix, &flags).await;
        let index = balancer.add(replacement.addr);
        for pinned in &sticky {
            assert_eq!(pinned.balancer.add(replacement.addr), index);
        }
        upstream[slot] = index;
        let old = cluster.replace(slot, replacement);
        let status = old.exited().await;
        let exited_in = sigterm.elapsed();
        // A long-polling request it held may end only with the process.
        let linked = |logs: &[Log]| logs.iter().all(Log::linked);
        if let Err(stuck) = fleet.wait("every subscriber linked again", linked).await {
            panic!("{stuck}");
        }

        // How the node's links ended, and how the subscribers came back.
        let (ends, refused) = since(&fleet, &before);
        let websocket_ends: Vec<&(usize, LinkEnd)> =
            ends.iter().filter(|(i, _)| *i < WEBSOCKETS).collect();
        let wrong: Vec<String> = websocket_ends
            .iter()
            .filter(|(_, end)| end.close_code() != Some(1012))
            .map(|(i, end)| format!("{}: {end}", fleet.names[*i]))
            .collect();
        let so_far = fleet.look(|logs| tally(publisher.sent(), logs));
        assert!(
            wrong.is_empty() && refused.is_empty(),
            "node {name} drained: WebSocket links that did not end with 1012: {wrong:?}; \
             reconnects that did not resume the session (want resumed:true, the same id): \
             {refused:?}; so far, summed over the subscribers (what is on its way counts as \
             lost): {so_far}\n{}",
            fleet.summary()
        );
        assert!(
            status.success(),
            "node {name} exited with {status} after SIGTERM"
        );

        let nodes = NODES as u64;
        cluster
            .wait_all("the cluster to re-form", REFORM, |s| {
                s["cluster"] == "ok" && s["nodes"] == nodes
            })
            .await;
        // Everyone has what was published so far before the next node goes.
        let now = publisher.sent();
        let caught_up = |logs: &[Log]| logs.iter().all(|l| l.reached(now - 1));
        let what = format!("the first {now} messages everywhere after {name}'s restart");
        if let Err(stuck) = fleet.wait(&what, caught_up).await {
            panic!("{stuck}");
        }

        let polling: Vec<String> = ends
            .iter()
            .filter(|(i, _)| *i >= WEBSOCKETS)
            .map(|(i, end)| format!("{} {end}", fleet.names[*i]))
            .collect();
        let codes: Vec<String> = websocket_ends.iter().map(|(_, e)| e.to_string()).collect();
        steps.push(format!(
            "{name}: websocket links {codes:?}, long-polling {polling:?}, back in {} ms, exited \
             ({status}) in {:.1} s",
            back_in.as_millis(),
            exited_in.as_secs_f64()
        ));
    }

    publisher.wait_sent(publisher.sent() + AFTER).await;
    let sent = publisher.stop().await;
    // Whatever does not arrive in time counts as lost below.
    let all = |logs: &[Log]| logs.iter().all(|l| l.reached(sent - 1));
    let settled = fleet.wait("every number everywhere", all).await;
    let (total, faults) = fleet.look(|logs| {
        let mut total = Tally::of(0, &[]);
        let mut faults = Vec::new();
        for (i, log) in logs.iter().enumerate() {
            let tally = Tally::of(sent, &log.numbers);
            if !tally.is_clean() {
                faults.push(format!("{}: {tally}: {}", fleet.names[i], tally.faults()));
            }
            total.add(tally);
        }
        (total, faults)
    });
    let (_, refused) = since(&fleet, &vec![(0, 0); fleet.names.len()]);
    let members = cluster.nodes[0].members(ROOM).await;
    let mut ids = fleet.ids.clone();
    ids.sort();
    report(
        test,
        &format!(
            "{total} (over {WEBSOCKETS} websocket and {} long-polling subscribers; {}; {:.1} s)",
            POLL_PINS.len(),
            steps.join("; "),
            started.elapsed().as_secs_f64()
        ),
    );
    assert!(
        faults.is_empty(),
        "{}\n{}",
        faults.join("\n"),
        settled.err().unwrap_or_default()
    );
    assert!(
        refused.is_empty(),
        "reconnects that did not resume the session: {refused:?}"
    );
    assert_eq!(
        members,
        Ok(ids),
        "the room's members: every subscriber's session, once"
    );
}

/// The links that ended since `before` (each subscriber's count of ends
/// and of reconnects then), by subscriber index; and the reconnects since
/// then that did not resume the session (`resumed:true`, the same id).
fn since(fleet: &Fleet, before: &[(usize, usize)]) -> (Vec<(usize, LinkEnd)>, Vec<String>) {
    fleet.look(|logs| {
        let mut ends = Vec::new();
        let mut refused = Vec::new();
        for (i, (log, (ended, welcomed))) in logs.iter().zip(before).enumerate() {
            ends.extend(log.ends[*ended..].iter().map(|end| (i, end.clone())));
            for welcome in &log.welcomes[*welcomed..] {
                if welcome["resumed"] != true || welcome["id"] != fleet.ids[i].as_str() {
                    refused.push(format!("{}: {}", fleet.names[i], compact(welcome)));
                }
            }
        }
        (ends, refused)
    })
}

/// A `$welcome`'s data without its secret session token.
fn compact(welcome: &Value) -> Value {
    let mut welcome = welcome.clone();
    if let Some(data) = welcome.as_object_mut() {
        data.remove("session");
    }
    welcome
}

/// The tally of every subscriber's numbers against `0..sent`, summed.
fn tally(sent: u64, logs: &[Log]) -> Tally {
    let mut total = Tally::of(0, &[]);
    for log in logs {
        total.add(Tally::of(sent, &log.numbers));
    }
    total
}
