//! Chaos tests of sessions across a cluster (PROTOCOL.md section 11, "A
//! session moves" and "A node drains"): real `switchboard` processes
//! clustered over a private Redis or NATS server, clients through the
//! testkit's TCP load balancer, numbered messages flowing to a room the
//! whole time. Each test prints one line of counts (`sent, delivered,
//! lost, duplicated, reordered`; run with `--nocapture` to see it) and
//! asserts what the contract promises: every resume on another node
//! answers `resumed:true` with the same socket id, and every subscriber
//! gets every number, in order, none twice.
//!
//! One module per scenario: a session moved between two nodes fifty
//! times, its old link cut or still up (`session_move`); every node of
//! the cluster stopped with SIGTERM and restarted in turn, under
//! WebSocket and long-polling subscribers (`rolling_restart`, with the
//! subscribers of `roaming`, which reconnect by themselves). From
//! `chaos_common` (shared with `chaos_history`): `nodes` starts the
//! processes, `feed` publishes and counts, `subscriber` hides the
//! transport. `RUST_LOG` sets the nodes' log level; their last log lines
//! (those of stopped nodes too) are printed when a test fails.
//!
//! Every wait is bounded, and each test as a whole by [`TEST_LIMIT`]. The
//! backend binary missing skips the test outside CI (see
//! `switchboard_testkit::BackendServer::start`).

#[path = "../chaos_common/mod.rs"]
mod chaos;
#[path = "../common/mod.rs"]
mod common;

mod roaming;
mod rolling_restart;
mod session_move;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use switchboard_testkit::Backend;

use rolling_restart::rolling_restart;
use session_move::{Move, Room, session_moved};

/// The longest any test of this binary may take (each takes well under
/// half of it).
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// Runs a scenario, failing the test once it has taken [`TEST_LIMIT`].
/// The failure is raised from inside the scenario's poll, so that what it
/// holds is dropped while the test panics: the nodes' logs get printed.
async fn bounded(scenario: impl Future<Output = ()>) {
    let mut scenario = pin!(scenario);
    let mut limit = pin!(tokio::time::sleep(TEST_LIMIT));
    std::future::poll_fn(|cx| {
        if scenario.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if limit.as_mut().poll(cx).is_ready() {
            panic!("the test ran over {TEST_LIMIT:?}");
        }
        Poll::Pending
    })
    .await;
}

#[tokio::test]
async fn session_moved_50_times_over_redis() {
    let test = "session_moved_redis";
    bounded(session_moved(
        Backend::Redis,
        Room::Plain,
        Move::LinkDropped,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_over_nats() {
    let test = "session_moved_nats";
    bounded(session_moved(
        Backend::Nats,
        Room::Plain,
        Move::LinkDropped,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_in_a_history_room_over_redis() {
    let test = "session_moved_history_redis";
    bounded(session_moved(
        Backend::Redis,
        Room::History,
        Move::LinkDropped,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_in_a_history_room_over_nats() {
    let test = "session_moved_history_nats";
    bounded(session_moved(
        Backend::Nats,
        Room::History,
        Move::LinkDropped,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_while_linked_over_redis() {
    let test = "session_moved_while_linked_redis";
    bounded(session_moved(
        Backend::Redis,
        Room::Plain,
        Move::LinkAlive,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_while_linked_over_nats() {
    let test = "session_moved_while_linked_nats";
    bounded(session_moved(
        Backend::Nats,
        Room::Plain,
        Move::LinkAlive,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_while_linked_in_a_history_room_over_redis() {
    let test = "session_moved_while_linked_history_redis";
    bounded(session_moved(
        Backend::Redis,
        Room::History,
        Move::LinkAlive,
        test,
    ))
    .await;
}

#[tokio::test]
async fn session_moved_50_times_while_linked_in_a_history_room_over_nats() {
    let test = "session_moved_while_linked_history_nats";
    bounded(session_moved(
        Backend::Nats,
        Room::History,
        Move::LinkAlive,
        test,
    ))
    .await;
}

#[tokio::test]
async fn rolling_restart_over_redis() {
    bounded(rolling_restart(Backend::Redis, "rolling_restart_redis")).await;
}

#[tokio::test]
async fn rolling_restart_over_nats() {
    bounded(rolling_restart(Backend::Nats, "rolling_restart_nats")).await;
}
