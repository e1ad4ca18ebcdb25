//! The connection task: owns the socket, the session (resume count), the
//! pending acks and the queue; the handles talk to it over a bounded mpsc.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use switchboard_protocol::{CloseCode, Codec, ErrorBody, Message, Welcome, reserved};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use super::error::{ClientAckError, ClientDisconnect, EmitError};
use super::handle::{Command, Event, RequestKind, Shared, State};
use super::link::{Link, LinkItem, Transports};
use super::settings::Settings;
use super::stop_rules::close_code_is_final;
use crate::dial::DialError;
use crate::dial::websocket::dial;
use dial_phase::{AttemptError, DialFuture, handshake_token, read_welcome, target};

/// The resumable session: its token and the count of counted messages.
struct Session {
    token: String,
    received: u64,
}

struct Pending {
    reply: oneshot::Sender<Result<Value, ClientAckError>>,
    kind: RequestKind,
}

/// How a phase ended.
enum Outcome {
    /// Try again (after the backoff) with this reason.
    Retry(ClientDisconnect),
    /// Stop for good.
    Stop(ClientDisconnect),
}

/// The connection task.
pub(crate) struct Actor {
    settings: Arc<Settings>,
    rx: mpsc::Receiver<Command>,
    weak: mpsc::WeakSender<Command>,
    state: watch::Sender<State>,
    events: broadcast::Sender<Event>,
    shared: Arc<Shared>,
    session: Option<Session>,
    pending: HashMap<u64, Pending>,
    /// Ack numbers of requests still in `queue` (not sent on any link).
    queue: VecDeque<Message>,
    next_ack: u64,
    prune_at: usize,
    ever_connected: bool,
    /// Rejoins awaited before `Connected` is announced.
    rejoins: usize,
    announce: Option<Event>,
    batch: Vec<Message>,
    /// How long a live link may be silent (`ping_interval + ping_timeout`).
    watchdog_interval: Duration,
    /// Counted messages to skip: replays of what long-polling delivered
    /// before an upgrade to WebSocket.
    skip: u64,
    /// Handshakes refused `401` in a row.
    unauthorized: u32,
    /// The task refreshing the token of the live link.
    refresh: Option<tokio::task::JoinHandle<()>>,
    /// Resolves once the last handler started has finished: the next one
    /// waits for it, so handlers run in the order their events came.
    last_handler: Option<tokio::sync::oneshot::Receiver<()>>,
    /// The ids of this client's earlier sessions, the latest last (at most
    /// [`PAST_IDS`]): a room's history replays their relays, which are
    /// this client's own.
    past_ids: VecDeque<String>,
}

/// How many earlier session ids a client remembers.
const PAST_IDS: usize = 16;

impl Actor {
    pub(crate) fn new(
        settings: Settings,
        rx: mpsc::Receiver<Command>,
        weak: mpsc::WeakSender<Command>,
        state: watch::Sender<State>,
        events: broadcast::Sender<Event>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            settings: Arc::new(settings),
            rx,
            weak,
            state,
            events,
            shared,
            session: None,
            pending: HashMap::new(),
            queue: VecDeque::new(),
            next_ack: 1,
            prune_at: 64,
            ever_connected: false,
            rejoins: 0,
            announce: None,
            batch: Vec::new(),
            watchdog_interval: Duration::from_secs(45),
            skip: 0,
            unauthorized: 0,
            refresh: None,
            last_handler: None,
            past_ids: VecDeque::new(),
        }
    }

    fn event(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn set_state(&self, state: State) {
        self.state.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// Runs until the client is closed or gives up.
    pub(crate) async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            let outcome = match self.dial_phase().await {
                Ok(Some((conn, welcome))) => {
                    attempt = 0;
                    self.live(conn, welcome).await
                }
                Ok(None) => return,
                Err(outcome) => outcome,
            };
            let reason = match outcome {
                Outcome::Stop(reason) => return self.stop(reason),
                Outcome::Retry(reason) => reason,
            };
            attempt = attempt.saturating_add(1);
            if let Some(max) = self.settings.max_attempts
                && attempt > max
            {
                let attempts = attempt - 1;
                return self.stop(ClientDisconnect::GaveUp {
                    attempts,
                    last: Box::new(reason),
                });
            }
            self.set_state(if self.ever_connected {
                State::Reconnecting
            } else {
                State::Connecting
            });
            // The token expired (`4003`, long-polling `401`), or the node
            // drains (`1012`, long-polling `503`): the session waits for a
            // resume (with a fresh token; on another node), at once.
            let delay = if attempt == 1 && reconnects_at_once(&reason) {
                Duration::ZERO
            } else {
                self.settings.backoff.delay(attempt)
            };
            tracing::debug!(attempt, ?delay, %reason, "reconnecting");
            self.event(Event::Reconnecting { attempt, delay });
            if !self.wait(delay).await {
                return;
            }
        }
    }

    /// Stops for good: fails what waits, announces the reason.
    fn stop(&mut self, reason: ClientDisconnect) {
        tracing::debug!(%reason, "client stopped");
        self.stop_refresh();
        let why = reason.to_string();
        for (_, p) in self.pending.drain() {
            let _ = p.reply.send(Err(ClientAckError::Disconnected(why.clone())));
        }
        self.queue.clear();
        self.set_state(State::Closed(reason.clone()));
        if !matches!(reason, ClientDisconnect::ClientClosed) {
            self.event(Event::Disconnected {
                reason,
                will_reconnect: false,
            });
        }
        self.rx.close();
    }

    /// Closes at the client's request while no link is live.
    fn close_offline(&mut self, done: Option<oneshot::Sender<()>>) {
        for (_, p) in self.pending.drain() {
            let _ = p.reply.send(Err(ClientAckError::Closed));
        }
        self.stop(ClientDisconnect::ClientClosed);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    /// The session to resume on the next dial: its token and count.
    fn resume(&self) -> Option<(String, u64)> {
        self.session.as_ref().map(|s| (s.token.clone(), s.received))
    }

    /// Waits `delay` while serving commands; false when closed.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                command = self.rx.recv() => {
                    if !self.offline_command(command).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Ends a session that waits for a resume with a long-polling
    /// `DELETE` (unless the client is WebSocket-only: a close frame needs a
    /// link, and the hub lets the session expire).
    async fn end_waiting_session(&mut self) {
        if self.settings.transports == Transports::WebSocket {
            return;
        }
        if let Some(session) = self.session.take() {
            super::poll::delete_session(
                &self.settings.url,
                &self.settings.dial.tls,
                &session.token,
            )
            .await;
        }
    }

    /// A command while no link is live; false when the client closes.
    async fn offline_command(&mut self, command: Option<Command>) -> bool {
        match command {
            None => {
                self.end_waiting_session().await;
                self.close_offline(None);
                false
            }
            Some(Command::Close { done }) => {
                self.end_waiting_session().await;
                self.close_offline(Some(done));
                false
            }
            Some(Command::Send { message, done }) => {
                let _ = done.send(self.enqueue(message));
                true
            }
            Some(Command::Request {
                message,
                kind,
                reply,
            }) => {
                if let Some(message) = self.register(message, kind, reply)
                    && let Err(e) = self.enqueue(message)
                {
                    self.fail_request_of_last(e);
                }
                true
            }
            // A handler's reply to the hub's ack: sent after the resume
            // (a new session drops it: its ack belongs to the old one).
            Some(Command::Reply(message)) => {
                if let Err(error) = self.enqueue(message) {
                    tracing::debug!(%error, "a reply to the hub's ack was dropped");
                }
                true
            }
        }
    }

    /// Queues a message for the next live session.
    fn enqueue(&mut self, message: Message) -> Result<(), EmitError> {
        if self.queue.len() >= self.settings.queue_capacity {
            return Err(EmitError::QueueFull {
                capacity: self.settings.queue_capacity,
            });
        }
        self.queue.push_back(message);
        Ok(())
    }

    /// Registers a request; returns its message with `ack` set, or `None`
    /// when the caller is gone already.
    fn register(
        &mut self,
        message: Message,
        kind: RequestKind,
        reply: oneshot::Sender<Result<Value, ClientAckError>>,
    ) -> Option<Message> {
        if reply.is_closed() {
            return None;
        }
        if self.pending.len() >= self.prune_at {
            self.pending.retain(|_, p| !p.reply.is_closed());
            self.prune_at = (self.pending.len() * 2).max(64);
        }
        let ack = self.next_ack;
        self.next_ack += 1;
        self.pending.insert(ack, Pending { reply, kind });
        Some(message.with_ack(ack))
    }

    /// Fails the request registered last (its message could not be queued).
    fn fail_request_of_last(&mut self, error: EmitError) {
        if let Some(p) = self.pending.remove(&(self.next_ack - 1)) {
            let _ = p.reply.send(Err(error.into()));
        }
    }

    /// Drives a live link until it ends.
    async fn live(&mut self, mut conn: Link, welcome: Welcome) -> Outcome {
        let link = match self.on_welcome(&mut conn, welcome).await {
            Ok(()) => self.serve(&mut conn).await,
            Err(end) => end,
        };
        self.stop_refresh();
        match link {
            LinkEnd::Closed { code, reason } => {
                let reason = ClientDisconnect::Closed { code, reason };
                if close_code_is_final(code) {
                    Outcome::Stop(reason)
                } else {
                    self.event(Event::Disconnected {
                        reason: reason.clone(),
                        will_reconnect: true,
                    });
                    Outcome::Retry(reason)
                }
            }
            LinkEnd::Lost(why) => {
                // Dropped without a close frame: a client close frame would
                // end the session (PROTOCOL.md section 3).
                drop(conn);
                let reason = ClientDisconnect::LinkLost(why);
                self.event(Event::Disconnected {
                    reason: reason.clone(),
                    will_reconnect: true,
                });
                Outcome::Retry(reason)
            }
            LinkEnd::ClientClosed(done) => {
                conn.close().await;
                self.close_offline(done);
                self.event(Event::Disconnected {
                    reason: ClientDisconnect::ClientClosed,
                    will_reconnect: false,
                });
                Outcome::Stop(ClientDisconnect::ClientClosed)
            }
        }
    }

    /// Session bookkeeping after `$welcome`: resume count, rejoins, the
    /// queue flushed.
    async fn on_welcome(&mut self, conn: &mut Link, welcome: Welcome) -> Result<(), LinkEnd> {
        let compressed = conn.is_compressed();
        let transport = conn.transport();
        let resumed = welcome.resumed && self.session.is_some();
        let received = match (&self.session, resumed) {
            (Some(s), true) => s.received,
            _ => 0,
        };
        if !resumed && self.ever_connected {
            self.forget_lost_session();
        }
        if self.ever_connected {
            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(id = %welcome.id, resumed, missed = welcome.missed, "welcome");
        let before = self
            .shared
            .id
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .replace(welcome.id.clone());
        if let Some(before) = before.filter(|before| *before != welcome.id) {
            self.past_ids.push_back(before);
            if self.past_ids.len() > PAST_IDS {
                self.past_ids.pop_front();
            }
        }
        self.unauthorized = 0;
        self.on_token(&welcome);
        self.session = Some(Session {
            token: welcome.session.clone(),
            received,
        });
        self.rejoins = 0;
        let mut first = if !resumed && self.ever_connected {
            self.rejoin_requests()
        } else {
            Vec::new()
        };
        self.ever_connected = true;
        self.watchdog_interval = Duration::from_millis(
            welcome
                .ping_interval_ms
                .saturating_add(welcome.ping_timeout_ms),
        );
        self.announce = Some(Event::Connected {
            id: welcome.id,
            resumed,
            missed: if resumed { welcome.missed } else { 0 },
            compressed,
            transport,
        });
        if self.rejoins == 0 {
            self.announce_connected();
        }
        first.extend(self.queue.drain(..));
        self.write(conn, first).await
    }

    fn announce_connected(&mut self) {
        if let Some(event) = self.announce.take() {
            self.set_state(State::Connected);
            self.event(event);
        }
    }
}

mod dial_phase;
mod history;
mod live;
mod new_session;
mod refresh;

/// Whether a link ended in a way that asks for a resume at once: its token
/// expired unrefreshed (`4003`; long-polling: `401 token_expired`), or its
/// clustered node drains (`1012`; long-polling: `503 unavailable`), both
/// reported with those codes.
fn reconnects_at_once(reason: &ClientDisconnect) -> bool {
    matches!(reason, ClientDisconnect::Closed { code, .. }
        if *code == CloseCode::TokenExpired.as_u16() || *code == CloseCode::ServiceRestart.as_u16())
}

/// Why a live link ended.
enum LinkEnd {
    /// The hub sent a close frame.
    Closed { code: u16, reason: String },
    /// No close frame: EOF, I/O error, heartbeat timeout.
    Lost(String),
    /// The client closes (or every handle was dropped).
    ClientClosed(Option<oneshot::Sender<()>>),
}

impl Actor {
    /// Writes messages: one frame each, or batch frames when batching is on
    /// (in chunks of `max_messages`); one `POST` on long-polling.
    async fn write(&mut self, conn: &mut Link, messages: Vec<Message>) -> Result<(), LinkEnd> {
        if messages.is_empty() {
            return Ok(());
        }
        let chunk = self.settings.batching.map_or(1, |b| b.max_messages);
        let timeout = self.settings.write_timeout;
        match tokio::time::timeout(timeout, conn.write(&messages, chunk)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((item, unsent))) => {
                if unsent {
                    // The hub did not take them: they go first on the next
                    // link (a new session drops replies to its acks).
                    for message in messages.into_iter().rev() {
                        self.queue.push_front(message);
                    }
                }
                Err(LinkEnd::from_item(item))
            }
            Err(_) => Err(LinkEnd::Lost(format!("write timed out after {timeout:?}"))),
        }
    }
}

impl LinkEnd {
    fn from_item(item: LinkItem) -> Self {
        match item {
            LinkItem::Closed { code, reason } => LinkEnd::Closed { code, reason },
            LinkItem::Lost(why) => LinkEnd::Lost(why),
            LinkItem::Frame(_) | LinkItem::Control => {
                LinkEnd::Lost("unexpected write result".into())
            }
        }
    }
}
