//! The error that stops start-up on a bad option, and how it names the
//! option and where its value came from.

use std::path::PathBuf;

use crate::options::{OptionSpec, Source};

/// A configuration problem that stops start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An option's value was refused by its parser.
    #[error("invalid value {value:?} for {flag}{from}: {reason}")]
    InvalidValue {
        /// The option's flag (`--max-connections`).
        flag: String,
        /// Where the value came from, as words to append (empty for a flag).
        from: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `--config` file could not be read.
    #[error("--config: cannot read {}: {reason}", path.display())]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The `--config` file is not a table of known options.
    #[error("config file {}: {problem}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        problem: String,
    },
    /// Any other problem: options that do not go together, or a cluster
    /// driver refusing its URL.
    #[error("{0}")]
    Other(String),
}

impl ConfigError {
    /// An [`Other`](Self::Other) error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self::Other(message.into())
    }

    /// A value of `option` from `source` that its parser refused.
    pub(super) fn invalid(option: &OptionSpec, source: &Source, value: &str, reason: &str) -> Self {
        let from = match source {
            Source::Flag => String::new(),
            Source::Env => format!(" (from environment variable {})", option.env),
            Source::File(path) => {
                format!(" (from key `{}` in {})", option.key, path.display())
            }
        };
        Self::InvalidValue {
            flag: option.flag(),
            from,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}
