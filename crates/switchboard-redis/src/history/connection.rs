//! The history store's one multiplexed connection, opened on first use and
//! opened again after it was lost.

use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};
use switchboard::adapter::DriverError;

use crate::error::driver_error;

/// Bound on opening the connection (TCP connect and handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on one command's reply: a dead server fails a call fast.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection handed out by [`LazyConnection::get`], with the number
/// that [`LazyConnection::forget`] needs.
pub(super) struct Handle {
    pub(super) connection: MultiplexedConnection,
    generation: u64,
}

/// One multiplexed connection shared by every call of a store, opened
/// lazily; a call that found it broken forgets it, and the next call opens
/// a new one. No lock is held while connecting: two calls that find no
/// connection may both open one, and the first stored is kept.
pub(super) struct LazyConnection {
    client: Client,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    current: Option<(u64, MultiplexedConnection)>,
    generations: u64,
}

impl LazyConnection {
    /// A connection to `client`'s server, not opened yet.
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            slot: Mutex::default(),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live connection, opened now if there is none.
    pub(super) async fn get(&self) -> Result<Handle, DriverError> {
        if let Some((generation, connection)) = self.slot().current.clone() {
            return Ok(Handle {
                connection,
                generation,
            });
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let opened = tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| {
            DriverError::Unreachable(format!(
                "Redis history: no connection within {CONNECT_TIMEOUT:?}"
            ))
        })?
        .map_err(|e| driver_error("Redis history connect", &e))?;
        let mut slot = self.slot();
        let (generation, connection) = match &slot.current {
            Some(current) => current.clone(),
            None => {
                slot.generations += 1;
                let current = (slot.generations, opened);
                slot.current = Some(current.clone());
                tracing::debug!("redis: history connection opened");
                current
            }
        };
        Ok(Handle {
            connection,
            generation,
        })
    }

    /// Drops `handle`'s connection (if it is still the current one), so
    /// that the next call opens a new one.
    pub(super) fn forget(&self, handle: &Handle) {
        let mut slot = self.slot();
        if slot
            .current
            .as_ref()
            .is_some_and(|(generation, _)| *generation == handle.generation)
        {
            slot.current = None;
            tracing::debug!("redis: history connection lost; the next call reconnects");
        }
    }
}
