//! `switchboard-bench-sio-peer`: the peer server the load generator
//! compares Switchboard with. A Socket.IO server built the way a
//! `socketioxide` user builds one (its layer on an axum router, a
//! multi-thread Tokio runtime, the crate's defaults), doing for the
//! connection workloads what the standalone `switchboard` server does:
//!
//! - `join`, data a room name (`"room"` or `{"room":"room"}`): joins the
//!   socket to the room; acked with `{"room":…}`;
//! - `relay`, data `{"room":…,"data":…}`: emits `msg` with `data` to every
//!   other socket in the room (Switchboard's relay); acked with `null` once
//!   it has been queued to them;
//! - `echo`, any data or none: acked at once with the same data.
//!
//! It serves Socket.IO at `/socket.io/` (WebSocket and polling, as
//! socketioxide does; the generator uses WebSocket alone), with
//! `TCP_NODELAY` on every accepted connection as the `switchboard` server
//! has, and prints one line, `socket.io peer (WebSocket) at
//! ws://ADDR/socket.io/`, in the form the generator's `--spawn-hub` reads.
//! SIGTERM or Ctrl-C closes every socket and exits.
//!
//! ```sh
//! switchboard-bench-sio-peer --listen 127.0.0.1:3000
//! switchboard-bench fanout --url ws://127.0.0.1:3000/socket.io/ --protocol socketio
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::serve::ListenerExt;
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::handler::ConnectHandler as _;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// The path socketioxide serves (its default).
const PATH: &str = "/socket.io/";
/// How long closing the sockets may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A Socket.IO peer server (socketioxide) for switchboard-bench's
/// `--protocol socketio`: events `join`, `relay` (broadcast as `msg` to
/// the room's other members) and `echo`, each acked.
#[derive(Debug, Parser)]
#[command(
    name = "switchboard-bench-sio-peer",
    version,
    args_override_self = true
)]
struct Cli {
    /// Address to listen on (port 0: a free one; the start-up line says
    /// which)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Log filter, e.g. `warn` or `debug` (the peer's own logs) [default: RUST_LOG,
    /// else warn]
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,

    /// Worker threads of the Tokio runtime [default: Tokio's, one per CPU
    /// the process may run on, so 1 when pinned to one CPU]
    #[arg(long, value_name = "N")]
    worker_threads: Option<usize>,

    /// Engine.IO ping interval, milliseconds [default: socketioxide's,
    /// 25000]
    #[arg(long, value_name = "MS")]
    ping_interval_ms: Option<u64>,

    /// How long a pong may take before the client is dropped,
    /// milliseconds [default: socketioxide's, 20000]
    #[arg(long, value_name = "MS")]
    ping_timeout_ms: Option<u64>,

    /// Packets each socket may have queued; a message to a socket whose
    /// queue is full is dropped for it [default: socketioxide's, 128]
    #[arg(long, value_name = "N")]
    max_buffer_size: Option<usize>,
}

/// Why the peer stopped.
#[derive(Debug, thiserror::Error)]
enum PeerError {
    /// `--log-level` is not a valid filter.
    #[error("bad --log-level: {0}")]
    LogLevel(#[from] tracing_subscriber::filter::ParseError),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// `--listen`.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// `join`'s data: a room name, or `{"room": name}` (Switchboard's form).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JoinData {
    /// `"room"`.
    Name(String),
    /// `{"room":"room"}`.
    Object {
        /// The room.
        room: String,
    },
}

/// `join`'s ack.
#[derive(Debug, Serialize)]
struct Joined {
    /// The room joined.
    room: String,
}

/// `relay`'s data.
#[derive(Debug, Deserialize)]
struct Relay {
    /// The room to broadcast to (the sender left out).
    room: String,
    /// What to broadcast, as `msg`'s data.
    data: Value,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            #[allow(clippy::print_stderr, reason = "the binary reports its own failure")]
            {
                eprintln!("switchboard-bench-sio-peer: {error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), PeerError> {
    let filter = match &cli.log_level {
        Some(level) => EnvFilter::try_new(level)?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.worker_threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime.enable_all().build().map_err(PeerError::Runtime)?;
    runtime.block_on(serve(cli))
}

/// The Socket.IO instance with the peer's handlers, and its layer.
fn socket_io(cli: &Cli) -> (socketioxide::layer::SocketIoLayer, SocketIo) {
    let mut builder = SocketIo::builder();
    if let Some(ms) = cli.ping_interval_ms {
        builder = builder.ping_interval(Duration::from_millis(ms));
    }
    if let Some(ms) = cli.ping_timeout_ms {
        builder = builder.ping_timeout(Duration::from_millis(ms));
    }
    if let Some(size) = cli.max_buffer_size {
        builder = builder.max_buffer_size(size);
    }
    let (layer, io) = builder.build_layer();
    io.ns("/", on_connect.with(register_events));
    (layer, io)
}

/// Registers the peer's event handlers, as a connect middleware: it runs
/// before socketioxide sends the connect's answer (`40{"sid":…}`), whereas
/// the connect handler runs in a task of its own spawned after it, so a
/// client that emits as soon as it is connected (the generator's clients
/// send `join` at once) could otherwise be read before the handlers exist,
/// and its event dropped without a word.
async fn register_events(socket: SocketRef) -> Result<(), Infallible> {
    socket.on("join", on_join);
    socket.on("relay", on_relay);
    socket.on("echo", on_echo);
    Ok(())
}

/// The connect handler socketioxide requires: nothing left to do.
async fn on_connect(_socket: SocketRef) {}

async fn on_join(socket: SocketRef, Data(data): Data<JoinData>, ack: AckSender) {
    let room = match data {
        JoinData::Name(room) | JoinData::Object { room } => room,
    };
    socket.join(room.clone());
    if let Err(error) = ack.send(&Joined { room }) {
        tracing::debug!(%error, "cannot ack a join");
    }
}

async fn on_relay(socket: SocketRef, Data(relay): Data<Relay>, ack: AckSender) {
    if let Err(error) = socket.to(relay.room).emit("msg", &relay.data).await {
        // Sockets whose queue was full (or that were closing) miss it.
        tracing::debug!(%error, "a relay did not reach every member");
    }
    if let Err(error) = ack.send(&()) {
        tracing::debug!(%error, "cannot ack a relay");
    }
}

async fn on_echo(TryData(data): TryData<Value>, ack: AckSender) {
    // `42<id>["echo"]` has no data to read (what `socket.emit("echo",
    // callback)` sends): acked without any.
    let sent = match data {
        Ok(data) => ack.send(&data),
        Err(_) => ack.send(&()),
    };
    if let Err(error) = sent {
        tracing::debug!(%error, "cannot ack an echo");
    }
}

async fn serve(cli: Cli) -> Result<(), PeerError> {
    let (layer, io) = socket_io(&cli);
    let listener = TcpListener::bind(cli.listen)
        .await
        .map_err(|source| PeerError::Listen {
            addr: cli.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(PeerError::Serve)?;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    let app = axum::Router::new()
        .fallback(|| async { http::StatusCode::NOT_FOUND })
        .layer(layer);
    let shutdown = shutdown_signal()?;
    #[allow(
        clippy::print_stdout,
        reason = "the start-up line is the binary's output"
    )]
    {
        println!("socket.io peer (WebSocket) at ws://{addr}{PATH}");
    }
    tokio::select! {
        served = axum::serve(listener, app) => served.map_err(PeerError::Serve),
        () = shutdown => {
            tracing::info!("signal received: closing every socket");
            if tokio::time::timeout(CLOSE_TIMEOUT, io.close()).await.is_err() {
                tracing::warn!("the sockets did not all close within {CLOSE_TIMEOUT:?}");
            }
            Ok(())
        }
    }
}

/// Resolves on the first SIGTERM or Ctrl-C (both listened to from now on).
fn shutdown_signal() -> Result<impl Future<Output = ()>, PeerError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(PeerError::Serve)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(PeerError::Serve)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
