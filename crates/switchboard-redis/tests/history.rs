//! The Redis history store against a private `redis-server` on a free
//! port: the testkit's conformance checks, an outage, a restart that lost
//! the data, and the cost of appends.

use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard::adapter::{BatchId, Driver, DriverError, HistoryLimits, SharedHistoryStore};
use switchboard_redis::RedisDriver;
use switchboard_testkit::history_store::{self, ROOMY, append, read};
use switchboard_testkit::{Backend, BackendServer};

/// A factory of stores on `server`: each call is one more node's driver.
fn on(server: &BackendServer) -> impl Fn(HistoryLimits) -> SharedHistoryStore + '_ {
    |limits| {
        RedisDriver::new(&server.url())
            .unwrap()
            .history("switchboard", limits)
            .expect("the Redis driver keeps history")
    }
}

#[tokio::test]
async fn conformance() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    history_store::all(on(&server)).await;
}

#[tokio::test]
async fn prefixes_keep_histories_apart() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let store = |prefix: &str| {
        RedisDriver::new(&server.url())
            .unwrap()
            .history(prefix, ROOMY)
            .unwrap()
    };
    let (one, two) = (store("one"), store("two"));
    append(&one, "room", &["from one"]).await;
    assert_eq!(append(&two, "room", &["from two"]).await.offset, 1);
    assert_eq!(read(&one, "room", 0, 10).await.entries.len(), 1);
}

#[tokio::test]
async fn an_outage_fails_fast_and_a_restart_with_empty_memory_starts_a_new_epoch() {
    let Some(mut server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let store = on(&server)(ROOMY);
    history_store::an_outage_fails_fast_and_a_restart_without_data_starts_a_new_epoch(
        &mut server,
        &store,
    )
    .await;
}

#[tokio::test]
async fn an_error_reply_is_refused() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let store = on(&server)(ROOMY);
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // The stream key holding another type makes the script's XTRIM fail.
    let () = redis::cmd("SET")
        .arg("switchboard:history:wrong")
        .arg("a string")
        .query_async(&mut admin)
        .await
        .unwrap();
    let result = store
        .append("wrong", BatchId::random(), vec![Bytes::from_static(b"x")])
        .await;
    assert!(matches!(result, Err(DriverError::Refused(_))), "{result:?}");
    // The connection is still good for other rooms.
    assert_eq!(append(&store, "fine", &["y"]).await.offset, 1);
}

/// Times 1,000 single-message appends and 100 appends of 10-message
/// batches (32-byte messages) against the local server, one at a time,
/// and the memory a kept message takes. Informative: prints with
/// `--nocapture`, asserts only generous bounds.
#[tokio::test]
async fn append_cost() {
    let Some(server) = BackendServer::start(Backend::Redis).await else {
        return;
    };
    let store = on(&server)(ROOMY);
    let message = Bytes::from(vec![b'x'; 32]);
    append(&store, "warm-up", &["x"]).await;

    let started = Instant::now();
    for _ in 0..1000 {
        store
            .append("single", BatchId::random(), vec![message.clone()])
            .await
            .unwrap();
    }
    let singles = started.elapsed();
    let started = Instant::now();
    for _ in 0..100 {
        store
            .append("batches", BatchId::random(), vec![message.clone(); 10])
            .await
            .unwrap();
    }
    let batches = started.elapsed();

    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stream_bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("switchboard:history:single")
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut admin)
        .await
        .unwrap();
    tracing::info!(
        ?singles,
        ?batches,
        stream_bytes,
        "Redis history append cost"
    );
    #[allow(clippy::print_stderr, reason = "a measurement, shown with --nocapture")]
    {
        eprintln!(
            "redis history: 1000 single appends {singles:?} ({:?} each); 100 batches of 10 \
             {batches:?} ({:?} each); a stream of 1000 32-byte messages takes {stream_bytes} \
             bytes ({} per message)",
            singles / 1000,
            batches / 100,
            stream_bytes / 1000
        );
    }
    assert!(singles < Duration::from_secs(30) && batches < Duration::from_secs(30));
}
