//! Open-loop schedules: message `n` is due `n / rate` seconds after the
//! start, whatever happened to the messages before it.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which messages are sent when: message `n` is due at `n / rate` seconds
/// after the start; the first `warmup` are not measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Messages per second.
    pub rate: u32,
    /// Messages sent before measuring starts.
    pub warmup: u64,
    /// Messages sent in all.
    pub total: u64,
}

impl Schedule {
    /// A schedule of `warmup_secs` then `duration_secs` at `rate`.
    pub fn new(rate: u32, warmup_secs: u64, duration_secs: u64) -> Self {
        let rate_u64 = u64::from(rate);
        Self {
            rate,
            warmup: rate_u64 * warmup_secs,
            total: rate_u64 * (warmup_secs + duration_secs),
        }
    }

    /// When message `n` is due, after the start.
    pub fn due(&self, n: u64) -> Duration {
        let nanos = u128::from(n) * 1_000_000_000 / u128::from(self.rate.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The sequence numbers measured.
    pub fn measured(&self) -> Range<u64> {
        self.warmup..self.total
    }

    /// How many messages are measured.
    pub fn measured_len(&self) -> u64 {
        self.total - self.warmup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spreads_messages_evenly() {
        let schedule = Schedule::new(1000, 2, 10);
        assert_eq!(schedule.total, 12_000);
        assert_eq!(schedule.measured(), 2_000..12_000);
        assert_eq!(schedule.measured_len(), 10_000);
        assert_eq!(schedule.due(0), Duration::ZERO);
        assert_eq!(schedule.due(1), Duration::from_millis(1));
        assert_eq!(schedule.due(12_000), Duration::from_secs(12));
        assert_eq!(
            Schedule::new(3, 0, 1).due(1),
            Duration::from_nanos(333_333_333)
        );
    }
}
