//! Per-client-address limits: concurrent connections and handshake rate,
//! in a table that is itself bounded.
//!
//! A tracked address holds a token bucket and a weak pointer to the owner
//! its connections share: the number of live connections is the owner's
//! strong count, so releasing a connection is dropping its pointer, and a
//! connection's task holds nothing more than before (one pointer).

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::client_addr::AddressKey;
use crate::config::RateLimit;

/// How often idle addresses are swept out of a table that is not full.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// How long a full table of busy addresses refuses new ones before it is
/// swept again (a sweep walks the whole table).
const FULL_SWEEP_PAUSE: Duration = Duration::from_millis(100);

/// Why a handshake from an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressRefusal {
    /// The address holds its most concurrent connections.
    TooManyConnections,
    /// The address has used its handshakes for now.
    TooManyHandshakes,
    /// Every tracked address holds a live connection and the table is
    /// full.
    TableFull,
}

/// The limits applied to each address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddressLimits {
    /// Most live connections (0: no limit).
    pub(crate) max_connections: usize,
    /// Handshake rate and burst.
    pub(crate) rate: Option<RateLimit>,
    /// Most addresses tracked at once.
    pub(crate) capacity: usize,
}

struct Tracked<T> {
    owner: Weak<T>,
    tokens: f64,
    refilled: Instant,
}

impl<T> Tracked<T> {
    fn refill(&mut self, rate: Option<RateLimit>, now: Instant) {
        if let Some(rate) = rate {
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.tokens = (self.tokens + elapsed * f64::from(rate.per_second))
                .min(f64::from(rate.burst.max(1)));
        }
        self.refilled = now;
    }

    /// No live connection, and a full bucket: forgetting it changes nothing.
    fn is_idle(&self, rate: Option<RateLimit>, now: Instant) -> bool {
        if self.owner.strong_count() > 0 {
            return false;
        }
        match rate {
            None => true,
            Some(rate) => {
                let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
                self.tokens + elapsed * f64::from(rate.per_second) >= f64::from(rate.burst.max(1))
            }
        }
    }
}

struct TableInner<T> {
    map: HashMap<AddressKey, Tracked<T>>,
    last_sweep: Instant,
}

/// The tracked addresses; `T` is what the connections of one address
/// share (the hub's slot owner).
pub(crate) struct AddressTable<T> {
    inner: Mutex<TableInner<T>>,
}

impl<T> Default for AddressTable<T> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(TableInner {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }
}

impl<T> AddressTable<T> {
    /// Admits one handshake from `key`: takes a token, checks the live
    /// connections, and returns the owner the new connection shares with
    /// the address's others (made by `new_owner` when it has none).
    pub(crate) fn admit(
        &self,
        key: AddressKey,
        limits: &AddressLimits,
        new_owner: impl FnOnce() -> Arc<T>,
    ) -> Result<Arc<T>, AddressRefusal> {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if !inner.map.contains_key(&key) {
            let since_sweep = now.saturating_duration_since(inner.last_sweep);
            let full = inner.map.len() >= limits.capacity;
            if full && since_sweep < FULL_SWEEP_PAUSE {
                // Swept a moment ago and still full: not again per miss.
                return Err(AddressRefusal::TableFull);
            }
            if full || since_sweep >= SWEEP_EVERY {
                inner.last_sweep = now;
                inner
                    .map
                    .retain(|_, tracked| !tracked.is_idle(limits.rate, now));
                if inner.map.len() >= limits.capacity {
                    // Under pressure, addresses with no live connection
                    // lose their rate state (a fresh burst if they come
                    // back) rather than lock new addresses out.
                    inner
                        .map
                        .retain(|_, tracked| tracked.owner.strong_count() > 0);
                }
                if inner.map.len() >= limits.capacity {
                    return Err(AddressRefusal::TableFull);
                }
            }
        }
        let tracked = inner.map.entry(key).or_insert_with(|| Tracked {
            owner: Weak::new(),
            tokens: limits.rate.map_or(0.0, |r| f64::from(r.burst.max(1))),
            refilled: now,
        });
        if limits.rate.is_some() {
            tracked.refill(limits.rate, now);
            if tracked.tokens < 1.0 {
                return Err(AddressRefusal::TooManyHandshakes);
            }
            tracked.tokens -= 1.0;
        }
        let owner = match tracked.owner.upgrade() {
            Some(owner) => owner,
            None => {
                let owner = new_owner();
                tracked.owner = Arc::downgrade(&owner);
                owner
            }
        };
        // Our own pointer is one of the strong count.
        let live = Arc::strong_count(&owner) - 1;
        if limits.max_connections > 0 && live >= limits.max_connections {
            return Err(AddressRefusal::TooManyConnections);
        }
        Ok(owner)
    }

    /// The number of addresses tracked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last: u8) -> AddressKey {
        AddressKey::of(std::net::IpAddr::from([10, 0, 0, last]))
    }

    fn limits(max: usize, rate: Option<(u32, u32)>, capacity: usize) -> AddressLimits {
        AddressLimits {
            max_connections: max,
            rate: rate.map(|(per_second, burst)| RateLimit { per_second, burst }),
            capacity,
        }
    }

    #[test]
    fn concurrent_connections_are_counted_by_their_shared_owner() {
        let table = AddressTable::<()>::default();
        let limits = limits(2, None, 10);
        let a = table.admit(key(1), &limits, || Arc::new(())).unwrap();
        let b = table.admit(key(1), &limits, || Arc::new(())).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(
            table.admit(key(1), &limits, || Arc::new(())).unwrap_err(),
            AddressRefusal::TooManyConnections
        );
        // Another address is not affected.
        let _c = table.admit(key(2), &limits, || Arc::new(())).unwrap();
        // Releasing one makes room.
        drop(a);
        let _d = table.admit(key(1), &limits, || Arc::new(())).unwrap();
    }

    #[test]
    fn handshakes_are_limited_by_a_bucket_per_address() {
        let table = AddressTable::<()>::default();
        let limits = limits(0, Some((1, 3)), 10);
        for _ in 0..3 {
            drop(table.admit(key(1), &limits, || Arc::new(())).unwrap());
        }
        assert_eq!(
            table.admit(key(1), &limits, || Arc::new(())).unwrap_err(),
            AddressRefusal::TooManyHandshakes
        );
        assert!(table.admit(key(2), &limits, || Arc::new(())).is_ok());
    }

    #[test]
    fn the_table_is_bounded_and_forgets_idle_addresses() {
        let table = AddressTable::<()>::default();
        let limits = limits(10, None, 2);
        let a = table.admit(key(1), &limits, || Arc::new(())).unwrap();
        let b = table.admit(key(2), &limits, || Arc::new(())).unwrap();
        assert_eq!(
            table.admit(key(3), &limits, || Arc::new(())).unwrap_err(),
            AddressRefusal::TableFull
        );
        // A tracked address still gets in.
        let _a2 = table.admit(key(1), &limits, || Arc::new(())).unwrap();
        drop(b);
        // Swept a moment ago: still refused until the pause has passed.
        assert_eq!(
            table.admit(key(3), &limits, || Arc::new(())).unwrap_err(),
            AddressRefusal::TableFull
        );
        table.inner.lock().last_sweep -= FULL_SWEEP_PAUSE;
        let _c = table.admit(key(3), &limits, || Arc::new(())).unwrap();
        assert_eq!(table.len(), 2);
        drop(a);
    }

    #[test]
    fn under_pressure_addresses_without_connections_lose_their_rate_state() {
        let table = AddressTable::<()>::default();
        let limits = limits(10, Some((1, 5)), 1);
        // Address 1 made a handshake (its bucket is not full) and left.
        drop(table.admit(key(1), &limits, || Arc::new(())).unwrap());
        table.inner.lock().last_sweep -= FULL_SWEEP_PAUSE;
        let _b = table.admit(key(2), &limits, || Arc::new(())).unwrap();
        assert_eq!(table.len(), 1);
    }
}
