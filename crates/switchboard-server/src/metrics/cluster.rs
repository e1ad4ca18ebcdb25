//! The cluster's families: its state and what crossed nodes.

use switchboard::adapter::{ClusterStats, ClusterStatus};

use super::exposition::Exposition;
use super::exposition::Kind::{Counter, Gauge};

/// Renders the state of a clustered hub's adapter and its counters.
pub(super) fn render_cluster(
    out: &mut Exposition,
    status: &ClusterStatus,
    counters: &ClusterStats,
) {
    out.metric(
        "cluster_nodes",
        Gauge,
        "Live cluster nodes seen, this one included.",
        status.nodes(),
    );
    out.metric(
        "cluster_backend_up",
        Gauge,
        "1 while the cluster backend (Redis or NATS) is connected.",
        u8::from(status.backend_up),
    );
    out.metric(
        "cluster_published_total",
        Counter,
        "Messages published to the cluster backend.",
        counters.published,
    );
    out.metric(
        "cluster_received_total",
        Counter,
        "Messages received from other nodes.",
        counters.received,
    );
    out.metric(
        "cluster_dropped_total",
        Counter,
        "Operations that could not cross nodes: over the outbound bounds, or refused by the backend.",
        counters.dropped,
    );
    out.metric(
        "cluster_queued_bytes",
        Gauge,
        "Bytes of operations waiting to be published (a backend outage's backlog).",
        counters.queued_bytes,
    );
    out.metric(
        "cluster_undecodable_total",
        Counter,
        "Messages from the backend that could not be read.",
        counters.undecodable,
    );
    out.metric(
        "cluster_reconnects_total",
        Counter,
        "Reconnections to the cluster backend after a loss.",
        counters.reconnects,
    );
    out.metric(
        "cluster_incomplete_requests_total",
        Counter,
        "Cluster-wide questions some live node did not answer in time.",
        counters.incomplete_requests,
    );
}
