//! Adopted hub sockets: a task per socket that reports when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard::{CloseCode, Socket};
use tokio::sync::watch;

use super::events::{PoolDisconnect, PoolEvent, ProducerGuard};

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
