//! The hub's families: its traffic, its resource bounds (issue 15) and the
//! protocol errors it sent.

use switchboard::{ErrorCode, ErrorCounts, HubStats, ResourceStats};

use super::exposition::Exposition;
use super::exposition::Kind::{Counter, Gauge};

/// Connections, sessions, rooms and what flowed through them.
pub(super) fn render_traffic(out: &mut Exposition, stats: &HubStats, sessions: usize) {
    out.metric("connections", Gauge, "Live connections.", stats.connections);
    out.metric(
        "sessions",
        Gauge,
        "Sessions, live or waiting for a resume.",
        sessions,
    );
    out.metric(
        "rooms",
        Gauge,
        "Rooms with at least one member.",
        stats.rooms,
    );
    out.metric(
        "connections_opened_total",
        Counter,
        "Connections accepted since start.",
        stats.connections_total,
    );
    out.metric(
        "messages_in_total",
        Counter,
        "Client messages received (each message of a batch counts).",
        stats.messages_in,
    );
    out.metric(
        "messages_out_total",
        Counter,
        "Messages queued to clients (a broadcast counts each recipient).",
        stats.messages_out,
    );
    out.metric(
        "bytes_in_total",
        Counter,
        "Payload bytes received in client frames.",
        stats.bytes_in,
    );
    out.metric(
        "bytes_out_total",
        Counter,
        "Payload bytes written to clients, before compression.",
        stats.bytes_out,
    );
    out.metric(
        "slow_consumer_closes_total",
        Counter,
        "Sockets closed with 4001 because their send queue overflowed.",
        stats.slow_consumers,
    );
    out.metric(
        "token_expiry_closes_total",
        Counter,
        "Links closed with 4003 because their token expired unrefreshed.",
        stats.token_expiry_closes,
    );
    out.metric(
        "history_dropped_total",
        Counter,
        "Messages to history rooms that could not be kept in the backend's history (not delivered).",
        stats.history_dropped,
    );
    out.metric(
        "history_gaps_lost_total",
        Counter,
        "Messages of history rooms gone from the backend's history before this node could deliver them.",
        stats.history_gaps_lost,
    );
    out.metric(
        "sessions_moved_in_total",
        Counter,
        "Sessions another node handed over to this one, for a resume here.",
        stats.sessions_moved_in,
    );
    out.metric(
        "sessions_moved_out_total",
        Counter,
        "Sessions this node handed over to another one.",
        stats.sessions_moved_out,
    );
    out.metric(
        "handshakes_refused_total",
        Counter,
        "Handshakes answered with an HTTP error.",
        stats.handshakes_refused,
    );
    out.metric(
        "coalescing_pauses_total",
        Counter,
        "Times broadcast coalescing paused for a second because writers ran late (the hub is saturated).",
        stats.coalescing_pauses,
    );
}

/// The resource bounds (issue 15): what they hold and what they refused.
pub(super) fn render_resources(out: &mut Exposition, resources: &ResourceStats) {
    out.metric(
        "detached_sessions",
        Gauge,
        "Sessions waiting for a resume.",
        resources.detached_sessions,
    );
    out.metric(
        "detached_bytes",
        Gauge,
        "Bytes held by sessions waiting for a resume (resume buffers and memberships).",
        resources.detached_bytes,
    );
    out.metric(
        "detached_sessions_evicted_total",
        Counter,
        "Detached sessions ended early by --max-detached-sessions or --detached-budget.",
        resources.detached_sessions_evicted,
    );
    out.metric(
        "answers_shed_total",
        Counter,
        "$pong and $error answers dropped at a socket's send-queue high-water mark.",
        resources.answers_shed,
    );
    out.metric(
        "pending_polls",
        Gauge,
        "Long-polling sessions opened that have not sent their first GET.",
        resources.pending_polls,
    );
    out.metric(
        "pending_polls_refused_total",
        Counter,
        "Long-polling opens refused with 503 by --max-pending-polls.",
        resources.pending_polls_refused,
    );
    out.metric(
        "pending_polls_expired_total",
        Counter,
        "Long-polling sessions whose first GET did not come within --pending-poll-timeout.",
        resources.pending_polls_expired,
    );
}

/// The protocol errors sent to clients, by code.
pub(super) fn render_errors_sent(out: &mut Exposition, errors: &ErrorCounts) {
    let count = |code: ErrorCode| match code {
        ErrorCode::BadMessage => errors.bad_message,
        ErrorCode::NoHandler => errors.no_handler,
        ErrorCode::Forbidden => errors.forbidden,
        ErrorCode::RateLimited => errors.rate_limited,
        ErrorCode::Internal => errors.internal,
        ErrorCode::Limit => errors.limit,
        ErrorCode::Unauthorized => errors.unauthorized,
        ErrorCode::TokenExpired => errors.token_expired,
        ErrorCode::Unavailable => errors.unavailable,
    };
    out.labelled(
        "errors_sent_total",
        Counter,
        "Errors sent to clients, by protocol error code.",
        "code",
        ErrorCode::ALL
            .iter()
            .map(|&code| (code.as_str(), count(code))),
    );
}
