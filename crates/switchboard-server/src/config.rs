//! The server's settings: merged from flags, environment, a TOML file and
//! defaults (in that order of precedence), then parsed and checked. The
//! options themselves, with their defaults, are declared in
//! [`crate::options`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ArgMatches;
use switchboard::{AllowedOrigins, IpNetwork, RateLimit};

use crate::glob::RoomPatterns;
use crate::options::*;
use crate::units::{parse_bool, parse_duration};

mod admin;
mod backend;
mod error;
mod raw;
mod tls;
mod tokens;
mod values;
use self::admin::admin_settings;
pub use self::admin::{AdminPassword, AdminSettings, MIN_ADMIN_PASSWORD};
pub use self::backend::BackendSettings;
use self::backend::backend_settings;
pub use self::error::ConfigError;
pub use self::raw::RawOptions;
pub use self::tls::TlsFiles;
use self::tokens::token_settings;
pub use self::tokens::{TokenKey, TokenSettings};
use self::values::*;

/// The backend a clustered server joins through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterBackend {
    /// Redis pub/sub at this URL.
    Redis(String),
    /// NATS at this URL.
    Nats(String),
}

/// The server's resolved settings, one field per option (its flag named
/// below; its default and meaning are declared in [`crate::options`]).
#[derive(Debug, Clone)]
pub struct Config {
    /// `--listen`: the address to listen on.
    pub listen: SocketAddr,
    /// `--tls-cert` and `--tls-key`: serve HTTPS and `wss://` with these
    /// files (none: plain HTTP).
    pub tls: Option<TlsFiles>,
    /// `--path`: the hub's path.
    pub path: String,
    /// `--api-key`: the HTTP API's bearer key (none: loopback callers only).
    pub api_key: Option<String>,
    /// `--admin-password` (or `--admin-password-file`) and
    /// `--admin-session-ttl`: the admin dashboard at `/admin` (none: not
    /// served).
    pub admin: Option<AdminSettings>,
    /// `--allow-origin`: browser origins allowed to connect.
    pub allowed_origins: AllowedOrigins,
    /// `--rooms`: rooms clients may `$join`.
    pub rooms: RoomPatterns,
    /// `--presence`: rooms that keep presence (none when empty).
    pub presence: RoomPatterns,
    /// `--history`: rooms that keep history (none when empty).
    pub history: RoomPatterns,
    /// `--history-size`: messages each history room keeps.
    pub history_size: usize,
    /// `--history-ttl`: how long a history room keeps each message.
    pub history_ttl: Duration,
    /// `--token-*` and `--allow-anonymous`: how tokens are checked (none:
    /// clients connect without one).
    pub tokens: Option<TokenSettings>,
    /// `--max-connections-per-user`: most live connections of one user on
    /// this node (0: no limit).
    pub max_connections_per_user: usize,
    /// `--proxy-*`: the application's back end the server calls (none: no
    /// calls).
    pub backend: Option<BackendSettings>,
    /// `--max-connections`: most live connections.
    pub max_connections: usize,
    /// `--max-message-size`: largest client message in bytes.
    pub max_message_size: usize,
    /// `--ping-interval`: interval between pings.
    pub ping_interval: Duration,
    /// `--ping-timeout`: grace past the ping interval.
    pub ping_timeout: Duration,
    /// `--write-timeout`: longest wait of one write for the client.
    pub write_timeout: Duration,
    /// `--send-queue-capacity`: messages queued for one socket before it is
    /// closed as a slow consumer.
    pub send_queue_capacity: usize,
    /// `--inbound-queue-capacity`: client messages of one socket waiting
    /// to be handled before the hub stops reading from it.
    pub inbound_queue_capacity: usize,
    /// `--message-rate-per-socket` and `--message-burst-per-socket`: the
    /// per-socket limit on client messages (none: no limit).
    pub message_rate_per_socket: Option<RateLimit>,
    /// `--max-bad-messages`: bad (or rate-limited) messages in a row before
    /// the connection is closed with `1008`.
    pub max_bad_messages: u32,
    /// `--shutdown-timeout`: how long connections get to close on a stop.
    pub shutdown_timeout: Duration,
    /// `--compression`: whether permessage-deflate is negotiated.
    pub compression: bool,
    /// `--resume-window`: how long a dropped session waits for a resume
    /// (zero turns resume off).
    pub resume_window: Duration,
    /// `--broadcast-coalesce`: how long broadcast frames may wait to share
    /// a write (at most 1 s).
    pub broadcast_coalesce: Duration,
    // Resource bounds (issue 15).
    /// `--resume-buffer-messages`: last messages kept per session for a
    /// resume (zero turns resume off).
    pub resume_buffer_messages: usize,
    /// `--resume-buffer-bytes`: payload bytes kept per session for a resume.
    pub resume_buffer_bytes: usize,
    /// `--max-detached-sessions`: most sessions waiting for a resume.
    pub max_detached_sessions: usize,
    /// `--detached-budget`: bytes detached sessions may hold together.
    pub detached_budget: usize,
    /// `--max-rooms-per-socket`: rooms one socket may `$join`.
    pub max_rooms_per_socket: usize,
    /// `--poll-timeout`: how long a long-polling `GET` is held when
    /// nothing is queued.
    pub poll_timeout: Duration,
    /// `--max-pending-polls`: long-polling links waiting for their first
    /// `GET`.
    pub max_pending_polls: usize,
    /// `--pending-poll-timeout`: how long a long-polling link may wait for
    /// its first `GET`.
    pub pending_poll_timeout: Duration,
    /// `--redis` or `--nats`: the cluster backend (none: a single node).
    pub cluster: Option<ClusterBackend>,
    /// `--cluster-prefix`: the cluster's channel prefix.
    pub cluster_prefix: String,
    /// `--cluster-timeout`: how long cluster-wide answers wait for other
    /// nodes.
    pub cluster_timeout: Duration,
    /// `--log-level`: the log filter, when set (else `RUST_LOG`, else
    /// `info`).
    pub log_level: Option<String>,

    // ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).
    /// `--http-header-timeout`: longest time to a complete request head.
    pub http_header_timeout: Duration,
    /// `--http-idle-timeout`: longest wait of a keep-alive connection for
    /// its next request.
    pub http_idle_timeout: Duration,
    /// `--http-max-pending`: most connections without a complete request.
    pub http_max_pending: usize,
    /// `--http-max-head-size`: largest request head in bytes.
    pub http_max_head_size: usize,
    /// `--max-connections-per-address`: most live connections per client
    /// address (0: no limit).
    pub max_connections_per_address: usize,
    /// `--handshake-rate-per-address`: handshakes per second per client
    /// address (0: no limit).
    pub handshake_rate_per_address: u32,
    /// `--handshake-burst-per-address`: handshake burst per client address.
    pub handshake_burst_per_address: u32,
    /// `--exempt-loopback`: whether loopback clients are exempt from the
    /// per-address limits.
    pub exempt_loopback: bool,
    /// `--trusted-proxy`: proxies trusted to name the client.
    pub trusted_proxies: Vec<IpNetwork>,
    /// `--max-tracked-addresses`: most client addresses tracked.
    pub max_tracked_addresses: usize,
    /// `--public-origin`: the server's public origin, for same-host origin
    /// checks (none: the request's `Host`).
    pub public_origin: Option<String>,
    /// `--allow-host`: extra host names the keyless API answers to (beside
    /// loopback addresses, `localhost` and the listen address).
    pub allowed_hosts: Vec<String>,
}

impl Default for Config {
    /// The declared default of every option.
    fn default() -> Self {
        // The config tests parse every declared default.
        Self::resolve(&RawOptions::default()).expect("the declared defaults parse")
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

    /// Parses and checks merged option values; unset options take their
    /// declared defaults. Options are checked in the order of the fields.
    pub fn resolve(raw: &RawOptions) -> Result<Self, ConfigError> {
        let ping_interval = value(raw, &PING_INTERVAL, positive_duration)?;
        let ping_timeout = value(raw, &PING_TIMEOUT, positive_duration)?;
        Ok(Self {
            listen: value(raw, &LISTEN, parse_listen)?,
            tls: self::tls::tls_files(raw)?,
            path: value(raw, &PATH, parse_path)?,
            api_key: optional(raw, &API_KEY, parse_api_key)?,
            admin: admin_settings(raw)?,
            allowed_origins: allowed_origins(optional_list(raw, &ALLOW_ORIGIN, parse_origin)?),
            rooms: RoomPatterns::new(list(raw, &ROOMS, parse_room_pattern)?),
            presence: RoomPatterns::new(
                optional_list(raw, &PRESENCE, parse_room_pattern)?.unwrap_or_default(),
            ),
            history: RoomPatterns::new(
                optional_list(raw, &HISTORY, parse_room_pattern)?.unwrap_or_default(),
            ),
            history_size: value(raw, &HISTORY_SIZE, positive_count)?,
            history_ttl: value(raw, &HISTORY_TTL, positive_duration)?,
            tokens: token_settings(raw)?,
            max_connections_per_user: value(raw, &MAX_CONNECTIONS_PER_USER, whole_count)?,
            backend: backend_settings(raw)?,
            max_connections: value(raw, &MAX_CONNECTIONS, positive_count)?,
            max_message_size: value(raw, &MAX_MESSAGE_SIZE, positive_size)?,
            ping_interval,
            ping_timeout,
            write_timeout: value(raw, &WRITE_TIMEOUT, positive_duration)?,
            send_queue_capacity: value(raw, &SEND_QUEUE_CAPACITY, positive_count)?,
            inbound_queue_capacity: value(raw, &INBOUND_QUEUE_CAPACITY, positive_count)?,
            message_rate_per_socket: message_rate(raw)?,
            max_bad_messages: value(raw, &MAX_BAD_MESSAGES, positive_rate)?,
            shutdown_timeout: value(raw, &SHUTDOWN_TIMEOUT, positive_duration)?,
            compression: value(raw, &COMPRESSION, parse_bool)?,
            resume_window: value(raw, &RESUME_WINDOW, parse_duration)?,
            broadcast_coalesce: value(raw, &BROADCAST_COALESCE, parse_coalesce_window)?,
            // Resource bounds (issue 15).
            resume_buffer_messages: value(raw, &RESUME_BUFFER_MESSAGES, resume_messages)?,
            resume_buffer_bytes: value(raw, &RESUME_BUFFER_BYTES, positive_size)?,
            max_detached_sessions: value(raw, &MAX_DETACHED_SESSIONS, positive_count)?,
            detached_budget: value(raw, &DETACHED_BUDGET, positive_size)?,
            max_rooms_per_socket: value(raw, &MAX_ROOMS_PER_SOCKET, positive_count)?,
            poll_timeout: poll_timeout(raw, ping_interval + ping_timeout)?,
            max_pending_polls: value(raw, &MAX_PENDING_POLLS, positive_count)?,
            pending_poll_timeout: value(raw, &PENDING_POLL_TIMEOUT, positive_duration)?,
            cluster: cluster_backend(raw)?,
            cluster_prefix: value(raw, &CLUSTER_PREFIX, parse_cluster_prefix)?,
            cluster_timeout: value(raw, &CLUSTER_TIMEOUT, positive_duration)?,
            log_level: optional(raw, &LOG_LEVEL, parse_log_level)?,
            // The HTTP edge (issue 15).
            http_header_timeout: value(raw, &HTTP_HEADER_TIMEOUT, positive_duration)?,
            http_idle_timeout: value(raw, &HTTP_IDLE_TIMEOUT, positive_duration)?,
            http_max_pending: value(raw, &HTTP_MAX_PENDING, positive_count)?,
            http_max_head_size: value(raw, &HTTP_MAX_HEAD_SIZE, parse_head_size)?,
            max_connections_per_address: value(raw, &MAX_CONNECTIONS_PER_ADDRESS, whole_count)?,
            handshake_rate_per_address: value(raw, &HANDSHAKE_RATE_PER_ADDRESS, whole_rate)?,
            handshake_burst_per_address: value(raw, &HANDSHAKE_BURST_PER_ADDRESS, positive_rate)?,
            exempt_loopback: value(raw, &EXEMPT_LOOPBACK, parse_bool)?,
            trusted_proxies: optional_list(raw, &TRUSTED_PROXY, parse_trusted_proxy)?
                .unwrap_or_default(),
            max_tracked_addresses: value(raw, &MAX_TRACKED_ADDRESSES, positive_count)?,
            public_origin: optional(raw, &PUBLIC_ORIGIN, parse_public_origin)?,
            allowed_hosts: optional_list(raw, &ALLOW_HOST, parse_allowed_host)?.unwrap_or_default(),
        })
    }
}

/// `--allow-origin`'s values: unset or empty is the same host, `*` any.
fn allowed_origins(origins: Option<Vec<String>>) -> AllowedOrigins {
    match origins {
        Some(origins) if origins.iter().any(|o| o == "*") => AllowedOrigins::Any,
        Some(origins) if !origins.is_empty() => AllowedOrigins::List(origins),
        _ => AllowedOrigins::SameHost,
    }
}

/// `--message-rate-per-socket` with its burst (one second's worth unless
/// `--message-burst-per-socket` says otherwise); a rate of 0 is no limit.
fn message_rate(raw: &RawOptions) -> Result<Option<RateLimit>, ConfigError> {
    let per_second = value(raw, &MESSAGE_RATE_PER_SOCKET, whole_rate)?;
    let burst = optional(raw, &MESSAGE_BURST_PER_SOCKET, positive_rate)?;
    Ok((per_second > 0).then(|| RateLimit {
        per_second,
        burst: burst.unwrap_or(per_second),
    }))
}

/// `--poll-timeout`: shorter than the heartbeat window (`--ping-interval`
/// plus `--ping-timeout`), after which clients take a silent long-polling
/// link for dead. Unset, it is 25 s, or half the window when 25 s does not
/// fit in it.
fn poll_timeout(raw: &RawOptions, heartbeat: Duration) -> Result<Duration, ConfigError> {
    let parse = |text: &str| {
        let timeout = positive_duration(text)?;
        if timeout >= heartbeat {
            return Err(format!(
                "it must be shorter than --ping-interval plus --ping-timeout \
                 ({heartbeat:?}): clients take a longer silence for a dead link"
            ));
        }
        Ok(timeout)
    };
    match optional(raw, &POLL_TIMEOUT, parse)? {
        Some(timeout) => Ok(timeout),
        None => match value(raw, &POLL_TIMEOUT, positive_duration)? {
            timeout if timeout < heartbeat => Ok(timeout),
            _ => Ok(heartbeat / 2),
        },
    }
}

/// `--redis` or `--nats`, not both.
fn cluster_backend(raw: &RawOptions) -> Result<Option<ClusterBackend>, ConfigError> {
    let redis = optional(raw, &REDIS, |s| parse_backend_url(s, &["redis", "rediss"]))?;
    let nats = optional(raw, &NATS, |s| parse_backend_url(s, &["nats", "tls"]))?;
    match (redis, nats) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            "--redis and --nats are both set: a node joins one cluster backend",
        )),
        (Some(url), None) => Ok(Some(ClusterBackend::Redis(url))),
        (None, Some(url)) => Ok(Some(ClusterBackend::Nats(url))),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
