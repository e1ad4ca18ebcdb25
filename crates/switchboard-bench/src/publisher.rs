//! The open-loop publisher: a WebSocket client in the room that relays a
//! stamped event to it on a fixed schedule (message `n` at `n / rate`
//! seconds), never waiting for deliveries. The hub relays it to every
//! other member (PROTOCOL.md section 4); the Socket.IO peer broadcasts its
//! `relay` event's data as `msg` to the room's other members.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::clock;
use crate::error::Result;
use crate::lean::{Endpoint, LeanWs, Status};
use crate::schedule::Schedule;
use crate::stamp::{self, Stamp};

/// What the publisher did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// Messages written, warmup included.
    pub sent: u64,
    /// Measured messages written.
    pub measured: u64,
    /// `$error` messages the hub sent the publisher (refused relays).
    pub hub_errors: u64,
    /// How far behind its schedule the publisher fell at worst, µs.
    pub max_lag_us: u64,
    /// `CLOCK_MONOTONIC` ns when the first measured message was sent.
    pub measured_start_ns: Option<u64>,
    /// Set when the hub closed the publisher's connection (code, if any).
    pub closed: Option<String>,
}

/// A connected publisher.
#[derive(Debug)]
pub struct Publisher {
    ws: LeanWs,
    room: String,
    pad: String,
}

impl Publisher {
    /// Connects to `endpoint` and joins `room`; each message carries
    /// `payload` bytes of filler.
    pub async fn connect(endpoint: &Endpoint, room: &str, payload: usize) -> Result<Self> {
        let mut ws = LeanWs::open(endpoint, None, 16 * 1024).await?;
        ws.join(room, 0).await?;
        Ok(Self {
            ws,
            room: room.to_owned(),
            pad: "x".repeat(payload),
        })
    }

    /// Sends the whole schedule from now, counting into `sent` as it goes.
    /// The connection stays open (see [`Sent::close`]): a client that
    /// closes right after its last relay may see that relay dropped.
    pub async fn run(self, schedule: Schedule, sent: Arc<AtomicU64>) -> Result<Sent> {
        let Self { mut ws, room, pad } = self;
        let mut out = Vec::with_capacity(pad.len() + 128);
        let mut published = Published::default();
        let protocol = ws.protocol();
        let start = Instant::now();
        for seq in 0..schedule.total {
            let due = start + schedule.due(seq);
            while Instant::now() < due {
                let mut errors = 0;
                let read = tokio::select! {
                    biased;
                    () = tokio::time::sleep_until(due) => break,
                    read = ws.read_batch(|m, _| {
                        if memchr::memmem::find(m, b"\"$error\"").is_some() {
                            errors += 1;
                        }
                    }) => read?,
                };
                published.hub_errors += errors;
                if let Status::Closed(code) = read {
                    published.closed =
                        Some(code.map_or_else(|| "eof".to_owned(), |c| c.to_string()));
                    tracing::warn!(?code, "the hub closed the publisher's connection");
                    return Ok(Sent {
                        published,
                        ws: None,
                    });
                }
            }
            let lag = Instant::now().saturating_duration_since(due);
            published.max_lag_us = published
                .max_lag_us
                .max(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
            let t = clock::now_ns();
            if seq == schedule.warmup {
                published.measured_start_ns = Some(t);
            }
            protocol.write_relay(&mut out, stamp::EVENT, &room, Stamp { seq, t }, &pad, None);
            ws.send_text(&out).await?;
            published.sent += 1;
            if schedule.measured().contains(&seq) {
                published.measured += 1;
            }
            sent.store(seq + 1, Ordering::Relaxed);
        }
        Ok(Sent {
            published,
            ws: Some(ws),
        })
    }
}

/// A publisher that has sent its schedule.
#[derive(Debug)]
pub struct Sent {
    /// What it did.
    pub published: Published,
    ws: Option<LeanWs>,
}

impl Sent {
    /// Closes the publisher's connection (after the deliveries are in).
    pub async fn close(self) {
        if let Some(mut ws) = self.ws
            && ws.send_close(1000).await.is_ok()
        {
            ws.wait_closed(std::time::Duration::from_secs(1)).await;
        }
    }
}
