//! Test support shared by the workspace's tests and its load generator.
//!
//! - [`BackendServer`] starts a private `redis-server` or `nats-server` (with
//!   JetStream: [`BackendServer::start_jetstream`]) on a free port, can stop
//!   and restart it on the same port (to test a backend outage), and kills
//!   it when dropped. Tests never touch the machine's own
//!   Redis or NATS. When the binary is missing, [`BackendServer::start`]
//!   returns `None` after printing why, so the calling test can skip; with
//!   `CI=true` it panics, so a CI machine without the server fails instead
//!   of passing silently.
//! - [`WsClient`] is a plain JSON WebSocket client (tokio-tungstenite), not
//!   our own client, speaking PROTOCOL.md by hand; [`RawWsClient`] writes
//!   frames byte by byte for what a library client refuses to send;
//!   [`TextWsClient`] returns its failures instead of failing the test and
//!   hands back raw text frames (for the load generator); [`PollClient`] is
//!   a long-polling session (PROTOCOL.md section 6).
//! - [`http`] and [`raw_handshake`] speak HTTP/1.1 by hand (exact statuses
//!   and headers, refused upgrades); [`within`] and [`eventually`] bound
//!   every wait of a test.
//! - [`cluster`] holds the scenarios every cluster backend must pass, so the
//!   memory bus, Redis and NATS run the very same checks; [`namespaces`]
//!   the scenario of several hubs per node.
//! - [`history_store`] holds the conformance checks of a room history
//!   store, which the memory bus, Redis and NATS JetStream all run.
//! - [`Balancer`] is a TCP load balancer for chaos tests: round-robin or
//!   pinned upstreams, every connection cut at once, a dead upstream
//!   removed; with one upstream, a link to pause and resume (a node cut
//!   off its backend while the backend stays up).
//! - [`TestPki`] makes a private CA and a server certificate for
//!   `localhost` and `127.0.0.1` for one test run (TLS tests).

mod balancer;
pub mod cluster;
pub mod history_store;
mod http;
pub mod namespaces;
mod poll_client;
mod raw_ws;
mod text_ws_client;
mod tls;
mod tokens;
mod wait;
mod ws_client;

pub use balancer::Balancer;
pub use http::{HttpResponse, get, http, http_json, raw_handshake, try_http, try_http_json};
pub use poll_client::{POLL_PATH, PollClient};
pub use raw_ws::RawWsClient;
pub use text_ws_client::{TextWsClient, TextWsError};
pub use tls::{TestPki, TlsFiles};
pub use tokens::hs256_token;
pub use wait::{WAIT, eventually, eventually_async, within};
pub use ws_client::{Ended, WsClient, WsStream, reset};

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Which backend to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `redis-server`.
    Redis,
    /// `nats-server`.
    Nats,
}

impl Backend {
    fn binary(self) -> &'static str {
        match self {
            Backend::Redis => "redis-server",
            Backend::Nats => "nats-server",
        }
    }

    /// The URL scheme clients use.
    pub fn scheme(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Nats => "nats",
        }
    }
}

/// A private backend server process on a free loopback port.
#[derive(Debug)]
pub struct BackendServer {
    backend: Backend,
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
    /// For a NATS server with JetStream: its store directory (removed on
    /// drop; kept across [`BackendServer::restart`]).
    jetstream_dir: Option<PathBuf>,
}

/// Finds `name` on `PATH` or in the sbin directories Debian installs to.
fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A free loopback port never handed out before in this process: a
/// server stopped for an outage keeps its port to restart on, and another
/// test of the same binary must not take it meanwhile.
fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free loopback port");
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// Whether a missing tool must fail the test (CI) rather than skip it.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl BackendServer {
    /// Starts the server on a free port and waits until it accepts
    /// connections. `None` (after printing why) when the binary is missing
    /// outside CI; panics when it is missing with `CI=true` or when it does
    /// not come up.
    pub async fn start(backend: Backend) -> Option<Self> {
        let Some(binary) = find_binary(backend.binary()) else {
            let why = format!(
                "{} not found on PATH (Debian: apt-get install {}); cluster test skipped",
                backend.binary(),
                backend.binary()
            );
            if required() {
                panic!("CI=true: {why}");
            }
            #[allow(clippy::print_stderr, reason = "a skipped test says why")]
            {
                eprintln!("SKIP: {why}");
            }
            return None;
        };
        let port = free_port();
        // NATS runs with JetStream (room history keeps its rooms there),
        // its store in a fresh directory removed when the server drops.
        let jetstream_dir = (backend == Backend::Nats).then(|| {
            let dir = std::env::temp_dir().join(format!(
                "switchboard-jetstream-{}-{port}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            dir
        });
        let mut server = Self {
            backend,
            binary,
            port,
            child: None,
            jetstream_dir,
        };
        server.spawn().await;
        Some(server)
    }

    /// A `nats-server` without JetStream (a backend that keeps no room
    /// history), for the tests of that case.
    pub async fn start_nats_without_jetstream() -> Option<Self> {
        let mut server = Self::start(Backend::Nats).await?;
        server.stop().await;
        if let Some(dir) = server.jetstream_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        server.spawn().await;
        Some(server)
    }

    /// [`BackendServer::start`] for a `nats-server`: every NATS test
    /// server runs with JetStream (which room history needs), so this is
    /// the same; kept for the tests that say what they need.
    pub async fn start_jetstream() -> Option<Self> {
        Self::start(Backend::Nats).await
    }

    /// The URL clients connect to, e.g. `redis://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.backend.scheme(), self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Kills the process (an outage: clients see their connections drop)
    /// and waits until the port refuses connections.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    /// Starts the process again on the same port, and waits until it
    /// accepts connections.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut command = Command::new(&self.binary);
        match self.backend {
            Backend::Redis => {
                command.args([
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]);
            }
            Backend::Nats => {
                command.args(["-a", "127.0.0.1", "-p", &port]);
                if let Some(dir) = &self.jetstream_dir {
                    command.arg("-js").arg("-sd").arg(dir);
                }
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        // Wait for the port to accept connections: an event, bounded.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited at start ({status}); port {} taken?",
                    self.backend.binary(),
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not accept connections on port {} within 10 s",
                self.backend.binary(),
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for BackendServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if let Some(dir) = &self.jetstream_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
