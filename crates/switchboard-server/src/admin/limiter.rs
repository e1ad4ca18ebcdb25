//! The login form's rate limit: token buckets per client address and one
//! for everyone, in a bounded table.
//!
//! Every login attempt takes a token from its address's bucket and from
//! the global one; a right password gives them back. An address gets
//! [`PER_ADDRESS_BURST`] tries, then one every [`PER_ADDRESS_REFILL`];
//! all addresses together [`GLOBAL_BURST`], then one every
//! [`GLOBAL_REFILL`] (a spread-out guesser is slowed too). The table
//! tracks at most [`MAX_ADDRESSES`]; when it is full, addresses whose
//! bucket is full again are forgotten, and if none is, a new address is
//! refused until some are.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Tries an address gets at once.
pub const PER_ADDRESS_BURST: f64 = 5.0;
/// How long an address waits for each further try.
pub const PER_ADDRESS_REFILL: Duration = Duration::from_secs(12);
/// Tries all addresses get at once.
pub const GLOBAL_BURST: f64 = 30.0;
/// How long everyone waits for each further try past the global burst.
pub const GLOBAL_REFILL: Duration = Duration::from_secs(2);
/// The most addresses tracked.
pub const MAX_ADDRESSES: usize = 4096;

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(now: Instant, burst: f64) -> Self {
        Self {
            tokens: burst,
            updated: now,
        }
    }

    /// Refills to `now`; the tokens then held.
    fn refill(&mut self, now: Instant, burst: f64, every: Duration) -> f64 {
        let gained =
            now.saturating_duration_since(self.updated).as_secs_f64() / every.as_secs_f64();
        self.tokens = (self.tokens + gained).min(burst);
        self.updated = now;
        self.tokens
    }

    /// How long until a token is there.
    fn wait(&self, every: Duration) -> Duration {
        every.mul_f64((1.0 - self.tokens).max(0.0))
    }
}

/// Why a login attempt was refused before its password was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginLimited {
    /// This address tried too often.
    #[error("too many login attempts from this address: wait {0:?}")]
    Address(Duration),
    /// Everyone together tried too often.
    #[error("too many login attempts: wait {0:?}")]
    Global(Duration),
    /// The table of addresses is full of addresses still waiting.
    #[error("too many addresses are trying to log in: wait {0:?}")]
    TableFull(Duration),
}

impl LoginLimited {
    /// How long to wait (the `Retry-After` answer), at least a second.
    pub fn retry_after(&self) -> Duration {
        let (Self::Address(d) | Self::Global(d) | Self::TableFull(d)) = *self;
        d.max(Duration::from_secs(1))
    }
}

#[derive(Debug)]
struct Buckets {
    global: Bucket,
    addresses: HashMap<IpAddr, Bucket>,
}

/// The login rate limit.
#[derive(Debug)]
pub struct LoginLimiter {
    buckets: Mutex<Buckets>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

impl LoginLimiter {
    /// A limiter whose buckets are full at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            buckets: Mutex::new(Buckets {
                global: Bucket::full(now, GLOBAL_BURST),
                addresses: HashMap::new(),
            }),
        }
    }

    /// Takes a try for `address` at `now`, or says why not.
    pub fn attempt(&self, address: IpAddr, now: Instant) -> Result<(), LoginLimited> {
        let mut buckets = self.buckets.lock();
        if buckets.addresses.len() >= MAX_ADDRESSES && !buckets.addresses.contains_key(&address) {
            buckets.addresses.retain(|_, bucket| {
                bucket.refill(now, PER_ADDRESS_BURST, PER_ADDRESS_REFILL) < PER_ADDRESS_BURST
            });
            if buckets.addresses.len() >= MAX_ADDRESSES {
                return Err(LoginLimited::TableFull(PER_ADDRESS_REFILL));
            }
        }
        let global = buckets.global.refill(now, GLOBAL_BURST, GLOBAL_REFILL);
        let bucket = buckets
            .addresses
            .entry(address)
            .or_insert_with(|| Bucket::full(now, PER_ADDRESS_BURST));
        if bucket.refill(now, PER_ADDRESS_BURST, PER_ADDRESS_REFILL) < 1.0 {
            return Err(LoginLimited::Address(bucket.wait(PER_ADDRESS_REFILL)));
        }
        if global < 1.0 {
            return Err(LoginLimited::Global(buckets.global.wait(GLOBAL_REFILL)));
        }
        bucket.tokens -= 1.0;
        buckets.global.tokens -= 1.0;
        Ok(())
    }

    /// A try of `address` succeeded: its tokens come back.
    pub fn succeeded(&self, address: IpAddr) {
        let mut buckets = self.buckets.lock();
        buckets.global.tokens = (buckets.global.tokens + 1.0).min(GLOBAL_BURST);
        if let Some(bucket) = buckets.addresses.get_mut(&address) {
            bucket.tokens = (bucket.tokens + 1.0).min(PER_ADDRESS_BURST);
        }
    }

    /// The number of addresses tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().addresses.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn an_address_gets_its_burst_then_waits() {
        let now = Instant::now();
        let limiter = LoginLimiter::new(now);
        for _ in 0..5 {
            limiter.attempt(ip(1), now).unwrap();
        }
        let refused = limiter.attempt(ip(1), now).unwrap_err();
        assert!(matches!(refused, LoginLimited::Address(_)), "{refused:?}");
        assert!(refused.retry_after() >= Duration::from_secs(1));
        // Another address is not held back by it.
        limiter.attempt(ip(2), now).unwrap();
        // One refill later, one more try.
        let later = now + PER_ADDRESS_REFILL;
        limiter.attempt(ip(1), later).unwrap();
        assert!(limiter.attempt(ip(1), later).is_err());
    }

    #[test]
    fn a_success_gives_the_try_back() {
        let now = Instant::now();
        let limiter = LoginLimiter::new(now);
        for _ in 0..20 {
            limiter.attempt(ip(1), now).unwrap();
            limiter.succeeded(ip(1));
        }
    }

    #[test]
    fn everyone_together_is_limited_too() {
        let now = Instant::now();
        let limiter = LoginLimiter::new(now);
        for n in 0..30 {
            limiter.attempt(ip(n), now).unwrap();
        }
        let refused = limiter.attempt(ip(99), now).unwrap_err();
        assert!(matches!(refused, LoginLimited::Global(_)), "{refused:?}");
    }

    #[test]
    fn the_table_is_bounded() {
        let start = Instant::now();
        let limiter = LoginLimiter::new(start);
        // Spread over time so the global bucket never runs dry.
        for n in 0..MAX_ADDRESSES as u32 {
            let now = start + GLOBAL_REFILL * n;
            limiter.attempt(ip(n), now).unwrap();
        }
        assert_eq!(limiter.tracked(), MAX_ADDRESSES);
        // Long after, every bucket is full again: the table makes room.
        let later = start + GLOBAL_REFILL * (MAX_ADDRESSES as u32 + 1) + PER_ADDRESS_REFILL;
        limiter.attempt(ip(1_000_000), later).unwrap();
        assert!(limiter.tracked() < MAX_ADDRESSES);
    }
}
