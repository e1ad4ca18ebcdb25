//! `session-move`: how long a resume takes when the session is on another
//! node (PROTOCOL.md section 11: the new node asks the cluster for it, the
//! old one hands it over and forwards until the fence) against a resume
//! on the node that holds it, while a publisher on hub A sends to the
//! session's room; and whether every message still arrives once, in
//! order.
//!
//! Two hubs, A and B, run in this process over one backend (as
//! `cluster-latency`). One client joins room `r` on A. Then, `--moves`
//! times, it reads for `--dwell` milliseconds, drops its link without a
//! close frame, and resumes on the other hub (`cross-node`), timing from
//! the TCP connect to the `$welcome`; then as many times on the same hub
//! (`same-node`). The publisher on A emits to `r` at `--rate` throughout.

use std::collections::BTreeMap;
use std::time::Duration;

use std::io::Write;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::cluster_latency::cluster::Cluster;
use crate::cluster_latency::{Backend, ServeMode};
use crate::error::{Error, Result};

/// Options of `session-move`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The backend: memory, redis or nats (a private server on a free port).
    #[arg(long, default_value = "redis")]
    pub backend: String,
    /// Resumes timed of each kind.
    #[arg(long, default_value_t = 200)]
    pub moves: usize,
    /// Milliseconds the client reads between two resumes.
    #[arg(long, value_name = "MS", default_value_t = 20)]
    pub dwell: u64,
    /// Messages the publisher on hub A sends to the room per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The client: its session and what it counted.
struct Client {
    ws: Ws,
    session: String,
    id: String,
    /// Counted messages received (all but `$welcome` and `$pong`).
    received: u64,
    /// The publisher's numbers, as they came.
    numbers: Vec<u64>,
}

impl Client {
    /// Opens `url` and reads the `$welcome`; returns it and the time taken.
    async fn open(url: &str) -> Result<(Ws, Value, Duration)> {
        let started = Instant::now();
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| Error::Backend(format!("connect {url}: {e}")))?;
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    let welcome: Value = serde_json::from_str(text.as_str())
                        .map_err(|e| Error::Backend(format!("welcome: {e}")))?;
                    return Ok((ws, welcome["data"].clone(), started.elapsed()));
                }
                Some(Ok(_)) => {}
                other => return Err(Error::Backend(format!("no $welcome: {other:?}"))),
            }
        }
    }

    fn count(&mut self, text: &str) {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if message["event"] == "$pong" {
            return;
        }
        self.received += 1;
        if message["event"] == "n"
            && let Some(n) = message["data"].as_u64()
        {
            self.numbers.push(n);
        }
    }

    /// Reads what comes for `period`.
    async fn read_for(&mut self, period: Duration) -> Result<()> {
        let until = Instant::now() + period;
        loop {
            match tokio::time::timeout_at(until, self.ws.next()).await {
                Err(_) => return Ok(()),
                Ok(Some(Ok(WsMessage::Text(text)))) => self.count(text.as_str()),
                Ok(Some(Ok(_))) => {}
                Ok(other) => return Err(Error::Backend(format!("link ended: {other:?}"))),
            }
        }
    }

    /// Drops the link (no close frame) and resumes at `url`; returns the
    /// time from the connect to the `$welcome`.
    async fn resume(&mut self, url: &str) -> Result<Duration> {
        let url = format!("{url}?resume={}&last={}", self.session, self.received);
        let (ws, welcome, took) = Self::open(&url).await?;
        if welcome["resumed"] != true || welcome["id"] != self.id.as_str() {
            return Err(Error::Backend(format!("resume refused: {welcome}")));
        }
        // The old link just goes: its socket is dropped without a close.
        drop(std::mem::replace(&mut self.ws, ws));
        Ok(took)
    }
}

/// Percentiles of durations, in microseconds.
fn summary(mut micros: Vec<u64>) -> Value {
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    json!({ "n": micros.len(), "p50_us": at(0.5), "p90_us": at(0.9), "p99_us": at(0.99), "max_us": at(1.0) })
}

/// Runs the workload.
pub async fn run(args: Args) -> Result<()> {
    let backend = match args.backend.as_str() {
        "memory" => Backend::Memory,
        "redis" => Backend::Redis,
        "nats" => Backend::Nats,
        other => return Err(Error::Backend(format!("unknown backend {other}"))),
    };
    let cluster = Cluster::start(backend, None, ServeMode::Nodelay, false).await?;
    let (a, b) = (cluster.a.url.clone(), cluster.b.url.clone());
    let (ws, welcome, _) = Client::open(&a).await?;
    let mut client = Client {
        ws,
        session: welcome["session"].as_str().unwrap_or_default().to_owned(),
        id: welcome["id"].as_str().unwrap_or_default().to_owned(),
        received: 0,
        numbers: Vec::new(),
    };
    client
        .ws
        .send(WsMessage::Text(
            json!({"event": "$join", "data": {"room": "r"}, "ack": 1})
                .to_string()
                .into(),
        ))
        .await
        .map_err(|e| Error::Backend(e.to_string()))?;
    let hub = cluster.a.hub.clone();
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let period = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let publisher = tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        let mut n = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return n,
            }
            let _ = hub.to("r").emit("n", n);
            n += 1;
        }
    });
    let dwell = Duration::from_millis(args.dwell);
    let mut on_a = true;
    let mut cross = Vec::with_capacity(args.moves);
    for _ in 0..args.moves {
        client.read_for(dwell).await?;
        on_a = !on_a;
        let took = client.resume(if on_a { &a } else { &b }).await?;
        cross.push(took.as_micros() as u64);
    }
    let mut same = Vec::with_capacity(args.moves);
    for _ in 0..args.moves {
        client.read_for(dwell).await?;
        let took = client.resume(if on_a { &a } else { &b }).await?;
        same.push(took.as_micros() as u64);
    }
    let _ = stop_tx.send(true);
    let sent = publisher.await.unwrap_or(0);
    client.read_for(Duration::from_millis(500)).await?;
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for n in &client.numbers {
        *seen.entry(*n).or_default() += 1;
    }
    let lost = (0..sent).filter(|n| !seen.contains_key(n)).count();
    let duplicated: u32 = seen.values().map(|c| c - 1).sum();
    let reordered = client.numbers.windows(2).filter(|w| w[1] < w[0]).count();
    let stats = |hub: &switchboard::Hub| hub.stats();
    let moved = stats(&cluster.a.hub).sessions_moved_out + stats(&cluster.b.hub).sessions_moved_out;
    let _ = client.ws.close(None).await;
    cluster.stop().await;
    let report = json!({
        "workload": "session-move",
        "backend": args.backend,
        "rate": args.rate,
        "dwell_ms": args.dwell,
        "cross_node": summary(cross),
        "same_node": summary(same),
        "sessions_moved": moved,
        "sent": sent,
        "delivered": client.numbers.len(),
        "lost": lost,
        "duplicated": duplicated,
        "reordered": reordered,
    });
    let text = if args.json {
        report.to_string()
    } else {
        serde_json::to_string_pretty(&report).unwrap_or_default()
    };
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
