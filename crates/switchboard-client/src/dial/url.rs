//! The one URL parser of the crate: `ws://` / `wss://` (the client also
//! takes `http://` / `https://`), parsed by hand.

use std::fmt::Write as _;

use super::error::DialError;

/// A parsed WebSocket URL, for the client and the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WsUrl {
    /// Whether the link runs over TLS (`wss://` or `https://`).
    pub(crate) tls: bool,
    /// The host as written, without brackets for IPv6.
    pub(crate) host: String,
    /// The port (default 80 or 443).
    pub(crate) port: u16,
    /// The path, starting with `/`.
    pub(crate) path: String,
    /// The query without `?`, possibly empty.
    pub(crate) query: String,
}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]`; `wss`, `http`, `https` too
    /// (a hub's URL: long-polling runs over `http`).
    pub(crate) fn parse(url: &str) -> Result<Self, DialError> {
        Self::parse_schemes(url, true)
    }

    /// Parses a `ws://` or `wss://` URL only (a pool connection's).
    pub(crate) fn parse_ws(url: &str) -> Result<Self, DialError> {
        Self::parse_schemes(url, false)
    }

    fn parse_schemes(url: &str, http_too: bool) -> Result<Self, DialError> {
        let bad = |why: &str| DialError::InvalidUrl(format!("{url}: {why}"));
        if !http_too && url.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad("whitespace or control characters"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            "http" if http_too => false,
            "https" if http_too => true,
            _ if http_too => return Err(bad("the scheme must be ws, wss, http or https")),
            _ => return Err(bad("the scheme must be ws or wss")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path_query) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("bad authority")),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (host.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let (path, query) = match path_query.split_once('?') {
            Some((p, q)) => (p, q),
            None => (path_query, ""),
        };
        let path = if path.is_empty() { "/" } else { path };
        Ok(Self {
            tls,
            host,
            port,
            path: path.to_owned(),
            query: query.to_owned(),
        })
    }

    /// The `Host` header value: the host, and the port when not the default.
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.tls { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The request target: path and query, with `extra` query pairs
    /// (percent-encoded) appended.
    pub(crate) fn target(&self, extra: &[(&str, &str)]) -> String {
        let mut query = self.query.clone();
        for (key, value) in extra {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&encode(key));
            query.push('=');
            query.push_str(&encode(value));
        }
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{query}", self.path)
        }
    }
}

/// Percent-encodes everything but the URL-safe unreserved characters.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = WsUrl::parse("ws://127.0.0.1:8080/ws?codec=json").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "127.0.0.1", 8080));
        assert_eq!(
            u.target(&[("token", "a b&")]),
            "/ws?codec=json&token=a%20b%26"
        );
        assert_eq!(u.host_header(), "127.0.0.1:8080");
        let u = WsUrl::parse("wss://example.com").unwrap();
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 443, "/"));
        assert_eq!(u.host_header(), "example.com");
        let u = WsUrl::parse("ws://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert_eq!(u.host_header(), "[::1]:9");
        assert!(WsUrl::parse("ftp://x").is_err());
        assert!(WsUrl::parse("ws://:80/").is_err());
    }

    #[test]
    fn parses_pool_urls() {
        let t = WsUrl::parse_ws("ws://127.0.0.1:9000/feed?x=1").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.target(&[]).as_str()),
            (false, "127.0.0.1", 9000, "/feed?x=1")
        );
        let t = WsUrl::parse_ws("wss://example.com").unwrap();
        assert!(t.tls);
        assert_eq!((t.port, t.target(&[]).as_str()), (443, "/"));
        assert_eq!(t.host_header(), "example.com");
        let t = WsUrl::parse_ws("ws://[::1]:8080/").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header(), "[::1]:8080");
        assert!(WsUrl::parse_ws("http://example.com").is_err());
        assert!(WsUrl::parse_ws("not a url").is_err());
    }
}
