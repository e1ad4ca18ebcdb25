//! Logging in and out of the dashboard, and what every dashboard request
//! must carry.
//!
//! - `POST /admin/login` with `{"password":"..."}` (`Content-Type:
//!   application/json`) answers `200 {"csrf","expires_in_s"}` and sets the
//!   session cookie `switchboard_admin`: `HttpOnly`, `SameSite=Strict`,
//!   `Path=/admin`, `Max-Age` of the session's life, `Secure` under TLS.
//!   A wrong password is `401`; too many tries `429` with `Retry-After`
//!   ([`super::limiter`]). The password is compared as SHA-256 digests in
//!   constant time, and never logged.
//! - `POST /admin/logout` ends the session and clears the cookie.
//! - Every `/admin/api/` request needs a live session cookie (`401`
//!   otherwise). A request that changes something (any method but `GET`
//!   and `HEAD`), and the login and logout, must also pass the CSRF rules:
//!   an `Origin` (or, without one, a `Sec-Fetch-Site`) naming this server
//!   itself, and, with a session, the session's CSRF token in the
//!   `X-CSRF-Token` header (`403` `csrf_refused` otherwise). The
//!   `SameSite=Strict` cookie already stays home on cross-site requests;
//!   the header and the Origin check hold where a browser or a proxy does
//!   not honour it.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AdminState;
use super::sessions::AdminSession;
use crate::api::constant_time_eq;
use crate::api_error::ApiError;

/// The session cookie's name.
pub const COOKIE: &str = "switchboard_admin";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's token of a request that passed
/// [`require_session`] (a request extension).
#[derive(Debug, Clone)]
pub struct SessionToken(pub String);

/// The SHA-256 digest of a password.
pub fn password_digest(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

/// The value of the session cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// A `403 csrf_refused`.
fn csrf_refused(message: &str) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "csrf_refused",
        message: message.to_owned(),
    }
}

/// Whether the request comes from this server's own pages: its `Origin`
/// (or `Sec-Fetch-Site`) says so, or it has neither (not a browser).
fn same_origin(state: &AdminState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let own = match &state.public_origin {
            Some(public) => public.eq_ignore_ascii_case(origin),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                let scheme = if state.tls { "https" } else { "http" };
                !host.is_empty() && origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"))
            }
        };
        return if own {
            Ok(())
        } else {
            Err(csrf_refused(
                "the request's Origin is not this server's: refused",
            ))
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err(csrf_refused("a cross-site request: refused")),
    }
}

/// The client's address, for the login rate limit.
fn client_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The `Set-Cookie` value of a session (an empty token and zero age
/// clear it).
fn set_cookie(state: &AdminState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.tls { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// `POST /admin/login`.
pub async fn login(State(state): State<AdminState>, request: Request) -> Response {
    match try_login(&state, request).await {
        Ok(response) => response,
        Err(error) => error,
    }
}

async fn try_login(state: &AdminState, request: Request) -> Result<Response, Response> {
    let address = client_address(&request);
    same_origin(state, request.headers()).map_err(IntoResponse::into_response)?;
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the login body must be application/json: {\"password\":\"...\"}",
        )
        .into_response());
    }
    if let Err(limited) = state.limiter.attempt(address, Instant::now()) {
        tracing::warn!(%address, "admin login rate limited");
        let mut response = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: limited.to_string(),
        }
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(limited.retry_after().as_secs().max(1)),
        );
        return Err(response);
    }
    let body: Bytes = axum::body::to_bytes(request.into_body(), 4096)
        .await
        .map_err(|_| ApiError::bad_request("the login body is too large").into_response())?;
    let password = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("password")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            ApiError::bad_request("the body must be {\"password\":\"...\"}").into_response()
        })?;
    let given = password_digest(password.as_bytes());
    if !constant_time_eq(&given, &state.password_digest) {
        tracing::warn!(%address, "admin login refused: wrong password");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong password").into_response());
    }
    state.limiter.succeeded(address);
    let login = state.sessions.open(Instant::now());
    tracing::info!(%address, "admin logged in");
    let ttl = state.sessions.ttl().as_secs();
    let mut response =
        Json(json!({"csrf": login.session.csrf, "expires_in_s": ttl})).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(state, &login.token, ttl));
    Ok(response)
}

/// `POST /admin/logout` (a session and its CSRF token needed, as every
/// change): ends the session, clears the cookie.
pub async fn logout(
    State(state): State<AdminState>,
    axum::Extension(token): axum::Extension<SessionToken>,
) -> Response {
    state.sessions.close(&token.0);
    tracing::info!("admin logged out");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", 0));
    response
}

/// `GET /admin/api/session`: the session's CSRF token and time left.
pub async fn session(axum::Extension(session): axum::Extension<AdminSession>) -> Response {
    let left = session
        .expires
        .saturating_duration_since(Instant::now())
        .as_secs();
    Json(json!({"csrf": session.csrf, "expires_in_s": left})).into_response()
}

/// The middleware of every dashboard API route and the logout: a live
/// session, and for changes the CSRF rules.
pub async fn require_session(
    State(state): State<AdminState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let Some(token) = session_cookie(headers).map(str::to_owned) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "log in first").into_response();
    };
    let Some(session) = state.sessions.get(&token, Instant::now()) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the session has ended: log in again",
        )
        .into_response();
    };
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if changes {
        if let Err(error) = same_origin(&state, headers) {
            return error.into_response();
        }
        let sent = headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(sent, session.csrf.as_bytes()) {
            return csrf_refused("the X-CSRF-Token header is missing or wrong").into_response();
        }
    }
    request.extensions_mut().insert(SessionToken(token));
    request.extensions_mut().insert(session);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; switchboard_admin=tok; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("tok"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("switchboard_adminx=1"),
        );
        assert_eq!(session_cookie(&headers), None);
    }
}
