//! One second of the live overview: what the hub holds now and what it
//! did since the previous sample, as the dashboard's stream sends it.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use switchboard::{ErrorCounts, Hub, HubStats};

/// The rooms of a sample's top list.
pub const TOP_ROOMS: usize = 10;

/// A room of the top list, with its rates over the last period.
#[derive(Debug, Clone, Serialize)]
pub struct RoomRate {
    /// The room.
    pub room: String,
    /// Its members on this node.
    pub members: usize,
    /// Broadcasts and relays to it per second.
    pub messages_per_s: f64,
    /// Deliveries to its members per second.
    pub deliveries_per_s: f64,
}

/// The cluster as this node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSample {
    /// Whether the server is clustered (`--redis` or `--nats`).
    pub clustered: bool,
    /// Whether its backend is connected (`true` for a single node).
    pub backend_up: bool,
    /// This node's id.
    pub node: String,
    /// The other live nodes.
    pub peers: Vec<String>,
    /// Messages this node could not publish to the backend (a bound
    /// overflowed), since start.
    pub dropped: u64,
}

/// One sample of the overview.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// When it was taken, Unix milliseconds.
    pub t: u64,
    /// Live connections on this node.
    pub connections: usize,
    /// Live connections by transport (`websocket`, `polling`).
    pub by_transport: BTreeMap<&'static str, usize>,
    /// Live connections by codec (`json`, `msgpack`).
    pub by_codec: BTreeMap<&'static str, usize>,
    /// Sessions waiting for a resume.
    pub detached: usize,
    /// Rooms with members on this node.
    pub rooms: usize,
    /// Client messages received per second.
    pub messages_in_per_s: f64,
    /// Messages queued to clients per second (a broadcast counts each
    /// recipient: deliveries).
    pub deliveries_per_s: f64,
    /// Payload bytes received per second.
    pub bytes_in_per_s: f64,
    /// Payload bytes written per second.
    pub bytes_out_per_s: f64,
    /// Sockets closed with `4001` (slow consumer), since start.
    pub slow_consumers: u64,
    /// Answers (`$pong`, `$error`) shed at a full queue, since start.
    pub answers_shed: u64,
    /// Detached sessions ended early by their bounds, since start.
    pub detached_evicted: u64,
    /// Handshakes refused, since start.
    pub handshakes_refused: u64,
    /// Errors sent to clients by code, since start.
    pub errors: ErrorCounts,
    /// Errors sent to clients per second, all codes.
    pub errors_per_s: f64,
    /// The cluster.
    pub cluster: ClusterSample,
    /// The busiest rooms over the last period (at most [`TOP_ROOMS`]).
    pub top_rooms: Vec<RoomRate>,
    /// Seconds since the server started.
    pub uptime_s: u64,
}

/// The counters a sample's rates are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Previous {
    at: Instant,
    stats: HubStats,
}

/// The sum of every error count.
fn error_total(errors: &ErrorCounts) -> u64 {
    let ErrorCounts {
        bad_message,
        no_handler,
        forbidden,
        rate_limited,
        internal,
        limit,
        unauthorized,
        token_expired,
        unavailable,
    } = *errors;
    bad_message
        + no_handler
        + forbidden
        + rate_limited
        + internal
        + limit
        + unauthorized
        + token_expired
        + unavailable
}

/// Takes a sample of `hub` at `now`; rates are over the time since
/// `previous` (zero for the first sample). Returns the counters the next
/// sample's rates start from.
pub fn sample(
    hub: &Hub,
    started: Instant,
    previous: Option<Previous>,
    now: Instant,
) -> (Sample, Previous) {
    let stats = hub.stats();
    let mut by_transport = BTreeMap::from([("websocket", 0), ("polling", 0)]);
    let mut by_codec = BTreeMap::from([("json", 0), ("msgpack", 0)]);
    for id in hub.list() {
        if let Some(socket) = hub.socket(&id) {
            *by_transport
                .entry(socket.handshake().transport().as_str())
                .or_default() += 1;
            *by_codec.entry(socket.codec().as_str()).or_default() += 1;
        }
    }
    let seconds = previous
        .map(|p| now.saturating_duration_since(p.at).as_secs_f64())
        .filter(|s| *s > 0.0);
    let rate = |new: u64, old: fn(&HubStats) -> u64| match (previous, seconds) {
        (Some(p), Some(s)) => new.saturating_sub(old(&p.stats)) as f64 / s,
        _ => 0.0,
    };
    let period = seconds.unwrap_or(1.0);
    let top_rooms = hub
        .take_room_traffic(TOP_ROOMS)
        .into_iter()
        .map(|room| RoomRate {
            room: room.room,
            members: room.members,
            messages_per_s: room.messages as f64 / period,
            deliveries_per_s: room.deliveries as f64 / period,
        })
        .collect();
    let cluster = hub.cluster();
    let status = cluster.status();
    let sample = Sample {
        t: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        connections: stats.connections,
        by_transport,
        by_codec,
        detached: stats.resources.detached_sessions,
        rooms: stats.rooms,
        messages_in_per_s: rate(stats.messages_in, |s| s.messages_in),
        deliveries_per_s: rate(stats.messages_out, |s| s.messages_out),
        bytes_in_per_s: rate(stats.bytes_in, |s| s.bytes_in),
        bytes_out_per_s: rate(stats.bytes_out, |s| s.bytes_out),
        slow_consumers: stats.slow_consumers,
        answers_shed: stats.resources.answers_shed,
        detached_evicted: stats.resources.detached_sessions_evicted,
        handshakes_refused: stats.handshakes_refused,
        errors: stats.errors,
        errors_per_s: rate(error_total(&stats.errors), |s| error_total(&s.errors)),
        cluster: ClusterSample {
            clustered: cluster.is_clustered(),
            backend_up: status.backend_up,
            node: hub.node_id().to_owned(),
            peers: status.peers,
            dropped: cluster.stats().dropped,
        },
        top_rooms,
        uptime_s: now.saturating_duration_since(started).as_secs(),
    };
    (sample, Previous { at: now, stats })
}
