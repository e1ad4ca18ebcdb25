//! The names of the server's options in each source: flag, environment
//! variable and config file key, and where a value came from.

use std::path::PathBuf;

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env,
    /// The config file at this path.
    File(PathBuf),
}

/// One option's names in each source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionName {
    /// The config file key, also the clap argument id (`max_connections`).
    pub key: &'static str,
    /// The environment variable (`SWITCHBOARD_MAX_CONNECTIONS`).
    pub env: &'static str,
    /// Whether the option may be given several times.
    pub repeatable: bool,
}

impl OptionName {
    const fn one(key: &'static str, env: &'static str) -> Self {
        Self {
            key,
            env,
            repeatable: false,
        }
    }

    const fn many(key: &'static str, env: &'static str) -> Self {
        Self {
            key,
            env,
            repeatable: true,
        }
    }

    /// The flag, e.g. `--max-connections`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }
}

/// `--listen`.
pub const LISTEN: OptionName = OptionName::one("listen", "SWITCHBOARD_LISTEN");
/// `--path`.
pub const PATH: OptionName = OptionName::one("path", "SWITCHBOARD_PATH");
/// `--api-key`.
pub const API_KEY: OptionName = OptionName::one("api_key", "SWITCHBOARD_API_KEY");
/// `--allow-origin`.
pub const ALLOW_ORIGIN: OptionName = OptionName::many("allow_origin", "SWITCHBOARD_ALLOW_ORIGIN");
/// `--rooms`.
pub const ROOMS: OptionName = OptionName::many("rooms", "SWITCHBOARD_ROOMS");
/// `--max-connections`.
pub const MAX_CONNECTIONS: OptionName =
    OptionName::one("max_connections", "SWITCHBOARD_MAX_CONNECTIONS");
/// `--max-message-size`.
pub const MAX_MESSAGE_SIZE: OptionName =
    OptionName::one("max_message_size", "SWITCHBOARD_MAX_MESSAGE_SIZE");
/// `--ping-interval`.
pub const PING_INTERVAL: OptionName = OptionName::one("ping_interval", "SWITCHBOARD_PING_INTERVAL");
/// `--ping-timeout`.
pub const PING_TIMEOUT: OptionName = OptionName::one("ping_timeout", "SWITCHBOARD_PING_TIMEOUT");
/// `--compression`.
pub const COMPRESSION: OptionName = OptionName::one("compression", "SWITCHBOARD_COMPRESSION");
/// `--resume-window`.
pub const RESUME_WINDOW: OptionName = OptionName::one("resume_window", "SWITCHBOARD_RESUME_WINDOW");
/// `--broadcast-coalesce`.
pub const BROADCAST_COALESCE: OptionName =
    OptionName::one("broadcast_coalesce", "SWITCHBOARD_BROADCAST_COALESCE");
// Resource bounds (issue 15).
/// `--resume-buffer-bytes`.
pub const RESUME_BUFFER_BYTES: OptionName =
    OptionName::one("resume_buffer_bytes", "SWITCHBOARD_RESUME_BUFFER_BYTES");
/// `--max-detached-sessions`.
pub const MAX_DETACHED_SESSIONS: OptionName =
    OptionName::one("max_detached_sessions", "SWITCHBOARD_MAX_DETACHED_SESSIONS");
/// `--detached-budget`.
pub const DETACHED_BUDGET: OptionName =
    OptionName::one("detached_budget", "SWITCHBOARD_DETACHED_BUDGET");
/// `--max-rooms-per-socket`.
pub const MAX_ROOMS_PER_SOCKET: OptionName =
    OptionName::one("max_rooms_per_socket", "SWITCHBOARD_MAX_ROOMS_PER_SOCKET");
/// `--max-pending-polls`.
pub const MAX_PENDING_POLLS: OptionName =
    OptionName::one("max_pending_polls", "SWITCHBOARD_MAX_PENDING_POLLS");
/// `--pending-poll-timeout`.
pub const PENDING_POLL_TIMEOUT: OptionName =
    OptionName::one("pending_poll_timeout", "SWITCHBOARD_PENDING_POLL_TIMEOUT");

/// `--redis`.
pub const REDIS: OptionName = OptionName::one("redis", "SWITCHBOARD_REDIS");
/// `--nats`.
pub const NATS: OptionName = OptionName::one("nats", "SWITCHBOARD_NATS");
/// `--cluster-prefix`.
pub const CLUSTER_PREFIX: OptionName =
    OptionName::one("cluster_prefix", "SWITCHBOARD_CLUSTER_PREFIX");
/// `--cluster-timeout`.
pub const CLUSTER_TIMEOUT: OptionName =
    OptionName::one("cluster_timeout", "SWITCHBOARD_CLUSTER_TIMEOUT");
/// `--log-level`.
pub const LOG_LEVEL: OptionName = OptionName::one("log_level", "SWITCHBOARD_LOG_LEVEL");

// ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).
/// `--http-header-timeout`.
pub const HTTP_HEADER_TIMEOUT: OptionName =
    OptionName::one("http_header_timeout", "SWITCHBOARD_HTTP_HEADER_TIMEOUT");
/// `--http-idle-timeout`.
pub const HTTP_IDLE_TIMEOUT: OptionName =
    OptionName::one("http_idle_timeout", "SWITCHBOARD_HTTP_IDLE_TIMEOUT");
/// `--http-max-pending`.
pub const HTTP_MAX_PENDING: OptionName =
    OptionName::one("http_max_pending", "SWITCHBOARD_HTTP_MAX_PENDING");
/// `--http-max-head-size`.
pub const HTTP_MAX_HEAD_SIZE: OptionName =
    OptionName::one("http_max_head_size", "SWITCHBOARD_HTTP_MAX_HEAD_SIZE");
/// `--max-connections-per-address`.
pub const MAX_CONNECTIONS_PER_ADDRESS: OptionName = OptionName::one(
    "max_connections_per_address",
    "SWITCHBOARD_MAX_CONNECTIONS_PER_ADDRESS",
);
/// `--handshake-rate-per-address`.
pub const HANDSHAKE_RATE_PER_ADDRESS: OptionName = OptionName::one(
    "handshake_rate_per_address",
    "SWITCHBOARD_HANDSHAKE_RATE_PER_ADDRESS",
);
/// `--handshake-burst-per-address`.
pub const HANDSHAKE_BURST_PER_ADDRESS: OptionName = OptionName::one(
    "handshake_burst_per_address",
    "SWITCHBOARD_HANDSHAKE_BURST_PER_ADDRESS",
);
/// `--exempt-loopback`.
pub const EXEMPT_LOOPBACK: OptionName =
    OptionName::one("exempt_loopback", "SWITCHBOARD_EXEMPT_LOOPBACK");
/// `--trusted-proxy`.
pub const TRUSTED_PROXY: OptionName =
    OptionName::many("trusted_proxy", "SWITCHBOARD_TRUSTED_PROXY");
/// `--max-tracked-addresses`.
pub const MAX_TRACKED_ADDRESSES: OptionName =
    OptionName::one("max_tracked_addresses", "SWITCHBOARD_MAX_TRACKED_ADDRESSES");
/// `--public-origin`.
pub const PUBLIC_ORIGIN: OptionName = OptionName::one("public_origin", "SWITCHBOARD_PUBLIC_ORIGIN");
/// `--allow-host`.
pub const ALLOW_HOST: OptionName = OptionName::many("allow_host", "SWITCHBOARD_ALLOW_HOST");

/// Every option that may come from any source (`--config` itself is only a
/// flag or an environment variable).
pub const OPTIONS: [OptionName; 35] = [
    LISTEN,
    PATH,
    API_KEY,
    ALLOW_ORIGIN,
    ROOMS,
    MAX_CONNECTIONS,
    MAX_MESSAGE_SIZE,
    PING_INTERVAL,
    PING_TIMEOUT,
    COMPRESSION,
    RESUME_WINDOW,
    BROADCAST_COALESCE,
    // Resource bounds (issue 15).
    RESUME_BUFFER_BYTES,
    MAX_DETACHED_SESSIONS,
    DETACHED_BUDGET,
    MAX_ROOMS_PER_SOCKET,
    MAX_PENDING_POLLS,
    PENDING_POLL_TIMEOUT,
    REDIS,
    NATS,
    CLUSTER_PREFIX,
    CLUSTER_TIMEOUT,
    LOG_LEVEL,
    // The HTTP edge (issue 15).
    HTTP_HEADER_TIMEOUT,
    HTTP_IDLE_TIMEOUT,
    HTTP_MAX_PENDING,
    HTTP_MAX_HEAD_SIZE,
    MAX_CONNECTIONS_PER_ADDRESS,
    HANDSHAKE_RATE_PER_ADDRESS,
    HANDSHAKE_BURST_PER_ADDRESS,
    EXEMPT_LOOPBACK,
    TRUSTED_PROXY,
    MAX_TRACKED_ADDRESSES,
    PUBLIC_ORIGIN,
    ALLOW_HOST,
];
