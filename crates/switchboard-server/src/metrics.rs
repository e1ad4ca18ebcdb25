//! `/metrics`: the hub's counters in the Prometheus text exposition format
//! 0.0.4, rendered by hand.

use std::fmt::Write as _;
use std::time::Duration;

use switchboard::adapter::{ClusterStats, ClusterStatus};
use switchboard::{EdgeCounts, ErrorCode, HubStats, ResourceStats};

use crate::keyless::KeylessRefusalCounts;

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
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = write!(
            out,
            "# HELP switchboard_{name} {help}\n# TYPE switchboard_{name} {kind}\nswitchboard_{name} {value}\n"
        );
    };
    metric(
        "connections",
        "gauge",
        "Live connections.",
        stats.connections.to_string(),
    );
    metric(
        "sessions",
        "gauge",
        "Sessions, live or waiting for a resume.",
        sessions.to_string(),
    );
    metric(
        "rooms",
        "gauge",
        "Rooms with at least one member.",
        stats.rooms.to_string(),
    );
    metric(
        "connections_opened_total",
        "counter",
        "Connections accepted since start.",
        stats.connections_total.to_string(),
    );
    metric(
        "messages_in_total",
        "counter",
        "Client messages received (each message of a batch counts).",
        stats.messages_in.to_string(),
    );
    metric(
        "messages_out_total",
        "counter",
        "Messages queued to clients (a broadcast counts each recipient).",
        stats.messages_out.to_string(),
    );
    metric(
        "bytes_in_total",
        "counter",
        "Payload bytes received in client frames.",
        stats.bytes_in.to_string(),
    );
    metric(
        "bytes_out_total",
        "counter",
        "Payload bytes written to clients, before compression.",
        stats.bytes_out.to_string(),
    );
    metric(
        "slow_consumer_closes_total",
        "counter",
        "Sockets closed with 4001 because their send queue overflowed.",
        stats.slow_consumers.to_string(),
    );
    metric(
        "handshakes_refused_total",
        "counter",
        "Handshakes answered with an HTTP error.",
        stats.handshakes_refused.to_string(),
    );
    render_resources(&mut metric, &stats.resources);
    metric(
        "uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        format!("{:.3}", uptime.as_secs_f64()),
    );
    if let Some((status, counters)) = cluster {
        render_cluster(&mut metric, status, counters);
    }
    let _ = write!(
        out,
        "# HELP switchboard_errors_sent_total Errors sent to clients, by protocol error code.\n\
         # TYPE switchboard_errors_sent_total counter\n"
    );
    for code in ErrorCode::ALL {
        let count = match code {
            ErrorCode::BadMessage => stats.errors.bad_message,
            ErrorCode::NoHandler => stats.errors.no_handler,
            ErrorCode::Forbidden => stats.errors.forbidden,
            ErrorCode::RateLimited => stats.errors.rate_limited,
            ErrorCode::Internal => stats.errors.internal,
            ErrorCode::Limit => stats.errors.limit,
        };
        let _ = writeln!(
            out,
            "switchboard_errors_sent_total{{code=\"{}\"}} {count}",
            code.as_str()
        );
    }
    out
}

/// The resource bounds (issue 15): what they hold and what they refused.
fn render_resources(metric: &mut impl FnMut(&str, &str, &str, String), resources: &ResourceStats) {
    metric(
        "detached_sessions",
        "gauge",
        "Sessions waiting for a resume.",
        resources.detached_sessions.to_string(),
    );
    metric(
        "detached_bytes",
        "gauge",
        "Bytes held by sessions waiting for a resume (resume buffers and memberships).",
        resources.detached_bytes.to_string(),
    );
    metric(
        "detached_sessions_evicted_total",
        "counter",
        "Detached sessions ended early by --max-detached-sessions or --detached-budget.",
        resources.detached_sessions_evicted.to_string(),
    );
    metric(
        "answers_shed_total",
        "counter",
        "$pong and $error answers dropped at a socket's send-queue high-water mark.",
        resources.answers_shed.to_string(),
    );
    metric(
        "pending_polls",
        "gauge",
        "Long-polling sessions opened that have not sent their first GET.",
        resources.pending_polls.to_string(),
    );
    metric(
        "pending_polls_refused_total",
        "counter",
        "Long-polling opens refused with 503 by --max-pending-polls.",
        resources.pending_polls_refused.to_string(),
    );
    metric(
        "pending_polls_expired_total",
        "counter",
        "Long-polling sessions whose first GET did not come within --pending-poll-timeout.",
        resources.pending_polls_expired.to_string(),
    );
}

/// Renders what the HTTP edge refused or closed (issue 15): the hub's
/// accept loop and per-address limits, and the keyless API's rules.
pub fn render_edge(edge: &EdgeCounts, api: &KeylessRefusalCounts) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, help: &str, value: u64| {
        let _ = write!(
            out,
            "# HELP switchboard_{name} {help}\n# TYPE switchboard_{name} counter\nswitchboard_{name} {value}\n"
        );
    };
    metric(
        "http_header_timeouts_total",
        "Connections closed because their request head did not arrive within the header timeout.",
        edge.header_timeouts,
    );
    metric(
        "http_heads_too_large_total",
        "Requests answered 431 because their head was over --http-max-head-size.",
        edge.heads_too_large,
    );
    metric(
        "http_body_timeouts_total",
        "Connections closed because a request body did not arrive within the header timeout of its head.",
        edge.body_timeouts,
    );
    metric(
        "http_idle_closed_total",
        "Keep-alive connections closed after the idle timeout.",
        edge.idle_closed,
    );
    metric(
        "http_pending_evicted_total",
        "Connections without a complete request head closed to make room (pending cap or no descriptors).",
        edge.pending_evicted,
    );
    metric(
        "http_accept_errors_total",
        "Failed accept calls (e.g. out of file descriptors).",
        edge.accept_errors,
    );
    metric(
        "cors_preflights_refused_total",
        "Long-polling CORS preflights refused: origin not allowed.",
        edge.cors_refused,
    );
    let _ = write!(
        out,
        "# HELP switchboard_address_refused_total Handshakes refused by the per-client-address limits, by reason.\n\
         # TYPE switchboard_address_refused_total counter\n\
         switchboard_address_refused_total{{reason=\"connections\"}} {}\n\
         switchboard_address_refused_total{{reason=\"handshake_rate\"}} {}\n\
         switchboard_address_refused_total{{reason=\"table_full\"}} {}\n",
        edge.address_connections_refused, edge.address_handshakes_refused, edge.address_table_full
    );
    let _ = write!(
        out,
        "# HELP switchboard_api_refused_total Keyless API requests refused, by rule.\n\
         # TYPE switchboard_api_refused_total counter\n\
         switchboard_api_refused_total{{reason=\"host\"}} {}\n\
         switchboard_api_refused_total{{reason=\"origin\"}} {}\n\
         switchboard_api_refused_total{{reason=\"content_type\"}} {}\n",
        api.host, api.origin, api.content_type
    );
    out
}

fn render_cluster(
    metric: &mut impl FnMut(&str, &str, &str, String),
    status: &ClusterStatus,
    counters: &ClusterStats,
) {
    metric(
        "cluster_nodes",
        "gauge",
        "Live cluster nodes seen, this one included.",
        status.nodes().to_string(),
    );
    metric(
        "cluster_backend_up",
        "gauge",
        "1 while the cluster backend (Redis or NATS) is connected.",
        u8::from(status.backend_up).to_string(),
    );
    metric(
        "cluster_published_total",
        "counter",
        "Messages published to the cluster backend.",
        counters.published.to_string(),
    );
    metric(
        "cluster_received_total",
        "counter",
        "Messages received from other nodes.",
        counters.received.to_string(),
    );
    metric(
        "cluster_dropped_total",
        "counter",
        "Messages that could not cross nodes (backend down, refused, or queue full).",
        counters.dropped.to_string(),
    );
    metric(
        "cluster_undecodable_total",
        "counter",
        "Messages from the backend that could not be read.",
        counters.undecodable.to_string(),
    );
    metric(
        "cluster_reconnects_total",
        "counter",
        "Reconnections to the cluster backend after a loss.",
        counters.reconnects.to_string(),
    );
    metric(
        "cluster_incomplete_requests_total",
        "counter",
        "Cluster-wide questions some live node did not answer in time.",
        counters.incomplete_requests.to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::ErrorCounts;

    fn stats() -> HubStats {
        HubStats {
            connections: 3,
            rooms: 2,
            messages_in: 10,
            messages_out: 20,
            bytes_in: 100,
            bytes_out: 200,
            slow_consumers: 1,
            connections_total: 5,
            handshakes_refused: 4,
            errors: ErrorCounts {
                bad_message: 7,
                forbidden: 2,
                ..ErrorCounts::default()
            },
            resources: ResourceStats::default(),
            edge: EdgeCounts::default(),
        }
    }

    #[test]
    fn edge_counters() {
        let edge = EdgeCounts {
            header_timeouts: 3,
            pending_evicted: 4,
            address_handshakes_refused: 5,
            ..EdgeCounts::default()
        };
        let api = KeylessRefusalCounts {
            content_type: 6,
            ..KeylessRefusalCounts::default()
        };
        let text = render_edge(&edge, &api);
        for line in [
            "switchboard_http_header_timeouts_total 3",
            "switchboard_http_pending_evicted_total 4",
            "switchboard_http_idle_closed_total 0",
            "switchboard_address_refused_total{reason=\"handshake_rate\"} 5",
            "switchboard_address_refused_total{reason=\"connections\"} 0",
            "switchboard_api_refused_total{reason=\"content_type\"} 6",
            "# TYPE switchboard_api_refused_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn exposition_format() {
        let cluster = (
            ClusterStatus {
                backend_up: true,
                peers: vec!["b".into(), "c".into()],
            },
            ClusterStats {
                dropped: 6,
                ..ClusterStats::default()
            },
        );
        let text = render(&stats(), 4, Duration::from_millis(1500), Some(&cluster));
        assert!(!render(&stats(), 4, Duration::ZERO, None).contains("cluster"));
        assert!(text.ends_with('\n'));
        for line in [
            "switchboard_connections 3",
            "switchboard_sessions 4",
            "switchboard_rooms 2",
            "switchboard_connections_opened_total 5",
            "switchboard_messages_in_total 10",
            "switchboard_messages_out_total 20",
            "switchboard_bytes_in_total 100",
            "switchboard_bytes_out_total 200",
            "switchboard_slow_consumer_closes_total 1",
            "switchboard_handshakes_refused_total 4",
            "switchboard_uptime_seconds 1.500",
            "switchboard_cluster_nodes 3",
            "switchboard_cluster_backend_up 1",
            "switchboard_cluster_dropped_total 6",
            "switchboard_errors_sent_total{code=\"bad_message\"} 7",
            "switchboard_errors_sent_total{code=\"no_handler\"} 0",
            "switchboard_errors_sent_total{code=\"forbidden\"} 2",
            "switchboard_errors_sent_total{code=\"rate_limited\"} 0",
            "switchboard_errors_sent_total{code=\"internal\"} 0",
            "# TYPE switchboard_connections gauge",
            "# TYPE switchboard_errors_sent_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Every sample follows its family's HELP and TYPE lines, and each
        // family is described once.
        let mut described = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(described.insert(name.to_owned()), "{name} twice");
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(described.contains(name), "{name} has no TYPE line");
                assert!(name.starts_with("switchboard_"));
            }
        }
    }
}
