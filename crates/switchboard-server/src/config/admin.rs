//! `--admin-password`, `--admin-password-file` and `--admin-session-ttl`:
//! whether the admin dashboard is served, and behind what (issue 21).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::raw::RawOptions;
use super::values::{optional, positive_duration, value};
use crate::options::{ADMIN_PASSWORD, ADMIN_PASSWORD_FILE, ADMIN_SESSION_TTL};

/// The shortest admin password taken, in characters.
pub const MIN_ADMIN_PASSWORD: usize = 12;

/// The admin dashboard's password. Its `Debug` hides it, so a logged
/// configuration never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminPassword(String);

impl AdminPassword {
    /// The password's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminPassword(<hidden>)")
    }
}

/// The admin dashboard's settings; absent when no password is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// The password of its login form.
    pub password: AdminPassword,
    /// How long a login lasts.
    pub session_ttl: Duration,
}

/// A password long enough (counted in characters).
fn checked(password: &str) -> Result<AdminPassword, String> {
    let length = password.chars().count();
    if length < MIN_ADMIN_PASSWORD {
        return Err(format!(
            "the admin password needs at least {MIN_ADMIN_PASSWORD} characters (this one has {length})"
        ));
    }
    Ok(AdminPassword(password.to_owned()))
}

/// The password in a file, trimmed of surrounding whitespace (a final
/// newline, say).
fn read_password_file(text: &str) -> Result<AdminPassword, String> {
    let path = PathBuf::from(text);
    let contents = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the password file: {e}"))?;
    checked(contents.trim())
}

/// The dashboard's settings of merged option values: one password source
/// at most.
pub(super) fn admin_settings(raw: &RawOptions) -> Result<Option<AdminSettings>, ConfigError> {
    // Not through `optional`: its error would quote the refused value.
    let given = match raw.get(&ADMIN_PASSWORD) {
        Some((values, _)) => Some(
            checked(values.last().map(String::as_str).unwrap_or_default()).map_err(|reason| {
                ConfigError::new(format!(
                    "invalid value for --admin-password (not shown): {reason}"
                ))
            })?,
        ),
        None => None,
    };
    let from_file = optional(raw, &ADMIN_PASSWORD_FILE, read_password_file)?;
    let session_ttl = value(raw, &ADMIN_SESSION_TTL, positive_duration)?;
    let password = match (given, from_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "give one of --admin-password and --admin-password-file",
            ));
        }
        (Some(password), None) | (None, Some(password)) => password,
        (None, None) => return Ok(None),
    };
    Ok(Some(AdminSettings {
        password,
        session_ttl,
    }))
}
