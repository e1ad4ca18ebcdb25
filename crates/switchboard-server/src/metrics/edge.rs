//! The HTTP edge's families (issue 15): what the hub's accept loop and
//! per-address limits, and the keyless API's rules, refused or closed.

use switchboard::EdgeCounts;

use super::exposition::Exposition;
use super::exposition::Kind::Counter;
use crate::keyless::KeylessRefusalCounts;

/// Renders what the HTTP edge refused or closed.
pub fn render_edge(edge: &EdgeCounts, api: &KeylessRefusalCounts) -> String {
    let mut out = Exposition::new();
    render_connections(&mut out, edge);
    out.labelled(
        "address_refused_total",
        Counter,
        "Handshakes refused by the per-client-address limits, by reason.",
        "reason",
        [
            ("connections", edge.address_connections_refused),
            ("handshake_rate", edge.address_handshakes_refused),
            ("table_full", edge.address_table_full),
        ],
    );
    out.labelled(
        "api_refused_total",
        Counter,
        "Keyless API requests refused, by rule.",
        "reason",
        [
            ("host", api.host),
            ("origin", api.origin),
            ("content_type", api.content_type),
        ],
    );
    out.finish()
}

/// The connections the edge closed or answered with an error.
fn render_connections(out: &mut Exposition, edge: &EdgeCounts) {
    out.metric(
        "http_header_timeouts_total",
        Counter,
        "Connections closed because their request head did not arrive within the header timeout.",
        edge.header_timeouts,
    );
    out.metric(
        "http_heads_too_large_total",
        Counter,
        "Requests answered 431 because their head was over --http-max-head-size.",
        edge.heads_too_large,
    );
    out.metric(
        "http_body_timeouts_total",
        Counter,
        "Connections closed because a request body did not arrive within the header timeout of its head.",
        edge.body_timeouts,
    );
    out.metric(
        "http_idle_closed_total",
        Counter,
        "Keep-alive connections closed after the idle timeout.",
        edge.idle_closed,
    );
    out.metric(
        "http_pending_evicted_total",
        Counter,
        "Connections without a complete request head closed to make room (pending cap or no descriptors).",
        edge.pending_evicted,
    );
    out.metric(
        "http_accept_errors_total",
        Counter,
        "Failed accept calls (e.g. out of file descriptors).",
        edge.accept_errors,
    );
    out.metric(
        "cors_preflights_refused_total",
        Counter,
        "Long-polling CORS preflights refused: origin not allowed.",
        edge.cors_refused,
    );
}
