//! The client's reconnect schedule: exponential growth with full jitter
//! (the pool's is [`PoolBackoff`](crate::pool::PoolBackoff)).

use std::time::Duration;

/// The reconnect delay schedule: before attempt `n` (1-based) the client
/// waits a random time between zero and `min(max, initial * 2^(n-1))`
/// ("full jitter"), or exactly that ceiling when jitter is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientBackoff {
    /// The first ceiling (default 1 s).
    pub initial: Duration,
    /// The largest ceiling (default 30 s).
    pub max: Duration,
    /// Wait a random time up to the ceiling (default on).
    pub jitter: bool,
}

impl Default for ClientBackoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl ClientBackoff {
    /// The ceiling before attempt `attempt` (1-based; 0 counts as 1):
    /// `min(max, initial * 2^(attempt-1))`, never overflowing.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        self.initial
            .checked_mul(1u32 << doublings.min(31))
            .map_or(self.max, |d| d.min(self.max))
    }

    /// The delay before attempt `attempt` given a uniform sample `unit` in
    /// `[0, 1]`: `ceiling * unit` with jitter, else the ceiling. Pure, for
    /// tests.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        if self.jitter {
            ceiling.mul_f64(unit.clamp(0.0, 1.0))
        } else {
            ceiling
        }
    }

    /// The delay before attempt `attempt`, with a fresh random sample.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_to_max() {
        let b = ClientBackoff::default();
        let secs: Vec<u64> = (1..=8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.ceiling(u32::MAX), b.max);
        assert_eq!(b.ceiling(0), b.initial);
    }
}
