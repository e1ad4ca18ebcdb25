//! What nodes say to each other, and how it is encoded (MessagePack with
//! named fields, versioned).
//!
//! Every node subscribes to two channels: `{prefix}.all`, which carries
//! heartbeats, operations and requests to every node, and
//! `{prefix}.node.{id}`, which carries the replies meant for it.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_protocol::{ErrorBody, Message};

use super::wire_moves::{ForwardedFrame, MovedSession};
use crate::id::OpId;
use crate::session::presence::{PresenceSnapshot, PresenceUpdate};

/// The version of the node-to-node format a node writes when version 1
/// says it all; a node drops (and counts) envelopes of a version it does
/// not read.
pub(crate) const WIRE_VERSION: u8 = 1;

/// The version of envelopes whose [`Target`] lists socket ids
/// ([`Target::sockets`]). Nodes of version 1 ignore unknown fields, so
/// they would take such a target for "every socket": these envelopes are
/// marked 2, which a version-1 node refuses (and counts) instead of
/// misdelivering. Every other envelope is still written as version 1, so
/// nodes of both versions keep working together in a rolling upgrade.
pub(crate) const WIRE_VERSION_SOCKETS: u8 = 2;

/// The version of envelopes that name users: a [`Target`] with
/// [`Target::users`], or the user queries ([`Query::UserSockets`],
/// [`Query::DisconnectUser`]). Older nodes refuse (and count) them, as
/// version-1 nodes refuse version 2.
pub(crate) const WIRE_VERSION_USERS: u8 = 3;

/// The version of presence announcements and snapshots (PROTOCOL.md
/// section 10): [`Operation::Presence`], [`Query::Presence`]. Older nodes
/// refuse (and count) them and keep no presence of other nodes.
pub(crate) const WIRE_VERSION_PRESENCE: u8 = 4;

/// The version of history deliveries (PROTOCOL.md section 11):
/// [`Operation::History`]. Older nodes refuse (and count) them: their
/// members of history rooms miss those messages.
pub(crate) const WIRE_VERSION_HISTORY: u8 = 5;

/// The version of session moves (PROTOCOL.md section 11):
/// [`Query::TakeSession`], [`Reply::Session`], [`Operation::SessionForward`],
/// [`Operation::SessionMoved`] and [`Operation::SessionForwarded`]. Older
/// nodes refuse (and count) them: a resume on such a node for a session
/// held elsewhere gets a new session.
pub(crate) const WIRE_VERSION_SESSIONS: u8 = 6;

/// The newest version this node reads.
const WIRE_VERSION_NEWEST: u8 = WIRE_VERSION_SESSIONS;

/// Whether `value` is false (a flag left out of the encoding).
fn is_false(value: &bool) -> bool {
    !*value
}

/// Which sockets an operation is for: every socket in any of `rooms`,
/// listed in `sockets` or of a user of `users` (all sockets when the three
/// are empty), but none of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Rooms whose members are reached; empty (with `sockets` empty) means
    /// every socket.
    pub rooms: Vec<String>,
    /// Socket ids left out.
    pub except: Vec<String>,
    /// Socket ids reached (besides the rooms' members), since wire
    /// version 2; absent from the encoding when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<String>,
    /// Users whose sockets are reached (PROTOCOL.md section 10), since
    /// wire version 3; absent from the encoding when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// History rooms the same broadcast also reached (PROTOCOL.md section
    /// 11): their members get it through the room's numbered messages
    /// ([`Operation::History`]), so this part skips them, and a socket in
    /// both gets it once, as on one hub. Since wire version 6; absent from
    /// the encoding when empty (an older node ignores it and reaches such
    /// a socket twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history_rooms: Vec<String>,
}

impl Target {
    /// Whether the target reaches every socket (it names no room, socket
    /// or user, history rooms included).
    pub fn is_everyone(&self) -> bool {
        self.lists_no_recipient() && self.history_rooms.is_empty()
    }

    /// Whether it names no room, socket or user, history rooms aside: with
    /// history rooms, such a part of a broadcast reaches no one.
    pub fn lists_no_recipient(&self) -> bool {
        self.rooms.is_empty() && self.sockets.is_empty() && self.users.is_empty()
    }
}

/// An operation every other node applies to its own sockets, without
/// answering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Operation {
    /// Send `message` to the target (its `room` set per room reached).
    Broadcast {
        /// The recipients.
        target: Target,
        /// The message, encoded by each node once per codec.
        message: Message,
        /// The operation's id (since wire version 6; older nodes ignore
        /// it): a session moving between nodes gets it once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<OpId>,
    },
    /// Send a frame as it is to the target (raw mode).
    BroadcastRaw {
        /// The recipients.
        target: Target,
        /// The frame.
        frame: Bytes,
        /// Whether it goes in a binary frame.
        binary: bool,
    },
    /// Send `message` to the socket with this id, wherever it is.
    SendTo {
        /// The socket id.
        socket: String,
        /// The message.
        message: Message,
        /// The operation's id, as in [`Operation::Broadcast`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<OpId>,
    },
    /// Close every target socket with `code`.
    Disconnect {
        /// The recipients.
        target: Target,
        /// The close code.
        code: u16,
    },
    /// A change of the sending node's presence share (since wire
    /// version 4).
    Presence(PresenceUpdate),
    /// Messages of a history room, as the cluster's history store
    /// numbered them (since wire version 5): each node delivers them to
    /// its members in the order of their offsets.
    History {
        /// The room.
        room: String,
        /// The room's epoch.
        epoch: String,
        /// The offset of the first message (the others follow by one).
        offset: u64,
        /// The messages, in order.
        messages: Vec<KeptMessage>,
        /// Published again by the node that kept them, once it found the
        /// store had lost their epoch (since wire version 6; older nodes
        /// ignore it): their first publication may have died with the
        /// backend. A node delivers them only if it followed that epoch,
        /// and each message once.
        #[serde(default, skip_serializing_if = "is_false")]
        again: bool,
    },
    /// What reached a session that node `to` is taking over, since its
    /// [`Query::TakeSession`] (since wire version 6): `to` queues it for the
    /// session, in order. Sent to `to`'s own channel.
    SessionForward {
        /// The node taking the session over.
        to: String,
        /// The move, as [`Query::TakeSession::moving`] named it.
        moving: u64,
        /// The frames, in the order they reached the session.
        frames: Vec<ForwardedFrame>,
    },
    /// The fence of a move (since wire version 6): the taking node holds
    /// the session from here on in the order of the `all` channel, so the
    /// old node stops forwarding once it sees this.
    SessionMoved {
        /// The move.
        moving: u64,
        /// The session's socket id.
        socket: String,
    },
    /// The old node forwarded everything (since wire version 6): the
    /// taking node lets the session's own deliveries, held meanwhile, go.
    /// Sent to `to`'s own channel after the last [`Operation::SessionForward`].
    SessionForwarded {
        /// The node taking the session over.
        to: String,
        /// The move.
        moving: u64,
    },
}

/// A message of a history room on its way to the members (see
/// [`Operation::History`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptMessage {
    /// The message, with its `room` set (its `offset` is set on delivery).
    pub message: Message,
    /// Socket ids it does not reach (a relay's sender).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

/// A question every other live node answers with a [`Reply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Query {
    /// The ids of the node's members of a room.
    Members {
        /// The room.
        room: String,
    },
    /// The rooms of a socket, if the node holds it.
    RoomsOf {
        /// The socket id.
        socket: String,
    },
    /// The node's live connections.
    Count,
    /// Close the socket with this id if the node holds it.
    DisconnectSocket {
        /// The socket id.
        socket: String,
        /// The close code.
        code: u16,
    },
    /// Send `message` to the target asking each for an ack, and answer
    /// every reply that arrives within `timeout`.
    Ack {
        /// The recipients.
        target: Target,
        /// The message (its ack id is set per socket).
        message: Box<Message>,
        /// How long the node waits for its sockets' replies.
        timeout: Duration,
    },
    /// The ids of the node's sockets of a user (live or waiting for a
    /// resume).
    UserSockets {
        /// The user id.
        user: String,
    },
    /// Close every socket of a user on the node with `code`; the reply is
    /// how many it closed.
    DisconnectUser {
        /// The user id.
        user: String,
        /// The close code.
        code: u16,
    },
    /// The node's whole presence share, answered with
    /// [`Reply::Presence`] (since wire version 4).
    Presence,
    /// Hand the session with this token over to node `to` (since wire
    /// version 6): the node holding it answers [`Reply::Session`] with what
    /// `to` needs, closes its link (`4002`) and forwards what reaches the
    /// session until it sees [`Operation::SessionMoved`]; the others answer
    /// `Reply::Session(None)`.
    TakeSession {
        /// The session token.
        session: String,
        /// The client's `last`: the count of messages it received.
        last: u64,
        /// The resuming link's codec is MessagePack.
        msgpack: bool,
        /// The resuming link's user when it is known before the
        /// authentication hook (a token's `sub`; `None`: anonymous);
        /// absent when the hook decides.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<Option<String>>,
        /// The node taking it over.
        to: String,
        /// A random number naming this move.
        moving: u64,
    },
}

/// One node's answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Reply {
    /// Socket ids or room names.
    Names(Vec<String>),
    /// A number of connections.
    Count(u64),
    /// Whether the node held the socket.
    Found(bool),
    /// Each reached socket's ack outcome, by socket id.
    Acks(Vec<(String, AckOutcome)>),
    /// The node's presence share.
    Presence(PresenceSnapshot),
    /// The answer to [`Query::TakeSession`]: the session, if this node held
    /// it and hands it over.
    Session(Option<MovedSession>),
}

/// How one socket answered an ack request on another node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AckOutcome {
    /// The client replied with this data.
    Data(Value),
    /// The client replied with an error.
    Error(ErrorBody),
    /// No reply within the timeout.
    Timeout,
    /// The socket went away first.
    Disconnected,
    /// The request could not be sent to the socket.
    Failed(String),
}

/// One message on a cluster channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// [`WIRE_VERSION`].
    pub(crate) v: u8,
    /// The sending node's id.
    pub(crate) from: String,
    pub(crate) body: Body,
    /// On heartbeats of a node that keeps presence: the number of its last
    /// presence change. Older nodes skip the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) presence: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Body {
    /// "I am alive" (also the announcement of a new node).
    Heartbeat,
    /// "I am leaving" (graceful shutdown).
    Leave,
    Operation(Operation),
    Request {
        id: u64,
        query: Query,
    },
    Reply {
        id: u64,
        reply: Reply,
    },
}

impl Body {
    /// The oldest wire version that can carry this body.
    fn min_version(&self) -> u8 {
        let target = match self {
            Body::Operation(
                Operation::Broadcast { target, .. }
                | Operation::BroadcastRaw { target, .. }
                | Operation::Disconnect { target, .. },
            )
            | Body::Request {
                query: Query::Ack { target, .. },
                ..
            } => Some(target),
            _ => None,
        };
        let names_users = matches!(
            self,
            Body::Request {
                query: Query::UserSockets { .. } | Query::DisconnectUser { .. },
                ..
            }
        );
        let presence = matches!(
            self,
            Body::Operation(Operation::Presence(_))
                | Body::Request {
                    query: Query::Presence,
                    ..
                }
                | Body::Reply {
                    reply: Reply::Presence(_),
                    ..
                }
        );
        let history = matches!(self, Body::Operation(Operation::History { .. }));
        let sessions = matches!(
            self,
            Body::Operation(
                Operation::SessionForward { .. }
                    | Operation::SessionMoved { .. }
                    | Operation::SessionForwarded { .. }
            ) | Body::Request {
                query: Query::TakeSession { .. },
                ..
            } | Body::Reply {
                reply: Reply::Session(_),
                ..
            }
        );
        match target {
            _ if sessions => WIRE_VERSION_SESSIONS,
            _ if history => WIRE_VERSION_HISTORY,
            _ if presence => WIRE_VERSION_PRESENCE,
            _ if names_users => WIRE_VERSION_USERS,
            Some(target) if !target.users.is_empty() => WIRE_VERSION_USERS,
            Some(target) if !target.sockets.is_empty() => WIRE_VERSION_SOCKETS,
            _ => WIRE_VERSION,
        }
    }
}

/// Why an envelope could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("undecodable cluster message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error(
        "cluster message of wire version {0}, this node reads {WIRE_VERSION} to {WIRE_VERSION_NEWEST}"
    )]
    Version(u8),
}

impl Envelope {
    pub(crate) fn new(from: &str, body: Body) -> Self {
        Self {
            v: body.min_version(),
            from: from.to_owned(),
            body,
            presence: None,
        }
    }

    /// A heartbeat, with the number of the node's last presence change
    /// when it keeps presence.
    pub(crate) fn heartbeat(from: &str, presence: Option<u64>) -> Self {
        Self {
            presence,
            ..Self::new(from, Body::Heartbeat)
        }
    }

    pub(crate) fn encode(&self) -> Bytes {
        // Serializing plain data into a Vec cannot fail.
        Bytes::from(rmp_serde::to_vec_named(self).expect("cluster envelope serializes"))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let envelope: Envelope = rmp_serde::from_slice(bytes)?;
        if !(WIRE_VERSION..=WIRE_VERSION_NEWEST).contains(&envelope.v) {
            return Err(WireError::Version(envelope.v));
        }
        Ok(envelope)
    }
}

/// The channel every node listens to.
pub(crate) fn all_channel(prefix: &str) -> String {
    format!("{prefix}.all")
}

/// The channel carrying replies to one node.
pub(crate) fn node_channel(prefix: &str, node: &str) -> String {
    format!("{prefix}.node.{node}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(body: Body) {
        let envelope = Envelope::new("node-1", body);
        let decoded = Envelope::decode(&envelope.encode()).unwrap();
        assert_eq!(decoded, envelope);
    }

    #[test]
    fn a_target_of_history_rooms_alone_is_not_everyone() {
        let only_history = Target {
            history_rooms: vec!["feed".into()],
            ..Target::default()
        };
        assert!(!only_history.is_everyone());
        assert!(only_history.lists_no_recipient());
        assert!(Target::default().is_everyone());
    }

    #[test]
    fn every_body_round_trips() {
        let message = Message::event(
            "chat",
            serde_json::json!({"text": "hé", "n": [1, 2.5, null]}),
        )
        .with_room("r".to_owned());
        let target = Target {
            rooms: vec!["a".into(), "b".into()],
            except: vec!["x".into()],
            sockets: Vec::new(),
            users: vec!["ada".into()],
            history_rooms: vec!["feed".into()],
        };
        round_trip(Body::Heartbeat);
        round_trip(Body::Leave);
        round_trip(Body::Operation(Operation::Broadcast {
            target: target.clone(),
            message: message.clone(),
            op: Some(OpId { node: 3, seq: 9 }),
        }));
        round_trip(Body::Operation(Operation::BroadcastRaw {
            target: target.clone(),
            frame: Bytes::from_static(b"\x00\xffraw"),
            binary: true,
        }));
        round_trip(Body::Operation(Operation::SendTo {
            socket: "s".into(),
            message: message.clone(),
            op: None,
        }));
        round_trip(Body::Request {
            id: 7,
            query: Query::Ack {
                target,
                message: Box::new(message),
                timeout: Duration::from_millis(1500),
            },
        });
        round_trip(Body::Reply {
            id: 7,
            reply: Reply::Acks(vec![
                (
                    "a".into(),
                    AckOutcome::Data(serde_json::json!({"ok": true})),
                ),
                ("b".into(), AckOutcome::Timeout),
                (
                    "c".into(),
                    AckOutcome::Error(ErrorBody {
                        code: "internal".into(),
                        message: "boom".into(),
                    }),
                ),
            ]),
        });
    }

    #[test]
    fn socket_lists_are_version_2_and_the_rest_stays_version_1() {
        let with_ids = Target {
            sockets: vec!["s1".into(), "s2".into()],
            ..Target::default()
        };
        let message = Message::event("e", serde_json::json!(1));
        let list = Envelope::new(
            "n",
            Body::Operation(Operation::Broadcast {
                target: with_ids.clone(),
                message: message.clone(),
                op: None,
            }),
        );
        assert_eq!(list.v, WIRE_VERSION_SOCKETS);
        assert_eq!(Envelope::decode(&list.encode()).unwrap(), list);
        let ack = Envelope::new(
            "n",
            Body::Request {
                id: 1,
                query: Query::Ack {
                    target: with_ids,
                    message: Box::new(message.clone()),
                    timeout: Duration::from_secs(1),
                },
            },
        );
        assert_eq!(ack.v, WIRE_VERSION_SOCKETS);
        let rooms = Envelope::new(
            "n",
            Body::Operation(Operation::Broadcast {
                target: Target {
                    rooms: vec!["r".into()],
                    ..Target::default()
                },
                message,
                op: Some(OpId { node: 1, seq: 2 }),
            }),
        );
        // An operation id does not raise the version: older nodes ignore it.
        assert_eq!(rooms.v, WIRE_VERSION);
        // A version-1 target (no `sockets` key) still decodes.
        #[derive(Serialize)]
        struct OldTarget {
            rooms: Vec<String>,
            except: Vec<String>,
        }
        let old = rmp_serde::to_vec_named(&OldTarget {
            rooms: vec!["r".into()],
            except: vec![],
        })
        .unwrap();
        let decoded: Target = rmp_serde::from_slice(&old).unwrap();
        assert_eq!(decoded.rooms, ["r"]);
        assert!(decoded.sockets.is_empty());
    }

    #[test]
    fn user_targets_and_user_queries_are_version_3() {
        let to_user = Envelope::new(
            "n",
            Body::Operation(Operation::Broadcast {
                target: Target {
                    users: vec!["ada".into()],
                    sockets: vec!["s1".into()],
                    ..Target::default()
                },
                message: Message::event("e", serde_json::json!(1)),
                op: None,
            }),
        );
        assert_eq!(to_user.v, WIRE_VERSION_USERS);
        assert_eq!(Envelope::decode(&to_user.encode()).unwrap(), to_user);
        for query in [
            Query::UserSockets { user: "ada".into() },
            Query::DisconnectUser {
                user: "ada".into(),
                code: 4000,
            },
        ] {
            let request = Envelope::new("n", Body::Request { id: 3, query });
            assert_eq!(request.v, WIRE_VERSION_USERS);
            assert_eq!(Envelope::decode(&request.encode()).unwrap(), request);
        }
        // A target without users has no `users` key: older nodes read it.
        let bytes = rmp_serde::to_vec_named(&Target::default()).unwrap();
        assert!(!bytes.windows(5).any(|w| w == b"users"));
    }

    #[test]
    fn an_operation_id_costs_a_broadcast_31_bytes_at_most() {
        let broadcast = |op| {
            Envelope::new(
                "node-1",
                Body::Operation(Operation::Broadcast {
                    target: Target {
                        rooms: vec!["r".into()],
                        ..Target::default()
                    },
                    message: Message::event("n", serde_json::json!(1)),
                    op,
                }),
            )
            .encode()
            .len()
        };
        let without = broadcast(None);
        // A random node tag takes all 8 bytes; a sequence past 2^32, too.
        let with = broadcast(Some(OpId {
            node: u64::MAX,
            seq: u64::MAX,
        }));
        assert_eq!(with - without, 31, "{without} -> {with} bytes");
    }

    #[test]
    fn session_moves_are_version_6() {
        let op = Some(OpId { node: 7, seq: 8 });
        let bodies = [
            Body::Request {
                id: 1,
                query: Query::TakeSession {
                    session: "t".repeat(32),
                    last: 12,
                    msgpack: false,
                    user: Some(Some("ada".into())),
                    to: "b".into(),
                    moving: 99,
                },
            },
            Body::Reply {
                id: 1,
                reply: Reply::Session(Some(MovedSession {
                    socket: "s".into(),
                    user: None,
                    rooms: vec!["r".into()],
                    missed: 3,
                    seen: vec![OpId { node: 1, seq: 2 }],
                })),
            },
            Body::Operation(Operation::SessionForward {
                to: "b".into(),
                moving: 99,
                frames: vec![ForwardedFrame {
                    bytes: Bytes::from_static(b"{}"),
                    binary: false,
                    op,
                }],
            }),
            Body::Operation(Operation::SessionMoved {
                moving: 99,
                socket: "s".into(),
            }),
            Body::Operation(Operation::SessionForwarded {
                to: "b".into(),
                moving: 99,
            }),
        ];
        for body in bodies {
            let envelope = Envelope::new("n", body);
            assert_eq!(envelope.v, WIRE_VERSION_SESSIONS);
            assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }
    }

    #[test]
    fn presence_is_version_4_and_heartbeats_carry_its_number_to_new_nodes_only() {
        use crate::session::presence::{PresenceShare, PresenceSnapshot, PresenceUpdate};
        let share = PresenceShare {
            room: "chat".into(),
            user: Some("ada".into()),
            info: Some(serde_json::json!({"name": "Ada"})),
            sockets: 2,
        };
        let bodies = [
            Body::Operation(Operation::Presence(PresenceUpdate {
                node: "n".into(),
                seq: 9,
                share: share.clone(),
            })),
            Body::Request {
                id: 1,
                query: Query::Presence,
            },
            Body::Reply {
                id: 1,
                reply: Reply::Presence(PresenceSnapshot {
                    seq: 9,
                    shares: vec![share],
                }),
            },
        ];
        for body in bodies {
            let envelope = Envelope::new("n", body);
            assert_eq!(envelope.v, WIRE_VERSION_PRESENCE);
            assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }
        let beat = Envelope::heartbeat("n", Some(9));
        assert_eq!(beat.v, WIRE_VERSION);
        assert_eq!(Envelope::decode(&beat.encode()).unwrap(), beat);
        // Without presence a heartbeat is written as before.
        assert_eq!(
            Envelope::heartbeat("n", None).encode(),
            Envelope::new("n", Body::Heartbeat).encode()
        );
        // A node of an older release reads a heartbeat with the number
        // (it skips the unknown field).
        #[derive(Deserialize)]
        struct OldEnvelope {
            v: u8,
            from: String,
        }
        let old: OldEnvelope = rmp_serde::from_slice(&beat.encode()).unwrap();
        assert_eq!((old.v, old.from.as_str()), (1, "n"));
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        assert!(Envelope::decode(b"\xc1garbage").is_err());
        let mut envelope = Envelope::new("n", Body::Heartbeat);
        envelope.v = 9;
        assert!(matches!(
            Envelope::decode(&envelope.encode()),
            Err(WireError::Version(9))
        ));
    }
}
