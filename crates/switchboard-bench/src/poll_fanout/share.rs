//! One share of long-polling receivers: each opens a session, joins the
//! room with a posted `$join`, then keeps one GET held at a time and reads
//! the stamps of every message in each answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::http::PollSession;
use crate::clock;
use crate::deliveries::{Deliveries, SharedLatency, StampReceiver};
use crate::error::{Error, Result};
use crate::lean::WsUrl;
use crate::schedule::Schedule;
use crate::tokens::Minter;
use crate::workers::{Control, Job, Progress, Signal};

/// How long joining (posting `$join` and reading its reply) may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// One share of long-polling receivers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The hub's WebSocket URL (long-polling is at its path + `/poll`).
    pub url: String,
    /// Receivers in this share.
    pub clients: usize,
    /// The run's number of this share's first receiver (its user, with
    /// tokens).
    pub first_client: usize,
    /// Signs each receiver's token; `None`: anonymous.
    pub tokens: Option<Minter>,
    /// The room they join.
    pub room: String,
    /// The publisher's schedule.
    pub schedule: Schedule,
    /// Sessions being opened at once.
    pub connect_parallel: usize,
}

impl Job for Share {
    const KIND: &'static str = "poll-fanout";
    type Output = Deliveries;

    fn run(self, control: Control) -> impl Future<Output = Result<Deliveries>> + Send {
        run_share(self, control)
    }
}

/// Opens a session and joins `room`; returns it once the join's reply has
/// come back in a GET answer.
async fn open_and_join(
    addr: std::net::SocketAddr,
    authority: &str,
    poll_path: &str,
    token: Option<&str>,
    room: &str,
) -> Result<PollSession> {
    let (mut session, _welcome) = PollSession::open(addr, authority, poll_path, token).await?;
    let join = serde_json::json!({"event": "$join", "data": {"room": room}, "ack": 0});
    let status = session.post(Bytes::from(join.to_string())).await?;
    if status != 204 {
        return Err(Error::Refused(status));
    }
    let joined = async {
        loop {
            let (status, body) = session.get().await?;
            if status != 200 {
                return Err(Error::Refused(status));
            }
            if memchr::memmem::find(&body, b"\"reply\":0").is_some() {
                if memchr::memmem::find(&body, b"\"error\"").is_some() {
                    return Err(Error::Protocol(format!(
                        "join refused: {}",
                        String::from_utf8_lossy(&body)
                    )));
                }
                return Ok(());
            }
        }
    };
    tokio::time::timeout(JOIN_TIMEOUT, joined)
        .await
        .map_err(|_| Error::Timeout("the $join reply".into()))??;
    Ok(session)
}

async fn run_share(share: Share, control: Control) -> Result<Deliveries> {
    let url = WsUrl::parse(&share.url)?;
    let addr = url.resolve().await?;
    let authority = url.authority();
    let poll_path = url.poll_path();
    let tokens = match &share.tokens {
        Some(minter) => minter.mint_clients(share.first_client, share.clients)?,
        None => Vec::new(),
    };
    let latency = Arc::new(SharedLatency::default());
    let mut tasks = Vec::with_capacity(share.clients);
    let mut failures = 0u64;
    let mut opening = futures_util::stream::iter(0..share.clients)
        .map(|i| {
            let token = tokens.get(i).map(String::as_str);
            open_and_join(addr, &authority, &poll_path, token, &share.room)
        })
        .buffer_unordered(share.connect_parallel.max(1));
    while let Some(opened) = opening.next().await {
        match opened {
            Ok(session) => tasks.push(tokio::spawn(receive(
                session,
                share.schedule,
                latency.clone(),
                control.progress().clone(),
                control.stop(),
            ))),
            Err(error) => {
                if failures < 5 {
                    tracing::warn!(%error, "a long-polling client could not join");
                }
                failures += 1;
            }
        }
    }
    drop(opening);
    control.progress().add_errors(failures);
    if tasks.is_empty() && share.clients > 0 {
        return Err(Error::Protocol("no long-polling client could join".into()));
    }
    control.ready();
    let mut total = Deliveries {
        connect_errors: failures,
        ..Deliveries::default()
    };
    for task in tasks {
        total.merge(&task.await?);
    }
    total.latency = latency.counts();
    Ok(total)
}

/// Keeps one GET held at a time until stopped or ended by the hub.
async fn receive(
    mut session: PollSession,
    schedule: Schedule,
    latency: Arc<SharedLatency>,
    progress: Progress,
    mut stop: Signal,
) -> Deliveries {
    let mut receiver = StampReceiver::new(schedule);
    let ending = loop {
        let got = tokio::select! {
            biased;
            () = stop.wait() => break None,
            got = session.get() => got,
        };
        let arrived_ns = clock::now_ns();
        match got {
            Ok((200, body)) => {
                receiver.on_batch(&body, arrived_ns);
                receiver.flush(&latency, &progress);
            }
            Ok((status, _)) => break Some(format!("http-{status}")),
            Err(error) => {
                tracing::debug!(%error, "a long-polling receiver failed");
                break Some("error".to_owned());
            }
        }
    };
    if ending.is_none() {
        // End the session, so the hub does not keep it for a resume.
        let _ = tokio::time::timeout(Duration::from_secs(2), session.delete()).await;
    }
    receiver.finish(ending)
}
