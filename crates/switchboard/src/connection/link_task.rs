//! A WebSocket link's task: one per link. It owns the link, the
//! heartbeat, the inbound checks' state, and the writer that drains the
//! send queue into one write.

use std::collections::VecDeque;
use std::time::Duration;

use switchboard_protocol::CloseCode;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::inbound::{handle_frame, reserve};
use crate::error::DisconnectReason;
use crate::events::dispatcher::hand_over;
use crate::hub::handle::Socket;
use crate::limits::inbound::InboundChecks;
use crate::send_queue::{Drained, MAX_IDLE_QUEUE_FRAMES, Outgoing};
use crate::session::inbox::{Dispatch, RawFrame};
use crate::transport::{Link, LinkError, Received, poll_once};

/// When a timer that is never due is set for.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// How a link ends: at once, or after closing or failing it with a code.
enum LinkEnd {
    /// The link is done with; nothing more to send.
    Now(DisconnectReason),
    /// Close the link with this code (the closing handshake), then end.
    Close(CloseCode, DisconnectReason),
    /// Fail the link with this code (a protocol error), then end.
    Fail(CloseCode),
}

impl LinkEnd {
    /// Sends what the end asks for, and says why the link ended.
    async fn finish<L: Link>(self, link: &mut L) -> DisconnectReason {
        match self {
            Self::Now(reason) => reason,
            Self::Close(code, reason) => {
                link.close(code).await;
                reason
            }
            Self::Fail(code) => {
                link.fail(code).await;
                DisconnectReason::ServerClosed(code)
            }
        }
    }
}

/// What woke a link's task.
enum Woke<'a> {
    /// The send queue gave frames (or the link's end).
    Drained(Drained),
    /// Room in the dispatcher's queue for the backlog's first work.
    Room(Result<mpsc::Permit<'a, Dispatch>, mpsc::error::SendError<()>>),
    /// The link read something.
    Received(Option<Result<Received, LinkError>>),
    /// The heartbeat or the coalescing window's timer.
    Timer,
}

/// Drives one link of a session until it ends, and says why.
///
/// Its state is held for the connection's whole life, idle or not, so
/// what it awaits is laid out to keep it small: the select only says what
/// woke the task (its futures are gone before anything is awaited), and
/// the awaits that are not waits for work (writing, closing, failing,
/// pinging) are boxed, since a future awaited inline takes its size in
/// every connection's task. A write is one allocation per drained batch,
/// not per frame.
// Not an `async fn`: its parameters would be kept apart from the locals
// they move into, for the task's whole life.
#[allow(clippy::manual_async_fn)]
pub(crate) fn run<L: Link>(
    link: L,
    socket: Socket,
    link_gen: u64,
) -> impl Future<Output = DisconnectReason> + Send {
    async move {
        let mut link = link;
        if socket.shared.closed_reason().is_some() {
            Box::pin(link.close(CloseCode::Normal)).await;
            return DisconnectReason::ServerClosed(CloseCode::Normal);
        }
        let mut task = LinkTask::new(socket, link_gen);
        // The dispatcher's queue, taken when there is first work for it. Not
        // in `task`: a reserved place in it borrows it across the select.
        let mut dispatch: Option<mpsc::Sender<Dispatch>> = None;
        // One timer for the heartbeat and the coalescing window, moved only
        // when its deadline changes: re-arming a timer on every wake-up costs
        // more than the wake-up.
        let timer = tokio::time::sleep_until(task.next_wake());
        let mut timer = std::pin::pin!(timer);
        loop {
            {
                let wake = task.next_wake();
                if timer.deadline() != wake {
                    timer.as_mut().reset(wake);
                }
            }
            let coalesce = task.coalesces();
            // Waiting for room in the dispatcher's queue is rare (a client
            // faster than its handlers): boxed, and only while work waits.
            let room = (!task.backlog.is_empty()).then(|| Box::pin(reserve(dispatch.as_ref())));
            // In a block: `woke` (a permit borrows `dispatch`) ends here.
            let step = {
                let woke = tokio::select! {
                    biased;
                    drained = task.socket.shared.queue.drain(task.link_gen, &mut task.spare, coalesce) => {
                        Woke::Drained(drained)
                    }
                    permit = async { room.expect("room is only awaited with a backlog").await }, if !task.backlog.is_empty() => {
                        Woke::Room(permit)
                    }
                    received = link.recv(), if task.backlog.is_empty() => Woke::Received(received),
                    () = timer.as_mut() => Woke::Timer,
                };
                match woke {
                    Woke::Drained(drained) => match task.to_write(drained) {
                        Ok((mut frames, close, window_started)) => {
                            let written = Box::pin(write_drained(
                                &mut link,
                                &task.socket,
                                task.link_gen,
                                &mut frames,
                                close,
                            ))
                            .await;
                            task.wrote(frames, window_started);
                            written.map_err(LinkEnd::Now)
                        }
                        Err(end) => Err(end),
                    },
                    Woke::Room(permit) => {
                        match permit {
                            Ok(permit) => {
                                permit.send(task.backlog.pop_front().expect("backlog is not empty"))
                            }
                            Err(_) => task.backlog.clear(),
                        }
                        Ok(())
                    }
                    Woke::Received(received) => task.received(received),
                    Woke::Timer => match task.timer_fired() {
                        Ok(true) => Box::pin(link.ping()).await.map_err(|error| {
                            LinkEnd::Now(DisconnectReason::TransportError(error.to_string()))
                        }),
                        Ok(false) => Ok(()),
                        Err(end) => Err(end),
                    },
                }
            };
            if let Err(end) = step {
                return Box::pin(end.finish(&mut link)).await;
            }
            if !task.backlog.is_empty() {
                hand_over(&task.socket, &mut dispatch, &mut task.backlog);
            }
        }
    }
}

/// The state of one link's task, held for the link's whole life: keep it
/// small (`link_task_state_stays_small`).
struct LinkTask {
    socket: Socket,
    link_gen: u64,
    /// The end of the current coalescing window, if one is open. Times
    /// are microseconds since the hub's epoch ([`LinkTask::now`]).
    window_ends: Option<u64>,
    last_seen: u64,
    next_ping: u64,
    checks: InboundChecks,
    /// Work waiting for room in the dispatcher's queue; while any waits,
    /// the link is not read (backpressure on this client only).
    backlog: VecDeque<Dispatch>,
    /// The emptied queue of the last write, reused by the next drain.
    spare: VecDeque<Outgoing>,
}

impl LinkTask {
    fn new(socket: Socket, link_gen: u64) -> Self {
        let now = since(socket.hub.epoch(), Instant::now());
        // Read through the hub, not copied: every byte of this task's
        // state is held by every connection.
        let config = socket.hub.config();
        Self {
            checks: InboundChecks::new(config),
            next_ping: now + micros(config.ping_interval),
            socket,
            link_gen,
            window_ends: None,
            last_seen: now,
            backlog: VecDeque::new(),
            spare: VecDeque::new(),
        }
    }

    /// The coalescing window (zero: broadcasts are not coalesced, or not
    /// now: writers run late, [`crate::hub::coalescing`]).
    fn coalesces(&self) -> Duration {
        if self.socket.hub.config().broadcast_coalesce.is_zero() {
            return Duration::ZERO;
        }
        self.socket.hub.coalescing_window(|| self.now())
    }

    /// Now, in microseconds since the hub's epoch.
    fn now(&self) -> u64 {
        since(self.socket.hub.epoch(), Instant::now())
    }

    /// When the link is dead without news from the peer.
    fn dead_at(&self) -> u64 {
        let config = self.socket.hub.config();
        self.last_seen + micros(config.ping_interval) + micros(config.ping_timeout)
    }

    /// The next time the timer must wake the task: a ping, the heartbeat's
    /// deadline, or the end of the coalescing window.
    fn next_wake(&self) -> Instant {
        let heartbeat_due = self.next_ping.min(self.dead_at());
        let due = self
            .window_ends
            .map_or(heartbeat_due, |end| end.min(heartbeat_due));
        let epoch = self.socket.hub.epoch();
        // A heartbeat configured off (a time past what an `Instant` holds)
        // is due in 30 years, as tokio's own far future.
        epoch
            .checked_add(Duration::from_micros(due))
            .unwrap_or_else(|| Instant::now() + FAR_FUTURE)
    }

    /// What the send queue gave: frames to write (with the close it asks
    /// for, and whether a coalescing window opened), or the link's end.
    #[allow(clippy::type_complexity)]
    fn to_write(
        &self,
        drained: Drained,
    ) -> Result<(VecDeque<Outgoing>, Option<CloseCode>, bool), LinkEnd> {
        if let Some(after) = drained.woken_after
            && !self.socket.hub.config().broadcast_coalesce.is_zero()
        {
            self.socket.hub.writer_ran(after, || self.now());
        }
        if drained.abort {
            return Err(LinkEnd::Now(DisconnectReason::Aborted));
        }
        if drained.superseded {
            // Taken over by a resume elsewhere (on this node or another:
            // a session that moved away ends here with `4002`), or ended
            // from outside the link (a long-polling `DELETE` of its
            // token): that is a plain end.
            let moved = DisconnectReason::ServerClosed(CloseCode::SessionTakenOver);
            let code = match self.socket.shared.closed_reason() {
                Some(reason) if *reason != moved => CloseCode::Normal,
                _ => CloseCode::SessionTakenOver,
            };
            return Err(LinkEnd::Close(code, DisconnectReason::ServerClosed(code)));
        }
        Ok((drained.frames, drained.close, drained.window_started))
    }

    /// After a write: keeps the emptied queue for the next drain, and opens
    /// the coalescing window the drain started.
    fn wrote(&mut self, mut frames: VecDeque<Outgoing>, window_started: bool) {
        frames.clear();
        if frames.capacity() <= MAX_IDLE_QUEUE_FRAMES {
            self.spare = frames;
        }
        if window_started {
            self.window_ends =
                Some(self.now() + micros(self.socket.hub.config().broadcast_coalesce));
        }
    }

    /// Takes what the link read: a frame for the inbound checks and the
    /// dispatcher, or the link's end.
    fn received(&mut self, received: Option<Result<Received, LinkError>>) -> Result<(), LinkEnd> {
        self.last_seen = self.now();
        let socket = &self.socket;
        let frame = match received {
            None => {
                return Err(LinkEnd::Now(DisconnectReason::TransportError(
                    "connection closed without a close frame".into(),
                )));
            }
            Some(Err(LinkError::Protocol { code, reason })) => {
                tracing::debug!(socket = socket.id(), %reason, "protocol error");
                return Err(LinkEnd::Fail(code));
            }
            Some(Err(LinkError::Lost(error))) => {
                return Err(LinkEnd::Now(DisconnectReason::TransportError(error)));
            }
            // Let the codec finish the closing handshake.
            Some(Ok(Received::Close(code))) => {
                return Err(LinkEnd::Close(
                    CloseCode::Normal,
                    DisconnectReason::ClientClosed(code),
                ));
            }
            Some(Ok(Received::Control)) => return Ok(()),
            Some(Ok(Received::Text(data))) => RawFrame {
                data,
                binary: false,
            },
            Some(Ok(Received::Binary(data))) => RawFrame { data, binary: true },
        };
        socket.hub.counters().bytes_in(frame.data.len() as u64);
        if socket.hub.is_raw() {
            socket.hub.counters().message_in(1);
            if self.checks.allow(socket) {
                self.backlog.push_back(Dispatch::Raw(frame));
            }
        } else {
            handle_frame(socket, &frame, &mut self.checks, &mut self.backlog);
        }
        Ok(())
    }

    /// The timer: ends the coalescing window, finds the link dead, or says
    /// a ping is due (`Ok(true)`).
    fn timer_fired(&mut self) -> Result<bool, LinkEnd> {
        let now = self.now();
        if self.window_ends.is_some_and(|end| now >= end) {
            self.window_ends = None;
            self.socket.shared.queue.end_window();
        }
        if now >= self.dead_at() {
            tracing::debug!(socket = self.socket.id(), "heartbeat timeout");
            return Err(LinkEnd::Now(DisconnectReason::HeartbeatTimeout));
        }
        if now >= self.next_ping {
            self.next_ping = now + micros(self.socket.hub.config().ping_interval);
            return Ok(true);
        }
        Ok(false)
    }
}

/// A duration in microseconds (saturating: a configured time of 580,000
/// years is as good as forever).
fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX / 4)
}

/// `at` in microseconds since `epoch`.
fn since(epoch: Instant, at: Instant) -> u64 {
    micros(at.saturating_duration_since(epoch))
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
    let result = match poll_once(written.as_mut()).await {
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
    /// every connection (writes and rare awaits are boxed for this reason).
    /// 600 bytes in debug and release builds when written (1,160 before
    /// the select was reshaped, the drain's waiter moved into the queue
    /// and the link's times made microseconds); raise the bound only knowingly
    /// (BENCHMARKS.md, memory per idle connection).
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
        let task = run(link, socket, attached.link);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 600, "connection task state is {size} bytes");
    }
}
