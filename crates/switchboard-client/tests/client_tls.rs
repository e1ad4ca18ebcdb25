//! `wss://` with a self-signed certificate made in the test (rcgen), through
//! a TLS-terminating proxy in front of a plain hub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use switchboard::{HandlerError, Hub};
use switchboard_client::client::{self, ClientDisconnect, ConnectError};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

const WAIT: Duration = Duration::from_secs(10);

async fn plain_hub() -> SocketAddr {
    let hub = Hub::builder()
        .on(
            "echo",
            |_s, v: Value| async move { Ok::<_, HandlerError>(v) },
        )
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router("/ws");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A TLS terminator for `localhost` in front of `target`; returns its
/// address and the certificate to trust.
async fn tls_proxy(target: SocketAddr) -> (SocketAddr, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut hub) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut hub).await;
            });
        }
    });
    (addr, cert)
}

#[tokio::test]
async fn wss_with_a_custom_root() {
    let hub = plain_hub().await;
    let (proxy, cert) = tls_proxy(hub).await;
    let url = format!("wss://localhost:{}/ws", proxy.port());
    let client = tokio::time::timeout(
        WAIT,
        client::connect(&url)
            .tls_root_certificates(vec![cert])
            .connect(),
    )
    .await
    .unwrap()
    .unwrap();
    let back: String = client
        .emit_with_ack("echo", "over tls", None)
        .await
        .unwrap();
    assert_eq!(back, "over tls");
    client.close().await;
}

#[tokio::test]
async fn wss_refuses_an_untrusted_certificate() {
    let hub = plain_hub().await;
    let (proxy, _cert) = tls_proxy(hub).await;
    let url = format!("wss://localhost:{}/ws", proxy.port());
    // System roots (the default) do not know the test's certificate.
    let result = tokio::time::timeout(WAIT, client::connect(&url).max_attempts(Some(0)).connect())
        .await
        .unwrap();
    match result {
        Err(ConnectError(ClientDisconnect::GaveUp { last, .. })) => match *last {
            ClientDisconnect::DialFailed(why) => assert!(why.contains("TLS"), "{why}"),
            other => panic!("expected a TLS failure, got {other:?}"),
        },
        other => panic!("expected GaveUp, got {other:?}"),
    }
}
