//! Requests in flight to other nodes: who must still answer, and what
//! answered so far.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::wire::Reply;

/// What came back for one request: the replies by node, and the nodes that
/// were expected and did not answer in time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteReplies {
    /// Each answering node's id and reply.
    pub replies: Vec<(String, Reply)>,
    /// Live nodes that did not answer within the timeout (or could not be
    /// asked because the backend is down).
    pub missing: Vec<String>,
}

struct Pending {
    waiting_for: HashSet<String>,
    replies: Vec<(String, Reply)>,
    done: Option<oneshot::Sender<()>>,
}

/// Requests by id.
#[derive(Default)]
pub(crate) struct RequestTable {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl RequestTable {
    /// Registers a request expecting one reply from each of `nodes`;
    /// the receiver fires once all have answered.
    pub(crate) fn open(&self, nodes: &[String]) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, all_answered) = oneshot::channel();
        self.pending.lock().insert(
            id,
            Pending {
                waiting_for: nodes.iter().cloned().collect(),
                replies: Vec::new(),
                done: Some(done),
            },
        );
        (id, all_answered)
    }

    /// Records `node`'s reply to request `id`; replies to unknown or
    /// finished requests, or from nodes not asked, are ignored.
    pub(crate) fn answer(&self, id: u64, node: &str, reply: Reply) {
        let mut pending = self.pending.lock();
        let Some(request) = pending.get_mut(&id) else {
            return;
        };
        if !request.waiting_for.remove(node) {
            return;
        }
        request.replies.push((node.to_owned(), reply));
        if request.waiting_for.is_empty()
            && let Some(done) = request.done.take()
        {
            let _ = done.send(());
        }
    }

    /// No longer waits for `node` (it left or timed out): a request waiting
    /// only for it finishes.
    pub(crate) fn forget_node(&self, node: &str) {
        for request in self.pending.lock().values_mut() {
            // The node stays out of `replies`, so it is reported missing
            // by `close`, which lists the nodes still awaited.
            if request.waiting_for.contains(node)
                && request.waiting_for.len() == 1
                && let Some(done) = request.done.take()
            {
                let _ = done.send(());
            }
        }
    }

    /// Ends request `id` and returns what it got.
    pub(crate) fn close(&self, id: u64) -> RemoteReplies {
        match self.pending.lock().remove(&id) {
            Some(request) => {
                let mut missing: Vec<String> = request.waiting_for.into_iter().collect();
                missing.sort_unstable();
                RemoteReplies {
                    replies: request.replies,
                    missing,
                }
            }
            None => RemoteReplies::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_completes_when_every_node_answered() {
        let table = RequestTable::default();
        let nodes = vec!["a".to_owned(), "b".to_owned()];
        let (id, mut done) = table.open(&nodes);
        table.answer(id, "a", Reply::Count(1));
        table.answer(id, "a", Reply::Count(5)); // a second answer is ignored
        table.answer(id, "z", Reply::Count(9)); // not asked
        assert!(done.try_recv().is_err());
        table.answer(id, "b", Reply::Count(2));
        assert!(done.try_recv().is_ok());
        let replies = table.close(id);
        assert_eq!(replies.replies.len(), 2);
        assert!(replies.missing.is_empty());
    }

    #[test]
    fn unanswered_nodes_are_reported_missing() {
        let table = RequestTable::default();
        let (id, mut done) = table.open(&["a".to_owned(), "b".to_owned()]);
        table.answer(id, "b", Reply::Found(true));
        table.forget_node("a");
        assert!(done.try_recv().is_ok());
        let replies = table.close(id);
        assert_eq!(replies.missing, ["a"]);
        assert_eq!(replies.replies, [("b".to_owned(), Reply::Found(true))]);
    }
}
