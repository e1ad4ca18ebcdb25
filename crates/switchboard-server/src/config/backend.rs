//! `--proxy-*`: where and how the server calls the application's back end
//! (PROTOCOL.md section 10).

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::error::ConfigError;
use super::raw::RawOptions;
use super::values::{optional, optional_list, positive_duration, value};
use crate::options::{
    PROXY_CONNECT, PROXY_DISCONNECT, PROXY_EVENT, PROXY_FORWARD_HEADER, PROXY_HEADER, PROXY_JOIN,
    PROXY_PUBLISH, PROXY_TIMEOUT,
};

/// Headers the HTTP client writes itself, which `--proxy-header` may not
/// set: they describe the request's framing and body, not the caller.
const MANAGED_HEADERS: [&str; 7] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
];

/// How the server calls the application's back end; absent when no
/// `--proxy-*` URL is given.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendSettings {
    /// `--proxy-connect`: called at each handshake.
    pub connect: Option<String>,
    /// `--proxy-join`: called at each `$join` the room patterns allow.
    pub join: Option<String>,
    /// `--proxy-publish`: called at each relay the rules allow.
    pub publish: Option<String>,
    /// `--proxy-event`: called for each client event without a room.
    pub event: Option<String>,
    /// `--proxy-disconnect`: called at each session's end.
    pub disconnect: Option<String>,
    /// `--proxy-timeout`: the longest call.
    pub timeout: Duration,
    /// `--proxy-header`: headers sent with every call.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `--proxy-forward-header`: handshake headers passed to the connect
    /// call beside the four it always passes.
    pub forward_headers: Vec<HeaderName>,
}

impl std::fmt::Debug for BackendSettings {
    /// Header values are left out: they are often secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("BackendSettings")
            .field("connect", &self.connect)
            .field("join", &self.join)
            .field("publish", &self.publish)
            .field("event", &self.event)
            .field("disconnect", &self.disconnect)
            .field("timeout", &self.timeout)
            .field("headers (values hidden)", &headers)
            .field("forward_headers", &self.forward_headers)
            .finish()
    }
}

/// A back-end URL: `http://` or `https://` with a host.
fn parse_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("expected a URL such as http://127.0.0.1:3000/connect: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not `{}`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL are not sent: use --proxy-header \"Authorization: ...\"".into(),
        );
    }
    Ok(text.to_owned())
}

/// A `--proxy-header` value: `Name: value`.
fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or("expected \"Name: value\", such as \"X-Secret: 1234\"")?;
    let name = parse_header_name(name)?;
    if MANAGED_HEADERS.contains(&name.as_str()) {
        return Err(format!("the client writes {name} itself"));
    }
    let value = value.trim();
    let text = |b: u8| b.is_ascii_graphic() || b == b' ' || b == b'\t';
    if !value.bytes().all(text) {
        return Err("a header value holds visible ASCII, spaces and tabs only".into());
    }
    let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
    Ok((name, value))
}

/// A header name (compared without case; kept lowercase).
fn parse_header_name(text: &str) -> Result<HeaderName, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the header name is empty".into());
    }
    HeaderName::from_bytes(text.as_bytes())
        .map_err(|_| format!("{text:?} is not a header name (letters, digits and -, no spaces)"))
}

/// The back-end settings of merged option values: none without a URL;
/// the timeout and headers only with one.
pub(super) fn backend_settings(raw: &RawOptions) -> Result<Option<BackendSettings>, ConfigError> {
    let connect = optional(raw, &PROXY_CONNECT, parse_url)?;
    let join = optional(raw, &PROXY_JOIN, parse_url)?;
    let publish = optional(raw, &PROXY_PUBLISH, parse_url)?;
    let event = optional(raw, &PROXY_EVENT, parse_url)?;
    let disconnect = optional(raw, &PROXY_DISCONNECT, parse_url)?;
    let timeout = value(raw, &PROXY_TIMEOUT, positive_duration)?;
    let headers = optional_list(raw, &PROXY_HEADER, parse_header)?.unwrap_or_default();
    let mut forward_headers =
        optional_list(raw, &PROXY_FORWARD_HEADER, parse_header_name)?.unwrap_or_default();
    forward_headers.dedup();
    let any_url = [&connect, &join, &publish, &event, &disconnect]
        .iter()
        .any(|url| url.is_some());
    if !any_url {
        let tuned = [&PROXY_TIMEOUT, &PROXY_HEADER, &PROXY_FORWARD_HEADER]
            .into_iter()
            .find(|option| raw.get(option).is_some());
        if let Some(option) = tuned {
            return Err(ConfigError::new(format!(
                "{} needs a back-end URL (--proxy-connect, --proxy-join, --proxy-publish, \
                 --proxy-event or --proxy-disconnect)",
                option.flag()
            )));
        }
        return Ok(None);
    }
    if !forward_headers.is_empty() && connect.is_none() {
        return Err(ConfigError::new(
            "--proxy-forward-header names headers for --proxy-connect, which is not set",
        ));
    }
    Ok(Some(BackendSettings {
        connect,
        join,
        publish,
        event,
        disconnect,
        timeout,
        headers,
        forward_headers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::options::{OptionSpec, Source};

    fn resolve(pairs: &[(OptionSpec, &[&str])]) -> Result<Config, ConfigError> {
        let mut raw = RawOptions::default();
        for (option, values) in pairs {
            let values = values.iter().map(|v| v.to_string()).collect();
            raw.set(option, values, Source::Flag);
        }
        Config::resolve(&raw)
    }

    fn refused(pairs: &[(OptionSpec, &[&str])], words: &str) {
        let error = resolve(pairs).unwrap_err().to_string();
        assert!(error.contains(words), "{words:?} not in {error:?}");
    }

    #[test]
    fn no_url_no_back_end() {
        assert_eq!(resolve(&[]).unwrap().backend, None);
    }

    #[test]
    fn every_option_parses() {
        let config = resolve(&[
            (PROXY_CONNECT, &["http://127.0.0.1:3000/connect"]),
            (PROXY_JOIN, &["http://127.0.0.1:3000/join"]),
            (PROXY_PUBLISH, &["https://app.example/publish"]),
            (PROXY_EVENT, &["http://[::1]:3000/event"]),
            (PROXY_DISCONNECT, &["http://localhost/disconnect"]),
            (PROXY_TIMEOUT, &["750ms"]),
            (
                PROXY_HEADER,
                &[
                    "X-Secret: s3cret",
                    "X-List:  a, b ",
                    "accept:application/json",
                ],
            ),
            (PROXY_FORWARD_HEADER, &["X-Request-Id", "x-tenant"]),
        ])
        .unwrap();
        let backend = config.backend.expect("back-end settings");
        assert_eq!(
            backend.connect.as_deref(),
            Some("http://127.0.0.1:3000/connect")
        );
        assert_eq!(
            backend.publish.as_deref(),
            Some("https://app.example/publish")
        );
        assert_eq!(backend.timeout, Duration::from_millis(750));
        let headers: Vec<(&str, &str)> = backend
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            headers,
            [
                ("x-secret", "s3cret"),
                ("x-list", "a, b"),
                ("accept", "application/json")
            ]
        );
        assert_eq!(backend.forward_headers, ["x-request-id", "x-tenant"]);
        assert!(
            !format!("{backend:?}").contains("s3cret"),
            "header values are not logged"
        );
    }

    #[test]
    fn the_timeout_defaults_to_5s() {
        let config = resolve(&[(PROXY_EVENT, &["http://127.0.0.1:1/e"])]).unwrap();
        let backend = config.backend.unwrap();
        assert_eq!(backend.timeout, Duration::from_secs(5));
        assert!(backend.headers.is_empty() && backend.connect.is_none());
    }

    #[test]
    fn bad_values_are_refused_with_the_flag() {
        let url = &["http://127.0.0.1:3000/x"][..];
        for (pairs, words) in [
            (
                vec![(PROXY_CONNECT, &["127.0.0.1:3000"][..])],
                "--proxy-connect",
            ),
            (vec![(PROXY_JOIN, &["ftp://h/x"][..])], "http or https"),
            (
                vec![(PROXY_EVENT, &["http://u:pw@h/x"][..])],
                "--proxy-header",
            ),
            (vec![(PROXY_PUBLISH, &[""][..])], "--proxy-publish"),
            (
                vec![(PROXY_EVENT, url), (PROXY_TIMEOUT, &["0s"][..])],
                "--proxy-timeout",
            ),
            (
                vec![(PROXY_EVENT, url), (PROXY_HEADER, &["X-Secret"][..])],
                "expected \"Name: value\"",
            ),
            (
                vec![(PROXY_EVENT, url), (PROXY_HEADER, &["Bad Name: v"][..])],
                "is not a header name",
            ),
            (
                vec![(PROXY_EVENT, url), (PROXY_HEADER, &[": v"][..])],
                "the header name is empty",
            ),
            (
                vec![(PROXY_EVENT, url), (PROXY_HEADER, &["X-A: caf\u{e9}"][..])],
                "visible ASCII",
            ),
            (
                vec![(PROXY_EVENT, url), (PROXY_HEADER, &["Content-Type: x"][..])],
                "writes content-type itself",
            ),
            (
                vec![(PROXY_CONNECT, url), (PROXY_FORWARD_HEADER, &["a b"][..])],
                "--proxy-forward-header",
            ),
        ] {
            refused(&pairs, words);
        }
    }

    #[test]
    fn tuning_without_a_url_is_refused() {
        refused(
            &[(PROXY_TIMEOUT, &["1s"])],
            "--proxy-timeout needs a back-end URL",
        );
        refused(
            &[(PROXY_HEADER, &["X-Secret: 1"])],
            "--proxy-header needs a back-end URL",
        );
        refused(
            &[
                (PROXY_JOIN, &["http://127.0.0.1:1/join"]),
                (PROXY_FORWARD_HEADER, &["X-Request-Id"]),
            ],
            "--proxy-connect, which is not set",
        );
    }

    #[test]
    fn a_config_file_and_the_command_line_take_headers_whole() {
        let path = std::path::Path::new("/etc/switchboard.toml");
        let file = RawOptions::from_toml(
            "proxy_connect = \"http://127.0.0.1:3000/connect\"\n\
             proxy_header = [\"X-Secret: a,b\"]\n\
             proxy_timeout = \"2s\"\n",
            path,
        )
        .unwrap();
        let backend = Config::resolve(&file).unwrap().backend.unwrap();
        assert_eq!(backend.headers[0].1, "a,b");
        assert_eq!(backend.timeout, Duration::from_secs(2));

        let matches = crate::cli::command()
            .try_get_matches_from([
                "switchboard",
                "--proxy-connect",
                "http://127.0.0.1:3000/connect",
                "--proxy-header",
                "X-Secret: a,b",
                "--proxy-header",
                "X-Other: c",
                "--proxy-forward-header",
                "X-A,X-B",
            ])
            .unwrap();
        let backend = Config::from_matches(&matches).unwrap().backend.unwrap();
        let values: Vec<&str> = backend
            .headers
            .iter()
            .map(|(_, v)| v.to_str().unwrap())
            .collect();
        assert_eq!(values, ["a,b", "c"]);
        assert_eq!(backend.forward_headers, ["x-a", "x-b"]);
    }
}
