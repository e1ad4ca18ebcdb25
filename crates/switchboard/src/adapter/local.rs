//! The default adapter: a single hub, no other nodes.

use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::{Adapter, ClusterStats, ClusterStatus, NodeHandle, Operation, Query, RemoteReplies};

/// A single hub: nothing crosses nodes, every cluster-wide answer is this
/// node's own. The default.
#[derive(Debug)]
pub struct LocalAdapter {
    node_id: String,
    status: watch::Sender<ClusterStatus>,
}

impl Default for LocalAdapter {
    fn default() -> Self {
        Self {
            node_id: crate::id::new_socket_id(),
            status: watch::Sender::new(ClusterStatus {
                backend_up: true,
                peers: Vec::new(),
            }),
        }
    }
}

impl Adapter for LocalAdapter {
    fn start(&self, _node: NodeHandle) {}

    fn node_id(&self) -> &str {
        &self.node_id
    }

    fn is_clustered(&self) -> bool {
        false
    }

    fn publish(&self, _operation: Operation) {}

    fn request(&self, _query: Query, _timeout: Duration) -> BoxFuture<'static, RemoteReplies> {
        Box::pin(async { RemoteReplies::default() })
    }

    fn status(&self) -> watch::Receiver<ClusterStatus> {
        self.status.subscribe()
    }

    fn stats(&self) -> ClusterStats {
        ClusterStats::default()
    }

    fn stop(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
