//! The error that stops start-up on a bad option, and how it names the
//! option and where its value came from.

use std::fmt;

use crate::options::{OptionSpec, Source};

/// A configuration problem that stops start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub(super) fn invalid(option: &OptionSpec, source: &Source, value: &str, reason: &str) -> Self {
        let from = match source {
            Source::Flag => String::new(),
            Source::Env => format!(" (from environment variable {})", option.env),
            Source::File(path) => {
                format!(" (from key `{}` in {})", option.key, path.display())
            }
        };
        Self(format!(
            "invalid value {value:?} for {}{from}: {reason}",
            option.flag()
        ))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
