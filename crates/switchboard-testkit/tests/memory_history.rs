//! The history store conformance checks over the in-process memory bus,
//! and what an outage and a "restart" of the bus do to its history.

use bytes::Bytes;
use switchboard::adapter::{
    BatchId, Driver, DriverError, HistoryLimits, HistoryPage, MemoryBus, SharedHistoryStore,
};
use switchboard_testkit::history_store::{self, ROOMY, append, read};

/// A factory of stores on one bus: each call is one more node's.
fn on(bus: &MemoryBus) -> impl Fn(HistoryLimits) -> SharedHistoryStore + '_ {
    |limits| {
        bus.clone()
            .history("switchboard", limits)
            .expect("the memory bus keeps history")
    }
}

#[tokio::test]
async fn empty_room_reads_empty() {
    history_store::empty_room_reads_empty(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn offsets_start_at_one_and_batches_are_consecutive() {
    history_store::offsets_start_at_one_and_batches_are_consecutive(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn reads_start_after_since_and_stop_at_limit() {
    history_store::reads_start_after_since_and_stop_at_limit(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn size_keeps_the_last_messages() {
    history_store::size_keeps_the_last_messages(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn arbitrary_room_names_are_distinct_rooms() {
    history_store::arbitrary_room_names_are_distinct_rooms(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn concurrent_appends_from_two_nodes_never_collide() {
    history_store::concurrent_appends_from_two_nodes_never_collide(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn repeated_batch_ids_keep_the_batch_once() {
    history_store::repeated_batch_ids_keep_the_batch_once(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn expiry_drops_messages_then_starts_a_new_epoch() {
    history_store::expiry_drops_messages_then_starts_a_new_epoch(&on(&MemoryBus::new())).await;
}

#[tokio::test]
async fn every_check_on_one_bus() {
    let bus = MemoryBus::new();
    history_store::all(on(&bus)).await;
}

#[tokio::test]
async fn an_outage_fails_appends_and_reads_and_keeps_the_history() {
    let bus = MemoryBus::new();
    let store = on(&bus)(ROOMY);
    let before = append(&store, "room", &["m1"]).await;

    bus.set_available(false);
    let appended = store
        .append("room", BatchId::random(), vec![Bytes::from_static(b"lost")])
        .await;
    assert!(
        matches!(appended, Err(DriverError::Unreachable(_))),
        "{appended:?}"
    );
    let page = store.read("room", 0, 10).await;
    assert!(matches!(page, Err(DriverError::Unreachable(_))), "{page:?}");

    bus.set_available(true);
    let after = append(&store, "room", &["m2"]).await;
    assert_eq!(after.epoch, before.epoch, "a network cut keeps the history");
    assert_eq!(after.offset, 2);
    assert_eq!(read(&store, "room", 0, 10).await.entries.len(), 2);
}

#[tokio::test]
async fn clearing_the_history_starts_new_epochs() {
    let bus = MemoryBus::new();
    let store = on(&bus)(ROOMY);
    let before = append(&store, "room", &["m1", "m2"]).await;
    bus.clear_history();
    assert_eq!(read(&store, "room", 2, 10).await, HistoryPage::empty());
    let after = append(&store, "room", &["n1"]).await;
    assert_eq!(after.offset, 1);
    assert_ne!(after.epoch, before.epoch);
}
