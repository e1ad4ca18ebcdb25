//! A receiver: a client in room `r` that timestamps each message on
//! arrival and records its latency and sequence number.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use switchboard_testkit::TextWsClient;
use tokio::sync::watch;

use super::publisher::{EVENT, Schedule};
use crate::clock;
use crate::histogram::LatencyHistogram;
use crate::sequence::{Arrival, SequenceTracker};

/// The parts of a message a receiver reads; the filler is skipped.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    data: Option<TickData>,
}

#[derive(Deserialize)]
struct TickData {
    seq: u64,
    sent_ns: u64,
}

/// What one receiver saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Received {
    /// Latencies of the first copy of each measured message.
    pub(crate) latency: LatencyHistogram,
    /// Every arrival, warmup included.
    pub(crate) sequence: SequenceTracker,
    /// Frames that were not a well-formed `t` event.
    pub(crate) other_frames: u64,
    /// Whether the hub ended the connection before the run did.
    pub(crate) disconnected: bool,
}

/// Reads `client` until `stop`, counting distinct messages into `distinct`
/// as they come (for progress and the end-of-run drain).
pub(crate) async fn receive(
    mut client: TextWsClient,
    schedule: Schedule,
    distinct: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> crate::error::Result<Received> {
    let mut received = Received {
        sequence: SequenceTracker::new(schedule.total),
        ..Received::default()
    };
    loop {
        let text = tokio::select! {
            biased;
            _ = stop.wait_for(|stopped| *stopped) => break,
            text = client.next_text() => text?,
        };
        // Timestamp first: parsing is part of the receiver, not the hub.
        let arrived_ns = clock::now_ns();
        let Some(text) = text else {
            received.disconnected = true;
            return Ok(received);
        };
        let tick = match serde_json::from_str::<Frame<'_>>(&text) {
            Ok(Frame {
                event: Some(event),
                data: Some(tick),
            }) if event == EVENT => tick,
            _ => {
                received.other_frames += 1;
                continue;
            }
        };
        if received.sequence.observe(tick.seq) == Arrival::First {
            distinct.fetch_add(1, Ordering::Relaxed);
            if schedule.measured().contains(&tick.seq) {
                received
                    .latency
                    .record_ns(arrived_ns.saturating_sub(tick.sent_ns));
            }
        }
    }
    client.close().await;
    Ok(received)
}
