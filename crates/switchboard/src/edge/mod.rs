//! The HTTP edge (issue 15): the accept loop and its timeouts, who the
//! client is and the limits per client address, and long-polling CORS.

pub(crate) mod activity;
pub(crate) mod address_limits;
pub(crate) mod body;
pub(crate) mod client_addr;
pub(crate) mod cors;
pub(crate) mod listen;
pub(crate) mod pending;
pub(crate) mod serve;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::StatusCode;

pub(crate) use address_limits::AddressRefusal;

use crate::edge::address_limits::AddressLimits;
use crate::edge::client_addr::{AddressKey, client_address};
use crate::hub::handle::Hub;
use crate::slots::SlotOwner;
use crate::transport::handshake::HandshakeRefusal;

/// The owner a new link's slot shares: its client address's, or the
/// hub's unlimited one for a loopback client (unless that exemption is
/// off) or a request without a peer address (`ConnectInfo<SocketAddr>`,
/// which [`Hub::serve`] and [`Hub::serve_router`] add; a router served
/// otherwise has no per-address limits).
pub(crate) fn admit_address(
    hub: &Hub,
    parts: &http::request::Parts,
) -> Result<Arc<SlotOwner>, HandshakeRefusal> {
    let config = hub.config();
    let unlimited = || Ok(hub.unlimited_owner().clone());
    if config.max_connections_per_address == 0 && config.handshake_rate_per_address.is_none() {
        return unlimited();
    }
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return unlimited();
    };
    let client = client_address(peer.ip(), &parts.headers, &config.trusted_proxies);
    if config.exempt_loopback && client.is_loopback() {
        return unlimited();
    }
    let limits = AddressLimits {
        max_connections: config.max_connections_per_address,
        rate: config.handshake_rate_per_address,
        capacity: config.max_tracked_addresses,
    };
    hub.address_table()
        .admit(AddressKey::of(client), &limits, || hub.new_slot_owner())
        .map_err(|refusal| {
            hub.counters().edge.address_refused(refusal);
            tracing::debug!(%client, ?refusal, "handshake refused for its client address");
            match refusal {
                AddressRefusal::TooManyConnections => HandshakeRefusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_connections",
                    format!(
                        "this client address holds its most connections ({})",
                        config.max_connections_per_address
                    ),
                ),
                AddressRefusal::TooManyHandshakes => HandshakeRefusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_handshakes",
                    "too many handshakes from this client address: retry in a second",
                ),
                AddressRefusal::TableFull => HandshakeRefusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "address_table_full",
                    "the hub tracks its most client addresses",
                ),
            }
        })
}
