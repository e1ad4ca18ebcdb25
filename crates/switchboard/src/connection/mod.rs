//! The connection task: one per socket. It owns the link, the heartbeat,
//! the bad-message and rate limits, and the writer that drains the send
//! queue into one write.

pub(crate) mod checks;
pub(crate) mod inbound;
pub(crate) mod poll_links;
mod rate_limit;

use std::collections::VecDeque;

use futures_util::FutureExt;
use switchboard_protocol::CloseCode;
use tokio::sync::mpsc;
use tokio::time::Instant;

use self::checks::InboundChecks;
use self::inbound::{handle_frame, reserve};
use crate::error::DisconnectReason;
use crate::events::dispatcher::hand_over;
use crate::send_queue::Outgoing;
use crate::session::inbox::{Dispatch, RawFrame};
use crate::socket::Socket;
use crate::transport::{Link, LinkError, Received};

/// The largest emptied queue kept for reuse (a burst's bigger one is freed).
const MAX_SPARE_FRAMES: usize = 64;

/// Drives one link of a session until it ends, and says why.
pub(crate) async fn run<L: Link>(
    mut link: L,
    socket: Socket,
    link_gen: u64,
    raw: bool,
) -> DisconnectReason {
    // Rare awaits (closing, failing, pinging) are boxed: a future awaited
    // inline takes its size in this task's state for the connection's whole
    // life, and these would make every idle connection ~700 bytes bigger.
    if socket.shared.closed_reason().is_some() {
        Box::pin(link.close(CloseCode::Normal)).await;
        return DisconnectReason::ServerClosed(CloseCode::Normal);
    }
    // The dispatcher's queue, taken when there is first work for it.
    let mut dispatch: Option<mpsc::Sender<Dispatch>> = None;
    // Read through the hub, not copied: every byte of this task's state is
    // held by every connection.
    let config = socket.hub.config();
    let dead_after = || config.ping_interval + config.ping_timeout;
    // The end of the current coalescing window, if one is open.
    let mut window_ends: Option<Instant> = None;
    let mut last_seen = Instant::now();
    let mut next_ping = last_seen + config.ping_interval;
    let mut checks = InboundChecks::new(config);
    // Work waiting for room in the dispatcher's queue; while any waits, the
    // link is not read (backpressure on this client only).
    let mut backlog: VecDeque<Dispatch> = VecDeque::new();
    let queue = &socket.shared.queue;
    // The emptied queue of the last write, reused by the next drain.
    let mut spare: VecDeque<Outgoing> = VecDeque::new();

    // One timer for the heartbeat and the coalescing window, moved only
    // when its deadline changes: re-arming a timer on every wake-up costs
    // more than the wake-up.
    let timer = tokio::time::sleep_until(next_ping.min(last_seen + dead_after()));
    let mut timer = std::pin::pin!(timer);

    loop {
        {
            let heartbeat_due = next_ping.min(last_seen + dead_after());
            let wake = window_ends.map_or(heartbeat_due, |end| end.min(heartbeat_due));
            if timer.deadline() != wake {
                timer.as_mut().reset(wake);
            }
        }
        tokio::select! {
            biased;
            drained = queue.drain(link_gen, &mut spare, !config.broadcast_coalesce.is_zero()) => {
                if drained.abort {
                    return DisconnectReason::Aborted;
                }
                if drained.superseded {
                    // Taken over by a resume elsewhere, or ended from
                    // outside the link (a long-polling `DELETE` of its
                    // token): that is a plain end.
                    let code = if socket.shared.closed_reason().is_some() {
                        CloseCode::Normal
                    } else {
                        CloseCode::SessionTakenOver
                    };
                    Box::pin(link.close(code)).await;
                    return DisconnectReason::ServerClosed(code);
                }
                let mut frames = drained.frames;
                let window_started = drained.window_started;
                if let Err(reason) =
                    write_drained(&mut link, &socket, link_gen, &mut frames, drained.close).await
                {
                    return reason;
                }
                frames.clear();
                if frames.capacity() <= MAX_SPARE_FRAMES {
                    spare = frames;
                }
                if window_started {
                    window_ends = Some(Instant::now() + config.broadcast_coalesce);
                }
            }
            permit = reserve(dispatch.as_ref()), if !backlog.is_empty() => {
                match permit {
                    Ok(permit) => permit.send(backlog.pop_front().expect("backlog is not empty")),
                    Err(_) => backlog.clear(),
                }
            }
            received = link.recv(), if backlog.is_empty() => {
                last_seen = Instant::now();
                if let Some(Ok(Received::Text(bytes) | Received::Binary(bytes))) = &received {
                    socket.hub.counters().bytes_in(bytes.len() as u64);
                }
                let frame = match received {
                    None => return DisconnectReason::TransportError("connection closed without a close frame".into()),
                    Some(Err(LinkError::Protocol { code, reason })) => {
                        tracing::debug!(socket = socket.id(), %reason, "protocol error");
                        Box::pin(link.fail(code)).await;
                        return DisconnectReason::ServerClosed(code);
                    }
                    Some(Err(LinkError::Lost(error))) => return DisconnectReason::TransportError(error),
                    Some(Ok(Received::Close(code))) => {
                        // Let the codec finish the closing handshake.
                        Box::pin(link.close(CloseCode::Normal)).await;
                        return DisconnectReason::ClientClosed(code);
                    }
                    Some(Ok(Received::Control)) => continue,
                    Some(Ok(Received::Text(bytes))) => RawFrame { data: bytes, binary: false },
                    Some(Ok(Received::Binary(bytes))) => RawFrame { data: bytes, binary: true },
                };
                if raw {
                    socket.hub.counters().message_in(1);
                    if checks.allow(&socket) {
                        backlog.push_back(Dispatch::Raw(frame));
                    }
                } else {
                    handle_frame(&socket, &frame, &mut checks, &mut backlog);
                }
            }
            () = timer.as_mut() => {
                let now = Instant::now();
                if window_ends.is_some_and(|end| now >= end) {
                    window_ends = None;
                    queue.end_window();
                }
                if now >= last_seen + dead_after() {
                    tracing::debug!(socket = socket.id(), "heartbeat timeout");
                    return DisconnectReason::HeartbeatTimeout;
                }
                if now >= next_ping {
                    next_ping = now + config.ping_interval;
                    if let Err(error) = Box::pin(link.ping()).await {
                        return DisconnectReason::TransportError(error.to_string());
                    }
                }
            }
        }
        if !backlog.is_empty() {
            hand_over(&socket, &mut dispatch, &mut backlog);
        }
    }
}

/// Writes what a drain took, then the close it asked for. Writes and
/// closing handshakes wait on the peer, so an abort (shutdown deadline) or a
/// takeover cuts them short. `Err` says why the link ends.
async fn write_drained<L: Link>(
    link: &mut L,
    socket: &Socket,
    link_gen: u64,
    frames: &mut VecDeque<Outgoing>,
    close: Option<CloseCode>,
) -> Result<(), DisconnectReason> {
    let queue = &socket.shared.queue;
    let written = async {
        if !frames.is_empty() {
            let bytes: usize = frames.iter().map(Outgoing::len).sum();
            link.send_frames(frames).await?;
            socket.hub.counters().bytes_out(bytes as u64);
        }
        if let Some(code) = close {
            Box::pin(link.close(code)).await;
        }
        Ok::<_, LinkError>(())
    };
    // Most writes complete at once (the socket buffer has room): only one
    // that waits on the peer races the abort.
    let mut written = std::pin::pin!(written);
    let result = match written.as_mut().now_or_never() {
        Some(result) => result,
        None => tokio::select! {
            biased;
            () = queue.aborted_or_superseded(link_gen) => {
                return Err(if queue.is_current(link_gen) {
                    DisconnectReason::Aborted
                } else {
                    DisconnectReason::ServerClosed(CloseCode::SessionTakenOver)
                });
            }
            result = written => result,
        },
    };
    match (result, close) {
        (Err(error), _) => Err(DisconnectReason::TransportError(error.to_string())),
        (Ok(()), Some(code)) => Err(DisconnectReason::ServerClosed(code)),
        (Ok(()), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchboard_protocol::Codec;

    use super::run;
    use crate::Hub;
    use crate::transport::ws::{WsLink, codec_config};

    /// The connection task's state is held for the connection's whole
    /// life, idle or not: a future awaited inline in `run` adds its size to
    /// every connection (rare awaits are boxed for this reason). 1,168
    /// bytes in debug and release builds when written; raise the bound only
    /// knowingly (BENCHMARKS.md, memory per idle connection).
    #[tokio::test]
    async fn connection_task_state_stays_small() {
        let hub = Hub::builder().build();
        let handshake = std::sync::Arc::new(crate::session::handshake::Handshake::bare(
            Codec::Json,
            crate::Transport::WebSocket,
        ));
        let attached = hub.attach_link(Codec::Json, http::Extensions::new(), handshake, None);
        let (io, _peer) = tokio::io::duplex(64);
        let link = WsLink::server(io, codec_config(1024), None, Duration::from_secs(1));
        let socket = hub.socket_handle(attached.session.clone());
        let task = run(link, socket, attached.link, false);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1250, "connection task state is {size} bytes");
    }
}
