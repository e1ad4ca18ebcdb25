//! WebSocket echo on the hub's own transport, in raw mode: every text or
//! binary message comes back unchanged. The Autobahn suite runs against it.
//!
//! ```text
//! cargo run --release -p switchboard --example echo -- --listen 127.0.0.1:9001
//! ```
//! It prints `listening on ADDR` once ready; Ctrl-C or SIGTERM shuts it down (the
//! sockets are closed with `1001`) and it exits with status 0.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use switchboard::{AllowedOrigins, Hub};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:9001".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen needs an address"),
            other => {
                eprintln!("unknown argument {other}; usage: echo [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let hub = Hub::builder()
        .raw_mode()
        // Autobahn's 9.x cases send messages up to 16 MiB.
        .max_message_size(64 * 1024 * 1024)
        .send_queue_capacity(1 << 16)
        .write_timeout(Duration::from_secs(60))
        .allowed_origins(AllowedOrigins::Any)
        .on_raw(|socket, frame| async move {
            let _ = socket.send_raw(frame.data, frame.binary);
        })
        .build();
    let addr: std::net::SocketAddr = listen.parse().expect("--listen needs an IP:port");
    let listener = switchboard::listen(addr).await?;
    let stop = stop_signal();
    println!("listening on {}", listener.local_addr()?);
    let stopper = hub.clone();
    let stopping = tokio::spawn(async move {
        stop.await;
        stopper.shutdown().await;
    });
    hub.serve(listener).await?;
    // `serve` returns once the shutdown has begun; the WebSockets are the hub's, and
    // `shutdown` returns once they are closed (with 1001). Returning from `main` before
    // that would drop their close frames.
    let _ = stopping.await;
    Ok(())
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
