//! One dialed connection: a task that dials, serves the socket, and redials
//! with backoff until it is closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::{Error as WsError, Message};
use switchboard_protocol::CloseCode;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::dial::DialError;
use crate::dial::url::WsUrl;
use crate::dial::websocket::{DialOptions, WsStream, dial_uncompressed};

use super::events::{EventQueue, Frame, PoolDisconnect, PoolEvent, ProducerGuard};
use super::options::{ConnectionOptions, HookFuture};
use super::sender::ConnectionSender;

/// How long a close handshake may take before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How many queued frames one write gathers before flushing.
const WRITE_BATCH: usize = 64;

/// The channels a connection task is driven by.
struct Control {
    frames: mpsc::Receiver<Frame>,
    /// Becomes `true` (or its sender is dropped) when the pool closes this
    /// connection.
    close: watch::Receiver<bool>,
}

/// Resolves when the pool asks this connection to close.
async fn closing(close: &mut watch::Receiver<bool>) {
    loop {
        if *close.borrow_and_update() || close.changed().await.is_err() {
            return;
        }
    }
}

/// A dialed connection's task state.
pub(crate) struct Dialed {
    pub(crate) id: Arc<str>,
    pub(crate) url: WsUrl,
    dial: DialOptions,
    pub(crate) options: ConnectionOptions,
    pub(crate) events: ProducerGuard,
    pub(crate) connected: Arc<AtomicBool>,
    pub(crate) sender: ConnectionSender,
    control: Control,
}

impl Dialed {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: Arc<str>,
        url: WsUrl,
        options: ConnectionOptions,
        events: ProducerGuard,
        connected: Arc<AtomicBool>,
        sender: ConnectionSender,
        frames: mpsc::Receiver<Frame>,
        close: watch::Receiver<bool>,
    ) -> Self {
        Self {
            id,
            dial: options.dial_options(url.tls),
            url,
            options,
            events,
            connected,
            sender,
            control: Control { frames, close },
        }
    }

    /// Dials, serves and redials until closed or out of attempts; hands
    /// back its share of the merged stream for the final `Removed`.
    pub(crate) async fn run(mut self) -> ProducerGuard {
        let mut failures = 0u32;
        loop {
            let timeout = self.options.connect_timeout;
            let dialing = tokio::time::timeout(timeout, dial_uncompressed(&self.url, &self.dial));
            let result = tokio::select! {
                biased;
                () = closing(&mut self.control.close) => break,
                result = dialing => result.unwrap_or(Err(DialError::Timeout(timeout))),
            };
            let error = match result {
                Ok(mut ws) => {
                    failures = 0;
                    tracing::debug!(id = %self.id, "connected");
                    self.connected.store(true, Ordering::Release);
                    self.state(PoolEvent::Connected {
                        id: self.id.clone(),
                    })
                    .await;
                    let reason = self.serve(&mut ws).await;
                    self.connected.store(false, Ordering::Release);
                    tracing::debug!(id = %self.id, %reason, "disconnected");
                    let local = reason == PoolDisconnect::Local;
                    let error = reason.to_string();
                    self.state(PoolEvent::Disconnected {
                        id: self.id.clone(),
                        reason,
                    })
                    .await;
                    if local {
                        break;
                    }
                    error
                }
                Err(error) => {
                    tracing::warn!(id = %self.id, %error, "dial failed");
                    error.to_string()
                }
            };
            failures += 1;
            if self.options.max_attempts.is_some_and(|max| failures > max) {
                tracing::warn!(id = %self.id, failures, "giving up");
                break;
            }
            let delay = self.options.backoff.delay(failures);
            self.state(PoolEvent::Reconnecting {
                id: self.id.clone(),
                attempt: failures,
                delay,
                error,
            })
            .await;
            tokio::select! {
                biased;
                () = closing(&mut self.control.close) => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        self.events
    }

    /// Reports a state change: waits for room like a frame, except while
    /// the connection is closing, when it goes in regardless (a closing
    /// connection reports at most three more events, so memory stays
    /// bounded).
    async fn state(&mut self, event: PoolEvent) {
        let queue = self.events.queue();
        tokio::select! {
            biased;
            _ = queue.push(event.clone()) => {}
            () = closing(&mut self.control.close) => queue.force_push(event),
        }
    }

    /// Serves one live socket until it goes down; returns why.
    async fn serve(&mut self, ws: &mut WsStream) -> PoolDisconnect {
        let write_timeout = self.options.pong_timeout;
        let mut hook: Option<HookFuture> = self
            .options
            .on_connect
            .as_ref()
            .map(|hook| hook(self.sender.clone()));
        let mut ping = self.options.ping_interval.map(ping_timer);
        let mut pong_deadline: Option<Instant> = None;
        let queue = self.events.queue();
        let control = &mut self.control;
        loop {
            tokio::select! {
                biased;
                () = closing(&mut control.close) => {
                    return close_locally(ws, &mut control.frames, write_timeout).await;
                }
                result = async { hook.as_mut().expect("guarded").await }, if hook.is_some() => {
                    hook = None;
                    if let Err(error) = result {
                        tracing::warn!(id = %self.id, %error, "on_connect hook failed");
                        close(ws, CloseCode::Internal).await;
                        return PoolDisconnect::Hook(error.to_string());
                    }
                }
                frame = control.frames.recv() => {
                    let Some(frame) = frame else {
                        close(ws, CloseCode::Normal).await;
                        return PoolDisconnect::Local;
                    };
                    if let Err(reason) = write_frames(ws, &mut control.frames, frame, write_timeout).await {
                        return reason;
                    }
                }
                () = async { tokio::time::sleep_until(pong_deadline.expect("guarded")).await }, if pong_deadline.is_some() => {
                    tracing::debug!(id = %self.id, "pong timeout");
                    return PoolDisconnect::PingTimeout;
                }
                _ = async { ping.as_mut().expect("guarded").tick().await }, if ping.is_some() => {
                    if pong_deadline.is_none() {
                        let sent = tokio::time::timeout(write_timeout, ws.send(Message::Ping(Bytes::new()))).await;
                        match sent {
                            Ok(Ok(())) => pong_deadline = Some(Instant::now() + self.options.pong_timeout),
                            Ok(Err(error)) => return PoolDisconnect::Transport(error.to_string()),
                            Err(_) => return PoolDisconnect::PingTimeout,
                        }
                    }
                }
                message = ws.next() => {
                    // Anything from the peer proves it is alive.
                    pong_deadline = None;
                    let frame = match incoming(ws, message).await {
                        Ok(Some(frame)) => frame,
                        Ok(None) => continue,
                        Err(reason) => return reason,
                    };
                    let event = PoolEvent::Frame { id: self.id.clone(), frame };
                    if let Err(reason) = deliver(ws, control, queue, event, write_timeout).await {
                        return reason;
                    }
                    // The wait was not the peer's fault.
                    pong_deadline = None;
                }
            }
        }
    }
}

/// A ping timer firing every `every`, first after one period.
fn ping_timer(every: Duration) -> tokio::time::Interval {
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ping
}

/// Closes the connection on the pool's request: what is queued is written
/// first, then a `1000` close frame.
async fn close_locally(
    ws: &mut WsStream,
    frames: &mut mpsc::Receiver<Frame>,
    write_timeout: Duration,
) -> PoolDisconnect {
    drain_queue(ws, frames, write_timeout).await;
    close(ws, CloseCode::Normal).await;
    PoolDisconnect::Local
}

/// What a message from the peer means: a frame to deliver, nothing
/// (control frames), or the end of the connection.
async fn incoming(
    ws: &mut WsStream,
    message: Option<Result<Message, WsError>>,
) -> Result<Option<Frame>, PoolDisconnect> {
    match message {
        None => Err(PoolDisconnect::Transport("connection closed".into())),
        Some(Err(WsError::Closed(reason))) => Err(peer_closed(reason)),
        Some(Err(error)) => Err(PoolDisconnect::Transport(error.to_string())),
        Some(Ok(Message::Text(data))) => Ok(Some(Frame::Text(data))),
        Some(Ok(Message::Binary(data))) => Ok(Some(Frame::Binary(data))),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
        Some(Ok(Message::Close(reason))) => {
            drain_close(ws).await;
            Err(peer_closed(reason))
        }
    }
}

/// Puts a received frame on the merged stream. Under backpressure this
/// waits for room, still writing what the application sends and honouring
/// close.
async fn deliver(
    ws: &mut WsStream,
    control: &mut Control,
    queue: &EventQueue,
    event: PoolEvent,
    write_timeout: Duration,
) -> Result<(), PoolDisconnect> {
    let push = queue.push(event);
    tokio::pin!(push);
    loop {
        tokio::select! {
            biased;
            _ = &mut push => return Ok(()),
            () = closing(&mut control.close) => {
                return Err(close_locally(ws, &mut control.frames, write_timeout).await);
            }
            Some(frame) = control.frames.recv() => {
                write_frames(ws, &mut control.frames, frame, write_timeout).await?;
            }
        }
    }
}

fn peer_closed(reason: Option<sockudo_ws::error::CloseReason>) -> PoolDisconnect {
    match reason {
        Some(r) => PoolDisconnect::PeerClosed {
            code: r.code,
            reason: r.reason.to_string(),
        },
        None => PoolDisconnect::PeerClosed {
            code: 1005,
            reason: String::new(),
        },
    }
}

/// Writes `first` and whatever else is queued (up to a batch), then flushes.
async fn write_frames(
    ws: &mut WsStream,
    frames: &mut mpsc::Receiver<Frame>,
    first: Frame,
    timeout: Duration,
) -> Result<(), PoolDisconnect> {
    let write = async {
        ws.feed(to_message(first)).await?;
        for _ in 1..WRITE_BATCH {
            match frames.try_recv() {
                Ok(frame) => ws.feed(to_message(frame)).await?,
                Err(_) => break,
            }
        }
        ws.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(PoolDisconnect::Transport(error.to_string())),
        Err(_) => Err(PoolDisconnect::Transport(format!(
            "write timed out after {timeout:?}"
        ))),
    }
}

/// Writes what is already queued, so that a drain delivers it before the
/// close frame (bounded by `timeout` per batch).
async fn drain_queue(ws: &mut WsStream, frames: &mut mpsc::Receiver<Frame>, timeout: Duration) {
    while let Ok(first) = frames.try_recv() {
        if write_frames(ws, frames, first, timeout).await.is_err() {
            return;
        }
    }
}

fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(data) => Message::Text(data),
        Frame::Binary(data) => Message::Binary(data),
    }
}

/// Sends a close frame and waits (bounded) for the peer's.
async fn close(ws: &mut WsStream, code: CloseCode) {
    let closing = async {
        if ws.close(code.as_u16(), "").await.is_ok() {
            drain_close(ws).await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
}

/// Drives the stream until the close handshake ends.
async fn drain_close(ws: &mut WsStream) {
    let draining = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(CLOSE_GRACE, draining).await;
}

/// A connection's bounded send queue.
pub(crate) fn new_channel(capacity: usize) -> (mpsc::Sender<Frame>, mpsc::Receiver<Frame>) {
    mpsc::channel(capacity.max(1))
}
