//! The Switchboard load generator, as a library behind the
//! `switchboard-bench` binary.
//!
//! Each workload is a module with its own `Args` (a clap subcommand), a
//! `measure` that returns its report and a `run` that prints it; the
//! binary only dispatches. Pieces any workload can use live beside them:
//! - [`clock`]: `CLOCK_MONOTONIC` timestamps, comparable across processes;
//! - [`histogram`]: latency histograms (microseconds), their summary, and
//!   their counts for sending between processes;
//! - [`sequence`]: loss, duplicate and reorder accounting of numbered
//!   messages;
//! - [`cpu`]: CPU time of this process or another (the hub), to see
//!   whether the generator is the limit;
//! - [`lean`]: a minimal WebSocket client for high receive rates, speaking
//!   Switchboard's protocol or (`--protocol socketio`) Socket.IO, to
//!   measure the `socketioxide` peer server `switchboard-bench-sio-peer`
//!   (`src/bin/sio_peer.rs`) with the same workloads;
//! - [`stamp`]: stamped messages and reading their stamps back;
//! - [`schedule`], [`publisher`]: the open-loop publisher;
//! - [`deliveries`]: what receivers of stamped messages saw;
//! - [`workers`]: spreading connections over worker processes;
//! - [`hub_under_test`]: the hub under test (`--url` or `--spawn-hub`);
//! - [`tokens`]: clients that authenticate, each with a token of its own
//!   (`--token-hmac-secret`);
//! - [`phases`]: the setup bound and the drain at the end of a run;
//! - [`room_fanout`]: the runner `fanout` and `poll-fanout` share (plan,
//!   schedule, deliveries, report), each bringing its receivers' transport;
//! - [`options`], [`progress`], [`report`], [`sys`]: generator options,
//!   live progress, report helpers, CPU pinning and file limits.
//!
//! Workloads: [`cluster_latency`] (the added latency of a cross-node
//! delivery over a local one), [`fanout`] (one publisher, many receivers),
//! [`echo`] (round trips), [`idle`] (memory per idle connection),
//! [`handshake`] (sessions opened per second), [`poll_fanout`]
//! (fan-out to long-polling clients), [`token_verify`] (the hub's token
//! check per handshake, without sockets).

pub mod clock;
pub mod cluster_latency;
pub mod cpu;
pub mod deliveries;
pub mod echo;
pub mod error;
pub mod fanout;
pub mod handshake;
pub mod histogram;
pub mod hub_under_test;
pub mod idle;
pub mod lean;
pub mod options;
pub mod phases;
pub mod poll_fanout;
pub mod progress;
pub mod publisher;
pub mod report;
pub mod room_fanout;
pub mod schedule;
pub mod sequence;
pub mod session_move;
pub mod stamp;
pub mod sys;
pub mod token_verify;
pub mod tokens;
pub mod workers;

pub use error::{Error, Result};
