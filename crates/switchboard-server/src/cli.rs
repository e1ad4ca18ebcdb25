//! The command line: every option as a flag, with its environment variable.
//!
//! Values are kept as text here; [`crate::config`] merges them with the
//! config file and parses them, so that an error can say where a bad value
//! came from.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};

const AFTER_HELP: &str = "\
Precedence: flags, then SWITCHBOARD_* environment variables, then the TOML
file given by --config (keys are the option names in snake_case, e.g.
max_message_size = \"1MiB\", rooms = [\"lobby\", \"team-*\"]), then defaults.
Repeatable options take a comma-separated list in their environment variable.

Durations: 500ms, 25s, 2m, 1h, 1m30s. Sizes: 65536, 64KiB, 1MiB (also KB/MB =
powers of 1000). Booleans: true/false, yes/no, on/off, 1/0.

Without --api-key the HTTP API (/api/...) answers loopback callers only, and
refuses requests with an Origin not allowed by --allow-origin (403), a Host
other than loopback, localhost, the listen address or --allow-host (421), and
bodies that are not Content-Type: application/json (415).";

/// `switchboard`: a real-time messaging hub with an HTTP API and a demo page.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// TOML file with options (lower precedence than flags and environment).
    #[arg(long, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "SWITCHBOARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// URL path of the hub's WebSocket endpoint (long-polling at PATH/poll)
    /// [default: /ws]
    #[arg(long, env = "SWITCHBOARD_PATH", value_name = "PATH")]
    pub path: Option<String>,

    /// Key the HTTP API requires as `Authorization: Bearer KEY`; without
    /// one, the API answers loopback callers only [default: none]
    #[arg(
        long,
        env = "SWITCHBOARD_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,

    /// Browser origin allowed to connect, as scheme://host[:port], or `*`
    /// for any (repeatable); handshakes without an Origin header are always
    /// allowed [default: the server's own host only]
    #[arg(
        long,
        env = "SWITCHBOARD_ALLOW_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub allow_origin: Vec<String>,

    /// Rooms clients may `$join`, as a pattern: `*` any run of characters,
    /// `?` one character, case-sensitive (repeatable) [default: *]
    #[arg(
        long,
        env = "SWITCHBOARD_ROOMS",
        value_name = "GLOB",
        value_delimiter = ','
    )]
    pub rooms: Vec<String>,

    /// Most live connections; further handshakes get 503 [default: 100000]
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<String>,

    /// Largest client message, after decompression, e.g. 65536, 64KiB,
    /// 1MiB [default: 64KiB]
    #[arg(long, env = "SWITCHBOARD_MAX_MESSAGE_SIZE", value_name = "SIZE")]
    pub max_message_size: Option<String>,

    /// Interval between WebSocket pings, e.g. 25s, 500ms, 2m [default: 25s]
    #[arg(long, env = "SWITCHBOARD_PING_INTERVAL", value_name = "DURATION")]
    pub ping_interval: Option<String>,

    /// How long past the ping interval a silent connection is kept
    /// [default: 20s]
    #[arg(long, env = "SWITCHBOARD_PING_TIMEOUT", value_name = "DURATION")]
    pub ping_timeout: Option<String>,

    /// Negotiate permessage-deflate when a client offers it (true/false)
    /// [default: true]
    #[arg(long, env = "SWITCHBOARD_COMPRESSION", value_name = "BOOL")]
    pub compression: Option<String>,

    /// Log level or filter (error, warn, info, debug, trace, or a
    /// tracing filter such as `switchboard=debug`); when unset, RUST_LOG
    /// applies [default: info]
    #[arg(long, env = "SWITCHBOARD_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// How long a session whose link dropped waits for a resume, e.g. 120s,
    /// 5m; 0 turns resume off (PROTOCOL.md section 5) [default: 120s]
    #[arg(long, env = "SWITCHBOARD_RESUME_WINDOW", value_name = "DURATION")]
    pub resume_window: Option<String>,

    /// How long broadcast frames may wait to share one write with the next
    /// ones, e.g. 5ms, at most 1s; a reply or direct message is never held
    /// (see README "Tuning") [default: 0, off]
    #[arg(long, env = "SWITCHBOARD_BROADCAST_COALESCE", value_name = "DURATION")]
    pub broadcast_coalesce: Option<String>,

    // Resource bounds (issue 15): what one client can make the hub hold.
    /// Payload bytes kept per session for a resume, beside its last 1,000
    /// messages; the oldest are dropped past it [default: 1MiB]
    #[arg(long, env = "SWITCHBOARD_RESUME_BUFFER_BYTES", value_name = "SIZE")]
    pub resume_buffer_bytes: Option<String>,

    /// Most sessions waiting for a resume at once; past it the oldest end
    /// first (their resume gets a new session) [default: 10000]
    #[arg(long, env = "SWITCHBOARD_MAX_DETACHED_SESSIONS", value_name = "N")]
    pub max_detached_sessions: Option<String>,

    /// Bytes all sessions waiting for a resume may hold together (resume
    /// buffers and room memberships); past it the oldest end first
    /// [default: 128MiB]
    #[arg(long, env = "SWITCHBOARD_DETACHED_BUDGET", value_name = "SIZE")]
    pub detached_budget: Option<String>,

    /// Rooms one socket may be in through `$join`; further joins get the
    /// error `limit` [default: 1000]
    #[arg(long, env = "SWITCHBOARD_MAX_ROOMS_PER_SOCKET", value_name = "N")]
    pub max_rooms_per_socket: Option<String>,

    /// Long-polling sessions opened that have not sent their first GET yet
    /// (they take no connection slot); further opens get 503
    /// [default: 1000]
    #[arg(long, env = "SWITCHBOARD_MAX_PENDING_POLLS", value_name = "N")]
    pub max_pending_polls: Option<String>,

    /// How long a long-polling session may wait for its first GET before
    /// its link counts as dropped [default: 10s]
    #[arg(
        long,
        env = "SWITCHBOARD_PENDING_POLL_TIMEOUT",
        value_name = "DURATION"
    )]
    pub pending_poll_timeout: Option<String>,

    /// Join a cluster over Redis pub/sub at this URL
    /// (redis://[user:pass@]host:port[/db]) [default: no cluster]
    #[arg(
        long,
        env = "SWITCHBOARD_REDIS",
        value_name = "URL",
        hide_env_values = true,
        conflicts_with = "nats"
    )]
    pub redis: Option<String>,

    /// Join a cluster over NATS at this URL (nats://[user:pass@]host:port,
    /// or several servers separated by commas) [default: no cluster]
    #[arg(
        long,
        env = "SWITCHBOARD_NATS",
        value_name = "URL",
        hide_env_values = true
    )]
    pub nats: Option<String>,

    /// Channel prefix of the cluster: nodes with the same prefix on the same
    /// backend form one cluster [default: switchboard]
    #[arg(long, env = "SWITCHBOARD_CLUSTER_PREFIX", value_name = "NAME")]
    pub cluster_prefix: Option<String>,

    /// How long cluster-wide answers (room members, stats, kicks) wait for
    /// the other nodes [default: 1s]
    #[arg(long, env = "SWITCHBOARD_CLUSTER_TIMEOUT", value_name = "DURATION")]
    pub cluster_timeout: Option<String>,

    // ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).
    /// How long a connection may take to send a complete request head,
    /// from its accept or its previous answer, and then its body; slower
    /// ones are closed (slowloris) [default: 10s]
    #[arg(long, env = "SWITCHBOARD_HTTP_HEADER_TIMEOUT", value_name = "DURATION")]
    pub http_header_timeout: Option<String>,

    /// How long a keep-alive connection may wait for its next request
    /// [default: 5s]
    #[arg(long, env = "SWITCHBOARD_HTTP_IDLE_TIMEOUT", value_name = "DURATION")]
    pub http_idle_timeout: Option<String>,

    /// Most connections without a complete request (head and body); a new
    /// one over it, or running out of descriptors, closes the oldest of
    /// them; keep it under `ulimit -n` [default: 1024]
    #[arg(long, env = "SWITCHBOARD_HTTP_MAX_PENDING", value_name = "N")]
    pub http_max_pending: Option<String>,

    /// Largest request head (request line and headers), at least 8KiB; a
    /// larger one gets 431 and its connection is closed [default: 64KiB]
    #[arg(long, env = "SWITCHBOARD_HTTP_MAX_HEAD_SIZE", value_name = "SIZE")]
    pub http_max_head_size: Option<String>,

    /// Most live connections from one client address (IPv6: per /64);
    /// over it the handshake gets 429; 0 for no limit [default: 1000]
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_CONNECTIONS_PER_ADDRESS",
        value_name = "N"
    )]
    pub max_connections_per_address: Option<String>,

    /// Handshakes per second from one client address; over it 429 with
    /// Retry-After; 0 for no limit [default: 100]
    #[arg(long, env = "SWITCHBOARD_HANDSHAKE_RATE_PER_ADDRESS", value_name = "N")]
    pub handshake_rate_per_address: Option<String>,

    /// Handshakes one client address may make at once before its rate
    /// applies [default: 200]
    #[arg(
        long,
        env = "SWITCHBOARD_HANDSHAKE_BURST_PER_ADDRESS",
        value_name = "N"
    )]
    pub handshake_burst_per_address: Option<String>,

    /// Exempt loopback clients (127.0.0.0/8, ::1) from the per-address
    /// limits (true/false) [default: true]
    #[arg(long, env = "SWITCHBOARD_EXEMPT_LOOPBACK", value_name = "BOOL")]
    pub exempt_loopback: Option<String>,

    /// Proxy trusted to name the client in X-Forwarded-For or Forwarded,
    /// as an address or network (10.0.0.0/8, ::1) (repeatable)
    /// [default: none]
    #[arg(
        long,
        env = "SWITCHBOARD_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxy: Vec<String>,

    /// Most client addresses tracked for the per-address limits
    /// [default: 65536]
    #[arg(long, env = "SWITCHBOARD_MAX_TRACKED_ADDRESSES", value_name = "N")]
    pub max_tracked_addresses: Option<String>,

    /// The server's public origin (https://chat.example.com): browsers'
    /// same-host Origin checks compare with it instead of the request's
    /// Host [default: none]
    #[arg(long, env = "SWITCHBOARD_PUBLIC_ORIGIN", value_name = "ORIGIN")]
    pub public_origin: Option<String>,

    /// Host name the keyless HTTP API answers to, beside loopback
    /// addresses, localhost and the listen address (DNS rebinding guard)
    /// (repeatable) [default: none]
    #[arg(
        long,
        env = "SWITCHBOARD_ALLOW_HOST",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub allow_host: Vec<String>,
}

/// The clap command, for parsing with value sources and for `--help`.
pub fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn repeatable_options_collect() {
        let cli = Cli::try_parse_from([
            "switchboard",
            "--rooms",
            "a",
            "--rooms",
            "b,c",
            "--allow-origin",
            "*",
        ])
        .unwrap();
        assert_eq!(cli.rooms, ["a", "b", "c"]);
        assert_eq!(cli.allow_origin, ["*"]);
    }
}
