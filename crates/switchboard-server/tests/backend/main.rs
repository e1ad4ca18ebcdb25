//! The application's back end over HTTP (PROTOCOL.md section 10, issue 18):
//! the server started in-process with `--proxy-*` pointing at a fake back
//! end (an axum app on 127.0.0.1:0, `fake.rs`), clients over real sockets.
//!
//! One test binary; one module per concern: what each hook decides
//! (`hooks`), a back end that fails (`failures`), and the order and
//! concurrency of calls (`ordering`).

#[path = "../common/mod.rs"]
mod common;
mod fake;

mod failures;
mod hooks;
mod ordering;

use switchboard_server::Config;
use switchboard_server::config::RawOptions;
use switchboard_server::options::{OptionSpec, Source};

/// A server configuration of these options (as flags).
pub fn config(options: &[(OptionSpec, &[&str])]) -> Config {
    let mut raw = RawOptions::default();
    for (option, values) in options {
        let values = values.iter().map(|v| v.to_string()).collect();
        raw.set(option, values, Source::Flag);
    }
    Config::resolve(&raw).expect("a valid configuration")
}

/// The `/metrics` line of this sample's value.
pub async fn metric(addr: std::net::SocketAddr, sample: &str) -> Option<u64> {
    let text = common::get(addr, "/metrics").await.text();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
}
