//! One share of the echo clients: each joins a room of its own (relay
//! mode), then sends on its own open-loop schedule and times each answer.
//! With Socket.IO every message carries an ack id (`n + 1` for message
//! `n`), and the answer is the peer's ack under it: to `relay` (relay
//! mode) or to `echo` (ping mode).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::Duration;

use memchr::memmem::Finder;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::Mode;
use crate::clock;
use crate::deliveries::SharedLatency;
use crate::error::{Error, Result};
use crate::histogram::HistogramCounts;
use crate::lean::{LeanWs, Protocol, Status, open_many, socketio};
use crate::schedule::Schedule;
use crate::sequence::{Arrival, SequenceCounts, SequenceTracker};
use crate::stamp::{self, Stamp};
use crate::tokens::{ClientEndpoints, Minter};
use crate::workers::{Control, Job, Progress, Signal};

static REPLY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"reply\":"));
static PONG: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"$pong\""));

/// The event relayed in relay mode.
pub const EVENT: &str = "echo";
/// A `$ping` message.
const PING: &[u8] = br#"{"event":"$ping"}"#;

/// One share of echo clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The hub's WebSocket URL.
    pub url: String,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// Which share this is (rooms are named after it).
    pub index: usize,
    /// Clients in this share.
    pub clients: usize,
    /// All clients of the run (to spread their phases).
    pub all_clients: usize,
    /// The first client's number in the run.
    pub first_client: usize,
    /// Each client's schedule.
    pub schedule: Schedule,
    /// Bytes of filler per message.
    pub payload: usize,
    /// Relay acks or `$ping`.
    pub mode: Mode,
    /// Connections being opened at once.
    pub connect_parallel: usize,
    /// Prefix of the rooms (one per client).
    pub room_prefix: String,
    /// Signs each client's token; `None`: anonymous.
    pub tokens: Option<Minter>,
}

/// What a share's clients saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Echoes {
    /// Clients connected (and joined, in relay mode).
    pub clients: u64,
    /// Clients that could not.
    pub connect_errors: u64,
    /// Measured messages sent.
    pub sent: u64,
    /// Answers to measured messages (`received`), and measured messages
    /// never answered (`lost`), over all clients.
    pub counts: SequenceCounts,
    /// Round-trip latency of measured messages, µs.
    pub latency: HistogramCounts,
    /// Other messages (`$error`, unexpected replies).
    pub other_messages: u64,
    /// Clients the hub disconnected.
    pub disconnected: u64,
    /// How they ended, with counts.
    pub endings: BTreeMap<String, u64>,
}

impl Echoes {
    /// Adds another share's figures.
    pub fn merge(&mut self, other: &Echoes) {
        self.clients += other.clients;
        self.connect_errors += other.connect_errors;
        self.sent += other.sent;
        self.counts = self.counts.plus(&other.counts);
        let mut latency = crate::histogram::LatencyHistogram::from_counts(&self.latency);
        latency.add(&crate::histogram::LatencyHistogram::from_counts(
            &other.latency,
        ));
        self.latency = latency.counts();
        self.other_messages += other.other_messages;
        self.disconnected += other.disconnected;
        for (ending, count) in &other.endings {
            *self.endings.entry(ending.clone()).or_default() += count;
        }
    }
}

impl Job for Share {
    const KIND: &'static str = "echo";
    type Output = Echoes;

    fn run(self, control: Control) -> impl Future<Output = Result<Echoes>> + Send {
        run_share(self, control)
    }
}

async fn run_share(share: Share, control: Control) -> Result<Echoes> {
    let endpoints = ClientEndpoints::resolve(
        &share.url,
        share.protocol,
        share.tokens.as_ref(),
        share.first_client,
        share.clients,
    )
    .await?;
    let latency = Arc::new(SharedLatency::default());
    let share_ref = &share;
    let open = |i| {
        let endpoint = endpoints.client(i);
        let client = share_ref.first_client + i;
        async move {
            let mut ws = LeanWs::open(endpoint, None, 16 * 1024).await?;
            if share_ref.mode == Mode::Relay {
                ws.join(&format!("{}-{client}", share_ref.room_prefix), 0)
                    .await?;
            }
            Ok((ws, client))
        }
    };
    let spawn = |(ws, client): (LeanWs, usize)| {
        let period = 1.0 / f64::from(share.schedule.rate.max(1));
        let phase =
            Duration::from_secs_f64(period * client as f64 / share.all_clients.max(1) as f64);
        let room = format!("{}-{client}", share.room_prefix);
        tokio::spawn(echo_client(
            ws,
            share.clone(),
            room,
            phase,
            latency.clone(),
            control.progress().clone(),
            control.stop(),
            control.go_signal(),
        ))
    };
    let (tasks, failures) = open_many(share.clients, share.connect_parallel, open, spawn).await;
    control.progress().add_errors(failures);
    if tasks.is_empty() && share.clients > 0 {
        return Err(Error::Protocol("no echo client could connect".into()));
    }
    control.ready();
    let mut total = Echoes {
        connect_errors: failures,
        ..Echoes::default()
    };
    for task in tasks {
        total.merge(&task.await?);
    }
    total.latency = latency.counts();
    Ok(total)
}

/// One client: waits for go, then sends its schedule and times answers.
#[allow(clippy::too_many_arguments)]
async fn echo_client(
    mut ws: LeanWs,
    share: Share,
    room: String,
    phase: Duration,
    latency: Arc<SharedLatency>,
    progress: Progress,
    mut stop: Signal,
    mut go: Signal,
) -> Echoes {
    let schedule = share.schedule;
    let pad = "x".repeat(share.payload);
    let mut out = Vec::with_capacity(share.payload + 128);
    let mut sent_at = vec![0u64; usize::try_from(schedule.total).unwrap_or(0)];
    let mut pings: VecDeque<u64> = VecDeque::new();
    let mut tracker = SequenceTracker::new(schedule.total);
    let mut pending: Vec<u64> = Vec::with_capacity(16);
    let mut other = 0u64;
    let mut answered_all = 0u64;
    let mut new_answers = 0u64;
    let protocol = ws.protocol();
    // Read (answering pings, Engine.IO's too) until go.
    let early = loop {
        tokio::select! {
            biased;
            () = go.wait() => break None,
            read = ws.read_batch(|_, _| other += 1) => match read {
                Ok(Status::Open) => {}
                Ok(Status::Closed(code)) => break Some(code.map_or_else(|| "eof".to_owned(), |c| c.to_string())),
                Err(error) => {
                    tracing::debug!(%error, "an echo client failed");
                    break Some("error".to_owned());
                }
            },
        }
    };
    if early.is_some() {
        return echoes(&schedule, 0, &tracker, other, early);
    }
    let start = Instant::now() + phase;
    let mut next = 0u64;
    let ending = loop {
        if next >= schedule.total && answered_all >= schedule.total {
            break None;
        }
        tokio::select! {
            biased;
            () = stop.wait() => break None,
            () = tokio::time::sleep_until(start + schedule.due(next)), if next < schedule.total => {
                let t = clock::now_ns();
                let written = match (share.mode, protocol) {
                    (Mode::Relay, _) => {
                        sent_at[next as usize] = t;
                        protocol.write_relay(&mut out, EVENT, &room, Stamp { seq: next, t }, &pad, Some(next + 1));
                        ws.send_text(&out).await
                    }
                    (Mode::Ping, Protocol::Switchboard) => {
                        pings.push_back(next);
                        sent_at[next as usize] = t;
                        ws.send_text(PING).await
                    }
                    (Mode::Ping, Protocol::SocketIo) => {
                        sent_at[next as usize] = t;
                        socketio::write_echo(&mut out, next + 1);
                        ws.send_text(&out).await
                    }
                };
                if let Err(error) = written {
                    tracing::debug!(%error, "an echo client could not send");
                    break Some("error".to_owned());
                }
                next += 1;
            }
            read = ws.read_batch(|message, at| {
                let seq = match (share.mode, protocol) {
                    (_, Protocol::SocketIo) => socketio::ack_id(message).and_then(|ack| ack.checked_sub(1)),
                    (Mode::Relay, Protocol::Switchboard) => stamp::find_u64(message, &REPLY).and_then(|ack| ack.checked_sub(1)),
                    (Mode::Ping, Protocol::Switchboard) if PONG.find(message).is_some() => pings.pop_front(),
                    (Mode::Ping, Protocol::Switchboard) => None,
                };
                match seq {
                    Some(seq) if seq < next && tracker.observe(seq) == Arrival::First => {
                        answered_all += 1;
                        new_answers += 1;
                        if schedule.measured().contains(&seq) {
                            pending.push(at.saturating_sub(sent_at[seq as usize]));
                        }
                    }
                    _ => other += 1,
                }
            }) => {
                latency.record_all(&pending);
                pending.clear();
                progress.add_done(std::mem::take(&mut new_answers));
                match read {
                    Ok(Status::Open) => {}
                    Ok(Status::Closed(code)) => break Some(code.map_or_else(|| "eof".to_owned(), |c| c.to_string())),
                    Err(error) => {
                        tracing::debug!(%error, "an echo client failed");
                        break Some("error".to_owned());
                    }
                }
            }
        }
    };
    if ending.is_none() && ws.send_close(1000).await.is_ok() {
        ws.wait_closed(Duration::from_secs(2)).await;
    }
    echoes(&schedule, next, &tracker, other, ending)
}

/// What one echo client saw, once it is done: `sent` of the messages it
/// sent, the measured ones.
fn echoes(
    schedule: &Schedule,
    sent: u64,
    tracker: &SequenceTracker,
    other: u64,
    ending: Option<String>,
) -> Echoes {
    let measured_sent = sent
        .saturating_sub(schedule.warmup)
        .min(schedule.measured_len());
    let mut counts = tracker.counts(schedule.measured());
    // Messages never sent (the run was stopped) are not lost.
    counts.lost = measured_sent.saturating_sub(counts.received);
    let mut endings = BTreeMap::new();
    if let Some(ending) = &ending {
        endings.insert(ending.clone(), 1);
    }
    Echoes {
        clients: 1,
        connect_errors: 0,
        sent: measured_sent,
        counts,
        latency: HistogramCounts::default(),
        other_messages: other,
        disconnected: u64::from(ending.is_some()),
        endings,
    }
}
