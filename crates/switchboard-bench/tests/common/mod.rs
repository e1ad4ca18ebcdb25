//! Test support: a hub served in this process on 127.0.0.1:0, and the
//! workloads' options parsed as on the command line.
#![allow(dead_code, unreachable_pub)]

use clap::Parser;
use switchboard::Hub;
use tokio::net::TcpListener;

/// A hub serving WebSocket at `/` (long-polling at `/poll`) on a free
/// loopback port; returns its URL.
pub async fn start_hub() -> (Hub, String) {
    start_hub_with(Hub::builder()).await
}

/// As [`start_hub`], with the hub built from `builder`.
pub async fn start_hub_with(builder: switchboard::HubBuilder) -> (Hub, String) {
    let hub = builder.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let serving = hub.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    (hub, url)
}

/// Parses a workload's options from `line`.
pub fn parse<A: clap::Args>(line: &[&str]) -> A {
    #[derive(Parser)]
    struct Cli<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    Cli::<A>::parse_from(std::iter::once("bench").chain(line.iter().copied())).args
}

/// The built generator, for runs with worker processes.
pub const BENCH_EXE: &str = env!("CARGO_BIN_EXE_switchboard-bench");

/// The built Socket.IO peer server (`socketioxide`), for `--spawn-hub`
/// with `--protocol socketio`.
pub const PEER_EXE: &str = env!("CARGO_BIN_EXE_switchboard-bench-sio-peer");
