//! The last messages a clustered node kept in one history room's store,
//! for a store that loses its data (a backend restarted with empty
//! memory). Their publication to the other nodes may have died with the
//! backend: acknowledged by it, never delivered. When the node's next
//! append to the room lands in a new epoch, it publishes them again; the
//! other nodes deliver only those they never did (`Sequence::accept_again`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::sequence::Numbered;

/// How many of the room's last messages are kept here.
const RECENT: usize = 8;
/// How far before the newest one they reach back: what was on its way to
/// the backend when it died.
const RECENT_WINDOW: Duration = Duration::from_secs(1);

/// One history room's last messages kept by this node, with their epoch.
#[derive(Debug)]
pub(crate) struct KeptHere<T> {
    epoch: Arc<str>,
    /// `(offset, item, when kept)`, oldest first.
    recent: VecDeque<(u64, T, Instant)>,
}

impl<T: Clone> KeptHere<T> {
    /// Nothing kept yet, in `epoch`.
    pub(crate) fn new(epoch: &str) -> Self {
        Self {
            epoch: Arc::from(epoch),
            recent: VecDeque::new(),
        }
    }

    /// When the newest message was kept.
    pub(crate) fn newest_at(&self) -> Option<Instant> {
        self.recent.back().map(|(_, _, at)| *at)
    }

    /// Notes `items`, kept from `first` in `epoch` at `now`. When `epoch`
    /// is a new one, returns the last messages of the epoch before, to
    /// publish again.
    pub(crate) fn note(
        &mut self,
        epoch: &str,
        first: u64,
        items: &[T],
        now: Instant,
    ) -> Option<(Arc<str>, Numbered<T>)> {
        let mut again = None;
        if *self.epoch != *epoch {
            let old = std::mem::replace(&mut self.epoch, Arc::from(epoch));
            let recent: Numbered<T> = self
                .recent
                .drain(..)
                .map(|(offset, item, _)| (offset, item))
                .collect();
            if !recent.is_empty() {
                again = Some((old, recent));
            }
        }
        let skip = items.len().saturating_sub(RECENT);
        for (offset, item) in (first..).zip(items).skip(skip) {
            self.recent.push_back((offset, item.clone(), now));
        }
        while self.recent.len() > RECENT
            || self
                .recent
                .front()
                .is_some_and(|(_, _, at)| now.saturating_duration_since(*at) > RECENT_WINDOW)
        {
            self.recent.pop_front();
        }
        again
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_few_of_an_epoch_come_back_when_the_next_begins() {
        let t0 = Instant::now();
        let mut kept = KeptHere::new("e");
        let items: Vec<u64> = (1..=20).collect();
        assert!(kept.note("e", 1, &items, t0).is_none());
        assert!(kept.note("e", 21, &[21], t0).is_none());
        let (epoch, again) = kept.note("f", 1, &[100], t0).expect("e's last ones");
        assert_eq!(&*epoch, "e");
        let offsets: Vec<u64> = again.iter().map(|(offset, _)| *offset).collect();
        assert_eq!(offsets, (14..=21).collect::<Vec<_>>(), "the last 8");
        assert!(kept.note("f", 2, &[101], t0).is_none());
    }

    #[test]
    fn only_what_was_kept_just_before_the_newest() {
        let t0 = Instant::now();
        let mut kept = KeptHere::new("e");
        kept.note("e", 1, &[1, 2], t0);
        kept.note("e", 3, &[3], t0 + Duration::from_secs(5));
        let (_, again) = kept
            .note("f", 1, &[9], t0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!(again, vec![(3, 3)], "1 and 2 were long gone");
        assert_eq!(kept.newest_at(), Some(t0 + Duration::from_secs(60)));
    }
}
