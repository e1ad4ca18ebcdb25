//! The admin dashboard at `/admin` (issue 21): off unless a password is
//! given, and how long its sessions last.

use super::DefaultValue::{Unset, Value};
use super::OptionSpec;

/// `--admin-password`.
pub const ADMIN_PASSWORD: OptionSpec = OptionSpec::one(
    "admin_password",
    "SWITCHBOARD_ADMIN_PASSWORD",
    "PASSWORD",
    Unset("none: no dashboard"),
    "Serve the admin dashboard at /admin behind this password (at least 12 \
     characters); prefer --admin-password-file, which keeps it out of the \
     process list",
)
.secret()
.conflicts_with("admin_password_file");

/// `--admin-password-file`.
pub const ADMIN_PASSWORD_FILE: OptionSpec = OptionSpec::one(
    "admin_password_file",
    "SWITCHBOARD_ADMIN_PASSWORD_FILE",
    "FILE",
    Unset("none"),
    "Read the admin dashboard's password from this file (surrounding \
     whitespace trimmed)",
);

/// `--admin-session-ttl`.
pub const ADMIN_SESSION_TTL: OptionSpec = OptionSpec::one(
    "admin_session_ttl",
    "SWITCHBOARD_ADMIN_SESSION_TTL",
    "DURATION",
    Value("8h"),
    "How long an admin dashboard login lasts (its cookie's Max-Age)",
);
