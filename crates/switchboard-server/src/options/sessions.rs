//! Sessions beyond one link: resume (how long and how much a dropped session
//! keeps) and long-polling.

use super::DefaultValue::{Value, ValueShownAs};
use super::OptionSpec;

/// `--resume-window`.
pub const RESUME_WINDOW: OptionSpec = OptionSpec::one(
    "resume_window",
    "SWITCHBOARD_RESUME_WINDOW",
    "DURATION",
    Value("120s"),
    "How long a session whose link dropped waits for a resume, e.g. 120s, \
     5m; 0 turns resume off (PROTOCOL.md section 5)",
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
