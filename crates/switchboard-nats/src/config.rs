//! Reading the server URL (list) given to [`NatsDriver::new`](crate::NatsDriver::new).

use async_nats::ServerAddr;
use percent_encoding::percent_decode_str;
use switchboard::adapter::DriverError;
use url::Url;

/// Credentials taken from the URL's user info.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `nats://user:pass@host`.
    UserPassword(String, String),
    /// `nats://token@host`.
    Token(String),
}

/// The parsed servers: addresses without credentials, the credentials, and
/// a printable form for logs (no secrets).
pub(crate) struct Servers {
    pub(crate) addrs: Vec<ServerAddr>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) display: String,
}

fn config(message: impl Into<String>) -> DriverError {
    DriverError::Config(message.into())
}

fn decode(part: &str) -> Result<String, DriverError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| config("NATS URL credentials are not valid UTF-8"))
}

/// Parses `nats://[user:pass@]host[:port]` or a comma-separated list of
/// such URLs (`tls://` too). All servers must carry the same credentials
/// (or none after the first).
pub(crate) fn parse_servers(input: &str) -> Result<Servers, DriverError> {
    let mut addrs = Vec::new();
    let mut credentials: Option<Credentials> = None;
    let mut shown = Vec::new();
    for part in input.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(config(format!("empty server in NATS URL list {input:?}")));
        }
        let mut url = Url::parse(part).map_err(|e| config(format!("bad NATS URL: {e}")))?;
        if !matches!(url.scheme(), "nats" | "tls") {
            return Err(config(format!(
                "NATS URL scheme must be nats:// or tls://, not {}://",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(config("NATS URL has no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(config("NATS URL must not have a path, query or fragment"));
        }
        let found = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) => Some(Credentials::UserPassword(decode(user)?, decode(pass)?)),
            (token, None) => Some(Credentials::Token(decode(token)?)),
        };
        if let Some(found) = found {
            match &credentials {
                Some(existing) if *existing != found => {
                    return Err(config(
                        "all NATS servers in the list must use the same credentials",
                    ));
                }
                _ => credentials = Some(found),
            }
        }
        // Strip the credentials: async-nats ignores them in the address
        // and may print addresses in its debug logs.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        shown.push(url.as_str().trim_end_matches('/').to_owned());
        addrs.push(ServerAddr::from_url(url).map_err(|e| config(format!("bad NATS URL: {e}")))?);
    }
    Ok(Servers {
        addrs,
        credentials,
        display: shown.join(","),
    })
}

#[cfg(test)]
mod tests {
    use super::{Credentials, parse_servers};

    #[test]
    fn accepts_servers_with_and_without_credentials() {
        let s = parse_servers("nats://127.0.0.1:4222").unwrap();
        assert_eq!(s.addrs.len(), 1);
        assert!(s.credentials.is_none());

        let s = parse_servers("nats://me:p%40ss@a:1, nats://b:2").unwrap();
        assert_eq!(s.addrs.len(), 2);
        assert_eq!(s.display, "nats://a:1,nats://b:2");
        assert!(matches!(
            s.credentials,
            Some(Credentials::UserPassword(ref u, ref p)) if u == "me" && p == "p@ss"
        ));

        let s = parse_servers("tls://secret@host").unwrap();
        assert!(matches!(s.credentials, Some(Credentials::Token(ref t)) if t == "secret"));
        assert!(!s.display.contains("secret"));
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "not a url",
            "",
            "nats://a:1,",
            "redis://a:1",
            "localhost:4222",
            "nats://a:1/path",
            "nats://a:99999",
            "nats://u:p@a:1,nats://v:q@b:2",
        ] {
            assert!(parse_servers(bad).is_err(), "{bad:?} accepted");
        }
    }
}
