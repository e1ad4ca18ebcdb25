//! Every option of the server, declared once: its config file key (also
//! the clap argument id), environment variable, value name, help text,
//! default and shape. The command line ([`crate::cli`]), the config file
//! keys and the error messages ([`crate::config`]) all come from this
//! table; [`crate::config::Config::resolve`] parses each option's value (or
//! its declared default) into a typed setting.

use std::path::PathBuf;

use self::DefaultValue::{Unset, Value, ValueShownAs};

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

/// What an option is when no source sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value, parsed like a given one; `--help` shows it.
    Value(&'static str),
    /// This value (first), which `--help` shows in words (second).
    ValueShownAs(&'static str, &'static str),
    /// No value: the setting stays unset (or empty); `--help` says what
    /// that means.
    Unset(&'static str),
}

impl DefaultValue {
    /// The default value to parse, if any.
    pub fn value(&self) -> Option<&'static str> {
        match *self {
            Value(value) | ValueShownAs(value, _) => Some(value),
            Unset(_) => None,
        }
    }

    /// The default as `--help` shows it.
    pub fn shown(&self) -> &'static str {
        match *self {
            Value(shown) | ValueShownAs(_, shown) | Unset(shown) => shown,
        }
    }
}

/// One option's declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The config file key, also the clap argument id (`max_connections`).
    pub key: &'static str,
    /// The environment variable (`SWITCHBOARD_MAX_CONNECTIONS`).
    pub env: &'static str,
    /// The value's placeholder in `--help` (`N`).
    pub value_name: &'static str,
    /// What the option does, for `--help` (the default is appended).
    pub about: &'static str,
    /// What it is when unset.
    pub default: DefaultValue,
    /// Whether the option may be given several times (its environment
    /// variable then takes a comma-separated list).
    pub repeatable: bool,
    /// Whether `--help` hides its environment variable's value.
    pub secret: bool,
    /// An option that may not be given with this one on the command line.
    pub conflicts_with: Option<&'static str>,
}

impl OptionSpec {
    const fn one(
        key: &'static str,
        env: &'static str,
        value_name: &'static str,
        default: DefaultValue,
        about: &'static str,
    ) -> Self {
        Self {
            key,
            env,
            value_name,
            about,
            default,
            repeatable: false,
            secret: false,
            conflicts_with: None,
        }
    }

    const fn many(
        key: &'static str,
        env: &'static str,
        value_name: &'static str,
        default: DefaultValue,
        about: &'static str,
    ) -> Self {
        Self {
            repeatable: true,
            ..Self::one(key, env, value_name, default, about)
        }
    }

    const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }

    const fn conflicts_with(self, key: &'static str) -> Self {
        Self {
            conflicts_with: Some(key),
            ..self
        }
    }

    /// The flag, e.g. `--max-connections`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }

    /// The `--help` text: what it does and its default.
    pub fn help(&self) -> String {
        format!("{} [default: {}]", self.about, self.default.shown())
    }
}

/// `--listen`.
pub const LISTEN: OptionSpec = OptionSpec::one(
    "listen",
    "SWITCHBOARD_LISTEN",
    "ADDR",
    Value("127.0.0.1:8080"),
    "Address to listen on; port 0 picks a free port",
);

/// `--path`.
pub const PATH: OptionSpec = OptionSpec::one(
    "path",
    "SWITCHBOARD_PATH",
    "PATH",
    Value("/ws"),
    "URL path of the hub's WebSocket endpoint (long-polling at PATH/poll)",
);

/// `--api-key`.
pub const API_KEY: OptionSpec = OptionSpec::one(
    "api_key",
    "SWITCHBOARD_API_KEY",
    "KEY",
    Unset("none"),
    "Key the HTTP API requires as `Authorization: Bearer KEY`; without one, \
     the API answers loopback callers only",
)
.secret();

/// `--allow-origin`.
pub const ALLOW_ORIGIN: OptionSpec = OptionSpec::many(
    "allow_origin",
    "SWITCHBOARD_ALLOW_ORIGIN",
    "ORIGIN",
    Unset("the server's own host only"),
    "Browser origin allowed to connect, as scheme://host[:port], or `*` for \
     any (repeatable); handshakes without an Origin header are always \
     allowed",
);

/// `--rooms`.
pub const ROOMS: OptionSpec = OptionSpec::many(
    "rooms",
    "SWITCHBOARD_ROOMS",
    "GLOB",
    Value("*"),
    "Rooms clients may `$join`, as a pattern: `*` any run of characters, \
     `?` one character, case-sensitive (repeatable)",
);

/// `--max-connections`.
pub const MAX_CONNECTIONS: OptionSpec = OptionSpec::one(
    "max_connections",
    "SWITCHBOARD_MAX_CONNECTIONS",
    "N",
    Value("100000"),
    "Most live connections; further handshakes get 503",
);

/// `--max-message-size`.
pub const MAX_MESSAGE_SIZE: OptionSpec = OptionSpec::one(
    "max_message_size",
    "SWITCHBOARD_MAX_MESSAGE_SIZE",
    "SIZE",
    Value("64KiB"),
    "Largest client message, after decompression, e.g. 65536, 64KiB, 1MiB",
);

/// `--ping-interval`.
pub const PING_INTERVAL: OptionSpec = OptionSpec::one(
    "ping_interval",
    "SWITCHBOARD_PING_INTERVAL",
    "DURATION",
    Value("25s"),
    "Interval between WebSocket pings, e.g. 25s, 500ms, 2m",
);

/// `--ping-timeout`.
pub const PING_TIMEOUT: OptionSpec = OptionSpec::one(
    "ping_timeout",
    "SWITCHBOARD_PING_TIMEOUT",
    "DURATION",
    Value("20s"),
    "How long past the ping interval a silent connection is kept",
);

/// `--write-timeout`.
pub const WRITE_TIMEOUT: OptionSpec = OptionSpec::one(
    "write_timeout",
    "SWITCHBOARD_WRITE_TIMEOUT",
    "DURATION",
    Value("10s"),
    "Longest time one write to a WebSocket may wait for the client to read; \
     past it the link counts as dropped (its session waits for a resume)",
);

/// `--send-queue-capacity`.
pub const SEND_QUEUE_CAPACITY: OptionSpec = OptionSpec::one(
    "send_queue_capacity",
    "SWITCHBOARD_SEND_QUEUE_CAPACITY",
    "N",
    Value("1024"),
    "Messages queued for one socket that it has not read yet; past it the \
     socket is closed as a slow consumer with 4001 (the hub's own answers are \
     shed from half of it)",
);

/// `--inbound-queue-capacity`.
pub const INBOUND_QUEUE_CAPACITY: OptionSpec = OptionSpec::one(
    "inbound_queue_capacity",
    "SWITCHBOARD_INBOUND_QUEUE_CAPACITY",
    "N",
    Value("64"),
    "Client messages of one socket waiting to be handled (events, joins, \
     relays) before the hub stops reading from that socket",
);

/// `--message-rate-per-socket`.
pub const MESSAGE_RATE_PER_SOCKET: OptionSpec = OptionSpec::one(
    "message_rate_per_socket",
    "SWITCHBOARD_MESSAGE_RATE_PER_SOCKET",
    "N",
    ValueShownAs("0", "0, no limit"),
    "Client messages per second one socket may send (each message of a \
     batch counts); over it a message gets `$error` `rate_limited` and is \
     dropped; 0 for no limit",
);

/// `--message-burst-per-socket`.
pub const MESSAGE_BURST_PER_SOCKET: OptionSpec = OptionSpec::one(
    "message_burst_per_socket",
    "SWITCHBOARD_MESSAGE_BURST_PER_SOCKET",
    "N",
    Unset("the rate: one second's worth"),
    "Client messages one socket may send at once before \
     --message-rate-per-socket applies (unused without a rate)",
);

/// `--max-bad-messages`.
pub const MAX_BAD_MESSAGES: OptionSpec = OptionSpec::one(
    "max_bad_messages",
    "SWITCHBOARD_MAX_BAD_MESSAGES",
    "N",
    Value("10"),
    "Bad messages in a row (each answered with `$error`), or rate-limited \
     ones in a row, after which the connection is closed with 1008",
);

/// `--shutdown-timeout`.
pub const SHUTDOWN_TIMEOUT: OptionSpec = OptionSpec::one(
    "shutdown_timeout",
    "SWITCHBOARD_SHUTDOWN_TIMEOUT",
    "DURATION",
    Value("10s"),
    "On Ctrl-C or SIGTERM, how long connections get to close (1001) before \
     the rest are dropped and the server exits",
);

/// `--compression`.
pub const COMPRESSION: OptionSpec = OptionSpec::one(
    "compression",
    "SWITCHBOARD_COMPRESSION",
    "BOOL",
    Value("true"),
    "Negotiate permessage-deflate when a client offers it (true/false)",
);

/// `--log-level`.
pub const LOG_LEVEL: OptionSpec = OptionSpec::one(
    "log_level",
    "SWITCHBOARD_LOG_LEVEL",
    "LEVEL",
    Unset("info"),
    "Log level or filter (error, warn, info, debug, trace, or a tracing \
     filter such as `switchboard=debug`); when unset, RUST_LOG applies",
);

/// `--resume-window`.
pub const RESUME_WINDOW: OptionSpec = OptionSpec::one(
    "resume_window",
    "SWITCHBOARD_RESUME_WINDOW",
    "DURATION",
    Value("120s"),
    "How long a session whose link dropped waits for a resume, e.g. 120s, \
     5m; 0 turns resume off (PROTOCOL.md section 5)",
);

/// `--broadcast-coalesce`.
pub const BROADCAST_COALESCE: OptionSpec = OptionSpec::one(
    "broadcast_coalesce",
    "SWITCHBOARD_BROADCAST_COALESCE",
    "DURATION",
    ValueShownAs("0", "0, off"),
    "How long broadcast frames may wait to share one write with the next \
     ones, e.g. 5ms, at most 1s; a reply or direct message is never held \
     (see README \"Tuning\")",
);

/// `--resume-buffer-messages`.
pub const RESUME_BUFFER_MESSAGES: OptionSpec = OptionSpec::one(
    "resume_buffer_messages",
    "SWITCHBOARD_RESUME_BUFFER_MESSAGES",
    "N",
    Value("1000"),
    "Last messages kept per session for a resume (within \
     --resume-buffer-bytes); a resume from before the oldest kept gets a new \
     session; 0 turns resume off",
);

/// `--resume-buffer-bytes`.
pub const RESUME_BUFFER_BYTES: OptionSpec = OptionSpec::one(
    "resume_buffer_bytes",
    "SWITCHBOARD_RESUME_BUFFER_BYTES",
    "SIZE",
    Value("1MiB"),
    "Payload bytes kept per session for a resume, beside the message count \
     of --resume-buffer-messages; the oldest are dropped past it",
);

/// `--max-detached-sessions`.
pub const MAX_DETACHED_SESSIONS: OptionSpec = OptionSpec::one(
    "max_detached_sessions",
    "SWITCHBOARD_MAX_DETACHED_SESSIONS",
    "N",
    Value("10000"),
    "Most sessions waiting for a resume at once; past it the oldest end \
     first (their resume gets a new session)",
);

/// `--detached-budget`.
pub const DETACHED_BUDGET: OptionSpec = OptionSpec::one(
    "detached_budget",
    "SWITCHBOARD_DETACHED_BUDGET",
    "SIZE",
    Value("128MiB"),
    "Bytes all sessions waiting for a resume may hold together (resume \
     buffers and room memberships); past it the oldest end first",
);

/// `--max-rooms-per-socket`.
pub const MAX_ROOMS_PER_SOCKET: OptionSpec = OptionSpec::one(
    "max_rooms_per_socket",
    "SWITCHBOARD_MAX_ROOMS_PER_SOCKET",
    "N",
    Value("1000"),
    "Rooms one socket may be in through `$join`; further joins get the error `limit`",
);

/// `--poll-timeout`.
pub const POLL_TIMEOUT: OptionSpec = OptionSpec::one(
    "poll_timeout",
    "SWITCHBOARD_POLL_TIMEOUT",
    "DURATION",
    ValueShownAs(
        "25s",
        "25s, or half of --ping-interval plus --ping-timeout when 25s does not fit in it",
    ),
    "How long a long-polling GET is held when nothing is queued; shorter \
     than --ping-interval plus --ping-timeout, since clients take a longer \
     silence for a dead link",
);

/// `--max-pending-polls`.
pub const MAX_PENDING_POLLS: OptionSpec = OptionSpec::one(
    "max_pending_polls",
    "SWITCHBOARD_MAX_PENDING_POLLS",
    "N",
    Value("1000"),
    "Long-polling sessions opened that have not sent their first GET yet \
     (they take no connection slot); further opens get 503",
);

/// `--pending-poll-timeout`.
pub const PENDING_POLL_TIMEOUT: OptionSpec = OptionSpec::one(
    "pending_poll_timeout",
    "SWITCHBOARD_PENDING_POLL_TIMEOUT",
    "DURATION",
    Value("10s"),
    "How long a long-polling session may wait for its first GET before its \
     link counts as dropped",
);

/// `--redis`.
pub const REDIS: OptionSpec = OptionSpec::one(
    "redis",
    "SWITCHBOARD_REDIS",
    "URL",
    Unset("no cluster"),
    "Join a cluster over Redis pub/sub at this URL (redis://[user:pass@]host:port[/db])",
)
.secret()
.conflicts_with("nats");

/// `--nats`.
pub const NATS: OptionSpec = OptionSpec::one(
    "nats",
    "SWITCHBOARD_NATS",
    "URL",
    Unset("no cluster"),
    "Join a cluster over NATS at this URL (nats://[user:pass@]host:port, or \
     several servers separated by commas)",
)
.secret();

/// `--cluster-prefix`.
pub const CLUSTER_PREFIX: OptionSpec = OptionSpec::one(
    "cluster_prefix",
    "SWITCHBOARD_CLUSTER_PREFIX",
    "NAME",
    Value("switchboard"),
    "Channel prefix of the cluster: nodes with the same prefix on the same \
     backend form one cluster",
);

/// `--cluster-timeout`.
pub const CLUSTER_TIMEOUT: OptionSpec = OptionSpec::one(
    "cluster_timeout",
    "SWITCHBOARD_CLUSTER_TIMEOUT",
    "DURATION",
    Value("1s"),
    "How long cluster-wide answers (room members, stats, kicks) wait for the other nodes",
);

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

/// `--public-origin`.
pub const PUBLIC_ORIGIN: OptionSpec = OptionSpec::one(
    "public_origin",
    "SWITCHBOARD_PUBLIC_ORIGIN",
    "ORIGIN",
    Unset("none"),
    "The server's public origin (https://chat.example.com): browsers' \
     same-host Origin checks compare with it instead of the request's Host",
);

/// `--allow-host`.
pub const ALLOW_HOST: OptionSpec = OptionSpec::many(
    "allow_host",
    "SWITCHBOARD_ALLOW_HOST",
    "HOST",
    Unset("none"),
    "Host name the keyless HTTP API answers to, beside loopback addresses, \
     localhost and the listen address (DNS rebinding guard) (repeatable)",
);

/// Every option that may come from any source, in `--help` order
/// (`--config` itself is only a flag or an environment variable).
pub const OPTIONS: [OptionSpec; 44] = [
    LISTEN,
    PATH,
    API_KEY,
    ALLOW_ORIGIN,
    ROOMS,
    MAX_CONNECTIONS,
    MAX_MESSAGE_SIZE,
    PING_INTERVAL,
    PING_TIMEOUT,
    WRITE_TIMEOUT,
    SEND_QUEUE_CAPACITY,
    INBOUND_QUEUE_CAPACITY,
    MESSAGE_RATE_PER_SOCKET,
    MESSAGE_BURST_PER_SOCKET,
    MAX_BAD_MESSAGES,
    SHUTDOWN_TIMEOUT,
    COMPRESSION,
    LOG_LEVEL,
    RESUME_WINDOW,
    BROADCAST_COALESCE,
    RESUME_BUFFER_MESSAGES,
    RESUME_BUFFER_BYTES,
    MAX_DETACHED_SESSIONS,
    DETACHED_BUDGET,
    MAX_ROOMS_PER_SOCKET,
    POLL_TIMEOUT,
    MAX_PENDING_POLLS,
    PENDING_POLL_TIMEOUT,
    REDIS,
    NATS,
    CLUSTER_PREFIX,
    CLUSTER_TIMEOUT,
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
