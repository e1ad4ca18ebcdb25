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

mod values;
use self::values::*;

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
    /// Largest request head in bytes (default 64 KiB, at least 8 KiB).
    pub http_max_head_size: usize,
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
            http_max_head_size: 64 * 1024,
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
        if let Some(v) = one(raw, &HTTP_MAX_HEAD_SIZE, parse_head_size)? {
            self.http_max_head_size = v;
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

#[cfg(test)]
mod tests;
