//! Numbered publishers over the HTTP API, and the tally of what a
//! subscriber received of them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{OwnedRwLockWriteGuard, RwLock, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::subscriber::{LinkEnd, Subscriber};
use crate::common::{publish, within};

/// Publishes `{"event":"n","data":data(k)}` to a room through one node's
/// `POST /api/publish` for k = 0, 1, 2, ... at a steady rate until
/// stopped, one publish at a time (each answered before the next goes).
/// Every publish must be answered `200`.
pub(crate) struct Publisher {
    sent: watch::Receiver<u64>,
    /// The node it publishes through (see [`Publisher::retarget`]).
    target: Arc<Mutex<SocketAddr>>,
    /// Each publish holds it shared; [`Publisher::hold`] takes it alone.
    gate: Arc<RwLock<()>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<u64>,
}

impl Publisher {
    /// Starts publishing to `room` through `addr`, `per_second` messages
    /// a second.
    pub(crate) fn start(
        addr: SocketAddr,
        room: &str,
        per_second: u32,
        data: impl Fn(u64) -> Value + Send + 'static,
    ) -> Self {
        let (sent_tx, sent) = watch::channel(0u64);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let gate = Arc::new(RwLock::new(()));
        let held = gate.clone();
        let target = Arc::new(Mutex::new(addr));
        let current = target.clone();
        let room = room.to_owned();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut n = 0u64;
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => return n,
                    _ = tick.tick() => {}
                }
                let _publishing = held.read().await;
                let addr = *current.lock().unwrap();
                let body = json!({"room": room, "event": "n", "data": data(n)});
                let response = publish(addr, &body.to_string()).await;
                assert_eq!(
                    response.status,
                    200,
                    "publish {n} through {addr}: {}",
                    response.text()
                );
                n += 1;
                sent_tx.send_replace(n);
            }
        });
        Self {
            sent,
            target,
            gate,
            stop,
            task,
        }
    }

    /// Publishes through `addr` from the next publish on. Messages from
    /// two nodes are not ordered with each other: hold the publisher
    /// ([`Publisher::hold`]) and let what was sent arrive before moving it.
    pub(crate) fn retarget(&self, addr: SocketAddr) {
        *self.target.lock().unwrap() = addr;
    }

    /// Waits for the publish under way (if any) to be answered, and holds
    /// the next one until the guard is dropped.
    pub(crate) async fn hold(&self) -> OwnedRwLockWriteGuard<()> {
        within("the publish under way", self.gate.clone().write_owned()).await
    }

    /// How many messages were published so far.
    pub(crate) fn sent(&self) -> u64 {
        *self.sent.borrow()
    }

    /// Waits until at least `n` messages were published.
    pub(crate) async fn wait_sent(&self, n: u64) {
        let mut sent = self.sent.clone();
        within(
            &format!("{n} messages published"),
            sent.wait_for(|&sent| sent >= n),
        )
        .await
        .expect("the publisher failed");
    }

    /// Stops; returns how many were published (numbers `0..n`).
    pub(crate) async fn stop(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.expect("the publisher failed")
    }
}

/// What one subscriber received of a [`Publisher`]'s room, in order, and
/// the replies to its requests.
pub(crate) struct Received {
    /// The room.
    room: String,
    /// Whether the room keeps history: each message must carry its offset.
    with_offsets: bool,
    /// The publisher's numbers.
    pub(crate) numbers: Vec<u64>,
    /// The room's offset of each message, `numbers`' companion (history
    /// rooms only).
    pub(crate) offsets: Vec<u64>,
    /// Replies to the subscriber's requests, by ack.
    pub(crate) replies: Vec<Value>,
}

impl Received {
    /// Nothing received yet of `room`, a history room when `with_offsets`.
    pub(crate) fn new(room: &str, with_offsets: bool) -> Self {
        Self {
            room: room.to_owned(),
            with_offsets,
            numbers: Vec::new(),
            offsets: Vec::new(),
            replies: Vec::new(),
        }
    }

    /// Takes one message the subscriber received: a reply, or a number of
    /// the room (other messages are passed over).
    pub(crate) fn take(&mut self, message: Value) {
        if message.get("reply").is_some() {
            self.replies.push(message);
        } else if message["event"] == "n" {
            assert_eq!(message["room"], self.room.as_str(), "{message}");
            let Some(number) = message["data"].as_u64() else {
                panic!("a room message without its number: {message}");
            };
            if self.with_offsets {
                let Some(offset) = message["offset"].as_u64() else {
                    panic!("a history room's message without its offset: {message}");
                };
                self.offsets.push(offset);
            }
            self.numbers.push(number);
        }
    }

    /// Reads until `done` holds; `Err` when the link ended first.
    pub(crate) async fn read_until<S: Subscriber>(
        &mut self,
        subscriber: &mut S,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), LinkEnd> {
        while !done(self) {
            for message in subscriber.next().await? {
                self.take(message);
            }
        }
        Ok(())
    }

    /// Reads until the reply to `ack` arrives and returns its data; fails
    /// the test when it is an error.
    pub(crate) async fn reply<S: Subscriber>(&mut self, subscriber: &mut S, ack: u64) -> Value {
        let has = |r: &Self| r.replies.iter().any(|m| m["reply"] == ack);
        within("the reply", self.read_until(subscriber, has))
            .await
            .unwrap_or_else(|e| panic!("the link ended before the reply to {ack}: {e}"));
        let reply = self.replies.iter().find(|m| m["reply"] == ack).unwrap();
        assert!(
            reply.get("error").is_none(),
            "request {ack} refused: {reply}"
        );
        reply["data"].clone()
    }

    /// Offsets that do not follow the one before them by one (the first
    /// must follow `after`).
    pub(crate) fn offset_breaks(&self, after: u64) -> Vec<(u64, u64)> {
        let mut previous = after;
        let mut breaks = Vec::new();
        for &offset in &self.offsets {
            if offset != previous + 1 {
                breaks.push((previous, offset));
            }
            previous = offset;
        }
        breaks
    }
}

/// What a subscriber received of one numbered stream.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Messages published.
    pub(crate) sent: u64,
    /// Distinct numbers received.
    pub(crate) delivered: u64,
    /// Numbers published and never received.
    pub(crate) lost: Vec<u64>,
    /// Numbers received more than once (once per extra copy).
    pub(crate) duplicated: Vec<u64>,
    /// Numbers received (for the first time) after a higher one.
    pub(crate) reordered: Vec<u64>,
}

impl Tally {
    /// The tally of `got` (in the order received) against `0..sent`.
    pub(crate) fn of(sent: u64, got: &[u64]) -> Self {
        let mut seen = HashSet::new();
        let (mut duplicated, mut reordered) = (Vec::new(), Vec::new());
        let mut highest: Option<u64> = None;
        for &n in got {
            if !seen.insert(n) {
                duplicated.push(n);
                continue;
            }
            if highest.is_some_and(|h| n < h) {
                reordered.push(n);
            }
            highest = highest.max(Some(n));
        }
        let lost = (0..sent).filter(|n| !seen.contains(n)).collect();
        let delivered = seen.iter().filter(|&&n| n < sent).count() as u64;
        Self {
            sent,
            delivered,
            lost,
            duplicated,
            reordered,
        }
    }

    /// Adds `other`'s counts (another stream, or another subscriber's).
    pub(crate) fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.lost.extend(other.lost);
        self.duplicated.extend(other.duplicated);
        self.reordered.extend(other.reordered);
    }

    /// Whether nothing was lost, duplicated or reordered.
    pub(crate) fn is_clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.reordered.is_empty()
    }

    /// The numbers at fault, for a failure's message (the first few of
    /// each kind).
    pub(crate) fn faults(&self) -> String {
        fn first(list: &[u64]) -> String {
            let shown: Vec<String> = list.iter().take(20).map(u64::to_string).collect();
            let more = if list.len() > 20 { ", ..." } else { "" };
            format!("[{}{more}]", shown.join(", "))
        }
        format!(
            "lost {}, duplicated {}, reordered {}",
            first(&self.lost),
            first(&self.duplicated),
            first(&self.reordered)
        )
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {}, delivered {}, lost {}, duplicated {}, reordered {}",
            self.sent,
            self.delivered,
            self.lost.len(),
            self.duplicated.len(),
            self.reordered.len()
        )
    }
}

/// Prints one test's line of counts.
pub(crate) fn report(test: &str, line: &str) {
    #[allow(clippy::print_stderr, reason = "the test's report")]
    {
        eprintln!("chaos {test}: {line}");
    }
}
