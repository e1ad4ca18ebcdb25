//! What receivers of stamped messages saw: per receiver while it runs,
//! then added up over a share, and over the shares of every worker.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::histogram::{HistogramCounts, LatencyHistogram};
use crate::schedule::Schedule;
use crate::sequence::{Arrival, SequenceCounts, SequenceTracker};
use crate::stamp::{self, Stamp};
use crate::workers::Progress;

/// Deliveries seen by a set of receivers (one, a share, or all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deliveries {
    /// Receivers that connected and joined.
    pub receivers: u64,
    /// Receivers that could not connect or join.
    pub connect_errors: u64,
    /// Loss, duplicates and order of the measured messages, added up over
    /// the receivers.
    pub counts: SequenceCounts,
    /// Latency of the first copy of each measured message, microseconds.
    pub latency: HistogramCounts,
    /// First copies of any message, warmup included.
    pub deliveries: u64,
    /// Messages without a stamp (replies, `$error`…).
    pub other_messages: u64,
    /// Receivers whose connection (or long-polling session) the hub ended
    /// before the run did.
    pub disconnected: u64,
    /// How those ended: close code (WebSocket), `http-<status>`
    /// (long-polling), `eof` or `error`, with counts.
    pub endings: BTreeMap<String, u64>,
    /// `CLOCK_MONOTONIC` ns of the last arrival of a measured message.
    pub last_arrival_ns: Option<u64>,
}

impl Deliveries {
    /// Adds `other` (another receiver, share or worker) to these.
    pub fn merge(&mut self, other: &Deliveries) {
        self.receivers += other.receivers;
        self.connect_errors += other.connect_errors;
        self.counts = self.counts.plus(&other.counts);
        let mut latency = LatencyHistogram::from_counts(&self.latency);
        latency.add(&LatencyHistogram::from_counts(&other.latency));
        self.latency = latency.counts();
        self.deliveries += other.deliveries;
        self.other_messages += other.other_messages;
        self.disconnected += other.disconnected;
        for (ending, count) in &other.endings {
            *self.endings.entry(ending.clone()).or_default() += count;
        }
        self.last_arrival_ns = self.last_arrival_ns.max(other.last_arrival_ns);
    }
}

/// One latency histogram for every receiver of a share (a histogram per
/// receiver would take ~100 KiB each).
#[derive(Debug, Default)]
pub struct SharedLatency(Mutex<LatencyHistogram>);

impl SharedLatency {
    /// Records latencies given in nanoseconds (under the lock once).
    pub fn record_all(&self, latencies_ns: &[u64]) {
        if latencies_ns.is_empty() {
            return;
        }
        let mut histogram = self.0.lock().expect("histogram lock");
        for &ns in latencies_ns {
            histogram.record_ns(ns);
        }
    }

    /// The histogram's counts.
    pub fn counts(&self) -> HistogramCounts {
        self.0.lock().expect("histogram lock").counts()
    }
}

/// One receiver's accounting. Latencies are kept in a small buffer and
/// recorded under the shared lock once per read ([`StampReceiver::flush`]).
#[derive(Debug)]
pub struct StampReceiver {
    schedule: Schedule,
    tracker: SequenceTracker,
    pending_ns: Vec<u64>,
    new_firsts: u64,
    deliveries: u64,
    other: u64,
    last_arrival_ns: Option<u64>,
}

impl StampReceiver {
    /// A receiver of the messages of `schedule`.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            tracker: SequenceTracker::new(schedule.total),
            pending_ns: Vec::with_capacity(64),
            new_firsts: 0,
            deliveries: 0,
            other: 0,
            last_arrival_ns: None,
        }
    }

    /// One message that arrived at `arrived_ns`.
    pub fn on_message(&mut self, message: &[u8], arrived_ns: u64) {
        match stamp::find(message) {
            Some(stamp) => self.on_stamp(stamp, arrived_ns),
            None => self.other += 1,
        }
    }

    /// Every message of a long-polling answer that arrived at `arrived_ns`.
    pub fn on_batch(&mut self, body: &[u8], arrived_ns: u64) {
        for stamp in stamp::find_all(body) {
            self.on_stamp(stamp, arrived_ns);
        }
    }

    /// Counts messages without a stamp.
    pub fn on_other(&mut self, count: u64) {
        self.other += count;
    }

    fn on_stamp(&mut self, stamp: Stamp, arrived_ns: u64) {
        if self.tracker.observe(stamp.seq) != Arrival::First {
            return;
        }
        self.new_firsts += 1;
        if self.schedule.measured().contains(&stamp.seq) {
            self.pending_ns.push(arrived_ns.saturating_sub(stamp.t));
            self.last_arrival_ns = Some(arrived_ns);
        }
    }

    /// Records buffered latencies and counts new first copies.
    pub fn flush(&mut self, latency: &SharedLatency, progress: &Progress) {
        latency.record_all(&self.pending_ns);
        self.pending_ns.clear();
        if self.new_firsts > 0 {
            progress.add_done(self.new_firsts);
            self.deliveries += self.new_firsts;
            self.new_firsts = 0;
        }
    }

    /// What this receiver saw; `ending` says how the hub ended it early
    /// (`None`: it was still open when the run stopped).
    pub fn finish(self, ending: Option<String>) -> Deliveries {
        let mut endings = BTreeMap::new();
        if let Some(ending) = &ending {
            endings.insert(ending.clone(), 1);
        }
        Deliveries {
            receivers: 1,
            connect_errors: 0,
            counts: self.tracker.counts(self.schedule.measured()),
            latency: HistogramCounts::default(),
            deliveries: self.deliveries + self.new_firsts,
            other_messages: self.other,
            disconnected: u64::from(ending.is_some()),
            endings,
            last_arrival_ns: self.last_arrival_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, t: u64) -> Vec<u8> {
        format!(r#"{{"event":"tick","data":{{"pad":"x","seq":{seq},"t":{t}}},"room":"r"}}"#)
            .into_bytes()
    }

    #[test]
    fn receivers_count_and_merge() {
        let schedule = Schedule::new(2, 1, 1); // 0, 1 warmup; 2, 3 measured
        let latency = SharedLatency::default();
        let progress = Progress::default();

        let mut a = StampReceiver::new(schedule);
        for seq in [0, 1, 2, 3, 3] {
            a.on_message(&message(seq, 1_000), 1_000 + 5_000 * (seq + 1));
        }
        a.on_message(br#"{"reply":0,"data":null}"#, 0);
        a.flush(&latency, &progress);
        let a = a.finish(None);

        let mut b = StampReceiver::new(schedule);
        b.on_batch(&[message(0, 0), message(2, 0)].concat(), 9_000_000);
        b.flush(&latency, &progress);
        let mut b = b.finish(Some("4001".into()));
        b.latency = latency.counts();

        assert_eq!(progress.done(), 6);
        let mut all = Deliveries::default();
        all.merge(&a);
        all.merge(&b);
        assert_eq!(all.receivers, 2);
        assert_eq!(all.deliveries, 6);
        assert_eq!(all.counts.received, 3);
        assert_eq!(all.counts.lost, 1);
        assert_eq!(all.counts.duplicates, 1);
        assert_eq!(all.other_messages, 1);
        assert_eq!(all.disconnected, 1);
        assert_eq!(all.endings.get("4001"), Some(&1));
        assert_eq!(all.last_arrival_ns, Some(9_000_000));
        let summary = LatencyHistogram::from_counts(&all.latency).summary();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.p50_us, 20);
        assert!((8_990..=9_010).contains(&summary.max_us));

        // Merging through JSON, as from a worker process, gives the same.
        let json = serde_json::to_string(&b).unwrap();
        let mut again = Deliveries::default();
        again.merge(&a);
        again.merge(&serde_json::from_str(&json).unwrap());
        assert_eq!(again, all);
    }
}
