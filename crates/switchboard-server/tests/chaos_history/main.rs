//! Chaos tests of room history across a cluster (PROTOCOL.md section 11,
//! issue 19's "Tests and proof" 3, 4 and 5): real `switchboard` processes
//! clustered over a private Redis or NATS server, clients through the
//! testkit's TCP load balancer, nodes killed with SIGKILL, the backend cut
//! off or restarted empty, while numbered messages flow. Each test prints
//! one line of counts (`sent, delivered, lost, duplicated, reordered`; run
//! with `--nocapture` to see it) and asserts what the contract promises.
//!
//! One module per scenario: a subscriber's node killed (`node_kill`), and
//! a backend outage under publishers on every node (`outage`), each over
//! WebSocket and long-polling. From `chaos_common` (shared with `chaos_sessions`):
//! `nodes` starts the processes, `feed` publishes and counts, `subscriber`
//! hides the transport. `RUST_LOG` sets the nodes' log level; their last
//! log lines are printed when a test fails.
//!
//! The backend binary missing skips the test outside CI (see
//! `switchboard_testkit::BackendServer::start`).
//!
//! # What the outages cut into
//!
//! The outage tests cut the backend off between two publishes
//! (`CutAt::Quiet`), or right as a publish was answered
//! (`CutAt::MidAppend`). With the links paused mid-append, the node's
//! append of that message may reach the store and be kept while the
//! answer is lost with the link; the appender retries it under the same
//! batch id when the backend is back, and the store answers the first
//! append's position instead of keeping it again (appends are idempotent
//! within 2 minutes: `HistoryStore`'s contract).
//!
//! With the backend restarted empty mid-append, a message kept in the old
//! epoch just before the backend died reached its own node's members, and
//! its publication to the other nodes waited in its node's outbound queue
//! through the outage. The others are in the new epoch by then, and the
//! store no longer has it: they deliver it late, once, without an offset.
//! Late, it can come after later messages of its stream that a node read
//! from the new epoch; the test allows that reordering, and only for those
//! messages (it prints how many), as the README's cluster section says.

#[path = "../chaos_common/mod.rs"]
mod chaos;
#[path = "../common/mod.rs"]
mod common;

mod node_kill;
mod outage;

use switchboard_testkit::Backend;

use chaos::subscriber::{PollSubscriber, WsSubscriber};
use node_kill::subscriber_node_killed;
use outage::{CutAt, Outage, backend_outage};

#[tokio::test]
async fn websocket_subscriber_node_killed_over_redis() {
    subscriber_node_killed::<WsSubscriber>(Backend::Redis, "websocket_node_killed_redis").await;
}

#[tokio::test]
async fn websocket_subscriber_node_killed_over_nats() {
    subscriber_node_killed::<WsSubscriber>(Backend::Nats, "websocket_node_killed_nats").await;
}

#[tokio::test]
async fn polling_subscriber_node_killed_over_redis() {
    subscriber_node_killed::<PollSubscriber>(Backend::Redis, "polling_node_killed_redis").await;
}

#[tokio::test]
async fn polling_subscriber_node_killed_over_nats() {
    subscriber_node_killed::<PollSubscriber>(Backend::Nats, "polling_node_killed_nats").await;
}

#[tokio::test]
async fn backend_links_paused_under_publishers_over_redis() {
    let test = "links_paused_redis";
    backend_outage::<WsSubscriber>(Backend::Redis, Outage::LinksPaused, CutAt::Quiet, test).await;
}

#[tokio::test]
async fn backend_links_paused_under_publishers_over_nats() {
    let test = "links_paused_nats";
    backend_outage::<WsSubscriber>(Backend::Nats, Outage::LinksPaused, CutAt::Quiet, test).await;
}

#[tokio::test]
async fn backend_restarted_empty_under_publishers_over_redis() {
    let test = "restarted_empty_redis";
    backend_outage::<WsSubscriber>(Backend::Redis, Outage::RestartedEmpty, CutAt::Quiet, test)
        .await;
}

#[tokio::test]
async fn backend_restarted_empty_under_publishers_over_nats() {
    let test = "restarted_empty_nats";
    backend_outage::<WsSubscriber>(Backend::Nats, Outage::RestartedEmpty, CutAt::Quiet, test).await;
}

/// An append in flight when the links are cut: its retry must not keep it
/// twice (see "What the outages cut into" above).
#[tokio::test]
async fn backend_links_paused_mid_append_over_redis() {
    let test = "links_paused_mid_append_redis";
    backend_outage::<WsSubscriber>(Backend::Redis, Outage::LinksPaused, CutAt::MidAppend, test)
        .await;
}

/// An append in flight when the links are cut: its retry must not keep it
/// twice (see "What the outages cut into" above).
#[tokio::test]
async fn backend_links_paused_mid_append_over_nats() {
    let test = "links_paused_mid_append_nats";
    backend_outage::<WsSubscriber>(Backend::Nats, Outage::LinksPaused, CutAt::MidAppend, test)
        .await;
}

/// A message kept as the backend died reaches every node once (see
/// "What the outages cut into" above).
#[tokio::test]
async fn backend_restarted_empty_mid_append_over_redis() {
    let test = "restarted_empty_mid_append_redis";
    backend_outage::<WsSubscriber>(
        Backend::Redis,
        Outage::RestartedEmpty,
        CutAt::MidAppend,
        test,
    )
    .await;
}

/// A message kept as the backend died reaches every node once (see
/// "What the outages cut into" above).
#[tokio::test]
async fn backend_restarted_empty_mid_append_over_nats() {
    let test = "restarted_empty_mid_append_nats";
    backend_outage::<WsSubscriber>(
        Backend::Nats,
        Outage::RestartedEmpty,
        CutAt::MidAppend,
        test,
    )
    .await;
}

/// Issue 19's proof 5: the backend outages with long-polling subscribers.
#[tokio::test]
async fn polling_backend_links_paused_under_publishers_over_redis() {
    let test = "polling_links_paused_redis";
    backend_outage::<PollSubscriber>(Backend::Redis, Outage::LinksPaused, CutAt::Quiet, test).await;
}

/// Issue 19's proof 5, over NATS.
#[tokio::test]
async fn polling_backend_links_paused_under_publishers_over_nats() {
    let test = "polling_links_paused_nats";
    backend_outage::<PollSubscriber>(Backend::Nats, Outage::LinksPaused, CutAt::Quiet, test).await;
}

/// Issue 19's proof 5, the backend restarted empty.
#[tokio::test]
async fn polling_backend_restarted_empty_under_publishers_over_redis() {
    let test = "polling_restarted_empty_redis";
    backend_outage::<PollSubscriber>(Backend::Redis, Outage::RestartedEmpty, CutAt::Quiet, test)
        .await;
}

/// Issue 19's proof 5, the backend restarted empty, over NATS.
#[tokio::test]
async fn polling_backend_restarted_empty_under_publishers_over_nats() {
    let test = "polling_restarted_empty_nats";
    backend_outage::<PollSubscriber>(Backend::Nats, Outage::RestartedEmpty, CutAt::Quiet, test)
        .await;
}
