//! Option values as written, before parsing: from the command line and the
//! environment (through clap), and from a TOML config file.

use std::collections::BTreeMap;
use std::path::Path;

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::error::ConfigError;
use crate::options::{OPTIONS, OptionSpec, Source};

/// Option values as written, before parsing, each with its source.
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    values: BTreeMap<&'static str, (Vec<String>, Source)>,
}

impl RawOptions {
    /// Sets an option's values, replacing any from a lower source.
    pub fn set(&mut self, option: &OptionSpec, values: Vec<String>, source: Source) {
        self.values.insert(option.key, (values, source));
    }

    /// Lays `higher` over `self`: its values win.
    pub fn overlay(mut self, higher: RawOptions) -> Self {
        self.values.extend(higher.values);
        self
    }

    /// An option's values and their source, if any source set it.
    pub(super) fn get(&self, option: &OptionSpec) -> Option<(&[String], &Source)> {
        self.values
            .get(option.key)
            .map(|(values, source)| (values.as_slice(), source))
    }

    /// The options clap found on the command line or in the environment.
    pub fn from_matches(matches: &ArgMatches) -> Self {
        let mut raw = Self::default();
        for option in &OPTIONS {
            let source = match matches.value_source(option.key) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                _ => continue,
            };
            let values: Vec<String> = matches
                .get_many::<String>(option.key)
                .map(|v| v.cloned().collect())
                .unwrap_or_default();
            raw.set(option, values, source);
        }
        raw
    }

    /// The options of a TOML config file.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file_error = |message: String| ConfigError::BadFile {
            path: path.to_owned(),
            problem: message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(format!("not valid TOML: {}", e.message())))?;
        let mut raw = Self::default();
        for (key, value) in &table {
            let Some(option) = OPTIONS.iter().find(|o| o.key == key) else {
                let known: Vec<&str> = OPTIONS.iter().map(|o| o.key).collect();
                return Err(file_error(format!(
                    "unknown key `{key}` (known keys: {})",
                    known.join(", ")
                )));
            };
            let scalar = |value: &toml::Value| match value {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(file_error(format!(
                    "key `{key}`: expected a string, number or boolean, not {}",
                    other.type_str()
                ))),
            };
            let values = match value {
                toml::Value::Array(items) if option.repeatable => {
                    items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?
                }
                toml::Value::Array(_) => {
                    return Err(file_error(format!(
                        "key `{key}`: expected one value, not an array"
                    )));
                }
                other => vec![scalar(other)?],
            };
            raw.set(option, values, Source::File(path.to_owned()));
        }
        Ok(raw)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::UnreadableFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text, path)
    }
}
