//! What the hub does with users (PROTOCOL.md section 10): a user is every
//! socket connected with a token of the same `sub`. These answer for this
//! node; [`ClusterView`](crate::ClusterView) asks every node.

use switchboard_protocol::CloseCode;

use super::broadcast::BroadcastOperator;
use super::handle::Hub;

impl Hub {
    /// A broadcast to every socket of `user`, on every node (see
    /// [`BroadcastOperator::to_user`]).
    pub fn to_user(&self, user: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to_user(user)
    }

    /// The ids of this node's sockets of `user` (live or waiting for a
    /// resume), sorted.
    pub fn user_sockets(&self, user: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .user_registry()
            .sessions(user)
            .iter()
            .map(|s| s.id.to_string())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Closes every socket of `user` on this node with `code` (`4000` for
    /// a kick); returns how many.
    pub fn disconnect_user(&self, user: &str, code: CloseCode) -> usize {
        let sessions = self.user_registry().sessions(user);
        for session in &sessions {
            self.close_session(session, code);
        }
        sessions.len()
    }
}
