//! A token bucket limiting a socket's client messages.

use tokio::time::Instant;

use crate::config::RateLimit;

/// Tokens refill continuously at the limit's `per_second`, up to its
/// `burst`. The limit itself is the hub's, passed in rather than copied:
/// every link holds a bucket for its whole life.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

fn burst(limit: RateLimit) -> f64 {
    f64::from(limit.burst.max(1))
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            tokens: burst(limit),
            updated: Instant::now(),
        }
    }

    /// Takes one token under `limit` (the one the bucket was made with);
    /// false when none is left.
    pub(crate) fn try_take(&mut self, limit: RateLimit) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.updated).as_secs_f64();
        self.updated = now;
        let per_second = f64::from(limit.per_second.max(1));
        self.tokens = (self.tokens + elapsed * per_second).min(burst(limit));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn refills_over_time() {
        let limit = RateLimit {
            per_second: 2,
            burst: 2,
        };
        let mut bucket = TokenBucket::new(limit);
        assert!(bucket.try_take(limit));
        assert!(bucket.try_take(limit));
        assert!(!bucket.try_take(limit));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.try_take(limit));
        assert!(!bucket.try_take(limit));
    }
}
