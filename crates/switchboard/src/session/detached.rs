//! Sessions waiting for a resume (PROTOCOL.md section 5), and the hub-wide
//! bounds on them: how many there may be ([`HubConfig::max_detached_sessions`])
//! and how many bytes they may hold together ([`HubConfig::detached_budget`]).
//!
//! A session whose link dropped enters the ledger, in order; a resume takes
//! it out. One task per hub ends the sessions whose resume window has
//! passed (the oldest first: every session waits the same window) and,
//! when a bound is passed, the oldest detached sessions first, even before
//! their window ends; their resume then gets a new session.
//!
//! What a detached session holds is counted when its link drops: its
//! resume buffer's payload bytes (kept up to date as messages keep
//! arriving, see [`DetachedBytes`](crate::stats::DetachedBytes)) and its room memberships (the name's
//! length plus [`MEMBERSHIP_OVERHEAD`] each). A frame shared by many
//! sessions counts its full length in each.
//!
//! [`HubConfig::max_detached_sessions`]: crate::HubConfig::max_detached_sessions
//! [`HubConfig::detached_budget`]: crate::HubConfig::detached_budget

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::error::DisconnectReason;
use crate::session::shared::SocketShared;

/// The bytes one room membership of a detached session is counted for,
/// beside its name: its entries in the room's member map and in the
/// session's own room set.
pub(crate) const MEMBERSHIP_OVERHEAD: usize = 128;

/// A detached session in the ledger.
pub(crate) struct Entry {
    pub(crate) session: Arc<SocketShared>,
    /// The bytes its memberships were counted for.
    pub(crate) rooms_bytes: usize,
    /// When its resume window ends.
    pub(crate) deadline: Instant,
    /// Why its link dropped: the reason it ends with if not resumed.
    pub(crate) reason: DisconnectReason,
}

/// Detached sessions in order, with their place by socket id.
#[derive(Default)]
pub(crate) struct Ledger {
    /// Detached sessions in the order their links dropped.
    pub(crate) by_order: BTreeMap<u64, Entry>,
    /// Their place in `by_order`, by socket id.
    pub(crate) order_of: HashMap<Arc<str>, u64>,
    pub(crate) next: u64,
}

impl Ledger {
    /// Takes `session` out of the ledger, if it is in it.
    pub(crate) fn remove(&mut self, session: &SocketShared) -> Option<Entry> {
        let order = self.order_of.remove(&session.id)?;
        self.by_order.remove(&order)
    }
}

/// The sessions of a hub that wait for a resume.
#[derive(Default)]
pub(crate) struct DetachedSessions {
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) task_started: AtomicBool,
}

impl DetachedSessions {
    /// How many sessions wait for a resume.
    pub(crate) fn len(&self) -> usize {
        self.ledger.lock().by_order.len()
    }
}

/// What a detached session's memberships are counted for.
pub(crate) fn rooms_bytes(session: &SocketShared) -> usize {
    let rooms = session.rooms.lock();
    rooms
        .names
        .iter()
        .map(|name| name.len() + MEMBERSHIP_OVERHEAD)
        .sum()
}
