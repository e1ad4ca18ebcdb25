//! How an option is declared: its [`OptionSpec`], its [`DefaultValue`],
//! and the [`Source`] a value came from.

use std::path::PathBuf;

use self::DefaultValue::{Unset, Value, ValueShownAs};

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env,
    /// The config file at this path.
    File(PathBuf),
}

/// What an option is when no source sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value, parsed like a given one; `--help` shows it.
    Value(&'static str),
    /// This value (first), which `--help` shows in words (second).
    ValueShownAs(&'static str, &'static str),
    /// No value: the setting stays unset (or empty); `--help` says what
    /// that means.
    Unset(&'static str),
}

impl DefaultValue {
    /// The default value to parse, if any.
    pub fn value(&self) -> Option<&'static str> {
        match *self {
            Value(value) | ValueShownAs(value, _) => Some(value),
            Unset(_) => None,
        }
    }

    /// The default as `--help` shows it.
    pub fn shown(&self) -> &'static str {
        match *self {
            Value(shown) | ValueShownAs(_, shown) | Unset(shown) => shown,
        }
    }
}

/// One option's declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The config file key, also the clap argument id (`max_connections`).
    pub key: &'static str,
    /// The environment variable (`SWITCHBOARD_MAX_CONNECTIONS`).
    pub env: &'static str,
    /// The value's placeholder in `--help` (`N`).
    pub value_name: &'static str,
    /// What the option does, for `--help` (the default is appended).
    pub about: &'static str,
    /// What it is when unset.
    pub default: DefaultValue,
    /// Whether the option may be given several times (its environment
    /// variable then takes a comma-separated list).
    pub repeatable: bool,
    /// Whether a repeatable option's value is split at commas (`--rooms
    /// a,b`); false when a value may hold commas itself (its environment
    /// variable then takes one value).
    pub comma_separated: bool,
    /// Whether `--help` hides its environment variable's value.
    pub secret: bool,
    /// An option that may not be given with this one on the command line.
    pub conflicts_with: Option<&'static str>,
}

impl OptionSpec {
    pub(super) const fn one(
        key: &'static str,
        env: &'static str,
        value_name: &'static str,
        default: DefaultValue,
        about: &'static str,
    ) -> Self {
        Self {
            key,
            env,
            value_name,
            about,
            default,
            repeatable: false,
            comma_separated: false,
            secret: false,
            conflicts_with: None,
        }
    }

    pub(super) const fn many(
        key: &'static str,
        env: &'static str,
        value_name: &'static str,
        default: DefaultValue,
        about: &'static str,
    ) -> Self {
        Self {
            repeatable: true,
            comma_separated: true,
            ..Self::one(key, env, value_name, default, about)
        }
    }

    /// A repeatable option whose values are taken whole, commas included.
    pub(super) const fn whole_values(self) -> Self {
        Self {
            comma_separated: false,
            ..self
        }
    }

    pub(super) const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }

    pub(super) const fn conflicts_with(self, key: &'static str) -> Self {
        Self {
            conflicts_with: Some(key),
            ..self
        }
    }

    /// The flag, e.g. `--max-connections`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }

    /// The `--help` text: what it does and its default.
    pub fn help(&self) -> String {
        format!("{} [default: {}]", self.about, self.default.shown())
    }
}
