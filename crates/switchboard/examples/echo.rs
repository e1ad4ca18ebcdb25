//! WebSocket echo on the hub's own transport, in raw mode: every text or
//! binary message comes back unchanged. The Autobahn suite runs against it.
//!
//! ```text
//! cargo run --release -p switchboard --example echo -- --listen 127.0.0.1:9001
//! ```
//! It prints `listening on ADDR` once ready.
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
    println!("listening on {}", listener.local_addr()?);
    let stopper = hub.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stopper.shutdown().await;
    });
    hub.serve(listener).await
}
