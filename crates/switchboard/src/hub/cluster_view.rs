//! Cluster-wide questions: members, rooms of a socket, counts, kicks, a
//! user's sockets.

use switchboard_protocol::CloseCode;
use tokio::sync::watch;

use crate::adapter::{ClusterStats, ClusterStatus, Query, RemoteReplies, Reply};
use crate::hub::handle::Hub;

/// An answer gathered from every live node, with who answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAnswer<T> {
    /// The combined answer of the nodes that answered.
    pub value: T,
    /// The nodes that answered, this one first.
    pub answered: Vec<String>,
    /// Live nodes that did not answer within the cluster timeout (or could
    /// not be asked because the backend is down); their part is missing
    /// from `value`.
    pub missing: Vec<String>,
}

impl<T> ClusterAnswer<T> {
    /// Whether every live node answered.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Questions to every node of the cluster, from [`Hub::cluster`]. Each one
/// answers for this node at once and waits for the others up to the hub's
/// `cluster_timeout` (default 1 s).
#[derive(Debug, Clone)]
pub struct ClusterView {
    hub: Hub,
}

impl ClusterView {
    pub(crate) fn new(hub: Hub) -> Self {
        Self { hub }
    }

    async fn ask(&self, query: Query) -> RemoteReplies {
        let adapter = &self.hub.adapter();
        if !adapter.is_clustered() {
            return RemoteReplies::default();
        }
        adapter
            .request(query, self.hub.cluster_request_timeout())
            .await
    }

    fn answer<T>(&self, value: T, replies: &RemoteReplies) -> ClusterAnswer<T> {
        let mut answered = vec![self.hub.node_id().to_owned()];
        answered.extend(replies.replies.iter().map(|(node, _)| node.clone()));
        ClusterAnswer {
            value,
            answered,
            missing: replies.missing.clone(),
        }
    }

    /// The ids of the members of `room` on every node, sorted.
    pub async fn members(&self, room: &str) -> ClusterAnswer<Vec<String>> {
        let replies = self
            .ask(Query::Members {
                room: room.to_owned(),
            })
            .await;
        let mut ids = self.hub.members(room);
        ids.extend(names(&replies));
        ids.sort_unstable();
        ids.dedup();
        self.answer(ids, &replies)
    }

    /// The rooms of the socket with this id, wherever it is, sorted (empty
    /// if no node that answered holds it).
    pub async fn rooms_of(&self, socket_id: &str) -> ClusterAnswer<Vec<String>> {
        if self.hub.socket(socket_id).is_some() {
            // Ids are unique in the cluster: no other node holds it.
            return self.answer(self.hub.rooms_of(socket_id), &RemoteReplies::default());
        }
        let replies = self
            .ask(Query::RoomsOf {
                socket: socket_id.to_owned(),
            })
            .await;
        let mut rooms: Vec<String> = names(&replies).collect();
        rooms.sort_unstable();
        rooms.dedup();
        self.answer(rooms, &replies)
    }

    /// The live connections of every node.
    pub async fn count(&self) -> ClusterAnswer<usize> {
        let replies = self.ask(Query::Count).await;
        let remote: u64 = replies
            .replies
            .iter()
            .map(|(_, reply)| match reply {
                Reply::Count(n) => *n,
                _ => 0,
            })
            .sum();
        let total = self.hub.count() + usize::try_from(remote).unwrap_or(usize::MAX);
        self.answer(total, &replies)
    }

    /// Closes the socket with this id with `code`, wherever it is; the
    /// value says whether a node held it.
    pub async fn disconnect(&self, socket_id: &str, code: CloseCode) -> ClusterAnswer<bool> {
        if self.hub.disconnect(socket_id, code) {
            return self.answer(true, &RemoteReplies::default());
        }
        let replies = self
            .ask(Query::DisconnectSocket {
                socket: socket_id.to_owned(),
                code: code.as_u16(),
            })
            .await;
        let found = replies
            .replies
            .iter()
            .any(|(_, reply)| matches!(reply, Reply::Found(true)));
        self.answer(found, &replies)
    }

    /// The ids of every socket of `user` on every node (live or waiting for
    /// a resume), sorted.
    pub async fn user_sockets(&self, user: &str) -> ClusterAnswer<Vec<String>> {
        let replies = self
            .ask(Query::UserSockets {
                user: user.to_owned(),
            })
            .await;
        let mut ids = self.hub.user_sockets(user);
        ids.extend(names(&replies));
        ids.sort_unstable();
        ids.dedup();
        self.answer(ids, &replies)
    }

    /// Closes every socket of `user` with `code` on every node; the value
    /// is how many were closed.
    pub async fn disconnect_user(&self, user: &str, code: CloseCode) -> ClusterAnswer<usize> {
        let here = self.hub.disconnect_user(user, code);
        let replies = self
            .ask(Query::DisconnectUser {
                user: user.to_owned(),
                code: code.as_u16(),
            })
            .await;
        let remote: u64 = replies
            .replies
            .iter()
            .map(|(_, reply)| match reply {
                Reply::Count(n) => *n,
                _ => 0,
            })
            .sum();
        let total = here + usize::try_from(remote).unwrap_or(usize::MAX);
        self.answer(total, &replies)
    }

    /// Whether the hub runs with a cluster adapter.
    pub fn is_clustered(&self) -> bool {
        self.hub.adapter().is_clustered()
    }

    /// The cluster as this node sees it now.
    pub fn status(&self) -> ClusterStatus {
        self.hub.adapter().status().borrow().clone()
    }

    /// A receiver of every change of [`ClusterView::status`], e.g. to wait
    /// until the other nodes are known:
    /// `watch.wait_for(|s| s.peers.len() == 2).await`.
    pub fn watch(&self) -> watch::Receiver<ClusterStatus> {
        self.hub.adapter().status()
    }

    /// The adapter's counters.
    pub fn stats(&self) -> ClusterStats {
        self.hub.adapter().stats()
    }
}

fn names(replies: &RemoteReplies) -> impl Iterator<Item = String> + '_ {
    replies.replies.iter().flat_map(|(_, reply)| match reply {
        Reply::Names(names) => names.clone(),
        _ => Vec::new(),
    })
}

impl Hub {
    /// Cluster-wide questions (members, rooms of a socket, counts, kicks)
    /// and the cluster's state. A single hub answers them alone.
    pub fn cluster(&self) -> ClusterView {
        ClusterView::new(self.clone())
    }
}
