//! Helpers shared by the integration tests: an in-process server and the
//! real binary; the HTTP and WebSocket clients and the waits come from
//! `switchboard-testkit`.

#![allow(dead_code, unreachable_pub, missing_docs, unused_imports)]

pub mod config_file;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use switchboard_server::{Config, Server};
pub use switchboard_testkit::{
    HttpResponse, WsClient, WsStream, eventually_async, get, http, raw_handshake, reset, within,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------- HTTP

pub async fn publish(addr: SocketAddr, body: &str) -> HttpResponse {
    http(
        addr,
        "POST",
        "/api/publish",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

// ---------------------------------------------------------------- in-process server

pub struct TestServer {
    pub addr: SocketAddr,
    pub hub: switchboard::Hub,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let server = Server::new(config).expect("server");
        let hub = server.hub().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            hub,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn default() -> Self {
        Self::start(Config::default()).await
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        within("the server to stop", self.task.take().unwrap())
            .await
            .expect("server task")
            .expect("serve");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------- the binary

/// The real `switchboard` binary, killed when dropped.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    /// The start-up lines: listening, hub, demo, API.
    pub first_lines: Vec<String>,
    stdout: Lines<BufReader<ChildStdout>>,
}

/// A command running the binary with `args`, in an environment cleared of
/// the tests' own `SWITCHBOARD_*` and `RUST_LOG` variables.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("SWITCHBOARD_") {
            command.env_remove(name);
        }
    }
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

impl Binary {
    /// Starts `command` and reads its four start-up lines.
    pub async fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("spawn switchboard");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut first_lines = Vec::new();
        for _ in 0..4 {
            match within("a start-up line", stdout.next_line()).await {
                Ok(Some(line)) => first_lines.push(line),
                _ => {
                    let output = child.wait_with_output().await.unwrap();
                    panic!(
                        "switchboard ended its output early ({}); stderr: {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
        }
        let addr = first_lines[0]
            .strip_prefix("switchboard listening on http://")
            .or_else(|| first_lines[0].strip_prefix("switchboard listening on https://"))
            .unwrap_or_else(|| panic!("unexpected first line {:?}", first_lines[0]))
            .parse()
            .expect("address in the listening line");
        Self {
            child,
            addr,
            first_lines,
            stdout,
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        within("the server to exit", self.child.wait())
            .await
            .expect("wait")
    }

    /// Whatever else the process printed on stdout, once it has exited.
    pub async fn rest_of_stdout(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(Some(line)) = within("stdout", self.stdout.next_line()).await {
            lines.push(line);
        }
        lines
    }
}

/// Runs the binary to completion (for start-up failures and `--help`).
pub async fn run_to_end(mut command: Command) -> std::process::Output {
    within("switchboard to exit", command.output())
        .await
        .expect("run switchboard")
}
