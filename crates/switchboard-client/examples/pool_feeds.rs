#![allow(clippy::print_stdout)]
//! A pool aggregating several WebSocket feeds into one stream.
//!
//! ```text
//! cargo run -p switchboard-client --example pool_feeds
//! cargo run -p switchboard-client --example pool_feeds -- wss://feed.example/ws ws://127.0.0.1:9001/
//! ```
//!
//! Without arguments it starts three small feed servers of its own (raw-mode
//! Switchboard hubs answering `subscribe NAME` with ten ticks), dials them,
//! prints every frame tagged with its feed, and drains the pool once every
//! feed has delivered. With URLs it dials those instead, sends
//! `subscribe <id>` on every (re)connect and runs until Ctrl-C.

use std::time::Duration;

use bytes::Bytes;
use switchboard::{Hub, RawFrame, Socket};
use switchboard_client::pool::{ConnectionOptions, Frame, OverflowPolicy, Pool, PoolEvent};

const TICKS: usize = 10;

/// A raw-mode hub that answers `subscribe NAME` with `TICKS` frames.
async fn start_feed(name: &str) -> std::io::Result<String> {
    let name = name.to_owned();
    let hub = Hub::builder()
        .raw_mode()
        .on_raw(move |socket: Socket, frame: RawFrame| {
            let name = name.clone();
            async move {
                if frame.data.starts_with(b"subscribe ") {
                    for tick in 0..TICKS {
                        let text = format!("{name} tick {tick}");
                        let _ = socket.send_raw(Bytes::from(text), false);
                    }
                }
            }
        })
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    tokio::spawn(async move { hub.serve(listener).await });
    Ok(url)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut urls: Vec<(String, String)> = std::env::args()
        .skip(1)
        .enumerate()
        .map(|(i, url)| (format!("feed-{i}"), url))
        .collect();
    let demo = urls.is_empty();
    if demo {
        for name in ["btc", "eth", "sol"] {
            urls.push((name.to_owned(), start_feed(name).await?));
        }
    }

    let (pool, mut events) = Pool::builder()
        .event_capacity(4096)
        .overflow(OverflowPolicy::DropOldest)
        .build();
    for (id, url) in &urls {
        let subscription = format!("subscribe {id}");
        let options = ConnectionOptions::new()
            .reconnect_delay(Duration::from_millis(250), Duration::from_secs(15))
            .heartbeat(Some(Duration::from_secs(15)), Duration::from_secs(10))
            .on_connect(move |sender| {
                let subscription = subscription.clone();
                async move {
                    sender.send(Frame::text(subscription))?;
                    Ok(())
                }
            });
        if let Err(error) = pool.add_with(id.as_str(), url, options) {
            println!("{id}: {error}");
        }
    }

    let mut received = 0;
    let goal = TICKS * urls.len();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(event) = event else { break };
        match event {
            PoolEvent::Frame { id, frame } => {
                received += 1;
                match frame.as_text() {
                    Some(text) => println!("[{id}] {text}"),
                    None => println!("[{id}] {} binary bytes", frame.data().len()),
                }
            }
            PoolEvent::Connected { id } => println!("[{id}] connected"),
            PoolEvent::Disconnected { id, reason } => println!("[{id}] disconnected: {reason}"),
            PoolEvent::Reconnecting {
                id,
                attempt,
                delay,
                error,
            } => println!("[{id}] retry {attempt} in {delay:?} ({error})"),
            PoolEvent::Removed { id } => println!("[{id}] removed"),
        }
        if demo && received == goal {
            break;
        }
    }
    pool.close_all().await;
    println!(
        "{received} frames from {} feeds, {} dropped",
        urls.len(),
        pool.dropped()
    );
    Ok(())
}
