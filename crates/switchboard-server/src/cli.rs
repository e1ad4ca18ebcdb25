//! The command line: every option of [`crate::options::OPTIONS`] as a
//! flag, with its environment variable, plus `--config`.
//!
//! Values are kept as text here; [`crate::config`] merges them with the
//! config file and parses them, so that an error can say where a bad value
//! came from.

use std::path::PathBuf;

use clap::{Arg, ArgAction, Command, value_parser};

use crate::options::{OPTIONS, OptionSpec};

const AFTER_HELP: &str = "\
Precedence: flags, then SWITCHBOARD_* environment variables, then the TOML
file given by --config (keys are the option names in snake_case, e.g.
max_message_size = \"1MiB\", rooms = [\"lobby\", \"team-*\"]), then defaults.
Repeatable options take a comma-separated list in their environment variable
(--proxy-header: one header).

Durations: 500ms, 25s, 2m, 1h, 1m30s. Sizes: 65536, 64KiB, 1MiB (also KB/MB =
powers of 1000). Booleans: true/false, yes/no, on/off, 1/0.

Without --api-key the HTTP API (/api/...) answers loopback callers only, and
refuses requests with an Origin not allowed by --allow-origin (403), a Host
other than loopback, localhost, the listen address or --allow-host (421), and
bodies that are not Content-Type: application/json (415).";

/// The clap command of `switchboard`, for parsing with value sources and
/// for `--help`.
pub fn command() -> Command {
    let config = Arg::new("config")
        .long("config")
        .env("SWITCHBOARD_CONFIG")
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf))
        .action(ArgAction::Set)
        .help("TOML file with options (lower precedence than flags and environment)");
    Command::new("switchboard")
        .version(env!("CARGO_PKG_VERSION"))
        .about(env!("CARGO_PKG_DESCRIPTION"))
        .after_help(AFTER_HELP)
        .arg(config)
        .args(OPTIONS.iter().map(option_arg))
        .subcommand(crate::token_command::command())
        .args_conflicts_with_subcommands(true)
}

/// The flag of one option, with its environment variable and help.
fn option_arg(option: &OptionSpec) -> Arg {
    let mut arg = Arg::new(option.key)
        .long(option.key.replace('_', "-"))
        .env(option.env)
        .value_name(option.value_name)
        .value_parser(value_parser!(String))
        .help(option.help())
        .hide_env_values(option.secret);
    arg = if option.repeatable && option.comma_separated {
        arg.action(ArgAction::Append).value_delimiter(',')
    } else if option.repeatable {
        arg.action(ArgAction::Append)
    } else {
        arg.action(ArgAction::Set)
    };
    // A boolean given bare (`--allow-anonymous`) is true.
    if option.value_name == "BOOL" {
        arg = arg.num_args(0..=1).default_missing_value("true");
    }
    if let Some(other) = option.conflicts_with {
        arg = arg.conflicts_with(other);
    }
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn repeatable_options_collect() {
        let matches = command()
            .try_get_matches_from([
                "switchboard",
                "--rooms",
                "a",
                "--rooms",
                "b,c",
                "--allow-origin",
                "*",
            ])
            .unwrap();
        let values = |id: &str| -> Vec<String> {
            matches.get_many::<String>(id).unwrap().cloned().collect()
        };
        assert_eq!(values("rooms"), ["a", "b", "c"]);
        assert_eq!(values("allow_origin"), ["*"]);
    }
}
