//! Counters of a hub's traffic, for stats endpoints and metrics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use switchboard_protocol::ErrorCode;
use tokio::sync::Notify;

/// Live counters; read them with [`crate::Hub::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    slow_consumers: AtomicU64,
    token_expiry_closes: AtomicU64,
    history_dropped: AtomicU64,
    history_gaps_lost: AtomicU64,
    sessions_moved_in: AtomicU64,
    sessions_moved_out: AtomicU64,
    connections_total: AtomicU64,
    handshakes_refused: AtomicU64,
    coalescing_pauses: AtomicU64,
    /// One counter per [`ErrorCode`], in `ErrorCode::ALL` order.
    errors: [AtomicU64; ErrorCode::ALL.len()],
    // Resource bounds (issue 15).
    /// The bytes detached sessions hold, and their budget.
    pub(crate) detached: DetachedBytes,
    detached_evicted: AtomicU64,
    answers_shed: AtomicU64,
    pending_polls_refused: AtomicU64,
    pending_polls_expired: AtomicU64,
    /// What the HTTP edge refused or closed (issue 15).
    pub(crate) edge: EdgeCounters,
}

/// Live counters of the HTTP edge; one method per refusal.
#[derive(Debug, Default)]
pub(crate) struct EdgeCounters {
    header_timeouts: AtomicU64,
    heads_too_large: AtomicU64,
    body_timeouts: AtomicU64,
    idle_closed: AtomicU64,
    pending_evicted: AtomicU64,
    accept_errors: AtomicU64,
    address_connections_refused: AtomicU64,
    address_handshakes_refused: AtomicU64,
    address_table_full: AtomicU64,
    cors_refused: AtomicU64,
}

impl EdgeCounters {
    pub(crate) fn header_timeout(&self) {
        self.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn head_too_large(&self) {
        self.heads_too_large.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn body_timeout(&self) {
        self.body_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn idle_closed(&self) {
        self.idle_closed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn pending_evicted(&self, n: u64) {
        self.pending_evicted.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn address_refused(&self, refusal: crate::limits::address::AddressRefusal) {
        use crate::limits::address::AddressRefusal as R;
        let counter = match refusal {
            R::TooManyConnections => &self.address_connections_refused,
            R::TooManyHandshakes => &self.address_handshakes_refused,
            R::TableFull => &self.address_table_full,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn cors_refused(&self) {
        self.cors_refused.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> EdgeCounts {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        EdgeCounts {
            header_timeouts: load(&self.header_timeouts),
            heads_too_large: load(&self.heads_too_large),
            body_timeouts: load(&self.body_timeouts),
            idle_closed: load(&self.idle_closed),
            pending_evicted: load(&self.pending_evicted),
            accept_errors: load(&self.accept_errors),
            address_connections_refused: load(&self.address_connections_refused),
            address_handshakes_refused: load(&self.address_handshakes_refused),
            address_table_full: load(&self.address_table_full),
            cors_refused: load(&self.cors_refused),
        }
    }
}

/// What the HTTP edge refused or closed, since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct EdgeCounts {
    /// Connections closed because their request head did not arrive within
    /// the header timeout.
    pub header_timeouts: u64,
    /// Requests answered `431` because their head was over the head size
    /// bound (the connection is closed).
    pub heads_too_large: u64,
    /// Connections closed because a request body did not arrive within
    /// the header timeout of its head.
    pub body_timeouts: u64,
    /// Keep-alive connections closed after the idle timeout.
    pub idle_closed: u64,
    /// Connections without a complete request head closed to make room
    /// (over the pending cap, or out of file descriptors).
    pub pending_evicted: u64,
    /// Failed `accept` calls (e.g. out of file descriptors).
    pub accept_errors: u64,
    /// Handshakes refused `429` for a client address's connection limit.
    pub address_connections_refused: u64,
    /// Handshakes refused `429` for a client address's handshake rate.
    pub address_handshakes_refused: u64,
    /// Handshakes refused `503` because the address table was full.
    pub address_table_full: u64,
    /// Long-polling CORS preflights refused (origin not allowed).
    pub cors_refused: u64,
}

fn error_index(code: ErrorCode) -> usize {
    ErrorCode::ALL
        .iter()
        .position(|c| *c == code)
        .unwrap_or_default()
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

    pub(crate) fn bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn slow_consumer(&self) {
        self.slow_consumers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_expiry_close(&self) {
        self.token_expiry_closes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn history_dropped(&self, messages: u64) {
        self.history_dropped.fetch_add(messages, Ordering::Relaxed);
    }

    pub(crate) fn history_gap_lost(&self, messages: u64) {
        self.history_gaps_lost
            .fetch_add(messages, Ordering::Relaxed);
    }

    pub(crate) fn session_moved_in(&self) {
        self.sessions_moved_in.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_moved_out(&self) {
        self.sessions_moved_out.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handshake_refused(&self) {
        self.handshakes_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Broadcast coalescing paused because writers ran late.
    pub(crate) fn coalescing_paused(&self) {
        self.coalescing_pauses.fetch_add(1, Ordering::Relaxed);
    }

    /// A detached session ended before its resume window by a detached
    /// bound.
    pub(crate) fn detached_session_evicted(&self) {
        self.detached_evicted.fetch_add(1, Ordering::Relaxed);
    }

    /// An answer (`$pong`, `$error`) dropped at the high-water mark.
    pub(crate) fn answer_shed(&self) {
        self.answers_shed.fetch_add(1, Ordering::Relaxed);
    }

    /// A long-polling open refused at the pending-link limit.
    pub(crate) fn pending_poll_refused(&self) {
        self.pending_polls_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A long-polling link that sent no `GET` in time.
    pub(crate) fn pending_poll_expired(&self) {
        self.pending_polls_expired.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error sent to a client, by its protocol code; application
    /// codes are not counted here.
    pub(crate) fn error_sent(&self, code: &str) {
        if let Ok(code) = code.parse::<ErrorCode>() {
            self.errors[error_index(code)].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(
        &self,
        connections: usize,
        rooms: usize,
        gauges: ResourceGauges,
    ) -> HubStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HubStats {
            connections,
            rooms,
            messages_in: load(&self.messages_in),
            messages_out: load(&self.messages_out),
            bytes_in: load(&self.bytes_in),
            bytes_out: load(&self.bytes_out),
            slow_consumers: load(&self.slow_consumers),
            token_expiry_closes: load(&self.token_expiry_closes),
            history_dropped: load(&self.history_dropped),
            history_gaps_lost: load(&self.history_gaps_lost),
            sessions_moved_in: load(&self.sessions_moved_in),
            sessions_moved_out: load(&self.sessions_moved_out),
            connections_total: load(&self.connections_total),
            handshakes_refused: load(&self.handshakes_refused),
            coalescing_pauses: load(&self.coalescing_pauses),
            errors: ErrorCounts {
                bad_message: load(&self.errors[error_index(ErrorCode::BadMessage)]),
                no_handler: load(&self.errors[error_index(ErrorCode::NoHandler)]),
                forbidden: load(&self.errors[error_index(ErrorCode::Forbidden)]),
                rate_limited: load(&self.errors[error_index(ErrorCode::RateLimited)]),
                internal: load(&self.errors[error_index(ErrorCode::Internal)]),
                limit: load(&self.errors[error_index(ErrorCode::Limit)]),
                unauthorized: load(&self.errors[error_index(ErrorCode::Unauthorized)]),
                token_expired: load(&self.errors[error_index(ErrorCode::TokenExpired)]),
                unavailable: load(&self.errors[error_index(ErrorCode::Unavailable)]),
            },
            resources: ResourceStats {
                detached_sessions: gauges.detached_sessions,
                detached_bytes: self.detached.get(),
                detached_sessions_evicted: load(&self.detached_evicted),
                answers_shed: load(&self.answers_shed),
                pending_polls: gauges.pending_polls,
                pending_polls_refused: load(&self.pending_polls_refused),
                pending_polls_expired: load(&self.pending_polls_expired),
            },
            edge: self.edge.snapshot(),
        }
    }
}

/// Errors sent to clients (as `$error` or as a reply's error), by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ErrorCounts {
    /// `bad_message`.
    pub bad_message: u64,
    /// `no_handler`.
    pub no_handler: u64,
    /// `forbidden`.
    pub forbidden: u64,
    /// `rate_limited`.
    pub rate_limited: u64,
    /// `internal`.
    pub internal: u64,
    /// `limit` (a `$join` past the rooms-per-socket limit).
    pub limit: u64,
    /// `unauthorized` (a refused `$refresh`).
    pub unauthorized: u64,
    /// `token_expired` (a `$refresh` with an expired token).
    pub token_expired: u64,
    /// `unavailable` (the application's back end or the token keys did not
    /// answer).
    pub unavailable: u64,
}

/// Gauges the hub reads for a snapshot.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ResourceGauges {
    pub(crate) detached_sessions: usize,
    pub(crate) pending_polls: usize,
}

/// What the resource bounds hold and refused (issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ResourceStats {
    /// Sessions waiting for a resume now.
    pub detached_sessions: usize,
    /// Bytes they hold: resume buffers' payload and memberships (see
    /// [`crate::HubConfig::detached_budget`]).
    pub detached_bytes: usize,
    /// Detached sessions ended before their resume window because
    /// `max_detached_sessions` or `detached_budget` was passed.
    pub detached_sessions_evicted: u64,
    /// The hub's answers (`$pong`, `$error`) dropped because the socket's
    /// send queue was at its high-water mark.
    pub answers_shed: u64,
    /// Long-polling links opened that have not sent their first `GET` yet.
    pub pending_polls: usize,
    /// Long-polling opens refused with `503` at `max_pending_polls`.
    pub pending_polls_refused: u64,
    /// Long-polling links dropped for sending no first `GET` within
    /// `pending_poll_timeout`.
    pub pending_polls_expired: u64,
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
    /// Payload bytes received in client frames.
    pub bytes_in: u64,
    /// Payload bytes written to clients (before compression).
    pub bytes_out: u64,
    /// Sockets closed with `4001` because their queue overflowed.
    pub slow_consumers: u64,
    /// Links closed with `4003` because their token expired unrefreshed
    /// (PROTOCOL.md section 10).
    pub token_expiry_closes: u64,
    /// Messages to history rooms a clustered node could not get into the
    /// backend's history (over the append queue's bound while the backend
    /// was away, or refused by it): they reached no one (PROTOCOL.md
    /// section 11).
    pub history_dropped: u64,
    /// Messages of history rooms this node gave up waiting for because
    /// they were gone from the backend's history before it could fetch
    /// them (a gap older than the history size or time to live, or an
    /// epoch the backend lost). One given up as its epoch ended may still
    /// arrive late and be delivered then, without an offset.
    pub history_gaps_lost: u64,
    /// Sessions another node handed over to this one, for a resume here
    /// (PROTOCOL.md section 11).
    pub sessions_moved_in: u64,
    /// Sessions this node handed over to another one.
    pub sessions_moved_out: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Handshakes answered with an HTTP error.
    pub handshakes_refused: u64,
    /// Times broadcast coalescing paused across the hub because writers ran
    /// late (one woken by a push ran more than two windows and 50 ms after
    /// it): each pause lasts a second from the last late writer, and a
    /// pause that goes on is not counted again. Steadily rising, the hub is
    /// saturated and its windows are off
    /// ([`HubConfig::broadcast_coalesce`](crate::HubConfig::broadcast_coalesce)).
    pub coalescing_pauses: u64,
    /// Errors sent to clients, by code.
    pub errors: ErrorCounts,
    /// The resource bounds: what they hold and what they refused.
    pub resources: ResourceStats,
    /// What the HTTP edge refused or closed.
    pub edge: EdgeCounts,
}

/// The bytes all detached sessions hold, hub-wide. Resume buffers change
/// while detached (a push reports its growth), so this lives beside the
/// counters every session can reach, and a push past the budget wakes the
/// hub's detached-session task.
#[derive(Debug, Default)]
pub(crate) struct DetachedBytes {
    bytes: AtomicUsize,
    budget: AtomicUsize,
    pub(crate) over: Notify,
}

impl DetachedBytes {
    pub(crate) fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
    }

    /// Adds `n` bytes; wakes the detached-session task past the budget.
    pub(crate) fn add(&self, n: usize) {
        let total = self.bytes.fetch_add(n, Ordering::AcqRel) + n;
        if total > self.budget.load(Ordering::Relaxed) {
            self.over.notify_one();
        }
    }

    pub(crate) fn sub(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::AcqRel);
    }

    /// Applies a detached resume buffer's growth (negative: it shrank).
    pub(crate) fn change(&self, delta: isize) {
        if delta >= 0 {
            self.add(delta.unsigned_abs());
        } else {
            self.sub(delta.unsigned_abs());
        }
    }

    /// The bytes held now.
    pub(crate) fn get(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub(crate) fn over_budget(&self) -> bool {
        self.get() > self.budget.load(Ordering::Relaxed)
    }

    /// Wakes the detached-session task (a new entry, or the budget passed).
    pub(crate) fn wake(&self) {
        self.over.notify_one();
    }
}

/// What one room carried on this node over a period, for
/// [`crate::Hub::take_room_traffic`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoomTraffic {
    /// The room.
    pub room: String,
    /// Its members on this node now.
    pub members: usize,
    /// Broadcasts and relays delivered to its members here.
    pub messages: u64,
    /// The members they reached (a broadcast counts each member).
    pub deliveries: u64,
}

/// How much one session holds in its queues now, for
/// [`crate::Socket::queue_depths`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct QueueDepths {
    /// Frames waiting for the link's writer (the send queue; past its
    /// capacity the socket is closed as a slow consumer).
    pub pending: usize,
    /// Messages kept in the resume buffer.
    pub resume_messages: usize,
    /// Their payload bytes.
    pub resume_bytes: usize,
}
