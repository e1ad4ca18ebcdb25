//! Who may use the server: the API key, browser origins and host names, and
//! the rooms clients may join.

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

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

/// `--presence`.
pub const PRESENCE: OptionSpec = OptionSpec::many(
    "presence",
    "SWITCHBOARD_PRESENCE",
    "GLOB",
    Unset("no room"),
    "Rooms that keep presence, as a pattern like --rooms (repeatable): \
     members may ask who is in them (`$presence`) and hear `$joined` / \
     `$left`; also GET /api/rooms/{room}/presence",
);

/// `--history`.
pub const HISTORY: OptionSpec = OptionSpec::many(
    "history",
    "SWITCHBOARD_HISTORY",
    "GLOB",
    Unset("no room"),
    "Rooms that keep history, as a pattern like --rooms (repeatable): their \
     messages carry an `offset`, `$join` answers the room's epoch and offset \
     and recovers with `since` (PROTOCOL.md section 11); kept in memory, or \
     in the cluster's backend; also GET /api/rooms/{room}/history",
);

/// `--history-size`.
pub const HISTORY_SIZE: OptionSpec = OptionSpec::one(
    "history_size",
    "SWITCHBOARD_HISTORY_SIZE",
    "N",
    Value("100"),
    "Last messages each --history room keeps",
);

/// `--history-ttl`.
pub const HISTORY_TTL: OptionSpec = OptionSpec::one(
    "history_ttl",
    "SWITCHBOARD_HISTORY_TTL",
    "DURATION",
    Value("5m"),
    "How long a --history room keeps each message; a room whose messages \
     all expired starts a new epoch",
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
