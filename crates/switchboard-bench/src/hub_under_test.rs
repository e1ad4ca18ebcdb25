//! The hub under test: a running server (`--url`), or the standalone
//! server binary started for the run (`--spawn-hub`) on a free loopback
//! port, optionally pinned with `taskset -c`; the protocol it speaks
//! (`--protocol`: Switchboard's, or Socket.IO for the `socketioxide` peer
//! `switchboard-bench-sio-peer`, which prints its URL the same way); and
//! whether its clients authenticate (`--token-hmac-secret`, see
//! [`crate::tokens`]).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::{Error, Result};
use crate::lean::{Endpoint, Protocol};
use crate::tokens::{Minter, TokenArgs};

/// How long a spawned hub may take to print where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a spawned hub may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Which hub to measure.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HubUnderTestArgs {
    /// WebSocket URL of a running hub, e.g. ws://127.0.0.1:8080/ws (the
    /// standalone server serves at /ws; the Socket.IO peer at /socket.io/)
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "spawn_hub",
        conflicts_with = "spawn_hub"
    )]
    pub url: Option<String>,

    /// Start this `switchboard` server binary (or the Socket.IO peer
    /// `switchboard-bench-sio-peer`, with --protocol socketio) for the run,
    /// on a free loopback port (--listen 127.0.0.1:0), and stop it
    /// afterwards
    #[arg(long, value_name = "PATH")]
    pub spawn_hub: Option<PathBuf>,

    /// Pin the spawned hub to these CPUs with `taskset -c` (e.g. 0)
    /// [default: every online CPU, whatever --cpus pins the generator to]
    #[arg(long, value_name = "CPUS", requires = "spawn_hub")]
    pub hub_cpus: Option<String>,

    /// One more argument for the spawned hub (repeatable), e.g.
    /// --hub-arg=--max-connections=200000
    #[arg(
        long = "hub-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "spawn_hub"
    )]
    pub hub_args: Vec<String>,

    /// Process id of the hub at --url, to read its CPU use (and, for
    /// `idle`, its memory)
    #[arg(long, value_name = "PID", conflicts_with = "spawn_hub")]
    pub hub_pid: Option<u32>,

    /// The hub's protocol: `switchboard`, or `socketio` (Socket.IO 5 over
    /// WebSocket only, e.g. the `socketioxide` peer
    /// switchboard-bench-sio-peer; the URL gets ?EIO=4&transport=websocket)
    #[arg(long, value_enum, value_name = "PROTOCOL", default_value_t = Protocol::Switchboard)]
    pub protocol: Protocol,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub tokens: TokenArgs,
}

/// The hub of a run.
#[derive(Debug)]
pub struct HubUnderTest {
    /// Its WebSocket URL.
    pub url: String,
    /// Its process id, when known.
    pub pid: Option<u32>,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// Signs the clients' tokens; `None`: they connect anonymously.
    pub tokens: Option<Minter>,
    /// The spawned server, stopped by [`HubUnderTest::stop`] (killed if dropped).
    child: Option<Child>,
}

impl HubUnderTest {
    /// Uses `--url`, or spawns the hub.
    pub async fn start(args: &HubUnderTestArgs) -> Result<Self> {
        let tokens = args.tokens.minter()?;
        if tokens.is_some() && args.protocol == Protocol::SocketIo {
            return Err(Error::Usage(
                "--token-hmac-secret is for Switchboard hubs: the Socket.IO clients connect \
                 without tokens"
                    .into(),
            ));
        }
        match (&args.url, &args.spawn_hub) {
            (Some(url), None) => Ok(Self {
                url: url.clone(),
                pid: args.hub_pid,
                protocol: args.protocol,
                tokens,
                child: None,
            }),
            (None, Some(path)) => {
                // Unpinned means every online CPU, not the generator's own
                // pinning, which a child would otherwise inherit.
                let cpus = args.hub_cpus.clone().or_else(|| {
                    std::fs::read_to_string("/sys/devices/system/cpu/online")
                        .ok()
                        .map(|online| online.trim().to_owned())
                });
                let mut extra = args.hub_args.clone();
                if let Some(minter) = &tokens {
                    extra.push(format!("--token-hmac-secret={}", minter.secret()));
                }
                let mut hub = spawn(path, cpus.as_deref(), &extra).await?;
                hub.tokens = tokens;
                hub.protocol = args.protocol;
                if args.protocol == Protocol::Switchboard && hub.url.contains("/socket.io") {
                    tracing::warn!(
                        url = %hub.url,
                        "the spawned hub looks like a Socket.IO server: add --protocol socketio"
                    );
                }
                Ok(hub)
            }
            _ => Err(Error::Usage("give either --url or --spawn-hub".into())),
        }
    }

    /// Whether this run started the hub.
    pub fn spawned(&self) -> bool {
        self.child.is_some()
    }

    /// Whether the clients connect with tokens.
    pub fn authenticated(&self) -> bool {
        self.tokens.is_some()
    }

    /// The hub's endpoint for a client of user `user`: with its token when
    /// clients authenticate (signed now: call it before a measured window).
    pub async fn endpoint_as(&self, user: &str) -> Result<Endpoint> {
        let endpoint = Endpoint::resolve_for(&self.url, self.protocol).await?;
        Ok(match &self.tokens {
            Some(minter) => endpoint.with_query_param("token", &minter.mint(user)?),
            None => endpoint,
        })
    }

    /// Stops a spawned hub (SIGTERM, then SIGKILL after a while).
    pub async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|id| Pid::from_raw(id as i32)) {
            let _ = kill_process(pid, Signal::TERM);
        }
        if tokio::time::timeout(STOP_TIMEOUT, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

async fn spawn(path: &PathBuf, cpus: Option<&str>, extra: &[String]) -> Result<HubUnderTest> {
    let mut command = match cpus {
        Some(cpus) => {
            crate::sys::parse_cpu_list(cpus)?;
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(path);
            command
        }
        None => Command::new(path),
    };
    command
        .args(["--listen", "127.0.0.1:0", "--log-level", "warn"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Error::Hub(format!("cannot start {}: {e}", path.display())))?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    // "hub (WebSocket) at ws://127.0.0.1:PORT/ws"; the Socket.IO peer's:
    // "socket.io peer (WebSocket) at ws://127.0.0.1:PORT/socket.io/"
    let find_url = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(at) = line.find("ws://") {
                return Ok(Some(line[at..].trim().to_owned()));
            }
        }
        Ok::<_, Error>(None)
    };
    let url = match tokio::time::timeout(START_TIMEOUT, find_url).await {
        Ok(Ok(Some(url))) => url,
        Ok(Ok(None)) => return Err(Error::Hub("exited before it listened".into())),
        Ok(Err(error)) => return Err(error),
        Err(_) => {
            return Err(Error::Hub(format!(
                "did not listen within {START_TIMEOUT:?}"
            )));
        }
    };
    // Keep reading its stdout so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    tracing::info!(%url, ?pid, "spawned hub");
    Ok(HubUnderTest {
        url,
        pid,
        protocol: Protocol::Switchboard,
        tokens: None,
        child: Some(child),
    })
}
