//! Checks of the WebSocket upgrade request (RFC 6455 section 4.2.1) and of
//! its `Origin` (PROTOCOL.md section 1), the handshake's query, and the
//! refusal's HTTP answer. Admitting the link (limits, authentication) is
//! the connection layer's (`connection/admission.rs`).

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use sockudo_ws::deflate::{DeflateConfig, negotiate_server_deflate};

use crate::config::AllowedOrigins;

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

/// Why a handshake was refused: becomes a plain HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandshakeRefusal {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// A short machine-readable code for the error body.
    pub code: Cow<'static, str>,
    /// What was wrong, for people.
    pub message: String,
}

impl HandshakeRefusal {
    pub(crate) fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    fn bad_request(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_handshake", message)
    }
}

/// The parts of a valid upgrade request the response needs.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeRequest {
    /// `Sec-WebSocket-Accept` for the response.
    pub(crate) accept: String,
    /// The client's `Sec-WebSocket-Extensions` offer.
    pub(crate) extensions: Option<String>,
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .to_str()
            .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Validates an upgrade request: `405` for a method other than GET, `400`
/// for anything malformed.
pub(crate) fn validate_upgrade(
    method: &Method,
    headers: &HeaderMap,
) -> Result<UpgradeRequest, HandshakeRefusal> {
    if method != Method::GET {
        return Err(HandshakeRefusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("a WebSocket handshake uses GET, not {method}"),
        ));
    }
    if !header_has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeRefusal::bad_request(
            "missing `Upgrade: websocket` header",
        ));
    }
    if !header_has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeRefusal::bad_request(
            "missing `Connection: Upgrade` header",
        ));
    }
    let version = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok());
    if version != Some("13") {
        return Err(HandshakeRefusal::bad_request(
            "`Sec-WebSocket-Version` must be 13",
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| k.len() == 24 && k.ends_with("=="))
        .ok_or_else(|| {
            HandshakeRefusal::bad_request("missing or malformed `Sec-WebSocket-Key` header")
        })?;
    let extensions = headers
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(UpgradeRequest {
        accept: sockudo_ws::handshake::generate_accept_key(key),
        extensions: (!extensions.is_empty()).then_some(extensions),
    })
}

/// Picks the permessage-deflate parameters for the client's offer.
pub(crate) fn negotiate_deflate(offer: Option<&str>) -> Option<(String, DeflateConfig)> {
    let negotiation = negotiate_server_deflate(offer?, &DeflateConfig::default())?;
    Some((negotiation.to_response_header(), negotiation.config))
}

/// A `host[:port]` pair, lower-cased, with the port made explicit where the
/// scheme implies it.
#[derive(Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim();
    if authority.is_empty() || authority.contains(['/', '@', ' ']) {
        return None;
    }
    // IPv6 literals keep their brackets.
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &authority[..end + 2];
        let after = &rest[end + 1..];
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn parse_origin(origin: &str) -> Option<Authority> {
    let (scheme, rest) = origin.trim().split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        _ => return None,
    };
    let (host, port) = split_authority(rest.trim_end_matches('/'))?;
    Some(Authority {
        host,
        port: Some(port.unwrap_or(default_port)),
    })
}

fn same_authority(origin: &Authority, host_header: &str) -> bool {
    let Some((host, port)) = split_authority(host_header) else {
        return false;
    };
    if host != origin.host {
        return false;
    }
    match port {
        Some(port) => origin.port == Some(port),
        // A Host without a port uses the scheme's default: the origin's port
        // must then be a default one too.
        None => matches!(origin.port, Some(80 | 443)),
    }
}

impl AllowedOrigins {
    /// Whether a browser `origin` may connect to a server reached as
    /// `host` (the request's `Host`), or, when `public_origin` is set
    /// (see [`crate::HubConfig::public_origin`]), to that public origin:
    /// same-host origins are compared with it instead of `host`.
    pub fn allows(&self, origin: &str, host: Option<&str>, public_origin: Option<&str>) -> bool {
        if *self == Self::Any {
            return true;
        }
        let Some(parsed) = parse_origin(origin) else {
            return false;
        };
        let same_host = match public_origin {
            Some(public) => parse_origin(public).is_some_and(|p| p == parsed),
            None => host.is_some_and(|h| same_authority(&parsed, h)),
        };
        same_host || self.listed(origin)
    }

    /// Whether `origin` is named by this policy itself (in its list, or
    /// any origin): such an origin may also use long-polling across
    /// origins (CORS).
    pub fn listed(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::SameHost => false,
            Self::List(list) => parse_origin(origin).is_some_and(|parsed| {
                list.iter()
                    .filter_map(|o| parse_origin(o))
                    .any(|o| o == parsed)
            }),
        }
    }
}

/// Applies the origin policy: `Ok` when the handshake may go on.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    allowed: &AllowedOrigins,
    public_origin: Option<&str>,
) -> Result<(), HandshakeRefusal> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match origin.to_str() {
        Ok(text) if allowed.allows(text, host, public_origin) => Ok(()),
        _ => Err(HandshakeRefusal::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            format!("origin {origin:?} is not allowed"),
        )),
    }
}

impl IntoResponse for HandshakeRefusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
        }
        if self.code == "too_many_handshakes" {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    fn check_origin(headers: &HeaderMap, allowed: &AllowedOrigins) -> Result<(), HandshakeRefusal> {
        super::check_origin(headers, allowed, None)
    }

    #[test]
    fn a_public_origin_replaces_the_host_in_the_same_host_rule() {
        let same = AllowedOrigins::SameHost;
        let public = Some("https://chat.example.com");
        let rebinding = headers(Some("http://evil.example:8080"), "evil.example:8080");
        assert!(super::check_origin(&rebinding, &same, None).is_ok());
        assert!(super::check_origin(&rebinding, &same, public).is_err());
        let good = headers(Some("https://chat.example.com"), "internal:8080");
        assert!(super::check_origin(&good, &same, public).is_ok());
        let list = AllowedOrigins::List(vec!["https://app.example".into()]);
        let listed = headers(Some("https://app.example"), "x");
        assert!(super::check_origin(&listed, &list, public).is_ok());
        assert!(super::check_origin(&rebinding, &list, public).is_err());
        assert!(list.listed("https://app.example:443"));
        assert!(!list.listed("https://chat.example.com"));
        assert!(!same.listed("https://chat.example.com"));
        assert!(AllowedOrigins::Any.listed("null"));
    }

    #[test]
    fn origin_rules() {
        let same = AllowedOrigins::SameHost;
        assert!(check_origin(&headers(None, "a.com"), &same).is_ok());
        assert!(check_origin(&headers(Some("http://a.com"), "a.com"), &same).is_ok());
        assert!(check_origin(&headers(Some("http://a.com:8080"), "a.com:8080"), &same).is_ok());
        assert!(check_origin(&headers(Some("https://A.com"), "a.com:443"), &same).is_ok());
        assert!(check_origin(&headers(Some("http://a.com:8080"), "a.com:9090"), &same).is_err());
        assert!(check_origin(&headers(Some("http://evil.com"), "a.com"), &same).is_err());
        assert!(check_origin(&headers(Some("null"), "a.com"), &same).is_err());
        let list = AllowedOrigins::List(vec!["https://app.example".into()]);
        assert!(check_origin(&headers(Some("https://app.example:443"), "api"), &list).is_ok());
        assert!(check_origin(&headers(Some("http://app.example"), "api"), &list).is_err());
        assert!(
            check_origin(
                &headers(Some("http://evil.com"), "a.com"),
                &AllowedOrigins::Any
            )
            .is_ok()
        );
        assert!(check_origin(&headers(Some("http://[::1]:80"), "[::1]"), &same).is_ok());
    }

    #[test]
    fn upgrade_validation() {
        let mut h = HeaderMap::new();
        assert_eq!(
            validate_upgrade(&Method::POST, &h).unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            validate_upgrade(&Method::GET, &h).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        h.insert(header::UPGRADE, "websocket".parse().unwrap());
        h.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        h.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        h.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        let ok = validate_upgrade(&Method::GET, &h).unwrap();
        assert_eq!(ok.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
