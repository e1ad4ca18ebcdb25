//! Parsers of the server's option values: each takes the text of one
//! value and says what is wrong with it in words for the person who wrote
//! it.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::IpNetwork;

use super::error::ConfigError;
use super::raw::RawOptions;
use crate::options::OptionSpec;
use crate::units::{parse_duration, parse_size};

/// The longest coalescing window `--broadcast-coalesce` takes.
const MAX_BROADCAST_COALESCE: Duration = Duration::from_secs(1);

/// Paths the server serves itself, which the hub's path may not take.
const RESERVED_PATHS: [&str; 6] = [
    "/",
    "/app.js",
    "/style.css",
    "/switchboard.js",
    "/healthz",
    "/metrics",
];

/// Parses a single-valued option, if set.
pub(super) fn optional<T>(
    raw: &RawOptions,
    option: &OptionSpec,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    let Some((values, source)) = raw.get(option) else {
        return Ok(None);
    };
    let value = values.last().map(String::as_str).unwrap_or_default();
    parse(value)
        .map(Some)
        .map_err(|reason| ConfigError::invalid(option, source, value, &reason))
}

/// Parses a single-valued option, or its declared default.
pub(super) fn value<T>(
    raw: &RawOptions,
    option: &OptionSpec,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match optional(raw, option, &parse)? {
        Some(value) => Ok(value),
        None => parse_default(option, parse),
    }
}

/// Parses each value of a repeatable option, if set.
pub(super) fn optional_list<T>(
    raw: &RawOptions,
    option: &OptionSpec,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, ConfigError> {
    let Some((values, source)) = raw.get(option) else {
        return Ok(None);
    };
    values
        .iter()
        .map(|v| parse(v).map_err(|reason| ConfigError::invalid(option, source, v, &reason)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Parses each value of a repeatable option, or its declared default (one
/// value).
pub(super) fn list<T>(
    raw: &RawOptions,
    option: &OptionSpec,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    match optional_list(raw, option, &parse)? {
        Some(values) => Ok(values),
        None => parse_default(option, parse).map(|value| vec![value]),
    }
}

/// An option's declared default, parsed (a declaration without one, or
/// with one its parser refuses, is a mistake of this crate).
fn parse_default<T>(
    option: &OptionSpec,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let text = option.default.value().ok_or_else(|| {
        ConfigError::new(format!(
            "{} is declared without a default value",
            option.flag()
        ))
    })?;
    parse(text).map_err(|reason| {
        ConfigError::new(format!(
            "the declared default {text:?} of {} does not parse: {reason}",
            option.flag()
        ))
    })
}

pub(super) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        "expected an IP address and port such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080"
            .to_owned()
    })
}

pub(super) fn parse_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') || text.len() < 2 {
        return Err("expected a path such as /ws (starting with /, not / alone)".to_owned());
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '{' | '}' | '?' | '#'))
    {
        return Err("a path may not hold spaces, braces, ? or #".to_owned());
    }
    if text.contains("//") {
        return Err("a path may not hold an empty segment (//)".to_owned());
    }
    let under = |prefix: &str| text == prefix || text.starts_with(&format!("{prefix}/"));
    if RESERVED_PATHS.contains(&text) || under("/api") || under("/lib") || under("/admin") {
        return Err(format!(
            "{text} is used by the server itself (the demo page, /lib, /api, /admin, /healthz, /metrics)"
        ));
    }
    Ok(text.to_owned())
}

/// A backend URL with one of `schemes` (every server of a comma-separated
/// list, for NATS); the driver checks the rest when it is built.
pub(super) fn parse_backend_url(text: &str, schemes: &[&str]) -> Result<String, String> {
    let text = text.trim();
    let expected = || {
        let examples: Vec<String> = schemes
            .iter()
            .map(|s| format!("{s}://127.0.0.1:PORT"))
            .collect();
        format!("expected a URL such as {}", examples.join(" or "))
    };
    for server in text.split(',') {
        let (scheme, rest) = server.trim().split_once("://").ok_or_else(expected)?;
        if !schemes.contains(&scheme) || rest.is_empty() {
            return Err(expected());
        }
    }
    Ok(text.to_owned())
}

/// A channel prefix: letters, digits, `-` and `_` (valid for Redis channels
/// and NATS subjects alike).
pub(super) fn parse_cluster_prefix(text: &str) -> Result<String, String> {
    if text.is_empty()
        || text.len() > 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("expected 1 to 64 letters, digits, - or _".to_owned());
    }
    Ok(text.to_owned())
}

pub(super) fn parse_api_key(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the key may not be empty".to_owned());
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the key may hold printable ASCII characters only, no spaces".to_owned());
    }
    Ok(text.to_owned())
}

pub(super) fn parse_origin(text: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "expected an origin such as https://example.com or http://localhost:3000, or *";
    let text = text.trim();
    if text == "*" {
        return Ok(text.to_owned());
    }
    let Some((scheme, authority)) = text.split_once("://") else {
        return Err(EXPECTED.to_owned());
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let authority_ok = !authority.is_empty()
        && !authority
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '*'));
    if !scheme_ok || !authority_ok {
        return Err(format!("{EXPECTED} (no path, no trailing /)"));
    }
    Ok(text.to_owned())
}

pub(super) fn parse_public_origin(text: &str) -> Result<String, String> {
    match parse_origin(text)? {
        star if star == "*" => Err("the public origin is one origin, not *".to_owned()),
        origin => Ok(origin),
    }
}

/// A host name or address as it appears in `Host` (without a port).
pub(super) fn parse_allowed_host(text: &str) -> Result<String, String> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !ok {
        return Err("expected a host name or address such as chat.example.com".to_owned());
    }
    Ok(text.to_ascii_lowercase())
}

pub(super) fn parse_room_pattern(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("a room pattern may not be empty (use * for every room)".to_owned());
    }
    Ok(text.to_owned())
}

pub(super) fn positive_usize(value: Option<usize>) -> Result<usize, String> {
    match value {
        Some(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number greater than 0".to_owned()),
    }
}

/// A whole number greater than 0.
pub(super) fn positive_count(text: &str) -> Result<usize, String> {
    positive_usize(text.trim().parse().ok())
}

/// A whole number, 0 or more.
pub(super) fn whole_count(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected a whole number (0 or more)".to_owned())
}

/// A per-second rate, 0 or more.
pub(super) fn whole_rate(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected a whole number (0 or more)".to_owned())
}

/// A rate or burst greater than 0.
pub(super) fn positive_rate(text: &str) -> Result<u32, String> {
    match whole_rate(text)? {
        0 => Err("expected a whole number greater than 0".to_owned()),
        n => Ok(n),
    }
}

/// A count of messages kept for a resume: 0 (off) up to what the hub
/// counts (`u32`).
pub(super) fn resume_messages(text: &str) -> Result<usize, String> {
    let count: u32 = text.trim().parse().map_err(|_| {
        format!(
            "expected a whole number from 0 (resume off) to {}",
            u32::MAX
        )
    })?;
    Ok(count as usize)
}

/// A proxy's address or network.
pub(super) fn parse_trusted_proxy(text: &str) -> Result<IpNetwork, String> {
    text.parse::<IpNetwork>().map_err(|e| e.to_string())
}

/// A size in bytes greater than 0.
pub(super) fn positive_size(text: &str) -> Result<usize, String> {
    let bytes = parse_size(text)?;
    positive_usize(usize::try_from(bytes).ok())
}

pub(super) fn parse_head_size(text: &str) -> Result<usize, String> {
    let bytes = positive_size(text)?;
    if bytes < 8 * 1024 {
        return Err("the smallest request head bound is 8KiB".into());
    }
    Ok(bytes)
}

pub(super) fn parse_coalesce_window(text: &str) -> Result<Duration, String> {
    let window = parse_duration(text)?;
    if window > MAX_BROADCAST_COALESCE {
        return Err(format!(
            "at most {}ms: broadcast frames would wait that long",
            MAX_BROADCAST_COALESCE.as_millis()
        ));
    }
    Ok(window)
}

pub(super) fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("the duration must be greater than 0".to_owned()),
        d => Ok(d),
    }
}

pub(super) fn parse_log_level(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| {
            format!("expected a level (error, warn, info, debug, trace) or a tracing filter: {e}")
        })
}
