//! Configuring and building a [`Pool`]: the merged stream's capacity and
//! overflow policy, and the options connections get by default.

use std::sync::{Arc, Mutex};

use super::Pool;
use super::events::{EventQueue, OverflowPolicy, PoolEvents};
use super::options::ConnectionOptions;
use super::registry::{Inner, Registry};

/// Configures a [`Pool`]: the merged stream's capacity and overflow policy,
/// and the options connections get by default.
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    capacity: usize,
    policy: OverflowPolicy,
    defaults: ConnectionOptions,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        Self {
            capacity: 1024,
            policy: OverflowPolicy::Backpressure,
            defaults: ConnectionOptions::default(),
        }
    }
}

impl PoolBuilder {
    /// How many events the merged stream holds (default 1,024, at least 1).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.capacity = events.max(1);
        self
    }

    /// What to do when the merged stream is full (default
    /// [`OverflowPolicy::Backpressure`]).
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The options of connections added without their own.
    pub fn default_options(mut self, options: ConnectionOptions) -> Self {
        self.defaults = options;
        self
    }

    /// Builds the pool and the receiver of its merged stream.
    pub fn build(self) -> (Pool, PoolEvents) {
        let queue = EventQueue::new(self.capacity, self.policy);
        let producer = queue.producer();
        let inner = Arc::new(Inner {
            registry: Mutex::new(Registry::default()),
            producer: Mutex::new(Some(producer)),
            queue: queue.clone(),
            defaults: self.defaults,
        });
        (Pool { inner }, PoolEvents::new(queue))
    }
}
