//! The HTTP edge: request timeouts and sizes, pending connections, and the
//! per-address limits (with the proxies trusted to name a client).

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

/// `--http-header-timeout`.
pub const HTTP_HEADER_TIMEOUT: OptionSpec = OptionSpec::one(
    "http_header_timeout",
    "SWITCHBOARD_HTTP_HEADER_TIMEOUT",
    "DURATION",
    Value("10s"),
    "How long a connection may take to send a complete request head, from \
     its accept or its previous answer, and then its body; slower ones are \
     closed (slowloris)",
);

/// `--http-idle-timeout`.
pub const HTTP_IDLE_TIMEOUT: OptionSpec = OptionSpec::one(
    "http_idle_timeout",
    "SWITCHBOARD_HTTP_IDLE_TIMEOUT",
    "DURATION",
    Value("5s"),
    "How long a keep-alive connection may wait for its next request",
);

/// `--http-max-pending`.
pub const HTTP_MAX_PENDING: OptionSpec = OptionSpec::one(
    "http_max_pending",
    "SWITCHBOARD_HTTP_MAX_PENDING",
    "N",
    Value("1024"),
    "Most connections without a complete request (head and body); a new one \
     over it, or running out of descriptors, closes the oldest of them; \
     keep it under `ulimit -n`",
);

/// `--http-max-head-size`.
pub const HTTP_MAX_HEAD_SIZE: OptionSpec = OptionSpec::one(
    "http_max_head_size",
    "SWITCHBOARD_HTTP_MAX_HEAD_SIZE",
    "SIZE",
    Value("64KiB"),
    "Largest request head (request line and headers), at least 8KiB; a \
     larger one gets 431 and its connection is closed",
);

/// `--max-connections-per-address`.
pub const MAX_CONNECTIONS_PER_ADDRESS: OptionSpec = OptionSpec::one(
    "max_connections_per_address",
    "SWITCHBOARD_MAX_CONNECTIONS_PER_ADDRESS",
    "N",
    Value("1000"),
    "Most live connections from one client address (IPv6: per /64); over it \
     the handshake gets 429; 0 for no limit",
);

/// `--handshake-rate-per-address`.
pub const HANDSHAKE_RATE_PER_ADDRESS: OptionSpec = OptionSpec::one(
    "handshake_rate_per_address",
    "SWITCHBOARD_HANDSHAKE_RATE_PER_ADDRESS",
    "N",
    Value("100"),
    "Handshakes per second from one client address; over it 429 with \
     Retry-After; 0 for no limit",
);

/// `--handshake-burst-per-address`.
pub const HANDSHAKE_BURST_PER_ADDRESS: OptionSpec = OptionSpec::one(
    "handshake_burst_per_address",
    "SWITCHBOARD_HANDSHAKE_BURST_PER_ADDRESS",
    "N",
    Value("200"),
    "Handshakes one client address may make at once before its rate applies",
);

/// `--exempt-loopback`.
pub const EXEMPT_LOOPBACK: OptionSpec = OptionSpec::one(
    "exempt_loopback",
    "SWITCHBOARD_EXEMPT_LOOPBACK",
    "BOOL",
    Value("true"),
    "Exempt loopback clients (127.0.0.0/8, ::1) from the per-address limits (true/false)",
);

/// `--trusted-proxy`.
pub const TRUSTED_PROXY: OptionSpec = OptionSpec::many(
    "trusted_proxy",
    "SWITCHBOARD_TRUSTED_PROXY",
    "CIDR",
    Unset("none"),
    "Proxy trusted to name the client in X-Forwarded-For or Forwarded, as \
     an address or network (10.0.0.0/8, ::1) (repeatable)",
);

/// `--max-tracked-addresses`.
pub const MAX_TRACKED_ADDRESSES: OptionSpec = OptionSpec::one(
    "max_tracked_addresses",
    "SWITCHBOARD_MAX_TRACKED_ADDRESSES",
    "N",
    Value("65536"),
    "Most client addresses tracked for the per-address limits",
);
