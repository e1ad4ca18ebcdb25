//! WebSocket connections: how many, message sizes and rates, pings, queues,
//! writes and compression.

use super::DefaultValue::{Unset, Value, ValueShownAs};
use super::OptionSpec;

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

/// `--compression`.
pub const COMPRESSION: OptionSpec = OptionSpec::one(
    "compression",
    "SWITCHBOARD_COMPRESSION",
    "BOOL",
    Value("true"),
    "Negotiate permessage-deflate when a client offers it (true/false)",
);

/// `--broadcast-coalesce`.
pub const BROADCAST_COALESCE: OptionSpec = OptionSpec::one(
    "broadcast_coalesce",
    "SWITCHBOARD_BROADCAST_COALESCE",
    "DURATION",
    Value("20ms"),
    "How long broadcast frames may wait to share one write with the next \
     ones, for a socket that gets broadcasts more often than that, at most \
     1s (0: off); a reply or direct message is never held (see README \
     \"Tuning\")",
);

/// `--max-rooms-per-socket`.
pub const MAX_ROOMS_PER_SOCKET: OptionSpec = OptionSpec::one(
    "max_rooms_per_socket",
    "SWITCHBOARD_MAX_ROOMS_PER_SOCKET",
    "N",
    Value("1000"),
    "Rooms one socket may be in through `$join`; further joins get the error `limit`",
);
