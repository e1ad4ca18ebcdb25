//! Admission of a new link, on either transport: origin, the client address's limits, the connection limit and
//! authentication.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::StatusCode;

use crate::app::policies::HandshakeRequest;
use crate::client_addr::{AddressKey, client_address};
use crate::hub::handle::Hub;
use crate::id;
use crate::limits::address::{AddressLimits, AddressRefusal};
use crate::limits::slots::ConnectionSlot;
use crate::limits::slots::SlotOwner;
use crate::session::handshake::Transport;
use crate::session::identity::{GrantOrigin, PresetSocketId, UserGrant};
use crate::tokens::{TokenClaims, TokenError};
use crate::transport::handshake::{HandshakeQuery, HandshakeRefusal, check_origin};
use switchboard_protocol::{Codec, ErrorCode};

/// The checks every new link passes, on either transport: origin, the
/// client address's limits, the connection limit, the token (when the hub
/// checks tokens), authentication. Returns the admitted slot and the app
/// data for a new session, in which the user's grant (from the token, or
/// the hook's own) and the id the hook was told ride until the session
/// takes them.
pub(crate) async fn admit_link(
    hub: &Hub,
    parts: &http::request::Parts,
    query: &HandshakeQuery,
    transport: Transport,
    resume: Option<(&str, u64, Codec)>,
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
    let token_grant = check_token(hub, parts, query).await?.map(UserGrant::from);
    // A session another node holds is brought here first (PROTOCOL.md
    // section 11): the hook then sees a resume like any other. Its user is
    // checked there when the token tells it; a hook decides after.
    let moved = match resume {
        Some((token, last, codec)) => {
            let user = hub
                .policies()
                .auth
                .is_none()
                .then(|| token_grant.as_ref().map(|grant| grant.user.clone()));
            hub.ask_for_session(token, last, codec, user).await
        }
        None => None,
    };
    let mut extensions = match &hub.policies().auth {
        Some(auth) => {
            // The hook is told the socket's id: a resumed session's own,
            // or the one a new session will take (which then rides in the
            // app data to it). Without a hook, nothing is made here.
            let resumed = resume
                .and_then(|(token, _, _)| hub.session_table().get(token))
                .map(|session| session.id.to_string())
                .or_else(|| moved.as_ref().map(|m| m.socket_id().to_owned()));
            let socket_id = resumed.clone().unwrap_or_else(id::new_socket_id);
            let request = HandshakeRequest {
                headers: parts.headers.clone(),
                uri: parts.uri.clone(),
                token: query.token.clone(),
                socket_id: socket_id.clone(),
                resumes: resumed.is_some(),
                user: token_grant.clone(),
                transport,
                client_ip: client_ip(hub, parts),
            };
            let mut extensions = auth(request).await.map_err(|rejection| {
                let status = if rejection.is_unavailable() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::FORBIDDEN
                };
                HandshakeRefusal::new(status, rejection.code().to_owned(), rejection.message())
            })?;
            if resumed.is_none() {
                extensions.insert(PresetSocketId(socket_id));
            }
            extensions
        }
        None => http::Extensions::new(),
    };
    // The hook's own grant, if it made one, replaces the token's.
    let origin = GrantOrigin {
        hook: extensions.get::<UserGrant>().is_some(),
        token_subject: token_grant.as_ref().map(|grant| grant.user.clone()),
    };
    if let Some(grant) = token_grant
        && !origin.hook
    {
        extensions.insert(grant);
    }
    if extensions.get::<UserGrant>().is_some() {
        extensions.insert(origin);
    }
    if let Some(moved) = moved {
        extensions.insert(moved);
    }
    if let Some(grant) = extensions.get::<UserGrant>() {
        check_user_limit(hub, &grant.user)?;
    }
    Ok((slot, extensions))
}

/// `max_connections_per_user`: a user at its most live connections on
/// this node is refused `429` `limit`.
fn check_user_limit(hub: &Hub, user: &str) -> Result<(), HandshakeRefusal> {
    let max = hub.config().max_connections_per_user;
    if max == 0 || hub.user_registry().live_count(user) < max {
        return Ok(());
    }
    tracing::debug!(
        user,
        max,
        "handshake refused: the user holds its most connections"
    );
    Err(HandshakeRefusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Limit.as_str(),
        format!("this user holds its most connections ({max})"),
    ))
}

/// The client's address of a request with a peer address.
fn client_ip(hub: &Hub, parts: &http::request::Parts) -> Option<std::net::IpAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(client_address(
        peer.ip(),
        &parts.headers,
        &hub.config().trusted_proxies,
    ))
}

/// The token of a handshake: the `token` query parameter, else an
/// `Authorization: Bearer` header.
fn token_of<'a>(parts: &'a http::request::Parts, query: &'a HandshakeQuery) -> Option<&'a str> {
    if let Some(token) = query.token.as_deref() {
        return Some(token);
    }
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Checks the handshake's token when the hub checks tokens (PROTOCOL.md
/// section 10): its claims, `None` for an anonymous client (no token, and
/// anonymous clients allowed), or the `401` (`503` when the keys cannot be
/// fetched).
async fn check_token(
    hub: &Hub,
    parts: &http::request::Parts,
    query: &HandshakeQuery,
) -> Result<Option<TokenClaims>, HandshakeRefusal> {
    let policies = hub.policies();
    let Some(verifier) = &policies.tokens else {
        return Ok(None);
    };
    let Some(token) = token_of(parts, query) else {
        if policies.allow_anonymous {
            return Ok(None);
        }
        return Err(HandshakeRefusal::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized.as_str(),
            "a token is required (the `token` query parameter or an `Authorization: Bearer` header)",
        ));
    };
    verifier.verify(token).await.map(Some).map_err(|error| {
        tracing::debug!(%error, "handshake refused: its token");
        let status = match error {
            TokenError::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            TokenError::Invalid(_) | TokenError::Expired => StatusCode::UNAUTHORIZED,
        };
        HandshakeRefusal::new(status, error.code(), error.to_string())
    })
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
