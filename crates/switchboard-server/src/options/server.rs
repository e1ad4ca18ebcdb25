//! The server process: where it listens, its log and its shutdown.

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

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

/// `--shutdown-timeout`.
pub const SHUTDOWN_TIMEOUT: OptionSpec = OptionSpec::one(
    "shutdown_timeout",
    "SWITCHBOARD_SHUTDOWN_TIMEOUT",
    "DURATION",
    Value("10s"),
    "On Ctrl-C or SIGTERM, how long connections get to close (1001) before \
     the rest are dropped and the server exits",
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
