//! The cluster scenarios over the in-process memory bus.

use switchboard_testkit::cluster::{self, MemoryBackend};

#[tokio::test]
async fn every_operation_crosses_nodes() {
    cluster::every_operation_crosses_nodes(&MemoryBackend::default()).await;
}

#[tokio::test]
async fn nodes_come_and_go() {
    cluster::nodes_come_and_go(&MemoryBackend::default()).await;
}

#[tokio::test]
async fn backend_outage_mid_traffic() {
    cluster::backend_outage_mid_traffic(&mut MemoryBackend::default()).await;
}

#[tokio::test]
async fn namespaces_stay_apart() {
    switchboard_testkit::namespaces::namespaces_stay_apart(&MemoryBackend::default()).await;
}

#[tokio::test]
async fn users_cross_nodes() {
    cluster::users_cross_nodes(&MemoryBackend::default()).await;
}

#[tokio::test]
async fn presence_cross_nodes() {
    cluster::presence_cross_nodes(&mut MemoryBackend::default()).await;
}

#[tokio::test]
async fn outage_backlog_is_bounded() {
    cluster::outage_backlog_is_bounded(&mut MemoryBackend::default()).await;
}

#[tokio::test]
async fn held_backlogs_go_out_without_waiting_out_the_node_timeout() {
    cluster::held_backlogs_go_out_without_waiting_out_the_node_timeout(
        &mut MemoryBackend::default(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cross_nodes() {
    cluster::history_cross_nodes(&mut MemoryBackend::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_move_between_nodes() {
    cluster::sessions_move_between_nodes(&mut MemoryBackend::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_its_sessions_over() {
    cluster::a_draining_node_hands_its_sessions_over(&mut MemoryBackend::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_node_shuts_down_as_a_single_hub() {
    cluster::a_lone_node_shuts_down_as_a_single_hub(&mut MemoryBackend::default()).await;
}
