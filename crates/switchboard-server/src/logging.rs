//! Logs through `tracing` to stderr (stdout carries the start-up lines).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: `level` (from `--log-level`) when set,
/// else `RUST_LOG`, else `info`.
pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
