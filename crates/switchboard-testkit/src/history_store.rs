//! Conformance checks of a
//! [`HistoryStore`](switchboard::adapter::HistoryStore) (the contract in
//! its doc comment), run by every backend: the memory bus in
//! `switchboard-testkit`'s tests, Redis in `switchboard-redis`, NATS
//! JetStream in `switchboard-nats`.
//!
//! Each check takes a factory that makes one more store with the given
//! limits, as one more node would (a new driver, so a new connection to
//! the same backend), and uses rooms of its own, so the checks may share
//! one backend. Every await is bounded ([`within`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::join_all;
use switchboard::adapter::{BatchId, DriverError, HistoryLimits, HistoryPage, SharedHistoryStore};
use switchboard::protocol::HistoryPosition;

use crate::{WAIT, within};

/// Limits large enough that nothing is trimmed or expires in a check.
pub const ROOMY: HistoryLimits = HistoryLimits {
    size: 1000,
    ttl: Duration::from_secs(600),
};

fn limits(size: usize, ttl: Duration) -> HistoryLimits {
    HistoryLimits { size, ttl }
}

fn message(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Appends `messages` to `room` as a new batch (a random id), failing the
/// check on an error or after [`WAIT`].
pub async fn append(store: &SharedHistoryStore, room: &str, messages: &[&str]) -> HistoryPosition {
    append_batch(store, room, BatchId::random(), messages).await
}

/// Appends `messages` to `room` as batch `batch` (a repeat when that id
/// was appended already), failing the check on an error or after [`WAIT`].
pub async fn append_batch(
    store: &SharedHistoryStore,
    room: &str,
    batch: BatchId,
    messages: &[&str],
) -> HistoryPosition {
    let messages = messages.iter().map(|m| message(m)).collect();
    within("a history append", store.append(room, batch, messages))
        .await
        .unwrap_or_else(|e| panic!("append to {room:?} failed: {e}"))
}

/// Reads `room` after `since`, at most `limit` messages, failing the check
/// on an error or after [`WAIT`].
pub async fn read(
    store: &SharedHistoryStore,
    room: &str,
    since: u64,
    limit: usize,
) -> HistoryPage<Bytes> {
    within("a history read", store.read(room, since, limit))
        .await
        .unwrap_or_else(|e| panic!("read of {room:?} failed: {e}"))
}

/// The entries of a page as `(offset, text)`.
fn texts(page: &HistoryPage<Bytes>) -> Vec<(u64, String)> {
    page.entries
        .iter()
        .map(|(offset, m)| (*offset, String::from_utf8_lossy(m).into_owned()))
        .collect()
}

/// `(offset, text)` pairs for offsets `from..=to`, texts `m{offset}`.
fn numbered(from: u64, to: u64) -> Vec<(u64, String)> {
    (from..=to).map(|n| (n, format!("m{n}"))).collect()
}

/// Appends messages `m{from}..=m{to}` one by one.
async fn append_numbered(store: &SharedHistoryStore, room: &str, from: u64, to: u64) {
    for n in from..=to {
        let position = append(store, room, &[&format!("m{n}")]).await;
        assert_eq!(position.offset, n, "offset of the append of m{n}");
    }
}

/// Every check, one after the other (the time-to-live check last: it
/// waits for expiry), on one backend.
pub async fn all<F>(make: F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    empty_room_reads_empty(&make).await;
    offsets_start_at_one_and_batches_are_consecutive(&make).await;
    reads_start_after_since_and_stop_at_limit(&make).await;
    size_keeps_the_last_messages(&make).await;
    arbitrary_room_names_are_distinct_rooms(&make).await;
    concurrent_appends_from_two_nodes_never_collide(&make).await;
    repeated_batch_ids_keep_the_batch_once(&make).await;
    expiry_drops_messages_then_starts_a_new_epoch(&make).await;
}

/// A room never written to reads as [`HistoryPage::empty`], whatever
/// `since` is.
pub async fn empty_room_reads_empty<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let store = make(ROOMY);
    assert_eq!(
        read(&store, "conformance:never", 0, 10).await,
        HistoryPage::empty()
    );
    assert_eq!(
        read(&store, "conformance:never", 7, 10).await,
        HistoryPage::empty()
    );
}

/// Offsets start at 1 in a new random epoch and go up by one per message;
/// a batch gets consecutive offsets; another node reads the same history.
pub async fn offsets_start_at_one_and_batches_are_consecutive<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let store = make(ROOMY);
    let room = "conformance:offsets";
    let first = append(&store, room, &["m1"]).await;
    assert_eq!(first.offset, 1, "a new room starts at offset 1");
    assert!(!first.epoch.is_empty(), "an epoch is never empty");
    let batch = append(&store, room, &["m2", "m3", "m4"]).await;
    assert_eq!(
        batch,
        HistoryPosition {
            epoch: first.epoch.clone(),
            offset: 2
        }
    );
    let last = append(&store, room, &["m5"]).await;
    assert_eq!(last.offset, 5);
    assert_eq!(last.epoch, first.epoch);

    let other_node = make(ROOMY);
    for reader in [&store, &other_node] {
        let page = read(reader, room, 0, 100).await;
        assert_eq!(page.epoch, first.epoch);
        assert_eq!((page.first, page.offset), (1, 5));
        assert_eq!(texts(&page), numbered(1, 5));
    }
    // Another room has its own epoch and offsets.
    let elsewhere = append(&other_node, "conformance:offsets-other", &["x"]).await;
    assert_eq!(elsewhere.offset, 1);
    assert_ne!(elsewhere.epoch, first.epoch, "epochs are random");

    // Bytes come back exactly, empty messages included.
    let binary: Vec<Bytes> = vec![
        Bytes::from_static(&[0, 0xff, 0xfe, b'\n', 0x80]),
        Bytes::new(),
        Bytes::from(vec![7u8; 64 * 1024]),
    ];
    let position = within(
        "a binary append",
        store.append("conformance:binary", BatchId::random(), binary.clone()),
    )
    .await
    .expect("binary append");
    assert_eq!(position.offset, 1);
    let page = read(&store, "conformance:binary", 0, 10).await;
    let got: Vec<Bytes> = page.entries.into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, binary);
}

/// A read answers the messages after `since`, oldest first, at most
/// `limit`, with the latest and oldest kept offsets whatever it returns.
pub async fn reads_start_after_since_and_stop_at_limit<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let store = make(ROOMY);
    let room = "conformance:since";
    append_numbered(&store, room, 1, 10).await;
    let page = read(&store, room, 3, 4).await;
    assert_eq!(texts(&page), numbered(4, 7));
    assert_eq!((page.first, page.offset), (1, 10));
    assert_eq!(texts(&read(&store, room, 0, 3).await), numbered(1, 3));
    assert_eq!(texts(&read(&store, room, 8, 100).await), numbered(9, 10));
    for (since, limit) in [(10, 5), (12, 5), (0, 0)] {
        let page = read(&store, room, since, limit).await;
        assert!(page.entries.is_empty(), "since {since}, limit {limit}");
        assert_eq!((page.first, page.offset), (1, 10), "since {since}");
        assert!(!page.epoch.is_empty());
    }
}

/// A room keeps its last `size` messages, batches or not, and `first`
/// says which is the oldest kept.
pub async fn size_keeps_the_last_messages<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let store = make(limits(5, Duration::from_secs(600)));
    let room = "conformance:size";
    append_numbered(&store, room, 1, 3).await;
    assert_eq!(
        append(&store, room, &["m4", "m5", "m6", "m7"]).await.offset,
        4
    );
    let page = read(&store, room, 0, 100).await;
    assert_eq!((page.first, page.offset), (3, 7));
    assert_eq!(texts(&page), numbered(3, 7));
    assert_eq!(texts(&read(&store, room, 4, 2).await), numbered(5, 6));

    // A batch larger than the size keeps only its own last messages.
    let batch: Vec<String> = (8..=17).map(|n| format!("m{n}")).collect();
    let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
    assert_eq!(append(&store, room, &batch).await.offset, 8);
    let page = read(&store, room, 0, 100).await;
    assert_eq!((page.first, page.offset), (13, 17));
    assert_eq!(texts(&page), numbered(13, 17));
    append_numbered(&store, room, 18, 30).await;
    let page = read(&store, room, 0, 100).await;
    assert_eq!((page.first, page.offset), (26, 30));
    assert_eq!(texts(&page), numbered(26, 30));
}

/// Any string is a room of its own: spaces, dots, wildcards, separators,
/// unicode, the empty string, 256 bytes.
pub async fn arbitrary_room_names_are_distinct_rooms<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let long = "r".repeat(256);
    let rooms = [
        "with space",
        "dots.in.the.name",
        "*",
        ">",
        "a.*.>",
        "a.>",
        ".",
        "",
        "tab\tand\r\nnewline",
        "{braces}:colon/slash\\back",
        "ünïcödé 🎉 房间",
        "~7E",
        "~",
        long.as_str(),
    ];
    let store = make(ROOMY);
    for (i, room) in rooms.iter().enumerate() {
        let position = append(&store, room, &[&format!("in room {i}")]).await;
        assert_eq!(position.offset, 1, "room {room:?} is new");
    }
    let other_node = make(ROOMY);
    for (i, room) in rooms.iter().enumerate() {
        let page = read(&other_node, room, 0, 10).await;
        assert_eq!(
            texts(&page),
            vec![(1, format!("in room {i}"))],
            "room {room:?} holds its own message only"
        );
    }
}

/// Two nodes appending to one room at once get distinct offsets, 1 to
/// 200, each batch consecutive, in one epoch. Each node makes 50 appends
/// of two messages: 25 one after the other (so the nodes keep taking turns)
/// and 25 all in flight together, both nodes at the same time.
pub async fn concurrent_appends_from_two_nodes_never_collide<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    const PER_NODE: usize = 50;
    let room = "conformance:concurrent";
    let nodes = [("a", make(ROOMY)), ("b", make(ROOMY))];
    let one = |name: &str, store: &SharedHistoryStore, i: usize| {
        let batch = vec![
            message(&format!("{name}{i}.0")),
            message(&format!("{name}{i}.1")),
        ];
        let name = format!("{name}{i}");
        let store = store.clone();
        async move {
            let position = store
                .append(room, BatchId::random(), batch)
                .await
                .unwrap_or_else(|e| panic!("concurrent append {name} failed: {e}"));
            (name, position)
        }
    };
    let per_node = nodes.iter().map(|(name, store)| async move {
        let in_turn = async {
            let mut positions = Vec::new();
            for i in 0..PER_NODE / 2 {
                positions.push(one(name, store, i).await);
            }
            positions
        };
        let in_flight = join_all((PER_NODE / 2..PER_NODE).map(|i| one(name, store, i)));
        let (mut positions, others) = futures_util::future::join(in_turn, in_flight).await;
        positions.extend(others);
        positions
    });
    let positions: Vec<(String, HistoryPosition)> =
        within("200 concurrent appends", join_all(per_node))
            .await
            .into_iter()
            .flatten()
            .collect();
    let epoch = positions[0].1.epoch.clone();
    assert!(positions.iter().all(|(_, p)| p.epoch == epoch), "one epoch");

    let total = (2 * PER_NODE * 2) as u64;
    let page = read(&nodes[0].1, room, 0, 1000).await;
    assert_eq!(page.epoch, epoch);
    assert_eq!((page.first, page.offset), (1, total));
    let offsets: Vec<u64> = page.entries.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (1..=total).collect::<Vec<_>>(), "each offset once");
    let by_offset: BTreeMap<u64, String> = texts(&page).into_iter().collect();
    for (batch, position) in &positions {
        assert_eq!(
            by_offset[&position.offset],
            format!("{batch}.0"),
            "batch {batch}"
        );
        assert_eq!(
            by_offset[&(position.offset + 1)],
            format!("{batch}.1"),
            "batch {batch}"
        );
    }
}

/// Appends are idempotent by batch id: an append repeated with the same id
/// (a retry whose first answer was lost), from the same node or another,
/// after other batches or at the same time as the first, answers the first
/// append's position and keeps nothing new; the same messages under
/// another id are kept again, at the next offsets.
pub async fn repeated_batch_ids_keep_the_batch_once<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let store = make(ROOMY);
    let other_node = make(ROOMY);
    let room = "conformance:idempotent";
    let batch = BatchId::random();
    let first = append_batch(&store, room, batch, &["m1", "m2"]).await;
    assert_eq!(first.offset, 1);
    let again = append_batch(&store, room, batch, &["m1", "m2"]).await;
    assert_eq!(again, first, "a repeat answers the first append's position");
    let page = read(&store, room, 0, 100).await;
    assert_eq!(texts(&page), numbered(1, 2), "a repeat keeps nothing");

    // Other batches in between; then the repeat, from either node.
    let next = append(&store, room, &["m3"]).await;
    assert_eq!(next.offset, 3);
    let later = append(&other_node, room, &["m4"]).await;
    assert_eq!(later.offset, 4);
    for node in [&store, &other_node] {
        assert_eq!(append_batch(node, room, batch, &["m1", "m2"]).await, first);
    }
    let page = read(&other_node, room, 0, 100).await;
    assert_eq!(texts(&page), numbered(1, 4), "still kept once");
    assert_eq!((page.first, page.offset), (1, 4));

    // The same messages under another id are another batch.
    let other_id = append(&store, room, &["m1", "m2"]).await;
    assert_eq!(
        other_id,
        HistoryPosition {
            epoch: first.epoch.clone(),
            offset: 5
        }
    );
    assert_eq!(read(&store, room, 0, 100).await.offset, 6);

    // A batch and its repeat at the same time, from two nodes: one of them
    // keeps it, both answer where.
    let racing = BatchId::random();
    let (a, b) = within(
        "a batch and its repeat at once",
        futures_util::future::join(
            store.append(room, racing, vec![message("m7")]),
            other_node.append(room, racing, vec![message("m7")]),
        ),
    )
    .await;
    let (a, b) = (a.expect("first of two"), b.expect("second of two"));
    assert_eq!(a, b, "both answer the one position");
    assert_eq!(a.offset, 7);
    let page = read(&store, room, 0, 100).await;
    assert_eq!(page.offset, 7, "kept once");
    assert_eq!(page.entries.last().map(|(o, _)| *o), Some(7));
}

/// Messages expire after the time to live (1 s here); once none is kept
/// the room reads as empty, and the next append starts a new epoch at
/// offset 1.
pub async fn expiry_drops_messages_then_starts_a_new_epoch<F>(make: &F)
where
    F: Fn(HistoryLimits) -> SharedHistoryStore,
{
    let ttl = Duration::from_secs(1);
    let store = make(limits(100, ttl));
    let room = "conformance:ttl";
    let started = Instant::now();
    let old = append(&store, room, &["m1", "m2"]).await;
    tokio::time::sleep(ttl / 2).await;
    append(&store, room, &["m3"]).await;
    let page = read(&store, room, 0, 10).await;
    assert_eq!(texts(&page), numbered(1, 3), "nothing expired yet");

    // m1 and m2 expire first, m3 half a time to live later: a read in
    // between keeps m3 alone (when the check is still early enough to see
    // it; a slow machine may be past it already).
    tokio::time::sleep((started + ttl + ttl / 5).saturating_duration_since(Instant::now())).await;
    let page = read(&store, room, 0, 10).await;
    if started.elapsed() < ttl + ttl / 3 {
        assert_eq!(texts(&page), numbered(3, 3), "m1 and m2 expired");
        assert_eq!((page.first, page.offset, &page.epoch), (3, 3, &old.epoch));
    }

    // Once everything expired, the room reads as empty (a backend may
    // drop expired messages a little late: bounded by the wait).
    tokio::time::sleep((started + ttl * 3 / 2 + ttl / 5).saturating_duration_since(Instant::now()))
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let page = read(&store, room, 0, 10).await;
        if page == HistoryPage::empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "an expired room must read as empty: {page:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let new = append(&store, room, &["n1"]).await;
    assert_eq!(new.offset, 1, "a new epoch starts at 1");
    assert_ne!(new.epoch, old.epoch, "a new epoch after everything expired");
    let page = read(&store, room, 0, 10).await;
    assert_eq!(texts(&page), vec![(1, "n1".to_owned())]);
    assert_eq!(page.epoch, new.epoch);
}

/// The outcome of one append to `"room"`, bounded at 5 s (a store must
/// fail fast while its server is down, not hang).
pub async fn append_result(store: &SharedHistoryStore) -> Result<u64, DriverError> {
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        store.append("room", BatchId::random(), vec![Bytes::from_static(b"x")]),
    )
    .await
    .expect("append hung while the server was down");
    result.map(|position| position.offset)
}

/// A store's server goes down: appends and reads fail fast with
/// [`DriverError::Unreachable`]; it restarts without its data (a Redis
/// without persistence, a NATS stream in memory): the store works again,
/// and the room's history begins a new epoch at offset 1.
pub async fn an_outage_fails_fast_and_a_restart_without_data_starts_a_new_epoch(
    server: &mut crate::BackendServer,
    store: &SharedHistoryStore,
) {
    let before = append(store, "room", &["m1", "m2"]).await;
    server.stop().await;
    let started = Instant::now();
    let result = append_result(store).await;
    assert!(
        matches!(result, Err(DriverError::Unreachable(_))),
        "{result:?}"
    );
    let read_result = store.read("room", 0, 10).await;
    assert!(
        matches!(read_result, Err(DriverError::Unreachable(_))),
        "{read_result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast");
    server.restart().await;
    crate::eventually_async("appends work again after the restart", || async {
        append_result(store).await.is_ok()
    })
    .await;
    let after = read(store, "room", 0, 10).await;
    assert_ne!(after.epoch, before.epoch, "the restart lost the history");
    assert_eq!(after.first, 1, "the new epoch starts at 1");
}
