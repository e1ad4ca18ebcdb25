//! Counters of a hub's traffic.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters; read them with [`crate::Hub::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    slow_consumers: AtomicU64,
    connections_total: AtomicU64,
}

impl Counters {
    pub(crate) fn message_in(&self, n: u64) {
        self.messages_in.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn message_out(&self) {
        self.messages_out_n(1);
    }

    pub(crate) fn messages_out_n(&self, n: u64) {
        self.messages_out.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn slow_consumer(&self) {
        self.slow_consumers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, connections: usize, rooms: usize) -> HubStats {
        HubStats {
            connections,
            rooms,
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            slow_consumers: self.slow_consumers.load(Ordering::Relaxed),
            connections_total: self.connections_total.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of a hub's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HubStats {
    /// Live connections.
    pub connections: usize,
    /// Rooms with at least one member.
    pub rooms: usize,
    /// Client messages received (a batch counts each message).
    pub messages_in: u64,
    /// Messages queued to clients (a broadcast counts each recipient).
    pub messages_out: u64,
    /// Sockets closed with `4001` because their queue overflowed.
    pub slow_consumers: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
}
