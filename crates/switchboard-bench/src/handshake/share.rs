//! One share of the handshake loops: each loop opens a session, waits for
//! its `$welcome`, closes it with a close frame, and starts the next, until
//! stopped. With tokens, each loop is one user and opens every session
//! with the same token (signed before the run), which the hub verifies at
//! each handshake.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::sources::loopback_sources;
use crate::clock;
use crate::deliveries::SharedLatency;
use crate::error::{Error, Result};
use crate::histogram::{HistogramCounts, LatencyHistogram};
use crate::lean::{Endpoint, LeanWs, Protocol};
use crate::tokens::{ClientEndpoints, Minter};
use crate::workers::{Control, Job, Progress, Signal};

/// How long one handshake may take before it counts as failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a loop waits for the hub's close after its own.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// One share of handshake loops.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The hub's WebSocket URL.
    pub url: String,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// Loops in this share (sessions being opened at once).
    pub concurrency: usize,
    /// Source addresses to spread over (0: let the kernel pick).
    pub sources: usize,
    /// Where this share starts in the source list (so shares spread).
    pub source_offset: usize,
    /// The run's number of this share's first loop (its user, with
    /// tokens).
    pub first_client: usize,
    /// Signs each loop's token; `None`: anonymous sessions.
    pub tokens: Option<Minter>,
}

/// What a share's loops did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    /// Sessions that reached `$welcome`.
    pub sessions: u64,
    /// Attempts that did not, by cause.
    pub failures: BTreeMap<String, u64>,
    /// Connect to `$welcome`, µs.
    pub latency: HistogramCounts,
}

impl Sessions {
    /// Adds another share's figures.
    pub fn merge(&mut self, other: &Sessions) {
        self.sessions += other.sessions;
        for (cause, count) in &other.failures {
            *self.failures.entry(cause.clone()).or_default() += count;
        }
        let mut latency = LatencyHistogram::from_counts(&self.latency);
        latency.add(&LatencyHistogram::from_counts(&other.latency));
        self.latency = latency.counts();
    }
}

impl Job for Share {
    const KIND: &'static str = "handshake";
    type Output = Sessions;

    fn run(self, control: Control) -> impl Future<Output = Result<Sessions>> + Send {
        run_share(self, control)
    }
}

async fn run_share(share: Share, control: Control) -> Result<Sessions> {
    let endpoints = ClientEndpoints::resolve(
        &share.url,
        share.protocol,
        share.tokens.as_ref(),
        share.first_client,
        share.concurrency,
    )
    .await?;
    let sources: Arc<[IpAddr]> = loopback_sources(endpoints.base().addr, share.sources).into();
    let latency = Arc::new(SharedLatency::default());
    control.ready();
    control.go().await;
    let loops: Vec<_> = (0..share.concurrency)
        .map(|i| {
            tokio::spawn(open_loop(
                endpoints.client(i).clone(),
                sources.clone(),
                share.source_offset + i,
                share.concurrency.max(1),
                latency.clone(),
                control.progress().clone(),
                control.stop(),
            ))
        })
        .collect();
    let mut total = Sessions::default();
    for task in loops {
        total.merge(&task.await?);
    }
    total.latency = latency.counts();
    Ok(total)
}

/// Why an attempt failed, as a short key.
fn cause(error: &Error) -> String {
    match error {
        Error::Refused(status) => format!("http-{status}"),
        Error::Io(io) => format!("io-{:?}", io.kind()),
        Error::Closed(code) => format!(
            "closed-{}",
            code.map_or("eof".to_owned(), |c| c.to_string())
        ),
        Error::Timeout(_) => "timeout".to_owned(),
        _ => "protocol".to_owned(),
    }
}

async fn open_loop(
    endpoint: Endpoint,
    sources: Arc<[IpAddr]>,
    mut next_source: usize,
    step: usize,
    latency: Arc<SharedLatency>,
    progress: Progress,
    mut stop: Signal,
) -> Sessions {
    let mut sessions = Sessions::default();
    let mut batch = Vec::with_capacity(16);
    while !stop.is_raised() {
        let source = (!sources.is_empty()).then(|| sources[next_source % sources.len()]);
        next_source += step;
        let started = clock::now_ns();
        let attempt =
            tokio::time::timeout(HANDSHAKE_TIMEOUT, LeanWs::open(&endpoint, source, 1024));
        let opened = tokio::select! {
            biased;
            () = stop.wait() => break,
            opened = attempt => opened.unwrap_or_else(|_| Err(Error::Timeout("handshake".into()))),
        };
        match opened {
            Ok(mut ws) => {
                batch.push(clock::now_ns().saturating_sub(started));
                sessions.sessions += 1;
                progress.add_done(1);
                if ws.send_close(1000).await.is_ok() {
                    ws.wait_closed(CLOSE_WAIT).await;
                }
            }
            Err(error) => {
                let cause = cause(&error);
                if !sessions.failures.contains_key(&cause) {
                    tracing::warn!(%error, "a handshake failed");
                }
                *sessions.failures.entry(cause).or_default() += 1;
                progress.add_errors(1);
                // Do not spin on a refusing hub.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if batch.len() == batch.capacity() {
            latency.record_all(&batch);
            batch.clear();
        }
    }
    latency.record_all(&batch);
    sessions
}
