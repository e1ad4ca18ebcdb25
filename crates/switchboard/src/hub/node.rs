//! This node's side of the cluster: the hub applies other nodes'
//! operations to its own sockets and answers their questions, for the
//! adapter's [`NodeHandle`](crate::adapter::NodeHandle).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use switchboard_protocol::{CloseCode, HistoryPosition};

use super::broadcast::BroadcastOperator;
use super::handle::{Hub, HubInner};
use super::history_cluster::HistoryOrigin;
use super::move_out::TakeSession;
use crate::adapter::{
    AckOutcome, KeptMessage, LocalNode, Operation, PresenceSnapshot, Query, Reply,
};
use crate::session::history::Delivery;

impl LocalNode for HubInner {
    fn namespace(&self) -> Option<String> {
        self.config.namespace.clone()
    }

    fn apply(self: Arc<Self>, operation: Operation) -> usize {
        let hub = Hub { inner: self };
        match operation {
            Operation::Broadcast {
                target,
                message,
                op,
            } => BroadcastOperator::for_target(hub, target)
                .with_op(op)
                .send_message(&message),
            Operation::BroadcastRaw {
                target,
                frame,
                binary,
            } => BroadcastOperator::for_target(hub, target).send_raw(frame, binary),
            Operation::SendTo {
                socket,
                message,
                op,
            } => match hub.socket(&socket) {
                Some(socket) => usize::from(socket.send_message_of(&message, op).is_ok()),
                None => 0,
            },
            Operation::Disconnect { target, code } => match CloseCode::from_u16(code) {
                Some(code) => BroadcastOperator::for_target(hub, target).disconnect(code),
                None => {
                    tracing::warn!(
                        code,
                        "cluster disconnect with an unknown close code ignored"
                    );
                    0
                }
            },
            Operation::Presence(update) => {
                if let Some(book) = hub.room_registry().presence() {
                    let changes = book.apply_update(update);
                    hub.tell_presence(changes);
                }
                0
            }
            Operation::History {
                room,
                epoch,
                offset,
                messages,
                again,
            } => {
                let place = HistoryPosition { epoch, offset };
                let origin = if again {
                    HistoryOrigin::PublishedAgain
                } else {
                    HistoryOrigin::Published
                };
                hub.history_numbered(&room, &place, deliveries(messages), origin);
                0
            }
            Operation::SessionForward { to, moving, frames } => {
                hub.apply_forward(&to, moving, frames);
                0
            }
            Operation::SessionMoved { moving, .. } => {
                hub.fence_seen(moving);
                0
            }
            Operation::SessionForwarded { to, moving } => {
                if to == hub.node_id() {
                    hub.forwarding_ended(moving);
                }
                0
            }
        }
    }

    fn backend_returned(self: Arc<Self>) {
        Hub { inner: self }.history_backend_returned();
    }

    fn history_kept(
        self: Arc<Self>,
        room: &str,
        place: HistoryPosition,
        messages: Vec<KeptMessage>,
    ) {
        Hub { inner: self }.history_numbered(
            room,
            &place,
            deliveries(messages),
            HistoryOrigin::KeptHere,
        );
    }

    fn history_dropped(&self, messages: u64) {
        self.stats.history_dropped(messages);
    }

    fn answer(self: Arc<Self>, query: Query) -> BoxFuture<'static, Reply> {
        let hub = Hub { inner: self };
        Box::pin(async move {
            match query {
                Query::Members { room } => Reply::Names(hub.members(&room)),
                Query::RoomsOf { socket } => Reply::Names(hub.rooms_of(&socket)),
                Query::Count => Reply::Count(hub.count() as u64),
                Query::DisconnectSocket { socket, code } => {
                    let code = CloseCode::from_u16(code).unwrap_or(CloseCode::Kicked);
                    Reply::Found(hub.disconnect(&socket, code))
                }
                Query::UserSockets { user } => Reply::Names(hub.user_sockets(&user)),
                Query::Presence => Reply::Presence(
                    hub.room_registry()
                        .presence()
                        .map(|book| book.snapshot())
                        .unwrap_or_default(),
                ),
                Query::DisconnectUser { user, code } => {
                    let code = CloseCode::from_u16(code).unwrap_or(CloseCode::Kicked);
                    Reply::Count(hub.disconnect_user(&user, code) as u64)
                }
                Query::TakeSession {
                    session,
                    last,
                    msgpack,
                    user,
                    to,
                    moving,
                } => {
                    hub.hand_over(TakeSession {
                        token: session,
                        last,
                        msgpack,
                        user,
                        to,
                        moving,
                    })
                    .await
                }
                Query::Ack {
                    target,
                    message,
                    timeout,
                } => {
                    let replies = BroadcastOperator::for_target(hub, target)
                        .local_acks(&message, timeout)
                        .await;
                    Reply::Acks(
                        replies
                            .into_iter()
                            .map(|(id, result)| (id, AckOutcome::from_result(result)))
                            .collect(),
                    )
                }
            }
        })
    }

    fn presence_seq(&self) -> Option<u64> {
        self.rooms.presence().map(|book| book.seq())
    }

    fn presence_behind(&self, node: &str, announced: u64) -> bool {
        self.rooms
            .presence()
            .is_some_and(|book| book.needs_snapshot(node, announced))
    }

    fn presence_snapshot(self: Arc<Self>, node: &str, snapshot: PresenceSnapshot) {
        let hub = Hub { inner: self };
        if let Some(book) = hub.room_registry().presence() {
            let changes = book.apply_snapshot(node, snapshot);
            hub.tell_presence(changes);
        }
    }

    fn node_gone(self: Arc<Self>, node: &str) {
        let hub = Hub { inner: self };
        if let Some(book) = hub.room_registry().presence() {
            let changes = book.node_gone(node);
            hub.tell_presence(changes);
        }
    }
}

/// Kept messages as the history rooms' delivery order takes them.
fn deliveries(messages: Vec<KeptMessage>) -> Vec<Delivery> {
    messages
        .into_iter()
        .map(|kept| Delivery {
            message: kept.message,
            except: kept.except,
        })
        .collect()
}
