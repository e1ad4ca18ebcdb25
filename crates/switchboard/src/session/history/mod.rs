//! Room history (PROTOCOL.md section 11): which rooms keep it, for how
//! long, and this node's state of each such room.
//!
//! On a single hub the history itself lives here ([`MemoryLog`]); in a
//! cluster it lives in the backend and this node keeps, per room, where
//! its deliveries stand. Either way one lock per room orders everything
//! that happens to it: a message gets its offset and reaches the room's
//! members under it, and a `$join` reads the history and joins under it,
//! so a joining socket misses nothing between the two and gets nothing
//! twice. Lock order: a room's history lock, then the room registry's.

mod kept_here;
mod log;
mod sequence;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use switchboard_protocol::{HistoryPosition, Message};

pub(crate) use kept_here::KeptHere;
pub(crate) use log::MemoryLog;
pub(crate) use sequence::{Accepted, Sequence};

pub use crate::config::HistoryLimits;

/// Which rooms keep history.
pub(crate) type HistoryRooms = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A page of one room's history, as a store answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage<T> {
    /// The room's epoch (`""` while it keeps no message).
    pub epoch: String,
    /// The offset of the room's latest message (0 while it has none).
    pub offset: u64,
    /// The offset of the oldest message still kept (`offset + 1` when none
    /// is).
    pub first: u64,
    /// The messages asked for, oldest first, with their offsets.
    pub entries: Vec<(u64, T)>,
}

impl<T> HistoryPage<T> {
    /// The page of a room with no history.
    pub fn empty() -> Self {
        Self {
            epoch: String::new(),
            offset: 0,
            first: 1,
            entries: Vec::new(),
        }
    }

    /// Whether a client that received everything up to `since` can get
    /// every message it missed from this history: the same epoch, and the
    /// history still reaches back to the message after `since`. A client
    /// that saw the room before it had any history (epoch `""`, offset 0)
    /// recovers when the whole current epoch is still kept.
    pub fn recovers(&self, since: &HistoryPosition) -> bool {
        if since.epoch == self.epoch {
            since.offset <= self.offset && since.offset + 1 >= self.first
        } else {
            since.epoch.is_empty() && since.offset == 0 && self.first == 1
        }
    }
}

/// A message of a history room on its way to a clustered node's members,
/// with the sockets it does not reach (a relay's sender).
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The message, its `room` set.
    pub(crate) message: Message,
    /// Socket ids left out.
    pub(crate) except: Vec<String>,
}

/// What this node keeps of one history room.
#[derive(Debug, Default)]
pub(crate) struct RoomHistory {
    /// A single hub's history of the room (`None` before its first
    /// message, and once every message expired).
    pub(crate) log: Option<MemoryLog<Message>>,
    /// A clustered node's delivery order of the room (`None` until this
    /// node hears of it, and once it has been idle past the time to live).
    pub(crate) sequence: Option<Sequence<Delivery>>,
    /// A clustered node's last messages kept in the room's store (`None`
    /// until it keeps one, and once it has kept none for the time to
    /// live).
    pub(crate) kept_here: Option<KeptHere<Delivery>>,
}

impl RoomHistory {
    /// Keeps `message` in the single hub's log; returns its place.
    pub(crate) fn append(&mut self, message: Message, limits: &HistoryLimits) -> HistoryPosition {
        let now = Instant::now();
        let log = self.log.get_or_insert_with(MemoryLog::new);
        let offset = log.append(message, now, limits);
        HistoryPosition {
            epoch: log.epoch().to_string(),
            offset,
        }
    }

    /// The single hub's history after `since`, at most `limit` messages.
    pub(crate) fn page(
        &mut self,
        since: u64,
        limit: usize,
        limits: &HistoryLimits,
    ) -> HistoryPage<Message> {
        self.expire(Instant::now(), limits);
        match &self.log {
            Some(log) => log.page(since, limit),
            None => HistoryPage::empty(),
        }
    }

    /// Drops expired messages, and the log once it holds none; forgets a
    /// sequence idle past the time to live with nothing waiting (the room's
    /// history expired in the store too, so its next message starts a new
    /// epoch anyway).
    fn expire(&mut self, now: Instant, limits: &HistoryLimits) {
        if self.log.as_mut().is_some_and(|log| log.expire(now, limits)) {
            self.log = None;
        }
        if self.sequence.as_ref().is_some_and(|seq| {
            !seq.has_gap()
                && !seq.filling
                && now.saturating_duration_since(seq.touched) >= limits.ttl
        }) {
            self.sequence = None;
        }
        if self.kept_here.as_ref().is_some_and(|kept| {
            kept.newest_at()
                .is_none_or(|at| now.saturating_duration_since(at) >= limits.ttl)
        }) {
            self.kept_here = None;
        }
    }

    /// Whether nothing is kept for the room any more.
    fn is_empty(&self) -> bool {
        self.log.is_none() && self.sequence.is_none() && self.kept_here.is_none()
    }
}

/// Every history room of this node, each behind its own lock.
pub(crate) struct HistoryBook {
    rooms_kept: HistoryRooms,
    /// Set when a clustered hub's backend keeps no history: no room keeps
    /// any then.
    disabled: std::sync::atomic::AtomicBool,
    limits: HistoryLimits,
    rooms: Mutex<HashMap<Arc<str>, Arc<Mutex<RoomHistory>>>>,
    next_sweep: Mutex<Instant>,
}

impl HistoryBook {
    /// A book for the rooms `rooms_kept` accepts.
    pub(crate) fn new(rooms_kept: HistoryRooms, limits: HistoryLimits) -> Self {
        Self {
            rooms_kept,
            disabled: std::sync::atomic::AtomicBool::new(false),
            limits,
            rooms: Mutex::default(),
            next_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Whether `room` keeps history.
    pub(crate) fn keeps(&self, room: &str) -> bool {
        !self.disabled.load(std::sync::atomic::Ordering::Relaxed) && (self.rooms_kept)(room)
    }

    /// Keeps no history for any room from now on.
    pub(crate) fn disable(&self) {
        self.disabled
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The rooms this node has a delivery sequence for.
    pub(crate) fn sequenced_rooms(&self) -> Vec<Arc<str>> {
        // The room locks are taken after the map's is let go.
        let rooms: Vec<(Arc<str>, Arc<Mutex<RoomHistory>>)> = self
            .rooms
            .lock()
            .iter()
            .map(|(room, state)| (room.clone(), state.clone()))
            .collect();
        rooms
            .into_iter()
            .filter(|(_, state)| state.lock().sequence.is_some())
            .map(|(room, _)| room)
            .collect()
    }

    /// The limits of every room's history.
    pub(crate) fn limits(&self) -> &HistoryLimits {
        &self.limits
    }

    /// Runs `f` on `room`'s state under its lock (no `.await` inside:
    /// `f` is synchronous).
    pub(crate) fn with_room<R>(&self, room: &str, f: impl FnOnce(&mut RoomHistory) -> R) -> R {
        self.sweep_if_due();
        let state = {
            let mut rooms = self.rooms.lock();
            match rooms.get(room) {
                Some(state) => state.clone(),
                None => rooms.entry(Arc::from(room)).or_default().clone(),
            }
        };
        let mut state = state.lock();
        f(&mut state)
    }

    /// Every so often (a tenth of the time to live, at most a minute),
    /// drops what expired in every room, and the rooms left with nothing,
    /// so rooms no one writes to any more do not hold memory.
    fn sweep_if_due(&self) {
        let now = Instant::now();
        {
            let mut next = self.next_sweep.lock();
            if now < *next {
                return;
            }
            *next = now
                + (self.limits.ttl / 10).clamp(Duration::from_millis(10), Duration::from_secs(60));
        }
        let limits = self.limits;
        self.rooms.lock().retain(|_, state| {
            // A room someone is using right now is kept as it is.
            let Some(mut state) = state.try_lock() else {
                return true;
            };
            state.expire(now, &limits);
            !state.is_empty()
        });
    }

    /// How many rooms hold history state on this node.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rooms.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(epoch: &str, offset: u64) -> HistoryPosition {
        HistoryPosition {
            epoch: epoch.into(),
            offset,
        }
    }

    fn page(epoch: &str, first: u64, offset: u64) -> HistoryPage<()> {
        HistoryPage {
            epoch: epoch.into(),
            offset,
            first,
            entries: Vec::new(),
        }
    }

    #[test]
    fn recovery_needs_the_same_epoch_and_the_next_message_kept() {
        let kept = page("e", 5, 9);
        assert!(kept.recovers(&position("e", 9)), "nothing missed");
        assert!(kept.recovers(&position("e", 4)), "missed 5..9, all kept");
        assert!(!kept.recovers(&position("e", 3)), "4 is gone");
        assert!(!kept.recovers(&position("e", 10)), "past the latest");
        assert!(!kept.recovers(&position("other", 9)), "another epoch");
        assert!(
            page("e", 1, 3).recovers(&position("", 0)),
            "saw the room before its history"
        );
        assert!(
            !kept.recovers(&position("", 0)),
            "the epoch's start is gone"
        );
        assert!(HistoryPage::<()>::empty().recovers(&position("", 0)));
        assert!(
            !HistoryPage::<()>::empty().recovers(&position("e", 3)),
            "history expired whole"
        );
    }

    #[test]
    fn rooms_left_with_nothing_are_swept() {
        let limits = HistoryLimits {
            size: 10,
            ttl: Duration::from_millis(30),
        };
        let book = HistoryBook::new(Arc::new(|room: &str| room.starts_with('h')), limits);
        assert!(book.keeps("h1") && !book.keeps("x"));
        book.with_room("h1", |room| room.append(Message::default(), &limits));
        book.with_room("h2", |_| ());
        assert_eq!(book.len(), 2);
        std::thread::sleep(Duration::from_millis(40));
        book.with_room("h3", |room| room.append(Message::default(), &limits));
        assert_eq!(book.len(), 1, "h1 expired and h2 never held anything");
    }
}
