//! What the HTTP API checks when it has no key (issue 15, attack 6): a
//! web page in a browser on the server's machine must not drive it.
//!
//! Without `--api-key` the API answers loopback callers only, and a
//! browser is such a caller. So a keyless request is also refused when:
//! - its `Host` is not a loopback address, `localhost`, the listen
//!   address or a `--allow-host` name: `421` `host_refused` (DNS
//!   rebinding: a page on `evil.example` whose name now points at
//!   127.0.0.1 sends `Host: evil.example:PORT`);
//! - it carries an `Origin` that `--allow-origin` does not allow (the
//!   same-host rule compares with `--public-origin` when set):
//!   `403` `origin_refused`;
//! - its body (`POST /api/publish`) is not `Content-Type:
//!   application/json`: `415` `unsupported_media_type` (a cross-site form
//!   or `text/plain` fetch needs no CORS preflight; JSON does).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, StatusCode, header};
use switchboard::AllowedOrigins;

use crate::api_error::ApiError;

/// The keyless API's rules, from the configuration.
#[derive(Debug, Default)]
pub struct KeylessRules {
    /// Origins allowed (`--allow-origin`).
    pub allowed_origins: AllowedOrigins,
    /// The public origin (`--public-origin`).
    pub public_origin: Option<String>,
    /// Host names allowed beside loopback and `localhost` (`--allow-host`,
    /// lower-case, and the listen address).
    pub allowed_hosts: Vec<String>,
    /// Requests refused, by rule.
    pub refused: KeylessRefusals,
}

/// Keyless API requests refused since start, by rule.
#[derive(Debug, Default)]
pub struct KeylessRefusals {
    host: AtomicU64,
    origin: AtomicU64,
    content_type: AtomicU64,
}

/// A snapshot of [`KeylessRefusals`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeylessRefusalCounts {
    /// `421` `host_refused`.
    pub host: u64,
    /// `403` `origin_refused`.
    pub origin: u64,
    /// `415` `unsupported_media_type`.
    pub content_type: u64,
}

impl KeylessRefusals {
    /// The counts now.
    pub fn snapshot(&self) -> KeylessRefusalCounts {
        KeylessRefusalCounts {
            host: self.host.load(Ordering::Relaxed),
            origin: self.origin.load(Ordering::Relaxed),
            content_type: self.content_type.load(Ordering::Relaxed),
        }
    }
}

impl KeylessRules {
    /// Checks a keyless request's `Host` and `Origin`; counts and returns
    /// the refusal.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if let Some(host) = host
            && !host_allowed(host, &self.allowed_hosts)
        {
            self.refused.host.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError {
                status: StatusCode::MISDIRECTED_REQUEST,
                code: "host_refused",
                message: format!(
                    "Host {host:?} is not this server's (without --api-key the API answers \
                     loopback addresses, localhost, the listen address and --allow-host names)"
                ),
            });
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let allowed = origin.to_str().is_ok_and(|o| {
                self.allowed_origins
                    .allows(o, host, self.public_origin.as_deref())
            });
            if !allowed {
                self.refused.origin.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    code: "origin_refused",
                    message: format!("origin {origin:?} is not allowed (--allow-origin)"),
                });
            }
        }
        Ok(())
    }

    /// Checks the type of a keyless request's body (every endpoint that
    /// takes one calls it, after the body was read within its limit).
    pub fn check_body(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if !is_json(headers) {
            self.refused.content_type.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be sent with Content-Type: application/json",
            ));
        }
        Ok(())
    }
}

/// Whether the `Content-Type` is `application/json` (parameters such as
/// `charset` allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether a `Host` header names this server for the keyless API: a
/// loopback address, `localhost`, or one of `allowed` (any port: a page
/// on another port of the same host has another origin, which the Origin
/// rule refuses).
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, _)) => inside,
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = name.parse::<IpAddr>()
        && ip.to_canonical().is_loopback()
    {
        return true;
    }
    name == "localhost"
        || allowed
            .iter()
            .any(|a| a.trim_start_matches('[').trim_end_matches(']') == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let allowed = vec!["chat.example.com".to_owned(), "10.0.0.5".to_owned()];
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "127.1.2.3:1",
            "[::1]:8080",
            "[::1]",
            "localhost:8080",
            "LOCALHOST",
            "localhost.",
            "chat.example.com",
            "Chat.Example.com:443",
            "10.0.0.5:8080",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.6:8080",
            "[::2]:80",
            "[::1",
            "127.0.0.1:x",
            "",
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad}");
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    #[test]
    fn keyless_rules() {
        let rules = KeylessRules {
            allowed_origins: AllowedOrigins::List(vec!["https://app.example".into()]),
            ..KeylessRules::default()
        };
        // Bodies are checked by the endpoints that take one (POST here).
        let status = |m: &str, h: &[(&'static str, &str)]| {
            let h = headers(h);
            rules
                .check(&h)
                .and_then(|()| match m {
                    "POST" => rules.check_body(&h),
                    _ => Ok(()),
                })
                .err()
                .map(|e| e.status.as_u16())
        };
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(status("POST", &[("host", "127.0.0.1:1"), json]), None);
        assert_eq!(status("GET", &[("host", "127.0.0.1:1")]), None);
        assert_eq!(status("POST", &[("host", "127.0.0.1:1")]), Some(415));
        assert_eq!(
            status(
                "POST",
                &[("host", "127.0.0.1:1"), ("content-type", "text/plain")]
            ),
            Some(415)
        );
        // DNS rebinding: Host and Origin agree, but the host is not ours.
        assert_eq!(
            status(
                "GET",
                &[
                    ("host", "evil.example:1"),
                    ("origin", "http://evil.example:1")
                ]
            ),
            Some(421)
        );
        // A page on another origin.
        assert_eq!(
            status(
                "DELETE",
                &[("host", "127.0.0.1:1"), ("origin", "http://evil.example")]
            ),
            Some(403)
        );
        // The same host, and a listed origin.
        assert_eq!(
            status(
                "GET",
                &[("host", "127.0.0.1:1"), ("origin", "http://127.0.0.1:1")]
            ),
            None
        );
        assert_eq!(
            status(
                "POST",
                &[
                    ("host", "localhost:1"),
                    ("origin", "https://app.example"),
                    json
                ]
            ),
            None
        );
        assert_eq!(
            rules.refused.snapshot(),
            KeylessRefusalCounts {
                host: 1,
                origin: 1,
                content_type: 2
            }
        );
    }
}
