use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use super::*;

/// A book for `node` keeping every room, with the announcements it made.
fn book(node: &str) -> (PresenceBook, Arc<Mutex<Vec<PresenceUpdate>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let book = PresenceBook::new(
        node.to_owned(),
        Arc::new(|room: &str| room.starts_with("chat")),
        Box::new(move |update| log.lock().push(update)),
    );
    (book, sent)
}

fn room(name: &str) -> Arc<str> {
    Arc::from(name)
}

fn info(name: &str) -> Option<Value> {
    Some(json!({ "name": name }))
}

fn joined(room: &str, user: &str, info: Option<Value>) -> PresenceChange {
    PresenceChange {
        room: Arc::from(room),
        user: Arc::from(user),
        info,
        joined: true,
    }
}

fn left(room: &str, user: &str, info: Option<Value>) -> PresenceChange {
    PresenceChange {
        joined: false,
        ..joined(room, user, info)
    }
}

fn users(presence: &RoomPresence) -> Vec<(String, u64)> {
    presence
        .users
        .iter()
        .map(|u| (u.user.clone(), u.sockets))
        .collect()
}

#[test]
fn a_users_first_socket_joins_and_its_last_leaves() {
    let (a, sent) = book("a");
    let r = room("chat");
    assert!(a.keeps("chat") && !a.keeps("news"));
    let first = a.local(&r, Some("ada"), || info("Ada"), true);
    assert_eq!(first, Some(joined("chat", "ada", info("Ada"))));
    assert_eq!(
        a.local(&r, Some("ada"), || panic!("asked twice"), true),
        None
    );
    assert_eq!(a.local(&r, None, || None, true), None);
    let now = a.room("chat");
    assert_eq!(users(&now), [("ada".to_owned(), 2)]);
    assert_eq!(now.users[0].info, json!({"name": "Ada"}));
    assert_eq!(now.anonymous, 1);
    assert_eq!(a.local(&r, Some("ada"), || None, false), None);
    let last = a.local(&r, Some("ada"), || None, false);
    assert_eq!(last, Some(left("chat", "ada", info("Ada"))));
    assert_eq!(a.local(&r, None, || None, false), None);
    assert_eq!(
        a.room("chat"),
        RoomPresence {
            room: "chat".into(),
            ..RoomPresence::default()
        }
    );
    // Every change was announced, numbered, with the new count; the info
    // rides with the first socket only.
    let sent = sent.lock();
    let counts: Vec<(u64, Option<&str>, u32, bool)> = sent
        .iter()
        .map(|u| {
            (
                u.seq,
                u.share.user.as_deref(),
                u.share.sockets,
                u.share.info.is_some(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (1, Some("ada"), 1, true),
            (2, Some("ada"), 2, false),
            (3, None, 1, false),
            (4, Some("ada"), 1, false),
            (5, Some("ada"), 0, false),
            (6, None, 0, false),
        ]
    );
    assert_eq!(a.seq(), 6);
    assert!(a.state.lock().rooms.is_empty(), "nothing left behind");
}

#[test]
fn a_user_on_two_nodes_joins_once_and_leaves_once() {
    let (a, a_sent) = book("a");
    let (b, b_sent) = book("b");
    let r = room("chat");
    // ada on a: b hears she joined.
    assert!(a.local(&r, Some("ada"), || info("Ada"), true).is_some());
    let update = a_sent.lock().pop().unwrap();
    assert_eq!(
        b.apply_update(update).0,
        [joined("chat", "ada", info("Ada"))]
    );
    // ada also on b: nobody hears anything new.
    assert_eq!(b.local(&r, Some("ada"), || info("Ada"), true), None);
    let update = b_sent.lock().pop().unwrap();
    assert!(a.apply_update(update).0.is_empty());
    assert_eq!(users(&a.room("chat")), [("ada".to_owned(), 2)]);
    assert_eq!(users(&b.room("chat")), [("ada".to_owned(), 2)]);
    // She leaves a: still on b.
    assert_eq!(a.local(&r, Some("ada"), || None, false), None);
    let update = a_sent.lock().pop().unwrap();
    assert!(b.apply_update(update).0.is_empty());
    // And b: both nodes count her gone.
    assert_eq!(
        b.local(&r, Some("ada"), || None, false),
        Some(left("chat", "ada", info("Ada")))
    );
    let update = b_sent.lock().pop().unwrap();
    assert_eq!(a.apply_update(update).0, [left("chat", "ada", info("Ada"))]);
    assert!(a.state.lock().rooms.is_empty());
    assert!(b.state.lock().rooms.is_empty());
}

#[test]
fn announcements_in_any_order_end_in_the_same_state() {
    let (a, a_sent) = book("a");
    let r = room("chat");
    a.local(&r, Some("ada"), || info("Ada"), true);
    a.local(&r, Some("ada"), || None, true);
    a.local(&r, Some("bob"), || None, true);
    a.local(&r, Some("ada"), || None, false);
    a.local(&r, Some("bob"), || None, false);
    let updates = a_sent.lock().clone();
    let (b, _) = book("b");
    for update in updates.iter().rev().cloned() {
        let _ = b.apply_update(update);
    }
    assert_eq!(users(&b.room("chat")), [("ada".to_owned(), 1)]);
    assert_eq!(
        b.room("chat").users[0].info,
        json!({"name": "Ada"}),
        "info came last"
    );
    assert!(!b.needs_snapshot("a", 5), "all five seen");
    // Seen again (a duplicate delivery), nothing changes.
    for update in updates {
        assert!(b.apply_update(update).0.is_empty());
    }
    assert_eq!(users(&b.room("chat")), [("ada".to_owned(), 1)]);
    let peer_shares = b.state.lock().peers["a"].shares.len();
    assert_eq!(
        peer_shares, 1,
        "bob's tombstone went once nothing was missing"
    );
}

#[test]
fn a_lost_announcement_is_mended_by_a_snapshot() {
    let (a, a_sent) = book("a");
    let (b, _) = book("b");
    let r = room("chat");
    a.local(&r, Some("ada"), || info("Ada"), true);
    a.local(&r, Some("bob"), || info("Bob"), true);
    a.local(&r, Some("cy"), || None, true);
    let mut updates = a_sent.lock().drain(..).collect::<Vec<_>>();
    let bob = updates.remove(1); // lost
    for update in updates {
        let _ = b.apply_update(update);
    }
    assert_eq!(users(&b.room("chat")).len(), 2);
    assert!(b.needs_snapshot("a", a.seq()), "a gap before 3");
    let changes = b.apply_snapshot("a", a.snapshot());
    assert_eq!(changes.0, [joined("chat", "bob", info("Bob"))]);
    assert!(!b.needs_snapshot("a", a.seq()));
    // The lost one arriving late changes nothing.
    assert!(b.apply_update(bob).0.is_empty());
    assert_eq!(users(&b.room("chat")).len(), 3);
}

#[test]
fn a_stale_snapshot_never_undoes_a_newer_announcement() {
    let (a, a_sent) = book("a");
    let (b, _) = book("b");
    let r = room("chat");
    a.local(&r, Some("ada"), || None, true); // 1
    let stale = a.snapshot(); // as of 1: ada
    a.local(&r, Some("bob"), || None, true); // 2 (lost)
    a.local(&r, Some("ada"), || None, false); // 3: ada gone
    let updates = a_sent.lock().drain(..).collect::<Vec<_>>();
    let _ = b.apply_update(updates[0].clone());
    let _ = b.apply_update(updates[2].clone());
    assert_eq!(users(&b.room("chat")), []);
    // The snapshot of 1 is older than what b holds: dropped.
    assert!(b.apply_snapshot("a", stale).0.is_empty());
    assert_eq!(users(&b.room("chat")), []);
    // A snapshot newer than the gap mends it, and keeps ada gone (her
    // change 3 is newer than nothing the snapshot says).
    let fresh = a.snapshot();
    assert_eq!(
        b.apply_snapshot("a", fresh).0,
        [joined("chat", "bob", None)]
    );
    assert_eq!(users(&b.room("chat")), [("bob".to_owned(), 1)]);
    assert!(!b.needs_snapshot("a", 3));
}

#[test]
fn a_snapshot_taken_between_a_gap_and_newer_changes_keeps_the_newer() {
    let (a, a_sent) = book("a");
    let (b, _) = book("b");
    let r = room("chat");
    a.local(&r, Some("ada"), || None, true); // 1
    a.local(&r, Some("bob"), || None, true); // 2 (lost)
    let middle = a.snapshot(); // as of 2
    a.local(&r, Some("ada"), || None, false); // 3
    let updates = a_sent.lock().drain(..).collect::<Vec<_>>();
    let _ = b.apply_update(updates[0].clone());
    let _ = b.apply_update(updates[2].clone());
    let changes = b.apply_snapshot("a", middle);
    assert_eq!(changes.0, [joined("chat", "bob", None)]);
    assert_eq!(
        users(&b.room("chat")),
        [("bob".to_owned(), 1)],
        "ada stays gone"
    );
    assert!(!b.needs_snapshot("a", 3), "2 and 3 both seen now");
}

#[test]
fn a_node_met_late_or_gone_comes_and_goes_with_its_users() {
    let (a, _) = book("a");
    let (b, _) = book("b");
    let r = room("chat");
    a.local(&r, Some("ada"), || info("Ada"), true);
    a.local(&r, None, || None, true);
    assert!(!b.needs_snapshot("a", 0));
    assert!(b.needs_snapshot("a", a.seq()));
    let changes = b.apply_snapshot("a", a.snapshot());
    assert_eq!(changes.0, [joined("chat", "ada", info("Ada"))]);
    assert_eq!(b.room("chat").anonymous, 1);
    let changes = b.node_gone("a");
    assert_eq!(changes.0, [left("chat", "ada", info("Ada"))]);
    assert_eq!(
        b.room("chat"),
        RoomPresence {
            room: "chat".into(),
            ..RoomPresence::default()
        }
    );
    assert!(b.node_gone("a").0.is_empty());
}

#[test]
fn a_books_own_announcements_are_ignored() {
    let (a, a_sent) = book("a");
    a.local(&room("chat"), Some("ada"), || None, true);
    let own = a_sent.lock().pop().unwrap();
    assert!(a.apply_update(own).0.is_empty());
    assert!(a.apply_snapshot("a", a.snapshot()).0.is_empty());
    assert_eq!(users(&a.room("chat")), [("ada".to_owned(), 1)]);
}
