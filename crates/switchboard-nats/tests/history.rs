//! The NATS JetStream history store against a private `nats-server -js`
//! on a free port: the testkit's conformance checks, an outage, a restart
//! that lost the stream, and the cost of appends.

use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard::adapter::{BatchId, Driver, DriverError, HistoryLimits, SharedHistoryStore};
use switchboard_nats::NatsDriver;
use switchboard_testkit::history_store::{self, ROOMY, append, read};
use switchboard_testkit::{BackendServer, eventually_async};

/// A factory of stores on `server`: each call is one more node's driver.
fn on(server: &BackendServer) -> impl Fn(HistoryLimits) -> SharedHistoryStore + '_ {
    |limits| {
        NatsDriver::new(&server.url())
            .unwrap()
            .history("switchboard", limits)
            .expect("the NATS driver keeps history")
    }
}

/// Each check on a server of its own: the checks change the stream's
/// limits (one stream per prefix), so they must not run side by side.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $check() {
            let Some(server) = BackendServer::start_jetstream().await else {
                return;
            };
            history_store::$check(&on(&server)).await;
        }
    )*};
}

conformance!(
    empty_room_reads_empty,
    offsets_start_at_one_and_batches_are_consecutive,
    reads_start_after_since_and_stop_at_limit,
    size_keeps_the_last_messages,
    arbitrary_room_names_are_distinct_rooms,
    concurrent_appends_from_two_nodes_never_collide,
    repeated_batch_ids_keep_the_batch_once,
    expiry_drops_messages_then_starts_a_new_epoch,
);

#[tokio::test]
async fn prefixes_keep_histories_apart() {
    let Some(server) = BackendServer::start_jetstream().await else {
        return;
    };
    let store = |prefix: &str| {
        NatsDriver::new(&server.url())
            .unwrap()
            .history(prefix, ROOMY)
            .unwrap()
    };
    let (one, two) = (store("one"), store("two.with dots"));
    append(&one, "room", &["from one"]).await;
    assert_eq!(append(&two, "room", &["from two"]).await.offset, 1);
    assert_eq!(read(&one, "room", 0, 10).await.entries.len(), 1);
}

#[tokio::test]
async fn a_server_without_jetstream_is_unreachable_history() {
    let Some(server) = BackendServer::start_nats_without_jetstream().await else {
        return;
    };
    let store = on(&server)(ROOMY);
    // No JetStream answers (it is off here, or not up yet after a
    // restart): the caller retries later.
    let result = store
        .append("room", BatchId::random(), vec![Bytes::from_static(b"x")])
        .await;
    assert!(
        matches!(&result, Err(DriverError::Unreachable(m)) if m.contains("jetstream")),
        "{result:?}"
    );
    let result = store.read("room", 0, 10).await;
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_outage_fails_fast_and_a_restart_without_the_stream_starts_a_new_epoch() {
    let Some(mut server) = BackendServer::start_jetstream().await else {
        return;
    };
    // Memory storage: the restarted server has no stream; the store makes
    // it again.
    let store = on(&server)(ROOMY);
    history_store::an_outage_fails_fast_and_a_restart_without_data_starts_a_new_epoch(
        &mut server,
        &store,
    )
    .await;
}

/// A restart that lost the stream, seen by a store that knows no room's
/// last batch (a read, or an append after one failed): JetStream answers
/// no direct get for a missing stream (the request times out, no 503), so
/// the store must take that as a missing stream and make it again, not as
/// a server still away.
#[tokio::test]
async fn a_restart_without_the_stream_answers_reads_again() {
    let Some(mut server) = BackendServer::start_jetstream().await else {
        return;
    };
    let store = on(&server)(ROOMY);
    let before = append(&store, "room", &["m1"]).await;
    server.restart().await;
    eventually_async("reads work again after the restart", || async {
        store.read("room", 0, 10).await.is_ok()
    })
    .await;
    let page = read(&store, "room", 0, 10).await;
    assert!(page.entries.is_empty(), "the restart lost the history");
    let after = append(&store, "room", &["m2"]).await;
    assert_ne!(after.epoch, before.epoch);
    assert_eq!(after.offset, 1, "the new epoch starts at 1");
}

/// A node whose remembered last batch went stale (another node appended)
/// still appends at the right offset.
#[tokio::test]
async fn a_stale_cache_reads_the_room_again() {
    let Some(server) = BackendServer::start_jetstream().await else {
        return;
    };
    let (a, b) = (on(&server)(ROOMY), on(&server)(ROOMY));
    for round in 0..5u64 {
        assert_eq!(append(&a, "room", &["a"]).await.offset, round * 3 + 1);
        assert_eq!(append(&b, "room", &["b", "b"]).await.offset, round * 3 + 2);
    }
    let page = read(&a, "room", 13, 10).await;
    assert_eq!((page.first, page.offset, page.entries.len()), (1, 15, 2));
}

/// Times 1,000 single-message appends and 100 appends of 10-message
/// batches (32-byte messages) against the local server, one at a time,
/// and what the stream holds per batch. Informative: prints with
/// `--nocapture`, asserts only generous bounds.
#[tokio::test]
async fn append_cost() {
    let Some(server) = BackendServer::start_jetstream().await else {
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
    let bytes_before = stream_bytes(&server).await;
    let started = Instant::now();
    for _ in 0..100 {
        store
            .append("batches", BatchId::random(), vec![message.clone(); 10])
            .await
            .unwrap();
    }
    let batches = started.elapsed();
    let bytes_after = stream_bytes(&server).await;
    #[allow(clippy::print_stderr, reason = "a measurement, shown with --nocapture")]
    {
        eprintln!(
            "nats history: 1000 single appends {singles:?} ({:?} each); 100 batches of 10 \
             {batches:?} ({:?} each); the stream holds {} bytes per single-message batch \
             and {} per 10-message batch",
            singles / 1000,
            batches / 100,
            bytes_before / 1001,
            (bytes_after - bytes_before) / 100,
        );
    }
    assert!(singles < Duration::from_secs(60) && batches < Duration::from_secs(60));
}

/// The bytes the history stream holds, from the JetStream API.
async fn stream_bytes(server: &BackendServer) -> u64 {
    let client = async_nats::connect(server.url()).await.unwrap();
    let context = async_nats::jetstream::new(client);
    let mut stream = context
        .get_stream("SWITCHBOARD_HISTORY_switchboard")
        .await
        .unwrap();
    stream.info().await.unwrap().state.bytes
}

/// The appends rely on JetStream refusing a publish that expects a
/// subject with no message (`Nats-Expected-Last-Subject-Sequence: 0`)
/// once the subject has one: two nodes starting a room at once must not
/// both start an epoch.
#[tokio::test]
async fn jetstream_refuses_a_second_first_batch() {
    use async_nats::jetstream::context::PublishErrorKind;
    use async_nats::jetstream::message::PublishMessage;

    let Some(server) = BackendServer::start_jetstream().await else {
        return;
    };
    // The store makes the stream.
    append(&on(&server)(ROOMY), "setup", &["x"]).await;
    let context = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    // The subject of room "fresh" (hex of its bytes).
    let subject = "switchboard.history.r6672657368";
    let first = || PublishMessage::build().expected_last_subject_sequence(0);
    let ack = context.send_publish(subject, first()).await.unwrap().await;
    assert!(ack.is_ok(), "{ack:?}");
    let second = context.send_publish(subject, first()).await.unwrap().await;
    assert_eq!(
        second.map_err(|e| e.kind()).err(),
        Some(PublishErrorKind::WrongLastSequence)
    );
}
