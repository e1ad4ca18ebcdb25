//! The other nodes this node has heard from, and when.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Other nodes by id, with the time each was last heard from. A node is
/// live while it was heard from within the timeout.
#[derive(Debug)]
pub(crate) struct NodeTable {
    timeout: Duration,
    last_seen: HashMap<String, Instant>,
}

impl NodeTable {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last_seen: HashMap::new(),
        }
    }

    /// Records that `node` spoke; returns whether it was not live before
    /// (new, or silent past the timeout and not yet pruned, e.g. across a
    /// backend outage).
    pub(crate) fn heard(&mut self, node: &str, now: Instant) -> bool {
        match self.last_seen.get_mut(node) {
            Some(seen) => {
                let was_live = now.saturating_duration_since(*seen) <= self.timeout;
                *seen = now;
                !was_live
            }
            None => {
                self.last_seen.insert(node.to_owned(), now);
                true
            }
        }
    }

    /// Forgets `node` (it announced it is leaving); returns whether it was known.
    pub(crate) fn remove(&mut self, node: &str) -> bool {
        self.last_seen.remove(node).is_some()
    }

    /// Forgets every node silent for longer than the timeout; returns them.
    pub(crate) fn prune(&mut self, now: Instant) -> Vec<String> {
        let timeout = self.timeout;
        let mut gone = Vec::new();
        self.last_seen.retain(|node, seen| {
            let live = now.saturating_duration_since(*seen) <= timeout;
            if !live {
                gone.push(node.clone());
            }
            live
        });
        gone.sort_unstable();
        gone
    }

    /// Every node not pruned yet, live or silent, sorted (while the
    /// backend is down nobody can be heard, so nobody is pruned).
    pub(crate) fn known(&self) -> Vec<String> {
        let mut known: Vec<String> = self.last_seen.keys().cloned().collect();
        known.sort_unstable();
        known
    }

    /// The live nodes, sorted.
    pub(crate) fn live(&self, now: Instant) -> Vec<String> {
        let mut live: Vec<String> = self
            .last_seen
            .iter()
            .filter(|(_, seen)| now.saturating_duration_since(**seen) <= self.timeout)
            .map(|(node, _)| node.clone())
            .collect();
        live.sort_unstable();
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_live_until_silent_past_the_timeout() {
        let mut table = NodeTable::new(Duration::from_secs(3));
        let t0 = Instant::now();
        assert!(table.heard("a", t0));
        assert!(!table.heard("a", t0));
        assert!(table.heard("b", t0 + Duration::from_secs(2)));
        assert_eq!(table.live(t0 + Duration::from_secs(3)), ["a", "b"]);
        assert_eq!(table.live(t0 + Duration::from_secs(4)), ["b"]);
        assert_eq!(table.prune(t0 + Duration::from_secs(4)), ["a"]);
        assert!(table.remove("b"));
        assert!(table.live(t0).is_empty());
    }

    #[test]
    fn a_node_heard_again_after_going_stale_counts_as_returning() {
        // Across a backend outage nobody prunes; the first heartbeat after
        // it must bring the node back into the live set as a change.
        let mut table = NodeTable::new(Duration::from_secs(3));
        let t0 = Instant::now();
        assert!(table.heard("a", t0));
        assert!(table.live(t0 + Duration::from_secs(10)).is_empty());
        assert!(table.heard("a", t0 + Duration::from_secs(10)));
        assert_eq!(table.live(t0 + Duration::from_secs(10)), ["a"]);
    }
}
