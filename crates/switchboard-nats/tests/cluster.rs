//! The cluster scenarios over a private nats-server: three hubs, every
//! operation across nodes, nodes leaving, and NATS stopped and restarted
//! under traffic.

use switchboard_nats::NatsDriver;
use switchboard_testkit::Backend;
use switchboard_testkit::cluster::{self, ServerBackend};

async fn backend() -> Option<ServerBackend<impl Fn(&str) -> NatsDriver + Send>> {
    ServerBackend::start(Backend::Nats, |url: &str| {
        NatsDriver::new(url).expect("valid NATS URL")
    })
    .await
}

#[tokio::test]
async fn every_operation_crosses_nodes() {
    let Some(backend) = backend().await else {
        return;
    };
    cluster::every_operation_crosses_nodes(&backend).await;
}

#[tokio::test]
async fn nodes_come_and_go() {
    let Some(backend) = backend().await else {
        return;
    };
    cluster::nodes_come_and_go(&backend).await;
}

#[tokio::test]
async fn backend_outage_mid_traffic() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::backend_outage_mid_traffic(&mut backend).await;
}

#[tokio::test]
async fn namespaces_stay_apart() {
    let Some(backend) = backend().await else {
        return;
    };
    switchboard_testkit::namespaces::namespaces_stay_apart(&backend).await;
}

#[tokio::test]
async fn users_cross_nodes() {
    let Some(backend) = backend().await else {
        return;
    };
    cluster::users_cross_nodes(&backend).await;
}

#[tokio::test]
async fn presence_cross_nodes() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::presence_cross_nodes(&mut backend).await;
}

#[tokio::test]
async fn outage_backlog_is_bounded() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::outage_backlog_is_bounded(&mut backend).await;
}

#[tokio::test]
async fn held_backlogs_go_out_without_waiting_out_the_node_timeout() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::held_backlogs_go_out_without_waiting_out_the_node_timeout(&mut backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cross_nodes() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::history_cross_nodes(&mut backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_move_between_nodes() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::sessions_move_between_nodes(&mut backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_its_sessions_over() {
    let Some(mut backend) = backend().await else {
        return;
    };
    cluster::a_draining_node_hands_its_sessions_over(&mut backend).await;
}
