//! One share of idle connections: opens them (each reads its `$welcome`
//! and, when asked, joins the room), then holds them, answering the hub's
//! pings, until stopped.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rss::vm_rss_kib;
use crate::error::Result;
use crate::lean::{LeanWs, Protocol, Status, open_many};
use crate::tokens::{ClientEndpoints, Minter};
use crate::workers::{Control, Job, Signal};

/// One share of idle connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The hub's WebSocket URL.
    pub url: String,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// Connections in this share.
    pub clients: usize,
    /// The run's number of this share's first connection (its user, with
    /// tokens).
    pub first_client: usize,
    /// Signs each connection's token; `None`: anonymous.
    pub tokens: Option<Minter>,
    /// The room each connection joins, if any.
    pub room: Option<String>,
    /// Connections being opened at once.
    pub connect_parallel: usize,
    /// Read buffer per connection, bytes (small: idle connections only
    /// see pings).
    pub buffer: usize,
}

/// What a share held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// Connections that reached `$welcome`.
    pub opened: u64,
    /// Connections that did not.
    pub failed: u64,
    /// Connections the hub ended while they were held.
    pub closed_early: u64,
    /// How those ended, with counts.
    pub endings: BTreeMap<String, u64>,
    /// Resident memory of the worker process holding them, KiB (`None`
    /// for a share run in the parent).
    pub worker_rss_kib: Option<u64>,
}

impl Held {
    /// Adds another share's figures.
    pub fn merge(&mut self, other: &Held) {
        self.opened += other.opened;
        self.failed += other.failed;
        self.closed_early += other.closed_early;
        for (ending, count) in &other.endings {
            *self.endings.entry(ending.clone()).or_default() += count;
        }
        self.worker_rss_kib = match (self.worker_rss_kib, other.worker_rss_kib) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

impl Job for Share {
    const KIND: &'static str = "idle";
    type Output = Held;

    fn run(self, control: Control) -> impl Future<Output = Result<Held>> + Send {
        hold_share(self, control)
    }
}

async fn hold_share(share: Share, control: Control) -> Result<Held> {
    let endpoints = ClientEndpoints::resolve(
        &share.url,
        share.protocol,
        share.tokens.as_ref(),
        share.first_client,
        share.clients,
    )
    .await?;
    let (room, buffer) = (share.room.as_deref(), share.buffer);
    let open = |i| {
        let endpoint = endpoints.client(i);
        async move {
            let mut ws = LeanWs::open(endpoint, None, buffer).await?;
            if let Some(room) = room {
                ws.join(room, 0).await?;
            }
            Ok(ws)
        }
    };
    let progress = control.progress().clone();
    let spawn = |ws| {
        progress.add_done(1);
        tokio::spawn(hold(ws, control.stop()))
    };
    let (tasks, failed) = open_many(share.clients, share.connect_parallel, open, spawn).await;
    control.progress().add_errors(failed);
    control.ready();
    let mut stop = control.stop();
    stop.wait().await;
    let worker_rss_kib = vm_rss_kib(None);
    let mut held = Held {
        failed,
        ..Held::default()
    };
    for task in tasks {
        held.opened += 1;
        if let Some(ending) = task.await? {
            held.closed_early += 1;
            *held.endings.entry(ending).or_default() += 1;
        }
    }
    held.worker_rss_kib = worker_rss_kib;
    Ok(held)
}

/// Holds one connection until stopped; returns how the hub ended it, if
/// it did.
async fn hold(mut ws: LeanWs, mut stop: Signal) -> Option<String> {
    let ending = loop {
        let read = tokio::select! {
            biased;
            () = stop.wait() => break None,
            read = ws.read_batch(|_, _| {}) => read,
        };
        match read {
            Ok(Status::Open) => {}
            Ok(Status::Closed(code)) => {
                break Some(code.map_or_else(|| "eof".to_owned(), |c| c.to_string()));
            }
            Err(_) => break Some("error".to_owned()),
        }
    };
    if ending.is_none() && ws.send_close(1000).await.is_ok() {
        ws.wait_closed(Duration::from_secs(2)).await;
    }
    ending
}
