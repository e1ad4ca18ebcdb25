//! A chat hub: clients `$join` rooms and relay messages to them, or call
//! `say` to have the hub broadcast for them; `who` answers the room's
//! members. Any plain WebSocket client can talk to it:
//!
//! ```text
//! cargo run -p switchboard --example chat -- 127.0.0.1:8080
//! # then, e.g. with websocat:
//! websocat ws://127.0.0.1:8080/ws
//! {"event":"$join","data":{"room":"lobby"},"ack":1}
//! {"event":"say","data":{"room":"lobby","text":"hello"}}
//! {"event":"who","data":"lobby","ack":2}
//! ```
//!
//! Ctrl-C or SIGTERM shuts it down (the sockets are closed with `1001`) and it
//! exits with status 0.
#![allow(clippy::print_stdout)]

use serde::Deserialize;
use switchboard::{CloseCode, HandlerError, Hub};
use tracing_subscriber::EnvFilter;

#[derive(Deserialize)]
struct Say {
    room: String,
    text: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let hub = Hub::builder()
        .on_connect(|socket| async move {
            tracing::info!(id = socket.id(), "connected");
        })
        .on_disconnect(|socket, reason| async move {
            tracing::info!(id = socket.id(), %reason, "disconnected");
        })
        .on("say", |socket, say: Say| async move {
            if !socket.in_room(&say.room) {
                return Err(HandlerError::with_code("forbidden", "join the room first"));
            }
            let text = say.text;
            socket.hub().to(&say.room).emit(
                "said",
                serde_json::json!({ "from": socket.id(), "text": text }),
            )?;
            Ok(())
        })
        .on("who", |socket, room: String| async move {
            Ok::<_, HandlerError>(socket.hub().members(&room))
        })
        .on("quit", |socket, _: serde_json::Value| async move {
            socket.disconnect(CloseCode::Normal);
            Ok::<_, HandlerError>(())
        })
        .build();
    let app = axum::Router::new().merge(hub.router("/ws"));
    let addr: std::net::SocketAddr = addr.parse().expect("the address is an IP:port");
    let listener = switchboard::listen(addr).await?;
    let stop = stop_signal();
    println!("chat hub on ws://{}/ws", listener.local_addr()?);
    let stopper = hub.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            stop.await;
            stopper.shutdown().await;
        })
        .await
}

/// Resolves on Ctrl-C or SIGTERM (what a terminal or a process manager sends to stop a
/// server). On Unix both handlers are installed at once, when this is called, so that a
/// signal right after start-up is not lost to the default action.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).expect("listen for SIGINT");
        let mut terminate = signal(SignalKind::terminate()).expect("listen for SIGTERM");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
