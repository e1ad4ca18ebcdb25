//! Where the client stands in each history room it joined (PROTOCOL.md
//! section 11): the room's epoch and the offset of the last message
//! received, what a rejoin on a new session sends as `since`, and which
//! recovered messages repeat ones already received.
//!
//! Messages carry their offset but not their epoch, so the client knows
//! the epoch only from a `$join` reply. Two cases leave it unknown (kept
//! as `""`): the room had no history yet when it was joined (the first
//! message starts an epoch), and an offset that goes back outside a
//! recovery (the room's history expired whole, or was lost, and a new
//! epoch started at 1). In both the connection task asks the hub with a
//! quiet `$join` of the room ([`Verdict::DeliverAndLocate`]); until the
//! answer, a rejoin sends `since: {"epoch": "", "offset": 0}` ("from the
//! start of the epoch that followed") and drops the replayed messages up
//! to the last one received.

use std::collections::HashMap;

use serde_json::Value;
use switchboard_protocol::HistoryPosition;

/// One history room's place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    /// The room's epoch; `""` while it is not known.
    epoch: String,
    /// The offset of the last message received (or the room's latest at
    /// the last `$join` reply).
    offset: u64,
    /// During a recovery: the room's latest offset when the hub answered.
    /// Replayed messages up to it that are not past `offset` were
    /// received already.
    replay_until: Option<u64>,
    /// A quiet `$join` asking the epoch is in flight (or was refused): it
    /// is not asked again until the next `$join` reply.
    asked: bool,
}

impl Place {
    fn at(epoch: &str, offset: u64) -> Self {
        Self {
            epoch: epoch.to_owned(),
            offset,
            replay_until: None,
            asked: false,
        }
    }
}

/// What to do with a message of a history room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand it to the application.
    Deliver,
    /// Hand it to the application, and ask the hub for the room's epoch
    /// (a quiet `$join`): it is not known.
    DeliverAndLocate,
    /// A recovered message received already: drop it.
    Duplicate,
}

/// The places of the history rooms joined through the client.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    rooms: HashMap<String, Place>,
}

impl Positions {
    /// The room's position for the application: its epoch (`""` when not
    /// known) and the offset of the last message received.
    pub(crate) fn get(&self, room: &str) -> Option<HistoryPosition> {
        self.rooms.get(room).map(|place| HistoryPosition {
            epoch: place.epoch.clone(),
            offset: place.offset,
        })
    }

    /// The `since` a `$join` of `room` sends to recover what followed the
    /// last message received; `None` for a room without a position. An
    /// unknown epoch sends `("", 0)`: the whole epoch that followed (the
    /// hub recovers it while it keeps it whole), the messages received
    /// already dropped as they come.
    pub(crate) fn since(&self, room: &str) -> Option<HistoryPosition> {
        self.rooms.get(room).map(wire_since)
    }

    /// Takes a position the application gives ([`Client::join_since`]),
    /// unless the client tracks the room already (its own is as recent).
    /// Returns the `since` to send.
    ///
    /// [`Client::join_since`]: super::Client::join_since
    pub(crate) fn seed(&mut self, room: &str, position: &HistoryPosition) -> HistoryPosition {
        let place = self
            .rooms
            .entry(room.to_owned())
            .or_insert_with(|| Place::at(&position.epoch, position.offset));
        wire_since(place)
    }

    /// Forgets `room` (left, refused, or it keeps no history).
    pub(crate) fn remove(&mut self, room: &str) {
        self.rooms.remove(room);
    }

    /// A `$join` of `room` was answered with `data` (the client's own
    /// join, a rejoin, or a quiet one asking the epoch); `since` is what
    /// it sent. Returns whether the hub recovered, when `since` was sent.
    ///
    /// A reply without `epoch` is a room without history: its position is
    /// dropped. With `recovered: true` the client stays where it was, in
    /// the reply's epoch, and the replay that follows moves it on;
    /// otherwise it stands at the room's latest offset.
    pub(crate) fn on_join_reply(
        &mut self,
        room: &str,
        data: &Value,
        since: Option<&HistoryPosition>,
    ) -> Option<bool> {
        let recovered = since.map(|_| data.get("recovered") == Some(&Value::Bool(true)));
        let epoch = data.get("epoch").and_then(Value::as_str);
        let latest = data.get("offset").and_then(Value::as_u64);
        let (Some(epoch), Some(latest)) = (epoch, latest) else {
            self.rooms.remove(room);
            return recovered.map(|_| false);
        };
        let place = match (since, recovered) {
            (Some(since), Some(true)) => {
                // What was received already: in the same epoch, or in an
                // unknown one no further on than the room (the epoch that
                // followed).
                let received = match self.rooms.get(room) {
                    Some(old) if old.epoch == epoch => old.offset,
                    Some(old) if old.epoch.is_empty() && old.offset <= latest => old.offset,
                    Some(_) => 0,
                    None if since.epoch == epoch => since.offset,
                    None => 0,
                };
                // The hub replays what followed `since` in its epoch, or
                // the whole epoch.
                let after = if since.epoch == epoch {
                    since.offset
                } else {
                    0
                };
                Place {
                    replay_until: (after < latest).then_some(latest),
                    ..Place::at(epoch, received)
                }
            }
            _ => Place::at(epoch, latest),
        };
        self.rooms.insert(room.to_owned(), place);
        recovered
    }

    /// The answer to a quiet `$join` asking `room`'s epoch: the room's
    /// epoch and latest offset, which every message received before the
    /// answer reached already. Ignored for a room left meanwhile.
    pub(crate) fn on_located(&mut self, room: &str, data: &Value) {
        if self.rooms.contains_key(room) {
            self.on_join_reply(room, data, None);
        }
    }

    /// A message of `room` with `offset` arrived. Untracked rooms are
    /// delivered as they are.
    pub(crate) fn on_message(&mut self, room: &str, offset: u64) -> Verdict {
        let Some(place) = self.rooms.get_mut(room) else {
            return Verdict::Deliver;
        };
        let replaying = place.replay_until.is_some();
        if place.replay_until.is_some_and(|until| offset >= until) {
            place.replay_until = None;
        }
        if offset <= place.offset {
            if replaying {
                return Verdict::Duplicate;
            }
            // Outside a recovery the hub sends a room's messages once, in
            // the order of their offsets: going back means a new epoch.
            tracing::debug!(
                room,
                offset,
                last = place.offset,
                "a history room's epoch restarted"
            );
            place.epoch.clear();
        }
        place.offset = offset;
        if place.epoch.is_empty() && !place.asked {
            place.asked = true;
            return Verdict::DeliverAndLocate;
        }
        Verdict::Deliver
    }

    /// A new session: quiet `$join`s and replays in flight were lost with
    /// the old one.
    pub(crate) fn forget_in_flight(&mut self) {
        for place in self.rooms.values_mut() {
            place.asked = false;
            place.replay_until = None;
        }
    }
}

/// What a `$join` sends to recover from `place`.
fn wire_since(place: &Place) -> HistoryPosition {
    let offset = if place.epoch.is_empty() {
        0
    } else {
        place.offset
    };
    HistoryPosition {
        epoch: place.epoch.clone(),
        offset,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn position(epoch: &str, offset: u64) -> HistoryPosition {
        HistoryPosition {
            epoch: epoch.into(),
            offset,
        }
    }

    fn joined(epoch: &str, offset: u64) -> Positions {
        let mut positions = Positions::default();
        let reply = json!({ "room": "r", "epoch": epoch, "offset": offset });
        assert_eq!(positions.on_join_reply("r", &reply, None), None);
        positions
    }

    #[test]
    fn a_room_without_history_has_no_position() {
        let mut positions = joined("e", 3);
        assert_eq!(
            positions.on_join_reply("r", &json!({ "room": "r" }), None),
            None
        );
        assert_eq!(positions.get("r"), None);
        assert_eq!(positions.on_message("r", 1), Verdict::Deliver);
        assert_eq!(positions.since("r"), None);
    }

    #[test]
    fn messages_move_the_position_on() {
        let mut positions = joined("e", 3);
        assert_eq!(positions.get("r"), Some(position("e", 3)));
        assert_eq!(positions.on_message("r", 4), Verdict::Deliver);
        assert_eq!(positions.on_message("r", 6), Verdict::Deliver);
        assert_eq!(positions.since("r"), Some(position("e", 6)));
        assert_eq!(positions.on_message("other", 1), Verdict::Deliver);
    }

    #[test]
    fn an_unknown_epoch_is_asked_once_and_recovers_from_its_start() {
        let mut positions = joined("", 0);
        assert_eq!(positions.on_message("r", 1), Verdict::DeliverAndLocate);
        assert_eq!(positions.on_message("r", 2), Verdict::Deliver, "asked once");
        assert_eq!(positions.get("r"), Some(position("", 2)));
        assert_eq!(positions.since("r"), Some(position("", 0)));
        // The quiet join's answer: the epoch, at the latest offset.
        let reply = json!({ "room": "r", "epoch": "e", "offset": 2 });
        positions.on_join_reply("r", &reply, None);
        assert_eq!(positions.since("r"), Some(position("e", 2)));
    }

    #[test]
    fn a_recovery_from_an_unknown_epoch_drops_what_was_received() {
        let mut positions = joined("", 0);
        positions.on_message("r", 1);
        positions.on_message("r", 2);
        let since = positions.since("r").unwrap();
        let reply = json!({ "room": "r", "epoch": "e", "offset": 4, "recovered": true });
        assert_eq!(
            positions.on_join_reply("r", &reply, Some(&since)),
            Some(true)
        );
        assert_eq!(positions.on_message("r", 1), Verdict::Duplicate);
        assert_eq!(positions.on_message("r", 2), Verdict::Duplicate);
        assert_eq!(positions.on_message("r", 3), Verdict::Deliver);
        assert_eq!(positions.on_message("r", 4), Verdict::Deliver);
        assert_eq!(positions.get("r"), Some(position("e", 4)));
        // The replay is over: an offset going back is a new epoch now.
        assert_eq!(positions.on_message("r", 1), Verdict::DeliverAndLocate);
        assert_eq!(positions.get("r"), Some(position("", 1)));
    }

    #[test]
    fn a_whole_epoch_replayed_that_was_all_received_is_all_dropped() {
        let mut positions = joined("", 0);
        positions.on_message("r", 1);
        positions.on_message("r", 2);
        let since = positions.since("r").unwrap();
        let reply = json!({ "room": "r", "epoch": "e", "offset": 2, "recovered": true });
        positions.on_join_reply("r", &reply, Some(&since));
        assert_eq!(positions.on_message("r", 1), Verdict::Duplicate);
        assert_eq!(positions.on_message("r", 2), Verdict::Duplicate);
        assert_eq!(positions.on_message("r", 3), Verdict::Deliver);
        assert_eq!(positions.get("r"), Some(position("e", 3)));
    }

    #[test]
    fn a_recovery_in_the_same_epoch_replays_after_the_last_received() {
        let mut positions = joined("e", 2);
        positions.on_message("r", 3);
        let since = positions.since("r").unwrap();
        assert_eq!(since, position("e", 3));
        let reply = json!({ "room": "r", "epoch": "e", "offset": 5, "recovered": true });
        positions.on_join_reply("r", &reply, Some(&since));
        assert_eq!(positions.get("r"), Some(position("e", 3)));
        assert_eq!(positions.on_message("r", 3), Verdict::Duplicate);
        assert_eq!(positions.on_message("r", 4), Verdict::Deliver);
        assert_eq!(positions.on_message("r", 5), Verdict::Deliver);
        assert_eq!(positions.on_message("r", 6), Verdict::Deliver);
    }

    #[test]
    fn a_failed_recovery_stands_at_the_latest_offset() {
        let mut positions = joined("e", 2);
        let since = positions.since("r").unwrap();
        let reply = json!({ "room": "r", "epoch": "f", "offset": 9, "recovered": false });
        assert_eq!(
            positions.on_join_reply("r", &reply, Some(&since)),
            Some(false)
        );
        assert_eq!(positions.get("r"), Some(position("f", 9)));
        assert_eq!(positions.on_message("r", 10), Verdict::Deliver);
        // A reply without `recovered` after a `since` did not recover.
        let reply = json!({ "room": "r", "epoch": "f", "offset": 10 });
        assert_eq!(
            positions.on_join_reply("r", &reply, Some(&since)),
            Some(false)
        );
    }

    #[test]
    fn an_offset_going_back_outside_a_recovery_is_a_new_epoch() {
        let mut positions = joined("e", 0);
        for offset in 1..=5 {
            assert_eq!(positions.on_message("r", offset), Verdict::Deliver);
        }
        assert_eq!(positions.on_message("r", 1), Verdict::DeliverAndLocate);
        assert_eq!(positions.on_message("r", 2), Verdict::Deliver);
        assert_eq!(positions.since("r"), Some(position("", 0)));
    }

    #[test]
    fn a_given_position_is_taken_unless_the_room_is_tracked() {
        let mut positions = Positions::default();
        assert_eq!(positions.seed("r", &position("e", 4)), position("e", 4));
        positions.on_message("r", 7);
        assert_eq!(positions.seed("r", &position("f", 1)), position("e", 7));
        assert_eq!(positions.seed("s", &position("", 3)), position("", 0));
        assert_eq!(positions.get("s"), Some(position("", 3)));
    }
}
