//! The binary with `--tls-cert` and `--tls-key` (PROTOCOL.md section 10,
//! TLS), over real sockets, with a CA and a server certificate for
//! `localhost` and `127.0.0.1` made for each run: HTTPS (demo page, API,
//! metrics, health), the Rust client over `wss://` and over long-polling
//! on `https://`, plain HTTP and silent clients on the TLS port, and the
//! options' checks at start-up.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::config_file::config_file;
use common::{Binary, command, run_to_end, within};
use serde_json::Value;
use switchboard_client::client::{self, Client, Event, Transport, Transports};
use switchboard_testkit::{TestPki, TlsFiles};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// The binary serving TLS with a fresh certificate.
struct TlsServer {
    server: Binary,
    pki: TestPki,
    _files: TlsFiles,
}

impl TlsServer {
    async fn start(extra: &[&str]) -> Self {
        let pki = TestPki::localhost();
        let files = pki.write_files();
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            files.cert.to_str().unwrap(),
            "--tls-key",
            files.key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let server = Binary::start(command(&args)).await;
        Self {
            server,
            pki,
            _files: files,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    fn ca(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.pki.ca_der.clone())
    }

    /// One HTTPS request (`Connection: close`) to `localhost`: the status
    /// and the body.
    async fn https(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca()).unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(self.addr()).await.unwrap();
        let mut tls = within(
            "the TLS handshake",
            TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost").unwrap(), tcp),
        )
        .await
        .expect("TLS handshake");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        within("the HTTPS response", tls.read_to_end(&mut response))
            .await
            .expect("read the response");
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        // The answers here are small: a chunked one is one chunk.
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            let (_, rest) = body.split_once("\r\n").unwrap();
            rest.rsplit_once("\r\n0\r\n")
                .map_or(rest, |(chunk, _)| chunk)
        } else {
            body
        };
        (status, body.to_owned())
    }

    /// A Rust client on `transports`, trusting the test CA, recording the
    /// data of `news` events; started, not yet connected.
    fn client(&self, transports: Transports) -> (Client, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = client::connect(&format!("wss://localhost:{}/ws", self.addr().port()))
            .tls_root_certificates(vec![self.ca()])
            .transports(transports)
            .on("news", move |data: String| {
                let _ = tx.send(data);
                async { Ok::<_, switchboard_client::client::HandlerError>(()) }
            })
            .build()
            .expect("a client");
        (client, rx)
    }
}

/// Waits for the client's `$welcome` and returns the transport it came on.
async fn connected(client: &Client) -> Transport {
    let mut events = client.events();
    within("the client to connect", async {
        loop {
            if let Ok(Event::Connected { transport, .. }) = events.recv().await {
                return transport;
            }
        }
    })
    .await
}

/// Joins `room` (an ack round trip), publishes to it over HTTPS and waits
/// for the client to receive it.
async fn round_trip(server: &TlsServer, client: &Client, rx: &mut mpsc::UnboundedReceiver<String>) {
    within("the $join ack", client.join("tls-room"))
        .await
        .expect("joined");
    let id = client.id().expect("an id from $welcome");
    let (status, body) = server.https("GET", "/api/rooms/tls-room", "").await;
    assert_eq!(status, 200, "{body}");
    let room: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(room["members"], serde_json::json!([id]));
    let (status, body) = server
        .https(
            "POST",
            "/api/publish",
            r#"{"room":"tls-room","event":"news","data":"over https"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let got = within("the published event", rx.recv()).await.unwrap();
    assert_eq!(got, "over https");
}

#[tokio::test]
async fn the_binary_serves_https_and_wss() {
    let server = TlsServer::start(&[]).await;
    let addr = server.addr();
    assert_eq!(
        server.server.first_lines[..3],
        [
            format!("switchboard listening on https://{addr}"),
            format!("hub (WebSocket) at wss://{addr}/ws"),
            format!("demo page at https://{addr}/"),
        ]
    );
    assert!(server.server.first_lines[3].starts_with(&format!("HTTP API at https://{addr}/api/ ")));

    assert_eq!(
        server.https("GET", "/healthz", "").await,
        (200, "ok".into())
    );
    let (status, page) = server.https("GET", "/", "").await;
    assert_eq!(status, 200);
    assert!(page.contains("<html"), "{page}");
    assert_eq!(server.https("GET", "/switchboard.js", "").await.0, 200);

    let (client, mut rx) = server.client(Transports::WebSocket);
    assert_eq!(connected(&client).await, Transport::WebSocket);
    round_trip(&server, &client, &mut rx).await;

    let (status, metrics) = server.https("GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("switchboard_connections 1"), "{metrics}");
    client.close().await;
}

#[tokio::test]
async fn the_rust_client_long_polls_over_https() {
    let server = TlsServer::start(&[]).await;
    let (client, mut rx) = server.client(Transports::LongPolling);
    assert_eq!(connected(&client).await, Transport::LongPolling);
    round_trip(&server, &client, &mut rx).await;
    client.close().await;
}

#[tokio::test]
async fn plain_and_silent_clients_on_the_tls_port_are_closed() {
    let timeout = Duration::from_millis(500);
    let server = TlsServer::start(&["--http-header-timeout", "500ms"]).await;
    let addr = server.addr();

    // ws:// to the TLS port: a clean refusal, the 400 saying why.
    match within(
        "a ws:// attempt",
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws")),
    )
    .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned();
            assert!(body.contains("This port speaks HTTPS"), "{body}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    // A client that never sends its ClientHello: closed after the header
    // timeout, and counted as one.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = within("the silent client to be closed", silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let took = started.elapsed();
    assert!(
        took >= timeout - Duration::from_millis(100),
        "closed after {took:?}"
    );
    let (_, metrics) = server.https("GET", "/metrics", "").await;
    assert!(
        metrics.contains("switchboard_http_header_timeouts_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn tls_options_come_from_every_source_and_are_checked_at_start_up() {
    let pki = TestPki::localhost();
    let files = pki.write_files();
    let (cert, key) = (files.cert.to_str().unwrap(), files.key.to_str().unwrap());

    // One without the other.
    let output = run_to_end(command(&["--listen", "127.0.0.1:0", "--tls-cert", cert])).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--tls-cert is set without --tls-key"),
        "{stderr}"
    );
    let mut only_key = command(&["--listen", "127.0.0.1:0"]);
    only_key.env("SWITCHBOARD_TLS_KEY", key);
    let output = run_to_end(only_key).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--tls-key is set without --tls-cert"),
        "{stderr}"
    );

    // A file that cannot be read, or holds no certificate: named.
    let missing = files.dir().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let output = run_to_end(command(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        missing,
        "--tls-key",
        key,
    ]))
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("--tls-cert: cannot read {missing}: ")),
        "{stderr}"
    );
    let output = run_to_end(command(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        key,
        "--tls-key",
        key,
    ]))
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("--tls-cert: {key}: no certificate in it")),
        "{stderr}"
    );

    // From the environment, and from a config file.
    let mut from_env = command(&["--listen", "127.0.0.1:0"]);
    from_env
        .env("SWITCHBOARD_TLS_CERT", cert)
        .env("SWITCHBOARD_TLS_KEY", key);
    let server = Binary::start(from_env).await;
    assert!(server.first_lines[0].starts_with("switchboard listening on https://"));
    let file = config_file(&format!(
        "listen = \"127.0.0.1:0\"\ntls_cert = {cert:?}\ntls_key = {key:?}\n"
    ));
    let server = Binary::start(command(&["--config", file.path()])).await;
    assert!(server.first_lines[0].starts_with("switchboard listening on https://"));

    // --help names both.
    let output = run_to_end(command(&["--help"])).await;
    let help = String::from_utf8(output.stdout).unwrap();
    for text in [
        "--tls-cert",
        "SWITCHBOARD_TLS_CERT",
        "--tls-key",
        "SWITCHBOARD_TLS_KEY",
    ] {
        assert!(help.contains(text), "{text} missing in\n{help}");
    }
}
