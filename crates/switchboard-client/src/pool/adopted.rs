//! Adopted hub sockets (with the `hub` feature): a task per socket that
//! reports when it ends, and the frames the pool writes to them. Without the
//! feature, `adopted_without_hub.rs` stands in for this module.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(crate) use switchboard::Socket as HubSocket;
use switchboard::{CloseCode, Socket};
use tokio::sync::watch;

use super::PoolError;
use super::events::{Frame, PoolDisconnect, PoolEvent, ProducerGuard};

/// How long a socket the pool disconnects may take to end.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Waits for the socket to end, or closes it when the pool asks; reports
/// `Disconnected` and hands back its share of the merged stream.
pub(crate) async fn run(
    id: Arc<str>,
    socket: Socket,
    mut close: watch::Receiver<bool>,
    connected: Arc<AtomicBool>,
    events: ProducerGuard,
) -> ProducerGuard {
    let closing = async {
        loop {
            if *close.borrow_and_update() || close.changed().await.is_err() {
                return;
            }
        }
    };
    let reason = tokio::select! {
        reason = socket.closed() => PoolDisconnect::Hub(reason.to_string()),
        () = closing => {
            socket.disconnect(CloseCode::Normal);
            let _ = tokio::time::timeout(CLOSE_GRACE, socket.closed()).await;
            PoolDisconnect::Local
        }
    };
    connected.store(false, Ordering::Release);
    tracing::debug!(%id, %reason, "adopted socket left");
    let event = PoolEvent::Disconnected { id, reason };
    if reason_is_local(&event) {
        events.queue().force_push(event);
    } else {
        let _ = events.queue().push(event).await;
    }
    events
}

fn reason_is_local(event: &PoolEvent) -> bool {
    matches!(
        event,
        PoolEvent::Disconnected {
            reason: PoolDisconnect::Local,
            ..
        }
    )
}

/// Queues `frame` on an adopted socket, through the hub's own bounded send
/// queue.
pub(crate) fn send(id: &str, socket: &Socket, frame: Frame) -> Result<(), PoolError> {
    let binary = frame.is_binary();
    let data = match frame {
        Frame::Text(b) | Frame::Binary(b) => b,
    };
    socket.send_raw(data, binary).map_err(|e| match e {
        switchboard::SendError::SlowConsumer => PoolError::QueueFull(id.to_owned()),
        _ => PoolError::Closed(id.to_owned()),
    })
}
