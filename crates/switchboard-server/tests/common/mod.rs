//! Helpers shared by the integration tests: a small HTTP/1.1 client, a
//! WebSocket client, an in-process server and the real binary.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard_server::{Config, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// How long any awaited event may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

// ---------------------------------------------------------------- HTTP

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an API error answer: status and `error.code`; returns the
    /// message.
    pub fn api_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        body["error"]["message"]
            .as_str()
            .expect("error.message is a string")
            .to_owned()
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        parse_response(&raw)
    })
    .await
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, &[], b"").await
}

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

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .expect("hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------- WebSocket

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A connected client that has read its `$welcome`.
pub struct Client {
    pub ws: Ws,
    pub id: String,
    next_ack: u64,
}

impl Client {
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        let (ws, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(format!("ws://{addr}{path}")),
        )
        .await
        .expect("WebSocket handshake");
        let mut client = Self {
            ws,
            id: String::new(),
            next_ack: 1,
        };
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "{welcome}");
        client.id = welcome["data"]["id"].as_str().expect("id").to_owned();
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(WsMessage::text(message.to_string()))
            .await
            .expect("send");
    }

    /// The next message (control frames skipped).
    pub async fn recv(&mut self) -> Value {
        within("a message", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Text(text))) => {
                        return serde_json::from_str(text.as_str()).expect("JSON message");
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    other => panic!("expected a message, got {other:?}"),
                }
            }
        })
        .await
    }

    /// Sends an event with an ack and returns the reply.
    pub async fn call(&mut self, event: &str, data: Value) -> Value {
        let ack = self.next_ack;
        self.next_ack += 1;
        self.send(serde_json::json!({"event": event, "data": data, "ack": ack}))
            .await;
        loop {
            let message = self.recv().await;
            if message["reply"] == ack {
                return message;
            }
        }
    }

    pub async fn join(&mut self, room: &str) -> Value {
        self.call("$join", serde_json::json!({ "room": room }))
            .await
    }

    /// Closes with `1000` and waits for the hub's answering close frame.
    pub async fn close_normally(mut self) {
        self.ws
            .close(Some(CloseFrame {
                code: 1000.into(),
                reason: "bye".into(),
            }))
            .await
            .expect("send close");
        assert_eq!(self.closed().await, 1000);
    }

    /// Waits for the close frame and returns its code.
    pub async fn closed(&mut self) -> u16 {
        within("the close frame", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Close(Some(CloseFrame { code, .. })))) => {
                        return u16::from(code);
                    }
                    Some(Ok(WsMessage::Close(None))) => panic!("close frame without a code"),
                    Some(Ok(_)) => {}
                    other => panic!("expected a close frame, got {other:?}"),
                }
            }
        })
        .await
    }
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

// ---------------------------------------------------------------- raw handshakes

/// A WebSocket upgrade request written by hand; returns the status, the
/// response's headers and the stream (positioned after the head).
pub async fn raw_handshake(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, TcpStream) {
    within("a raw handshake", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("read");
            assert!(n == 1, "connection closed in the response head");
            head.push(byte[0]);
        }
        let response = parse_response(&head);
        (response.status, response.headers, stream)
    })
    .await
}
