//! Room history in Redis: the [`HistoryStore`] of
//! [`RedisDriver::history`](switchboard::adapter::Driver::history).
//!
//! Keys, per room (a room name is used as its bytes: Redis keys are binary
//! safe, so any room string is a key of its own):
//! - `{prefix}:history:{room}`, a stream: one entry per message, fields
//!   `o` (its offset) and `m` (its bytes), with an automatic id whose
//!   millisecond part is the server's time when it was kept;
//! - `{prefix}:history-meta:{room}`, a hash: `epoch` (random, made by the
//!   node that appended first) and `offset` (the latest given);
//! - `{prefix}:history-batch:{room}:{batch id}` (the id in 32 hex digits),
//!   a string `{first offset}:{epoch}`: where a batch went, kept for
//!   [`batch_window`] (the time to live, at most 2 minutes) so that a
//!   repeat of the append answers it instead of keeping the batch again.
//!
//! `prefix` is the cluster's channel prefix (`ClusterOptions::prefix`,
//! with the hub's namespace: `switchboard` by default). Both keys expire a time to live after the
//! room's latest append (`PEXPIRE`), so a room no one writes to leaves
//! nothing behind.
//!
//! An append is one `EVALSHA` of a Lua script (`SCRIPT LOAD`ed again by
//! redis-rs when the server answers `NOSCRIPT`), so it is atomic, whatever
//! the number of nodes: `GET` of the batch's record (when there is one, the
//! script answers it and does nothing else), `TIME`, `XTRIM MINID` (drop what expired), `XLEN`,
//! `HSETNX epoch` (a new epoch only for a room with none: the epoch is made
//! in Rust and passed along), `HINCRBY offset` by the batch size, one
//! `XADD` per message, `XTRIM MAXLEN` (exact) to the size, `PEXPIRE` on
//! both keys, and `SET PX` of the batch's record. When the room kept nothing (or its hash was lost), its old
//! keys are dropped and a new epoch starts at offset 1. A read is one
//! `EVALSHA` too: `HMGET` of the hash, `TIME`, then `XRANGE` of the entries
//! younger than the time to live (the oldest, then those after `since`, at
//! most `limit`).
//!
//! Cost per append: one round trip. On the wire, the request carries the
//! script's 40-byte hash, the three keys (about three times the room name
//! plus `prefix`, and the 32-digit batch id), the epoch and limits, and each message with 5 to 13 bytes of
//! RESP framing; the reply is the epoch and an offset. In memory, each
//! message costs its bytes plus about 25 bytes of stream entry (id delta,
//! offset, listpack lengths: 58 bytes for a 32-byte message, measured on
//! Redis 7.0), each room a stream and a hash (a few hundred bytes), and
//! each batch appended in the last window a string key (about 100 bytes
//! and the room name).
//!
//! A Redis restart with empty memory (no persistence, or a failover to a
//! replica that had not received the latest writes) loses every room's
//! history: the next append to a room starts a new epoch at offset 1, so a
//! client that saw the old epoch is told `recovered: false` instead of
//! receiving offsets that go back. Redis Cluster is not supported (the
//! driver speaks to one server).
//!
//! The store has its own multiplexed connection, opened on first use and
//! again after it was lost; a call fails within about 2 s when the server
//! does not answer. A lost connection or a timeout is
//! [`DriverError::Unreachable`], an error reply [`DriverError::Refused`].
//! An append that timed out after its request left may still have been
//! kept: a caller that retries it with the same batch id within the window
//! gets the first append's position, and nothing is kept twice.

mod connection;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rand::Rng;
use rand::distr::Alphanumeric;
use redis::{Client, Script, Value};
use switchboard::adapter::{
    BatchId, DriverError, HistoryLimits, HistoryPage, HistoryStore, batch_window,
};
use switchboard::protocol::HistoryPosition;

use crate::error::driver_error;
use connection::LazyConnection;

/// A new random epoch: 8 letters or digits (about 47 bits).
fn new_epoch() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
}

/// The room history a [`RedisDriver`](crate::RedisDriver) keeps (see the
/// module documentation for its keys, commands and costs).
pub(crate) struct RedisHistoryStore {
    connection: LazyConnection,
    prefix: Vec<u8>,
    limits: HistoryLimits,
    append_script: Script,
    read_script: Script,
}

impl RedisHistoryStore {
    /// A store on `client`'s server, under keys starting with `prefix`.
    pub(crate) fn new(client: Client, prefix: &str, limits: HistoryLimits) -> Self {
        Self {
            connection: LazyConnection::new(client),
            prefix: prefix.as_bytes().to_vec(),
            limits,
            append_script: Script::new(include_str!("history/append.lua")),
            read_script: Script::new(include_str!("history/read.lua")),
        }
    }

    /// `{prefix}:{kind}:{room}`, as bytes.
    fn key(&self, kind: &str, room: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.prefix.len() + kind.len() + room.len() + 2);
        key.extend_from_slice(&self.prefix);
        key.push(b':');
        key.extend_from_slice(kind.as_bytes());
        key.push(b':');
        key.extend_from_slice(room.as_bytes());
        key
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.limits.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// How long a batch's record is kept, in ms.
    fn window_ms(&self) -> u64 {
        u64::try_from(batch_window(&self.limits).as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The key of `batch`'s record in `room`.
    fn batch_key(&self, room: &str, batch: BatchId) -> Vec<u8> {
        let mut key = self.key("history-batch", room);
        key.push(b':');
        key.extend_from_slice(batch.to_string().as_bytes());
        key
    }

    /// Runs `invocation` on the shared connection; forgets the connection
    /// when it proved unreachable.
    async fn run(
        &self,
        what: &str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, DriverError> {
        let mut handle = self.connection.get().await?;
        match invocation.invoke_async(&mut handle.connection).await {
            Ok(value) => Ok(value),
            Err(e) => {
                let error = driver_error(what, &e);
                if let DriverError::Unreachable(_) = error {
                    self.connection.forget(&handle);
                }
                Err(error)
            }
        }
    }
}

fn malformed(what: &str, value: &Value) -> DriverError {
    DriverError::Refused(format!("{what}: unexpected reply from Redis: {value:?}"))
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

fn as_string(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(text) => Some(text),
        _ => None,
    }
}

/// The append script's reply: `{epoch, first offset}`.
fn position(value: Value) -> Result<HistoryPosition, DriverError> {
    const WHAT: &str = "Redis history append";
    let Value::Array(items) = &value else {
        return Err(malformed(WHAT, &value));
    };
    match items.as_slice() {
        [epoch, offset] => {
            let offset = as_u64(offset).ok_or_else(|| malformed(WHAT, &value))?;
            let epoch = as_string(epoch.clone()).ok_or_else(|| malformed(WHAT, &value))?;
            Ok(HistoryPosition { epoch, offset })
        }
        _ => Err(malformed(WHAT, &value)),
    }
}

/// The read script's reply: nil, or `{epoch, latest, first, (offset,
/// message)...}`.
fn page(value: Value) -> Result<HistoryPage<Bytes>, DriverError> {
    const WHAT: &str = "Redis history read";
    let items = match value {
        Value::Nil => return Ok(HistoryPage::empty()),
        Value::Array(items) if items.len() >= 3 && items.len() % 2 == 1 => items,
        other => return Err(malformed(WHAT, &other)),
    };
    let bad = || DriverError::Refused(format!("{WHAT}: unexpected reply from Redis"));
    let mut items = items.into_iter();
    let epoch = items.next().and_then(as_string).ok_or_else(bad)?;
    let offset = items.next().as_ref().and_then(as_u64).ok_or_else(bad)?;
    let first = items.next().as_ref().and_then(as_u64).ok_or_else(bad)?;
    let mut entries = Vec::with_capacity(items.len() / 2);
    while let (Some(at), Some(message)) = (items.next(), items.next()) {
        let at = as_u64(&at).ok_or_else(bad)?;
        let Value::BulkString(message) = message else {
            return Err(bad());
        };
        entries.push((at, Bytes::from(message)));
    }
    Ok(HistoryPage {
        epoch,
        offset,
        first,
        entries,
    })
}

impl HistoryStore for RedisHistoryStore {
    fn append<'a>(
        &'a self,
        room: &'a str,
        batch: BatchId,
        messages: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<HistoryPosition, DriverError>> {
        Box::pin(async move {
            if messages.is_empty() {
                return Err(DriverError::Refused(
                    "history append: no message to keep".into(),
                ));
            }
            let mut invocation = self.append_script.prepare_invoke();
            invocation
                .key(self.key("history", room))
                .key(self.key("history-meta", room))
                .key(self.batch_key(room, batch))
                .arg(new_epoch())
                .arg(self.ttl_ms())
                .arg(self.limits.size.max(1))
                .arg(self.window_ms());
            for message in &messages {
                invocation.arg(message.as_ref());
            }
            position(self.run("Redis history append", &invocation).await?)
        })
    }

    fn read<'a>(
        &'a self,
        room: &'a str,
        since: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<HistoryPage<Bytes>, DriverError>> {
        Box::pin(async move {
            let mut invocation = self.read_script.prepare_invoke();
            invocation
                .key(self.key("history", room))
                .key(self.key("history-meta", room))
                .arg(since)
                .arg(limit.min(self.limits.size.max(1)))
                .arg(self.ttl_ms());
            page(self.run("Redis history read", &invocation).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_decode() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        assert_eq!(page(Value::Nil).unwrap(), HistoryPage::empty());
        let reply = Value::Array(vec![
            bulk("ep"),
            Value::Int(9),
            Value::Int(4),
            Value::Int(8),
            bulk("a"),
            Value::Int(9),
            bulk(""),
        ]);
        let decoded = page(reply).unwrap();
        assert_eq!(
            (decoded.epoch.as_str(), decoded.offset, decoded.first),
            ("ep", 9, 4)
        );
        assert_eq!(
            decoded.entries,
            vec![(8, Bytes::from_static(b"a")), (9, Bytes::new())]
        );
        assert!(page(Value::Array(vec![bulk("ep"), Value::Int(1)])).is_err());
        let appended = position(Value::Array(vec![bulk("ep"), Value::Int(3)])).unwrap();
        assert_eq!((appended.epoch.as_str(), appended.offset), ("ep", 3));
        assert!(position(Value::Int(3)).is_err());
    }

    #[test]
    fn epochs_are_random_and_keys_keep_rooms_apart() {
        assert_ne!(new_epoch(), new_epoch());
        assert_eq!(new_epoch().len(), 8);
        let client = Client::open("redis://127.0.0.1:1").unwrap();
        let store = RedisHistoryStore::new(client, "sb", HistoryLimits::default());
        assert_eq!(store.key("history", "a b"), b"sb:history:a b".to_vec());
        assert_ne!(store.key("history", "x"), store.key("history-meta", "x"));
        assert_eq!(
            store.batch_key("a:b", BatchId::from_u128(0x1f)),
            b"sb:history-batch:a:b:0000000000000000000000000000001f".to_vec()
        );
        assert_eq!(store.window_ms(), 120_000);
    }
}
