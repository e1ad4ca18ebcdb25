//! The application's back end: the URLs the server calls over HTTP to let
//! an application decide connects, joins and relays, answer events and
//! hear of disconnects (PROTOCOL.md section 10).

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

/// `--proxy-connect`.
pub const PROXY_CONNECT: OptionSpec = OptionSpec::one(
    "proxy_connect",
    "SWITCHBOARD_PROXY_CONNECT",
    "URL",
    Unset("none"),
    "POST each handshake (after the token check) to this URL as JSON; its \
     answer grants the user, info and rooms as token claims do, or refuses \
     with 403",
);

/// `--proxy-join`.
pub const PROXY_JOIN: OptionSpec = OptionSpec::one(
    "proxy_join",
    "SWITCHBOARD_PROXY_JOIN",
    "URL",
    Unset("none"),
    "POST each `$join` that --rooms (or the token) allows to this URL; `{}` \
     allows it, `{\"error\":{...}}` refuses it",
);

/// `--proxy-publish`.
pub const PROXY_PUBLISH: OptionSpec = OptionSpec::one(
    "proxy_publish",
    "SWITCHBOARD_PROXY_PUBLISH",
    "URL",
    Unset("none"),
    "POST each relay to a room that the membership and token rules allow \
     to this URL; `{}` relays it, `{\"data\":...}` relays that data \
     instead, `{\"error\":{...}}` refuses it",
);

/// `--proxy-event`.
pub const PROXY_EVENT: OptionSpec = OptionSpec::one(
    "proxy_event",
    "SWITCHBOARD_PROXY_EVENT",
    "URL",
    Unset("none: such events get `no_handler`"),
    "POST each client event without a room to this URL; `{\"data\":...}` is \
     the reply to its ack, `{\"error\":{...}}` its error",
);

/// `--proxy-disconnect`.
pub const PROXY_DISCONNECT: OptionSpec = OptionSpec::one(
    "proxy_disconnect",
    "SWITCHBOARD_PROXY_DISCONNECT",
    "URL",
    Unset("none"),
    "POST each session's end to this URL (its answer is not read)",
);

/// `--proxy-timeout`.
pub const PROXY_TIMEOUT: OptionSpec = OptionSpec::one(
    "proxy_timeout",
    "SWITCHBOARD_PROXY_TIMEOUT",
    "DURATION",
    Value("5s"),
    "Longest back-end call, from connecting to the end of its answer; a \
     slower one gives the client the error `unavailable` (a handshake: 503)",
);

/// `--proxy-header`.
pub const PROXY_HEADER: OptionSpec = OptionSpec::many(
    "proxy_header",
    "SWITCHBOARD_PROXY_HEADER",
    "NAME: VALUE",
    Unset("none"),
    "Header sent with every back-end call, e.g. a shared secret \
     (repeatable; a value may hold commas, so the environment variable \
     takes one header)",
)
.secret()
.whole_values();

/// `--proxy-forward-header`.
pub const PROXY_FORWARD_HEADER: OptionSpec = OptionSpec::many(
    "proxy_forward_header",
    "SWITCHBOARD_PROXY_FORWARD_HEADER",
    "NAME",
    Unset("none"),
    "Handshake header passed to --proxy-connect in `headers`, beside \
     Cookie, Authorization, User-Agent and Origin (repeatable)",
);
