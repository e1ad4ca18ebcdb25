//! What this node's own appends last produced in each room, so that the
//! next append to the room need not read it back first.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Rooms remembered at most; past it the whole cache starts over (each
/// room then costs one read at its next append).
const MAX_ROOMS: usize = 10_000;

/// A room's last batch, as this node appended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LastBatch {
    /// Its stream sequence.
    pub(super) sequence: u64,
    /// The room's epoch.
    pub(super) epoch: String,
    /// The offset of its last message.
    pub(super) last: u64,
}

/// A bounded map of rooms to their [`LastBatch`]. An entry may be stale
/// (another node appended since, or the batch expired): the append that
/// uses it is then refused by JetStream's expected-sequence check, and
/// reads the room.
#[derive(Default)]
pub(super) struct LastBatches {
    rooms: Mutex<HashMap<String, LastBatch>>,
}

impl LastBatches {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, LastBatch>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What this node last knew of `room`.
    pub(super) fn get(&self, room: &str) -> Option<LastBatch> {
        self.rooms().get(room).cloned()
    }

    /// Remembers `room`'s last batch.
    pub(super) fn put(&self, room: &str, last: LastBatch) {
        let mut rooms = self.rooms();
        if rooms.len() >= MAX_ROOMS && !rooms.contains_key(room) {
            rooms.clear();
        }
        rooms.insert(room.to_owned(), last);
    }

    /// Forgets `room` (what was known proved stale).
    pub(super) fn forget(&self, room: &str) {
        self.rooms().remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded() {
        let cache = LastBatches::default();
        let last = |sequence| LastBatch {
            sequence,
            epoch: "e".into(),
            last: sequence,
        };
        for n in 0..MAX_ROOMS as u64 {
            cache.put(&n.to_string(), last(n));
        }
        assert_eq!(cache.get("7"), Some(last(7)));
        cache.put("7", last(8));
        assert_eq!(
            cache.rooms().len(),
            MAX_ROOMS,
            "a known room does not evict"
        );
        cache.put("new", last(1));
        assert_eq!(
            cache.rooms().len(),
            1,
            "a new room past the bound starts over"
        );
        cache.forget("new");
        assert_eq!(cache.get("new"), None);
    }
}
