//! One share of the fan-out receivers: connects its clients (a bounded
//! number at a time), joins them to the room, and reads stamped messages
//! until stopped.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::deliveries::{Deliveries, SharedLatency, StampReceiver};
use crate::error::{Error, Result};
use crate::lean::{LeanWs, Protocol, Status, open_many};
use crate::schedule::Schedule;
use crate::tokens::{ClientEndpoints, Minter};
use crate::workers::{Control, Job, Progress, Signal};

/// How long a receiver waits for the hub's close after sending its own.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One share of receivers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The hub's WebSocket URL.
    pub url: String,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// Receivers in this share.
    pub clients: usize,
    /// The run's number of this share's first receiver (its user, with
    /// tokens).
    pub first_client: usize,
    /// Signs each receiver's token; `None`: anonymous.
    pub tokens: Option<Minter>,
    /// The room they join.
    pub room: String,
    /// The publisher's schedule (which messages exist, which are measured).
    pub schedule: Schedule,
    /// Connections being opened at once.
    pub connect_parallel: usize,
    /// Read buffer per connection, bytes.
    pub buffer: usize,
}

impl Job for Share {
    const KIND: &'static str = "fanout";
    type Output = Deliveries;

    fn run(self, control: Control) -> impl Future<Output = Result<Deliveries>> + Send {
        receive_share(self, control)
    }
}

async fn receive_share(share: Share, control: Control) -> Result<Deliveries> {
    let endpoints = ClientEndpoints::resolve(
        &share.url,
        share.protocol,
        share.tokens.as_ref(),
        share.first_client,
        share.clients,
    )
    .await?;
    let latency = Arc::new(SharedLatency::default());
    let (room, buffer) = (&share.room, share.buffer);
    let open = |i| {
        let endpoint = endpoints.client(i);
        async move {
            let mut ws = LeanWs::open(endpoint, None, buffer).await?;
            ws.join(room, 0).await?;
            Ok(ws)
        }
    };
    let spawn = |ws| {
        tokio::spawn(receive(
            ws,
            share.schedule,
            latency.clone(),
            control.progress().clone(),
            control.stop(),
        ))
    };
    let (tasks, failures) = open_many(share.clients, share.connect_parallel, open, spawn).await;
    control.progress().add_errors(failures);
    if tasks.is_empty() && share.clients > 0 {
        return Err(Error::Protocol("no receiver could connect".into()));
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

/// Reads one connection until stopped or closed by the hub.
async fn receive(
    mut ws: LeanWs,
    schedule: Schedule,
    latency: Arc<SharedLatency>,
    progress: Progress,
    mut stop: Signal,
) -> Deliveries {
    let mut receiver = StampReceiver::new(schedule);
    let ending = loop {
        let read = tokio::select! {
            biased;
            () = stop.wait() => break None,
            read = ws.read_batch(|message, at| receiver.on_message(message, at)) => read,
        };
        receiver.flush(&latency, &progress);
        match read {
            Ok(Status::Open) => {}
            Ok(Status::Closed(code)) => {
                break Some(code.map_or_else(|| "eof".to_owned(), |c| c.to_string()));
            }
            Err(error) => {
                tracing::debug!(%error, "a receiver failed");
                break Some("error".to_owned());
            }
        }
    };
    if ending.is_none() {
        // End the session, so the hub does not keep it for a resume.
        if ws.send_close(1000).await.is_ok() {
            ws.wait_closed(CLOSE_WAIT).await;
        }
    }
    receiver.finish(ending)
}
