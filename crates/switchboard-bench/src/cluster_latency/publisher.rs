//! The open-loop publisher: emits to room `r` on hub A at a fixed rate,
//! never waiting for deliveries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use switchboard::Hub;
use tokio::time::Instant;

use crate::clock;

/// The room both receivers join.
pub(crate) const ROOM: &str = "r";
/// The event published.
pub(crate) const EVENT: &str = "t";

pub(crate) use crate::schedule::Schedule;

/// The message's data: what receivers read, plus filler.
#[derive(Serialize)]
struct Tick<'a> {
    seq: u64,
    /// `CLOCK_MONOTONIC` nanoseconds ([`crate::clock`]), taken just
    /// before the emit.
    sent_ns: u64,
    pad: &'a str,
}

/// What the publisher did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Published {
    /// Messages the hub accepted.
    pub(crate) sent: u64,
    /// Of those, the measured ones (after the warmup).
    pub(crate) measured: u64,
    /// Messages the hub refused.
    pub(crate) errors: u64,
    /// Accepted messages that reached no socket of hub A (the local
    /// receiver was gone).
    pub(crate) not_local: u64,
    /// How far behind its schedule the publisher fell at worst.
    pub(crate) max_lag: Duration,
}

/// Emits the whole schedule from `start`, counting into `sent` as it goes.
pub(crate) async fn publish(
    hub: Hub,
    schedule: Schedule,
    payload: usize,
    start: Instant,
    sent: Arc<AtomicU64>,
) -> Published {
    let pad = "x".repeat(payload);
    let mut published = Published::default();
    for seq in 0..schedule.total {
        let due = start + schedule.due(seq);
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        published.max_lag = published.max_lag.max(Instant::now() - due);
        let tick = Tick {
            seq,
            sent_ns: clock::now_ns(),
            pad: &pad,
        };
        match hub.to(ROOM).emit(EVENT, &tick) {
            Ok(delivered) => {
                published.sent += 1;
                if schedule.measured().contains(&seq) {
                    published.measured += 1;
                }
                if delivered == 0 {
                    published.not_local += 1;
                }
            }
            Err(error) => {
                published.errors += 1;
                tracing::warn!(%error, seq, "emit refused");
            }
        }
        sent.store(seq + 1, Ordering::Relaxed);
    }
    published
}
