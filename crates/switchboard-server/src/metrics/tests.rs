//! Tests of the `/metrics` text.

use switchboard::{EdgeCounts, ErrorCounts, ResourceStats};

use super::*;
use crate::keyless::KeylessRefusalCounts;

fn stats() -> HubStats {
    HubStats {
        connections: 3,
        rooms: 2,
        messages_in: 10,
        messages_out: 20,
        bytes_in: 100,
        bytes_out: 200,
        slow_consumers: 1,
        token_expiry_closes: 2,
        history_dropped: 6,
        history_gaps_lost: 7,
        sessions_moved_in: 8,
        sessions_moved_out: 9,
        connections_total: 5,
        handshakes_refused: 4,
        coalescing_pauses: 11,
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
            queued_bytes: 7,
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
        "switchboard_token_expiry_closes_total 2",
        "switchboard_history_dropped_total 6",
        "switchboard_history_gaps_lost_total 7",
        "switchboard_sessions_moved_in_total 8",
        "switchboard_sessions_moved_out_total 9",
        "switchboard_handshakes_refused_total 4",
        "switchboard_coalescing_pauses_total 11",
        "switchboard_uptime_seconds 1.500",
        "switchboard_cluster_nodes 3",
        "switchboard_cluster_backend_up 1",
        "switchboard_cluster_dropped_total 6",
        "switchboard_cluster_queued_bytes 7",
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

#[test]
fn backend_calls_per_hook() {
    use std::time::Duration;

    use crate::backend::Hook;
    use crate::backend::stats::{BackendStats, FailureKind};

    assert_eq!(render_backend(&[]), "", "nothing without a back end");
    let stats = BackendStats::new([true, false, false, true, false]);
    stats.record(Hook::Connect, Duration::from_millis(3), Ok(false));
    stats.record(Hook::Connect, Duration::from_millis(40), Ok(true));
    stats.record(
        Hook::Event,
        Duration::from_secs(7),
        Err(FailureKind::Timeout),
    );
    let text = render_backend(&stats.snapshot());
    for line in [
        "# TYPE switchboard_backend_calls_total counter",
        "switchboard_backend_calls_total{hook=\"connect\"} 2",
        "switchboard_backend_calls_total{hook=\"event\"} 1",
        "switchboard_backend_refusals_total{hook=\"connect\"} 1",
        "switchboard_backend_errors_total{hook=\"event\",kind=\"timeout\"} 1",
        "switchboard_backend_errors_total{hook=\"connect\",kind=\"bad_answer\"} 0",
        "# TYPE switchboard_backend_call_duration_seconds histogram",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"connect\",le=\"0.001\"} 0",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"connect\",le=\"0.005\"} 1",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"connect\",le=\"0.05\"} 2",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"connect\",le=\"+Inf\"} 2",
        "switchboard_backend_call_duration_seconds_sum{hook=\"connect\"} 0.043000",
        "switchboard_backend_call_duration_seconds_count{hook=\"connect\"} 2",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"event\",le=\"5\"} 0",
        "switchboard_backend_call_duration_seconds_bucket{hook=\"event\",le=\"+Inf\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(!text.contains("hook=\"join\""), "{text}");
    // Every sample belongs to a described family (a histogram's samples
    // by their suffixes), and buckets never decrease.
    let mut described = std::collections::HashSet::new();
    let mut previous: Option<(String, u64)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            described.insert(rest.split(' ').next().unwrap().to_owned());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|family| described.contains(*family))
                .unwrap_or(name);
            assert!(described.contains(family), "{name} has no TYPE line");
            if name.ends_with("_bucket") {
                let hook = line.split("le=").next().unwrap().to_owned();
                let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
                if let Some((last_hook, last)) = &previous
                    && *last_hook == hook
                {
                    assert!(count >= *last, "{line}");
                }
                previous = Some((hook, count));
            }
        }
    }
}
