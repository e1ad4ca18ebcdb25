//! Admission of a new link, on either transport: the handshake's query,
//! then origin, the client address's limits, the connection limit and
//! authentication.

use http::StatusCode;

use super::{HandshakeRefusal, check_origin};
use crate::hub::handle::Hub;
use crate::policy::HandshakeRequest;
use crate::slots::ConnectionSlot;

/// The query parameters of a handshake (PROTOCOL.md section 1), parsed in
/// the protocol crate.
pub(crate) use switchboard_protocol::HandshakeQuery;

/// The handshake's query (`None`: there is none); a malformed one is
/// refused `400`.
pub(crate) fn parse_query(query: Option<&str>) -> Result<HandshakeQuery, HandshakeRefusal> {
    HandshakeQuery::parse(query.unwrap_or("")).map_err(|error| {
        HandshakeRefusal::new(StatusCode::BAD_REQUEST, "bad_request", error.to_string())
    })
}

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
    let owner = crate::edge::admit_address(hub, parts)?;
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
