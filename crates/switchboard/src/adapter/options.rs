//! Options of a [`ClusterAdapter`](super::ClusterAdapter).

use std::time::Duration;

/// How a [`ClusterAdapter`](super::ClusterAdapter) behaves. Every field has
/// a default suited to a LAN.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// Prefix of the channel names (followed by `.{namespace}` for a hub
    /// with a [namespace](crate::HubBuilder::namespace)); nodes with the
    /// same prefix and namespace on the same
    /// backend form one cluster (default `"switchboard"`).
    pub prefix: String,
    /// How often a node announces itself (default 1 s).
    pub heartbeat_interval: Duration,
    /// How long a silent node still counts as live (default 3 s).
    pub node_timeout: Duration,
    /// First wait before reconnecting to the backend (default 100 ms);
    /// doubles after each failure up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest wait between reconnection attempts (default 5 s).
    pub reconnect_max: Duration,
    /// Operations waiting to be published (while the backend is slow or
    /// unreachable) before new ones are dropped and counted (default
    /// 65,536).
    pub outbound_capacity: usize,
    /// Bytes of encoded operations waiting to be published before new ones
    /// are dropped and counted (default 16 MiB). With `outbound_capacity`,
    /// the bound of what a backend outage may hold back: the operations
    /// within it go out in order once the backend returns.
    pub outbound_bytes: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            prefix: "switchboard".to_owned(),
            heartbeat_interval: Duration::from_secs(1),
            node_timeout: Duration::from_secs(3),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            outbound_capacity: 65_536,
            outbound_bytes: 16 << 20,
        }
    }
}

impl ClusterOptions {
    /// Sets the channel prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the heartbeat interval and a node timeout of three intervals.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.node_timeout = interval * 3;
        self
    }

    /// Sets how long a silent node still counts as live.
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout;
        self
    }

    /// Sets the bounds of what waits to be published (an outage's
    /// backlog): at most `messages` operations of at most `bytes` in all.
    pub fn outbound_bounds(mut self, messages: usize, bytes: usize) -> Self {
        self.outbound_capacity = messages.max(1);
        self.outbound_bytes = bytes;
        self
    }

    /// Sets the reconnection backoff bounds.
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min = min;
        self.reconnect_max = max.max(min);
        self
    }
}
