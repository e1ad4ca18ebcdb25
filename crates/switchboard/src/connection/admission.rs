//! Admission of a new link, on either transport: origin, the client address's limits, the connection limit and
//! authentication.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::StatusCode;

use crate::app::policies::HandshakeRequest;
use crate::client_addr::{AddressKey, client_address};
use crate::hub::handle::Hub;
use crate::limits::address::{AddressLimits, AddressRefusal};
use crate::limits::slots::ConnectionSlot;
use crate::limits::slots::SlotOwner;
use crate::transport::handshake::{HandshakeQuery, HandshakeRefusal, check_origin};

/// The checks every new link passes, on either transport: origin, the
/// client address's limits, the connection limit, authentication. Returns the admitted slot and the app
/// data for a new session.
pub(crate) async fn admit_link(
    hub: &Hub,
    parts: &http::request::Parts,
    query: &HandshakeQuery,
) -> Result<(ConnectionSlot, http::Extensions), HandshakeRefusal> {
    let config = hub.config();
    check_origin(
        &parts.headers,
        &config.allowed_origins,
        config.public_origin.as_deref(),
    )?;
    let owner = admit_address(hub, parts)?;
    let slot = hub.admit_for(owner).ok_or_else(|| {
        let message = if hub.is_shutting_down() {
            "the hub is shutting down"
        } else {
            "the hub is at its connection limit"
        };
        HandshakeRefusal::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    })?;
    let extensions = match &hub.policies().auth {
        Some(auth) => {
            let request = HandshakeRequest {
                headers: parts.headers.clone(),
                uri: parts.uri.clone(),
                token: query.token.clone(),
            };
            auth(request).await.map_err(|rejection| {
                HandshakeRefusal::new(StatusCode::FORBIDDEN, "unauthorized", rejection.0)
            })?
        }
        None => http::Extensions::new(),
    };
    Ok((slot, extensions))
}

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
