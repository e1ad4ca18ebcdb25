//! `/metrics`: the hub's counters in the Prometheus text exposition format
//! 0.0.4, rendered by hand.

use std::time::Duration;

use switchboard::HubStats;
use switchboard::adapter::{ClusterStats, ClusterStatus};

mod backend;
mod cluster;
mod edge;
mod exposition;
mod hub;

pub use self::backend::render_backend;
pub use self::edge::render_edge;
use self::exposition::Exposition;
use self::exposition::Kind::Gauge;

/// The `Content-Type` of the exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the metrics of a hub: `stats`, its sessions (live or waiting for
/// a resume), the server's uptime and, when clustered, the cluster's state
/// and counters.
pub fn render(
    stats: &HubStats,
    sessions: usize,
    uptime: Duration,
    cluster: Option<&(ClusterStatus, ClusterStats)>,
) -> String {
    let mut out = Exposition::new();
    hub::render_traffic(&mut out, stats, sessions);
    hub::render_resources(&mut out, &stats.resources);
    out.metric(
        "uptime_seconds",
        Gauge,
        "Seconds since the server started.",
        format!("{:.3}", uptime.as_secs_f64()),
    );
    if let Some((status, counters)) = cluster {
        cluster::render_cluster(&mut out, status, counters);
    }
    hub::render_errors_sent(&mut out, &stats.errors);
    out.finish()
}

#[cfg(test)]
mod tests;
