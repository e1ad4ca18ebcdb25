//! The server's settings: merged from flags, environment, a TOML file and
//! defaults (in that order of precedence), then parsed and checked.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use switchboard::{AllowedOrigins, IpNetwork};

use crate::glob::RoomPatterns;
use crate::units::{parse_bool, parse_duration, parse_size};

// The option names and their sources live in their own module; they are
// part of this module's interface.
pub use crate::option_names::*;

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

/// A configuration problem that stops start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    fn invalid(option: &OptionName, source: &Source, value: &str, reason: &str) -> Self {
        let from = match source {
            Source::Flag => String::new(),
            Source::Env => format!(" (from environment variable {})", option.env),
            Source::File(path) => {
                format!(" (from key `{}` in {})", option.key, path.display())
            }
        };
        Self(format!(
            "invalid value {value:?} for {}{from}: {reason}",
            option.flag()
        ))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Option values as written, before parsing, each with its source.
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    values: BTreeMap<&'static str, (Vec<String>, Source)>,
}

impl RawOptions {
    /// Sets an option's values, replacing any from a lower source.
    pub fn set(&mut self, option: &OptionName, values: Vec<String>, source: Source) {
        self.values.insert(option.key, (values, source));
    }

    /// Lays `higher` over `self`: its values win.
    pub fn overlay(mut self, higher: RawOptions) -> Self {
        self.values.extend(higher.values);
        self
    }

    fn get(&self, option: &OptionName) -> Option<(&[String], &Source)> {
        self.values
            .get(option.key)
            .map(|(values, source)| (values.as_slice(), source))
    }

    /// The options clap found on the command line or in the environment.
    pub fn from_matches(matches: &ArgMatches) -> Self {
        let mut raw = Self::default();
        for option in &OPTIONS {
            let source = match matches.value_source(option.key) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                _ => continue,
            };
            let values: Vec<String> = matches
                .get_many::<String>(option.key)
                .map(|v| v.cloned().collect())
                .unwrap_or_default();
            raw.set(option, values, source);
        }
        raw
    }

    /// The options of a TOML config file.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file_error =
            |message: String| ConfigError(format!("config file {}: {message}", path.display()));
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(format!("not valid TOML: {}", e.message())))?;
        let mut raw = Self::default();
        for (key, value) in &table {
            let Some(option) = OPTIONS.iter().find(|o| o.key == key) else {
                let known: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
                return Err(file_error(format!(
                    "unknown key `{key}` (known keys: {})",
                    known.join(", ")
                )));
            };
            let scalar = |value: &toml::Value| match value {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(file_error(format!(
                    "key `{key}`: expected a string, number or boolean, not {}",
                    other.type_str()
                ))),
            };
            let values = match value {
                toml::Value::Array(items) if option.repeatable => {
                    items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?
                }
                toml::Value::Array(_) => {
                    return Err(file_error(format!(
                        "key `{key}`: expected one value, not an array"
                    )));
                }
                other => vec![scalar(other)?],
            };
            raw.set(option, values, Source::File(path.to_owned()));
        }
        Ok(raw)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("--config: cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text, path)
    }
}

/// The backend a clustered server joins through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterBackend {
    /// Redis pub/sub at this URL.
    Redis(String),
    /// NATS at this URL.
    Nats(String),
}

/// The server's resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The hub's path (default `/ws`).
    pub path: String,
    /// The HTTP API's bearer key (default none: loopback callers only).
    pub api_key: Option<String>,
    /// Browser origins allowed to connect (default: the same host).
    pub allowed_origins: AllowedOrigins,
    /// Rooms clients may `$join` (default `*`).
    pub rooms: RoomPatterns,
    /// Most live connections (default 100,000).
    pub max_connections: usize,
    /// Largest client message in bytes (default 64 KiB).
    pub max_message_size: usize,
    /// Interval between pings (default 25 s).
    pub ping_interval: Duration,
    /// Grace past the ping interval (default 20 s).
    pub ping_timeout: Duration,
    /// Whether permessage-deflate is negotiated (default true).
    pub compression: bool,
    /// How long a dropped session waits for a resume (default 120 s;
    /// zero turns resume off).
    pub resume_window: Duration,
    /// How long broadcast frames may wait to share a write (default 0;
    /// at most 1 s).
    pub broadcast_coalesce: Duration,
    // Resource bounds (issue 15).
    /// Payload bytes kept per session for a resume (default 1 MiB).
    pub resume_buffer_bytes: usize,
    /// Most sessions waiting for a resume (default 10,000).
    pub max_detached_sessions: usize,
    /// Bytes detached sessions may hold together (default 128 MiB).
    pub detached_budget: usize,
    /// Rooms one socket may `$join` (default 1,000).
    pub max_rooms_per_socket: usize,
    /// Long-polling links waiting for their first `GET` (default 1,000).
    pub max_pending_polls: usize,
    /// How long a long-polling link may wait for its first `GET`
    /// (default 10 s).
    pub pending_poll_timeout: Duration,
    /// The cluster backend, if clustered (default none: a single node).
    pub cluster: Option<ClusterBackend>,
    /// The cluster's channel prefix (default `switchboard`).
    pub cluster_prefix: String,
    /// How long cluster-wide answers wait for other nodes (default 1 s).
    pub cluster_timeout: Duration,
    /// The log filter, when set by an option (else `RUST_LOG`, else `info`).
    pub log_level: Option<String>,

    // ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).
    /// Longest time to a complete request head (default 10 s).
    pub http_header_timeout: Duration,
    /// Longest wait of a keep-alive connection for its next request
    /// (default 5 s).
    pub http_idle_timeout: Duration,
    /// Most connections without a complete request head (default 1,024).
    pub http_max_pending: usize,
    /// Most live connections per client address (default 1,000; 0: none).
    pub max_connections_per_address: usize,
    /// Handshakes per second per client address (default 100; 0: none).
    pub handshake_rate_per_address: u32,
    /// Handshake burst per client address (default 200).
    pub handshake_burst_per_address: u32,
    /// Whether loopback clients are exempt from per-address limits
    /// (default true).
    pub exempt_loopback: bool,
    /// Proxies trusted to name the client (default none).
    pub trusted_proxies: Vec<IpNetwork>,
    /// Most client addresses tracked (default 65,536).
    pub max_tracked_addresses: usize,
    /// The server's public origin, for same-host origin checks (default
    /// none: the request's `Host`).
    pub public_origin: Option<String>,
    /// Extra host names the keyless API answers to (default none: only
    /// loopback addresses, `localhost` and the listen address).
    pub allowed_hosts: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            path: "/ws".to_owned(),
            api_key: None,
            allowed_origins: AllowedOrigins::SameHost,
            rooms: RoomPatterns::default(),
            max_connections: 100_000,
            max_message_size: 64 * 1024,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            compression: true,
            resume_window: Duration::from_secs(120),
            broadcast_coalesce: Duration::ZERO,
            // Resource bounds (issue 15).
            resume_buffer_bytes: 1024 * 1024,
            max_detached_sessions: 10_000,
            detached_budget: 128 * 1024 * 1024,
            max_rooms_per_socket: 1000,
            max_pending_polls: 1000,
            pending_poll_timeout: Duration::from_secs(10),
            cluster: None,
            cluster_prefix: "switchboard".to_owned(),
            cluster_timeout: Duration::from_secs(1),
            log_level: None,
            http_header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(5),
            http_max_pending: 1024,
            max_connections_per_address: 1000,
            handshake_rate_per_address: 100,
            handshake_burst_per_address: 200,
            exempt_loopback: true,
            trusted_proxies: Vec::new(),
            max_tracked_addresses: 65_536,
            public_origin: None,
            allowed_hosts: Vec::new(),
        }
    }
}

impl Config {
    /// The settings of a command line (its flags and the environment, with
    /// the `--config` file beneath them).
    pub fn from_matches(matches: &ArgMatches) -> Result<Self, ConfigError> {
        let cli = RawOptions::from_matches(matches);
        let file = match matches.get_one::<PathBuf>("config") {
            Some(path) => RawOptions::from_file(path)?,
            None => RawOptions::default(),
        };
        Self::resolve(&file.overlay(cli))
    }

    /// Parses and checks merged option values; unset options keep their
    /// defaults.
    pub fn resolve(raw: &RawOptions) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(v) = one(raw, &LISTEN, parse_listen)? {
            config.listen = v;
        }
        if let Some(v) = one(raw, &PATH, parse_path)? {
            config.path = v;
        }
        config.api_key = one(raw, &API_KEY, parse_api_key)?;
        if let Some(origins) = many(raw, &ALLOW_ORIGIN, parse_origin)? {
            config.allowed_origins = if origins.iter().any(|o| o == "*") {
                AllowedOrigins::Any
            } else if origins.is_empty() {
                AllowedOrigins::SameHost
            } else {
                AllowedOrigins::List(origins)
            };
        }
        if let Some(patterns) = many(raw, &ROOMS, parse_room_pattern)? {
            config.rooms = RoomPatterns::new(patterns);
        }
        if let Some(v) = one(raw, &MAX_CONNECTIONS, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            config.max_connections = v;
        }
        if let Some(v) = one(raw, &MAX_MESSAGE_SIZE, |s| {
            let bytes = parse_size(s)?;
            positive_usize(usize::try_from(bytes).ok())
        })? {
            config.max_message_size = v;
        }
        if let Some(v) = one(raw, &PING_INTERVAL, positive_duration)? {
            config.ping_interval = v;
        }
        if let Some(v) = one(raw, &PING_TIMEOUT, positive_duration)? {
            config.ping_timeout = v;
        }
        if let Some(v) = one(raw, &COMPRESSION, parse_bool)? {
            config.compression = v;
        }
        if let Some(v) = one(raw, &RESUME_WINDOW, parse_duration)? {
            config.resume_window = v;
        }
        if let Some(v) = one(raw, &BROADCAST_COALESCE, parse_coalesce_window)? {
            config.broadcast_coalesce = v;
        }
        // Resource bounds (issue 15).
        if let Some(v) = one(raw, &RESUME_BUFFER_BYTES, positive_size)? {
            config.resume_buffer_bytes = v;
        }
        if let Some(v) = one(raw, &MAX_DETACHED_SESSIONS, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            config.max_detached_sessions = v;
        }
        if let Some(v) = one(raw, &DETACHED_BUDGET, positive_size)? {
            config.detached_budget = v;
        }
        if let Some(v) = one(raw, &MAX_ROOMS_PER_SOCKET, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            config.max_rooms_per_socket = v;
        }
        if let Some(v) = one(raw, &MAX_PENDING_POLLS, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            config.max_pending_polls = v;
        }
        if let Some(v) = one(raw, &PENDING_POLL_TIMEOUT, positive_duration)? {
            config.pending_poll_timeout = v;
        }
        let redis = one(raw, &REDIS, |s| parse_backend_url(s, &["redis", "rediss"]))?;
        let nats = one(raw, &NATS, |s| parse_backend_url(s, &["nats", "tls"]))?;
        config.cluster = match (redis, nats) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "--redis and --nats are both set: a node joins one cluster backend".to_owned(),
                ));
            }
            (Some(url), None) => Some(ClusterBackend::Redis(url)),
            (None, Some(url)) => Some(ClusterBackend::Nats(url)),
            (None, None) => None,
        };
        if let Some(v) = one(raw, &CLUSTER_PREFIX, parse_cluster_prefix)? {
            config.cluster_prefix = v;
        }
        if let Some(v) = one(raw, &CLUSTER_TIMEOUT, positive_duration)? {
            config.cluster_timeout = v;
        }
        config.log_level = one(raw, &LOG_LEVEL, parse_log_level)?;
        config.resolve_edge(raw)?;
        Ok(config)
    }

    /// The HTTP edge's options (issue 15).
    fn resolve_edge(&mut self, raw: &RawOptions) -> Result<(), ConfigError> {
        let whole = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| "expected a whole number (0 or more)".to_owned())
        };
        let rate = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| "expected a whole number (0 or more)".to_owned())
        };
        if let Some(v) = one(raw, &HTTP_HEADER_TIMEOUT, positive_duration)? {
            self.http_header_timeout = v;
        }
        if let Some(v) = one(raw, &HTTP_IDLE_TIMEOUT, positive_duration)? {
            self.http_idle_timeout = v;
        }
        if let Some(v) = one(raw, &HTTP_MAX_PENDING, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            self.http_max_pending = v;
        }
        if let Some(v) = one(raw, &MAX_CONNECTIONS_PER_ADDRESS, whole)? {
            self.max_connections_per_address = v;
        }
        if let Some(v) = one(raw, &HANDSHAKE_RATE_PER_ADDRESS, rate)? {
            self.handshake_rate_per_address = v;
        }
        if let Some(v) = one(raw, &HANDSHAKE_BURST_PER_ADDRESS, |s| match rate(s)? {
            0 => Err("expected a whole number greater than 0".to_owned()),
            n => Ok(n),
        })? {
            self.handshake_burst_per_address = v;
        }
        if let Some(v) = one(raw, &EXEMPT_LOOPBACK, parse_bool)? {
            self.exempt_loopback = v;
        }
        if let Some(v) = many(raw, &TRUSTED_PROXY, |s| {
            s.parse::<IpNetwork>().map_err(|e| e.to_string())
        })? {
            self.trusted_proxies = v;
        }
        if let Some(v) = one(raw, &MAX_TRACKED_ADDRESSES, |s| {
            positive_usize(s.trim().parse().ok())
        })? {
            self.max_tracked_addresses = v;
        }
        if let Some(v) = one(raw, &PUBLIC_ORIGIN, parse_public_origin)? {
            self.public_origin = Some(v);
        }
        if let Some(v) = many(raw, &ALLOW_HOST, parse_allowed_host)? {
            self.allowed_hosts = v;
        }
        Ok(())
    }
}

/// Parses a single-valued option, if set.
fn one<T>(
    raw: &RawOptions,
    option: &OptionName,
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

/// Parses each value of a repeatable option, if set.
fn many<T>(
    raw: &RawOptions,
    option: &OptionName,
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

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        "expected an IP address and port such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080"
            .to_owned()
    })
}

fn parse_path(text: &str) -> Result<String, String> {
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
    if RESERVED_PATHS.contains(&text) || under("/api") || under("/lib") {
        return Err(format!(
            "{text} is used by the server itself (the demo page, /lib, /api, /healthz, /metrics)"
        ));
    }
    Ok(text.to_owned())
}

/// A backend URL with one of `schemes` (every server of a comma-separated
/// list, for NATS); the driver checks the rest when it is built.
fn parse_backend_url(text: &str, schemes: &[&str]) -> Result<String, String> {
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
fn parse_cluster_prefix(text: &str) -> Result<String, String> {
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

fn parse_api_key(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the key may not be empty".to_owned());
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the key may hold printable ASCII characters only, no spaces".to_owned());
    }
    Ok(text.to_owned())
}

fn parse_origin(text: &str) -> Result<String, String> {
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

fn parse_public_origin(text: &str) -> Result<String, String> {
    match parse_origin(text)? {
        star if star == "*" => Err("the public origin is one origin, not *".to_owned()),
        origin => Ok(origin),
    }
}

/// A host name or address as it appears in `Host` (without a port).
fn parse_allowed_host(text: &str) -> Result<String, String> {
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

fn parse_room_pattern(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("a room pattern may not be empty (use * for every room)".to_owned());
    }
    Ok(text.to_owned())
}

fn positive_usize(value: Option<usize>) -> Result<usize, String> {
    match value {
        Some(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number greater than 0".to_owned()),
    }
}

/// A size in bytes greater than 0.
fn positive_size(text: &str) -> Result<usize, String> {
    let bytes = parse_size(text)?;
    positive_usize(usize::try_from(bytes).ok())
}

fn parse_coalesce_window(text: &str) -> Result<Duration, String> {
    let window = parse_duration(text)?;
    if window > MAX_BROADCAST_COALESCE {
        return Err(format!(
            "at most {}ms: broadcast frames would wait that long",
            MAX_BROADCAST_COALESCE.as_millis()
        ));
    }
    Ok(window)
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("the duration must be greater than 0".to_owned()),
        d => Ok(d),
    }
}

fn parse_log_level(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| {
            format!("expected a level (error, warn, info, debug, trace) or a tracing filter: {e}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(OptionName, &[&str], Source)]) -> RawOptions {
        let mut raw = RawOptions::default();
        for (option, values, source) in pairs {
            raw.set(
                option,
                values.iter().map(|v| v.to_string()).collect(),
                source.clone(),
            );
        }
        raw
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(&RawOptions::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.path, "/ws");
        assert_eq!(c.api_key, None);
        assert_eq!(c.allowed_origins, AllowedOrigins::SameHost);
        assert!(c.rooms.allows("anything"));
        assert_eq!(c.max_connections, 100_000);
        assert_eq!(c.max_message_size, 65536);
        assert_eq!(c.ping_interval, Duration::from_secs(25));
        assert_eq!(c.ping_timeout, Duration::from_secs(20));
        assert!(c.compression);
        assert_eq!(c.log_level, None);
        assert_eq!(c.resume_buffer_bytes, 1 << 20);
        assert_eq!(c.max_detached_sessions, 10_000);
        assert_eq!(c.detached_budget, 128 << 20);
        assert_eq!(c.max_rooms_per_socket, 1000);
        assert_eq!(c.max_pending_polls, 1000);
        assert_eq!(c.pending_poll_timeout, Duration::from_secs(10));
    }

    #[test]
    fn resource_bounds_parse() {
        let c = Config::resolve(&raw(&[
            (RESUME_BUFFER_BYTES, &["64KiB"], Source::Flag),
            (MAX_DETACHED_SESSIONS, &["50"], Source::Env),
            (DETACHED_BUDGET, &["1MiB"], Source::Flag),
            (MAX_ROOMS_PER_SOCKET, &["10"], Source::Flag),
            (MAX_PENDING_POLLS, &["7"], Source::Flag),
            (PENDING_POLL_TIMEOUT, &["2s"], Source::Flag),
        ]))
        .unwrap();
        assert_eq!(c.resume_buffer_bytes, 64 << 10);
        assert_eq!(c.max_detached_sessions, 50);
        assert_eq!(c.detached_budget, 1 << 20);
        assert_eq!(c.max_rooms_per_socket, 10);
        assert_eq!(c.max_pending_polls, 7);
        assert_eq!(c.pending_poll_timeout, Duration::from_secs(2));
        for (option, bad) in [
            (RESUME_BUFFER_BYTES, "0"),
            (MAX_DETACHED_SESSIONS, "0"),
            (DETACHED_BUDGET, "lots"),
            (MAX_ROOMS_PER_SOCKET, "-1"),
            (MAX_PENDING_POLLS, "0"),
            (PENDING_POLL_TIMEOUT, "0s"),
        ] {
            let e = Config::resolve(&raw(&[(option, &[bad], Source::Flag)])).unwrap_err();
            assert!(e.to_string().contains(&option.flag()), "{e}");
        }
    }

    #[test]
    fn cluster_options() {
        let c = Config::resolve(&RawOptions::default()).unwrap();
        assert_eq!(c.cluster, None);
        assert_eq!(c.cluster_prefix, "switchboard");
        assert_eq!(c.cluster_timeout, Duration::from_secs(1));
        let c = Config::resolve(&raw(&[
            (REDIS, &["redis://127.0.0.1:6380/2"], Source::Flag),
            (CLUSTER_PREFIX, &["chat-eu_1"], Source::Env),
            (CLUSTER_TIMEOUT, &["250ms"], Source::Flag),
        ]))
        .unwrap();
        assert_eq!(
            c.cluster,
            Some(ClusterBackend::Redis("redis://127.0.0.1:6380/2".into()))
        );
        assert_eq!(c.cluster_prefix, "chat-eu_1");
        assert_eq!(c.cluster_timeout, Duration::from_millis(250));
        let c = Config::resolve(&raw(&[(
            NATS,
            &["nats://a:4222,nats://b:4222"],
            Source::Flag,
        )]))
        .unwrap();
        assert_eq!(
            c.cluster,
            Some(ClusterBackend::Nats("nats://a:4222,nats://b:4222".into()))
        );
        let error = |pairs: &[(OptionName, &[&str], Source)]| {
            Config::resolve(&raw(pairs)).unwrap_err().to_string()
        };
        assert!(
            error(&[
                (REDIS, &["redis://a:1"], Source::Flag),
                (NATS, &["nats://b:2"], Source::Flag)
            ])
            .contains("both set")
        );
        assert!(
            error(&[(REDIS, &["nats://a:1"], Source::Flag)]).contains("redis://127.0.0.1:PORT")
        );
        assert!(error(&[(NATS, &["localhost:4222"], Source::Env)]).contains("SWITCHBOARD_NATS"));
        assert!(error(&[(CLUSTER_PREFIX, &["a.b"], Source::Flag)]).contains("letters, digits"));
        assert!(error(&[(CLUSTER_TIMEOUT, &["0s"], Source::Flag)]).contains("--cluster-timeout"));
        assert!(error(&[(BROADCAST_COALESCE, &["2s"], Source::Flag)]).contains("at most 1000ms"));
    }

    #[test]
    fn every_option_parses() {
        let c = Config::resolve(&raw(&[
            (LISTEN, &["0.0.0.0:9000"], Source::Flag),
            (PATH, &["/hub"], Source::Flag),
            (API_KEY, &["s3cret"], Source::Flag),
            (
                ALLOW_ORIGIN,
                &["https://a.example", "http://localhost:3000"],
                Source::Flag,
            ),
            (ROOMS, &["lobby", "team-*"], Source::Flag),
            (MAX_CONNECTIONS, &["10"], Source::Flag),
            (MAX_MESSAGE_SIZE, &["1MiB"], Source::Flag),
            (PING_INTERVAL, &["500ms"], Source::Flag),
            (PING_TIMEOUT, &["2m"], Source::Flag),
            (COMPRESSION, &["false"], Source::Flag),
            (BROADCAST_COALESCE, &["10ms"], Source::Flag),
            (LOG_LEVEL, &["switchboard=debug,warn"], Source::Flag),
        ]))
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.path, "/hub");
        assert_eq!(c.api_key.as_deref(), Some("s3cret"));
        assert_eq!(
            c.allowed_origins,
            AllowedOrigins::List(vec![
                "https://a.example".into(),
                "http://localhost:3000".into()
            ])
        );
        assert!(c.rooms.allows("team-a") && c.rooms.allows("lobby") && !c.rooms.allows("x"));
        assert_eq!(c.max_connections, 10);
        assert_eq!(c.max_message_size, 1 << 20);
        assert_eq!(c.ping_interval, Duration::from_millis(500));
        assert_eq!(c.ping_timeout, Duration::from_secs(120));
        assert!(!c.compression);
        assert_eq!(c.broadcast_coalesce, Duration::from_millis(10));
        assert_eq!(c.log_level.as_deref(), Some("switchboard=debug,warn"));
    }

    #[test]
    fn star_origin_means_any() {
        let c = Config::resolve(&raw(&[(
            ALLOW_ORIGIN,
            &["https://a.example", "*"],
            Source::Env,
        )]))
        .unwrap();
        assert_eq!(c.allowed_origins, AllowedOrigins::Any);
    }

    #[test]
    fn errors_name_the_option_and_its_source() {
        let e = Config::resolve(&raw(&[(MAX_CONNECTIONS, &["lots"], Source::Flag)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"lots\" for --max-connections: expected a whole number greater than 0"
        );
        let e = Config::resolve(&raw(&[(PING_INTERVAL, &["25"], Source::Env)])).unwrap_err();
        assert!(e.to_string().starts_with(
            "invalid value \"25\" for --ping-interval (from environment variable SWITCHBOARD_PING_INTERVAL)"
        ));
        let file = Source::File(PathBuf::from("/etc/sb.toml"));
        let e = Config::resolve(&raw(&[(COMPRESSION, &["maybe"], file)])).unwrap_err();
        assert!(e.to_string().contains(
            "for --compression (from key `compression` in /etc/sb.toml): expected true or false"
        ));
    }

    #[test]
    fn bad_values_per_option() {
        let bad: &[(OptionName, &str)] = &[
            (LISTEN, "localhost"),
            (LISTEN, "127.0.0.1:99999"),
            (PATH, "ws"),
            (PATH, "/"),
            (PATH, "/api/ws"),
            (PATH, "/healthz"),
            (PATH, "/{x}"),
            (API_KEY, ""),
            (API_KEY, "has space"),
            (ALLOW_ORIGIN, "example.com"),
            (ALLOW_ORIGIN, "https://example.com/"),
            (ROOMS, ""),
            (MAX_CONNECTIONS, "0"),
            (MAX_CONNECTIONS, "-3"),
            (MAX_MESSAGE_SIZE, "0"),
            (MAX_MESSAGE_SIZE, "64 parsecs"),
            (PING_INTERVAL, "0s"),
            (PING_TIMEOUT, "soon"),
            (COMPRESSION, "2"),
            (LOG_LEVEL, "loud=[[["),
        ];
        for (option, value) in bad {
            let e = Config::resolve(&raw(&[(*option, &[value], Source::Flag)]))
                .expect_err(&format!("{} {value:?} should be refused", option.flag()));
            assert!(e.to_string().contains(&option.flag()), "{e}");
        }
    }

    #[test]
    fn toml_files() {
        let path = Path::new("sb.toml");
        let file = RawOptions::from_toml(
            r#"
            listen = "127.0.0.1:0"
            rooms = ["a", "b-*"]
            allow_origin = "*"
            max_connections = 7
            max_message_size = "2KiB"
            compression = false
            "#,
            path,
        )
        .unwrap();
        let c = Config::resolve(&file).unwrap();
        assert_eq!(c.listen.port(), 0);
        assert!(c.rooms.allows("b-1") && !c.rooms.allows("c"));
        assert_eq!(c.allowed_origins, AllowedOrigins::Any);
        assert_eq!(c.max_connections, 7);
        assert_eq!(c.max_message_size, 2048);
        assert!(!c.compression);

        let e = RawOptions::from_toml("colour = 1", path).unwrap_err();
        assert!(e.to_string().contains("unknown key `colour`"), "{e}");
        let e = RawOptions::from_toml("listen = [\"a\"]", path).unwrap_err();
        assert!(e.to_string().contains("key `listen`"), "{e}");
        let e = RawOptions::from_toml("rooms = [{ a = 1 }]", path).unwrap_err();
        assert!(e.to_string().contains("key `rooms`"), "{e}");
        let e = RawOptions::from_toml("listen = ", path).unwrap_err();
        assert!(e.to_string().contains("not valid TOML"), "{e}");
        let file = RawOptions::from_toml("max_connections = 1.5", path).unwrap();
        let e = Config::resolve(&file).unwrap_err();
        assert!(
            e.to_string().contains("key `max_connections` in sb.toml"),
            "{e}"
        );
    }

    #[test]
    fn edge_options() {
        let c = Config::resolve(&RawOptions::default()).unwrap();
        assert_eq!(c.http_header_timeout, Duration::from_secs(10));
        assert_eq!(c.http_idle_timeout, Duration::from_secs(5));
        assert_eq!(c.http_max_pending, 1024);
        assert_eq!(c.max_connections_per_address, 1000);
        assert_eq!(c.handshake_rate_per_address, 100);
        assert_eq!(c.handshake_burst_per_address, 200);
        assert!(c.exempt_loopback);
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.max_tracked_addresses, 65_536);
        assert_eq!(c.public_origin, None);
        assert!(c.allowed_hosts.is_empty());
        let c = Config::resolve(&raw(&[
            (HTTP_HEADER_TIMEOUT, &["2s"], Source::Flag),
            (HTTP_IDLE_TIMEOUT, &["500ms"], Source::Flag),
            (HTTP_MAX_PENDING, &["64"], Source::Env),
            (MAX_CONNECTIONS_PER_ADDRESS, &["0"], Source::Flag),
            (HANDSHAKE_RATE_PER_ADDRESS, &["5"], Source::Flag),
            (HANDSHAKE_BURST_PER_ADDRESS, &["7"], Source::Flag),
            (EXEMPT_LOOPBACK, &["false"], Source::Flag),
            (TRUSTED_PROXY, &["127.0.0.1", "10.0.0.0/8"], Source::Flag),
            (MAX_TRACKED_ADDRESSES, &["9"], Source::Flag),
            (PUBLIC_ORIGIN, &["https://chat.example.com"], Source::Flag),
            (ALLOW_HOST, &["Chat.Example.com"], Source::Flag),
        ]))
        .unwrap();
        assert_eq!(c.http_header_timeout, Duration::from_secs(2));
        assert_eq!(c.http_idle_timeout, Duration::from_millis(500));
        assert_eq!(c.http_max_pending, 64);
        assert_eq!(c.max_connections_per_address, 0);
        assert_eq!(c.handshake_rate_per_address, 5);
        assert_eq!(c.handshake_burst_per_address, 7);
        assert!(!c.exempt_loopback);
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.max_tracked_addresses, 9);
        assert_eq!(c.public_origin.as_deref(), Some("https://chat.example.com"));
        assert_eq!(c.allowed_hosts, ["chat.example.com"]);
        for (option, value) in [
            (HTTP_HEADER_TIMEOUT, "0s"),
            (HTTP_MAX_PENDING, "0"),
            (MAX_CONNECTIONS_PER_ADDRESS, "-1"),
            (HANDSHAKE_BURST_PER_ADDRESS, "0"),
            (TRUSTED_PROXY, "10.0.0.0/40"),
            (TRUSTED_PROXY, "proxy.local"),
            (PUBLIC_ORIGIN, "*"),
            (PUBLIC_ORIGIN, "chat.example.com"),
            (ALLOW_HOST, "a b"),
            (MAX_TRACKED_ADDRESSES, "0"),
        ] {
            let e = Config::resolve(&raw(&[(option, &[value], Source::Flag)]))
                .expect_err(&format!("{} {value:?} should be refused", option.flag()));
            assert!(e.to_string().contains(&option.flag()), "{e}");
        }
    }

    #[test]
    fn higher_sources_win() {
        let file = raw(&[
            (MAX_CONNECTIONS, &["1"], Source::File("f".into())),
            (PATH, &["/file"], Source::File("f".into())),
        ]);
        let cli = raw(&[(MAX_CONNECTIONS, &["2"], Source::Env)]);
        let c = Config::resolve(&file.overlay(cli)).unwrap();
        assert_eq!(c.max_connections, 2);
        assert_eq!(c.path, "/file");
    }
}
