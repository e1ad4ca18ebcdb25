//! TLS in the hub's own accept loop (feature `tls`, which this crate's
//! tests enable): `Hub::serve_router_tls` with a certificate signed by a
//! CA made for the run, over real sockets. HTTPS and `wss://` work with
//! ALPN `http/1.1`; plain HTTP on the port gets a readable `400`; a
//! client that never says hello is closed after the header timeout, and
//! handshakes in progress count among the pending connections.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{WAIT, within};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::rustls::{ClientConfig, RootCertStore};
use switchboard::{HandlerError, Hub, HubBuilder};
use switchboard_testkit::TestPki;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::tungstenite::Message;

/// A hub with an `echo` handler at `/ws` and a plain route at `/hello`,
/// served over TLS on a free port.
struct TlsHub {
    hub: Hub,
    addr: SocketAddr,
    pki: TestPki,
}

impl TlsHub {
    async fn start(builder: HubBuilder) -> Self {
        let pki = TestPki::localhost();
        let tls = switchboard::tls_config_from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
            .expect("the test certificate makes a TLS configuration");
        let hub = builder
            .on(
                "echo",
                |_s, v: Value| async move { Ok::<_, HandlerError>(v) },
            )
            .build();
        let router = hub.router("/ws").route(
            "/hello",
            axum::routing::get(|| async { "hello over https" }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serving = hub.clone();
        tokio::spawn(async move {
            let stop = serving.clone();
            serving
                .serve_router_tls(listener, router, tls, async move {
                    stop.shutdown_started().await;
                })
                .await
        });
        Self { hub, addr, pki }
    }

    /// A client configuration trusting only the test CA, offering `h2`
    /// before `http/1.1`.
    fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.pki.ca_der.clone()))
            .unwrap();
        let mut config = ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A TLS connection to the hub, verified for `name`.
    async fn tls(&self, name: &'static str) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        within(
            "the TLS handshake",
            TlsConnector::from(self.client_config())
                .connect(ServerName::try_from(name).unwrap(), tcp),
        )
        .await
        .expect("TLS handshake")
    }
}

/// One HTTP/1.1 request with `Connection: close`; the whole response.
async fn request(mut io: impl AsyncRead + AsyncWrite + Unpin, head: &str, body: &str) -> String {
    let text = format!(
        "{head}\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    io.write_all(text.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    within("the response", io.read_to_end(&mut response))
        .await
        .expect("read the response");
    String::from_utf8(response).unwrap()
}

/// Waits for the server to close `stream` (end of stream or reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 256];
    loop {
        match within("the server to close the connection", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn wss_and_https_with_alpn_http_1_1() {
    let server = TlsHub::start(Hub::builder()).await;

    // HTTPS, by name and by address: the certificate covers both.
    for name in ["localhost", "127.0.0.1"] {
        let tls = server.tls(name).await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let response = request(tls, "GET /hello HTTP/1.1", "").await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("hello over https"), "{response}");
    }

    // wss://: $welcome, then an ack round trip.
    let tls = server.tls("localhost").await;
    let (mut ws, _) = within(
        "the WebSocket handshake",
        tokio_tungstenite::client_async(format!("wss://localhost:{}/ws", server.addr.port()), tls),
    )
    .await
    .expect("wss:// handshake");
    let message = within("$welcome", ws.next()).await.unwrap().unwrap();
    let welcome: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    let id = welcome["data"]["id"].as_str().unwrap().to_owned();
    ws.send(Message::text(
        json!({"event": "echo", "data": "over wss", "ack": 1}).to_string(),
    ))
    .await
    .unwrap();
    let mut reply = Value::Null;
    while reply.get("reply").is_none() {
        reply = within("the ack", async {
            let message = ws.next().await.unwrap().unwrap();
            serde_json::from_str::<Value>(message.to_text().unwrap()).unwrap()
        })
        .await;
    }
    assert_eq!(reply, json!({"reply": 1, "data": "over wss"}));
    assert_eq!(server.hub.count(), 1);
    assert!(server.hub.socket(&id).is_some());

    // Long-polling over HTTPS: the handshake answers $welcome.
    let tls = server.tls("localhost").await;
    let response = request(tls, "POST /ws/poll HTTP/1.1", "").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let messages: Value = serde_json::from_str(body).expect("a JSON array");
    assert_eq!(messages[0]["event"], "$welcome", "{messages}");

    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_a_readable_400() {
    let server = TlsHub::start(Hub::builder()).await;

    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let response = request(tcp, "GET /ws HTTP/1.1", "").await;
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );
    assert!(response.ends_with("This port speaks HTTPS: use https:// or wss://\n"));

    // A ws:// client fails cleanly with that status.
    let url = format!("ws://127.0.0.1:{}/ws", server.addr.port());
    match within("a ws:// attempt", tokio_tungstenite::connect_async(&url)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert_eq!(server.hub.count(), 0);

    // The hub goes on serving TLS.
    let response = request(server.tls("localhost").await, "GET /hello HTTP/1.1", "").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(300);
    let server = TlsHub::start(Hub::builder().http_header_timeout(timeout)).await;

    // One sends nothing, one half a ClientHello (a record header only).
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    closed_by_server(&mut silent).await;
    closed_by_server(&mut partial).await;
    let took = started.elapsed();
    assert!(
        took >= timeout - Duration::from_millis(50),
        "closed after {took:?}, before the {timeout:?} timeout"
    );
    assert!(took < WAIT);
    common::eventually("both to be counted as header timeouts", || {
        server.hub.stats().edge.header_timeouts == 2
    })
    .await;

    // A client that does say hello is served.
    let response = request(server.tls("localhost").await, "GET /hello HTTP/1.1", "").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
}

#[tokio::test]
async fn handshakes_in_progress_count_among_pending_connections() {
    // A long header timeout: only the cap on pending connections closes
    // the silent ones here.
    let server = TlsHub::start(
        Hub::builder()
            .http_header_timeout(Duration::from_secs(600))
            .http_max_pending(2),
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // The third one over the cap closes the oldest.
    common::eventually("a pending connection to be evicted", || {
        server.hub.stats().edge.pending_evicted >= 1
    })
    .await;
    let reads = silent.iter_mut().map(|stream| {
        Box::pin(async move {
            let mut buf = [0u8; 1];
            stream.read(&mut buf).await
        })
    });
    let (read, _, _) = within(
        "a silent connection to be closed",
        futures_util::future::select_all(reads),
    )
    .await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // A real client still gets through (making room in turn).
    let response = request(server.tls("localhost").await, "GET /hello HTTP/1.1", "").await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert_eq!(server.hub.stats().edge.header_timeouts, 0);
}
