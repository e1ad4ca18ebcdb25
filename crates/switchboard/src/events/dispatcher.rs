//! A session's dispatcher, its whole lifecycle: started on the session's
//! first work (or at once with a connect handler), fed by the links'
//! hand-over, running the handlers in order, and ending with the
//! disconnect handler once the session has ended.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::events::dispatch::{handle_client, handle_raw};
use crate::hub::guard::guarded;
use crate::hub::handle::Hub;
use crate::hub::handle::Socket;
use crate::hub::lifecycle::disconnected;
use crate::session::inbox::{Dispatch, Inbox};
use crate::session::shared::SocketShared;
use crate::session::table::Attached;

impl Hub {
    /// The session's dispatcher queue, starting the dispatcher if it has
    /// not started yet; `None` once the session has ended.
    pub(crate) fn dispatcher(&self, session: &Arc<SocketShared>) -> Option<mpsc::Sender<Dispatch>> {
        let (tx, rx) = {
            let mut inbox = session.dispatch.lock();
            match &*inbox {
                Inbox::Open(tx) => return Some(tx.clone()),
                Inbox::Closed => return None,
                Inbox::NotStarted => {}
            }
            let capacity = self.config().inbound_queue_capacity.max(1);
            let (tx, rx) = mpsc::channel::<Dispatch>(capacity);
            *inbox = Inbox::Open(tx.clone());
            (tx, rx)
        };
        let socket = self.socket_handle(session.clone());
        let hub = self.clone();
        self.spawn(async move {
            run(socket, rx).await;
            hub.inner.session_finished();
        });
        Some(tx)
    }
}

/// A link was attached: a new session's dispatcher starts at once when the
/// hub has a connect handler (after the `$welcome` is queued), else with
/// its first work.
pub(crate) fn opened(hub: &Hub, attached: &Attached) {
    if attached.opened && hub.event_router().connect.is_some() {
        let _ = hub.dispatcher(&attached.session);
    }
}

/// Hands over the backlog, as much as fits now without waiting; starts the
/// dispatcher on its first work. Work for an ended session is dropped.
pub(crate) fn hand_over(
    socket: &Socket,
    dispatch: &mut Option<mpsc::Sender<Dispatch>>,
    backlog: &mut VecDeque<Dispatch>,
) {
    if dispatch.is_none() {
        *dispatch = socket.hub.dispatcher(&socket.shared);
    }
    let Some(sender) = dispatch else {
        backlog.clear();
        return;
    };
    while let Some(work) = backlog.pop_front() {
        match sender.try_send(work) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(work)) => {
                backlog.push_front(work);
                break;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                backlog.clear();
                break;
            }
        }
    }
}

/// Handles a socket's inbound work in order until the connection ends, then
/// runs the disconnect handler once.
async fn run(socket: Socket, mut rx: mpsc::Receiver<Dispatch>) {
    if let Some(connect) = socket.hub.event_router().connect.clone() {
        guarded(&socket, "connect", connect(socket.clone())).await;
    }
    while let Some(work) = rx.recv().await {
        match work {
            Dispatch::Client(message) => {
                // Backpressure: the answers to this client's earlier
                // messages are written before the next is handled, so a
                // flood of acked messages is slowed, never turned into a
                // false 4001 (the link is not read meanwhile).
                socket.shared.queue.room_for_answers().await;
                handle_client(&socket, *message).await;
            }
            Dispatch::Raw(frame) => handle_raw(&socket, frame).await,
        }
    }
    disconnected(&socket).await;
}
