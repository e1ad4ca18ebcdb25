//! The live link: frames in, commands out, the watchdog and the batch timer.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use switchboard_protocol::ProtocolError;

use super::*;
use crate::client::error::HandlerError;

impl Actor {
    /// Serves a welcomed link until it ends.
    pub(super) async fn serve(&mut self, conn: &mut Link) -> LinkEnd {
        let end = self.serve_inner(conn).await;
        // Messages batched but never written wait for the next link.
        for message in self.batch.drain(..).rev() {
            self.queue.push_front(message);
        }
        end
    }

    async fn serve_inner(&mut self, conn: &mut Link) -> LinkEnd {
        let silence = self.watchdog_interval;
        let mut watchdog = Box::pin(tokio::time::sleep(silence));
        let mut batch_timer: Option<Pin<Box<Sleep>>> = None;
        let retry = self.settings.upgrade_retry;
        let may_upgrade = self.settings.transports == Transports::WebSocketWithFallback;
        let upgrade = move |conn: &Link| -> Option<Pin<Box<Sleep>>> {
            (may_upgrade && matches!(conn, Link::Poll(..)))
                .then(|| Box::pin(tokio::time::sleep(retry)))
        };
        let mut probe_timer = upgrade(conn);
        let mut probe: Option<(DialFuture, u64)> = None;
        loop {
            tokio::select! {
                frame = conn.next() => {
                    watchdog.as_mut().reset(Instant::now() + silence);
                    let result = match frame {
                        LinkItem::Frame(bytes) => self.on_frame(conn, &bytes).await,
                        LinkItem::Control => Ok(()),
                        // The hub handed the session to our probe: switch.
                        LinkItem::Closed { code, .. }
                            if code == CloseCode::SessionTakenOver.as_u16() && probe.is_some() =>
                        {
                            let (dialing, last) = probe.take().expect("checked");
                            match self.switch(conn, dialing.await, last).await {
                                true => {
                                    watchdog.as_mut().reset(Instant::now() + silence);
                                    Ok(())
                                }
                                false => return LinkEnd::Lost("the WebSocket upgrade failed".into()),
                            }
                        }
                        LinkItem::Closed { code, reason } => return LinkEnd::Closed { code, reason },
                        LinkItem::Lost(why) => return LinkEnd::Lost(why),
                    };
                    if let Err(end) = result {
                        return end;
                    }
                }
                command = self.rx.recv() => {
                    if let Err(end) = self.on_command(conn, command, &mut batch_timer).await {
                        return end;
                    }
                }
                () = &mut watchdog => {
                    return LinkEnd::Lost(format!("no frame from the hub for {silence:?}"));
                }
                () = async { probe_timer.as_mut().expect("guarded").await }, if probe_timer.is_some() => {
                    probe_timer = None;
                    let last = self.session.as_ref().map_or(0, |s| s.received);
                    probe = Some((self.websocket_probe(), last));
                }
                result = async { (&mut probe.as_mut().expect("guarded").0).await }, if probe.is_some() => {
                    let (_, last) = probe.take().expect("guarded");
                    if self.switch(conn, result, last).await {
                        watchdog.as_mut().reset(Instant::now() + silence);
                    } else {
                        probe_timer = upgrade(conn);
                    }
                }
                () = async { batch_timer.as_mut().expect("guarded").await }, if batch_timer.is_some() => {
                    batch_timer = None;
                    let batch = std::mem::take(&mut self.batch);
                    if let Err(end) = self.write(conn, batch).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Carries out a handle's command on the live link; `Err` ends the link
    /// (the client closes, or a write failed).
    async fn on_command(
        &mut self,
        conn: &mut Link,
        command: Option<Command>,
        batch_timer: &mut Option<Pin<Box<Sleep>>>,
    ) -> Result<(), LinkEnd> {
        match command {
            None => {
                self.flush_batch(conn, batch_timer).await;
                Err(LinkEnd::ClientClosed(None))
            }
            Some(Command::Close { done }) => {
                self.flush_batch(conn, batch_timer).await;
                Err(LinkEnd::ClientClosed(Some(done)))
            }
            Some(Command::Send { message, done }) => {
                let _ = done.send(Ok(()));
                self.out(conn, message, batch_timer).await
            }
            Some(Command::Request {
                message,
                kind,
                reply,
            }) => match self.register(message, kind, reply) {
                Some(message) => self.out(conn, message, batch_timer).await,
                None => Ok(()),
            },
            Some(Command::Reply(message)) => self.out(conn, message, batch_timer).await,
        }
    }

    /// A WebSocket dial that resumes the current (long-polling) session.
    fn websocket_probe(&self) -> DialFuture {
        let settings = self.settings.clone();
        let resume = self.resume();
        Box::pin(async move {
            let timeout = settings.connect_timeout;
            let connect = async {
                let token = handshake_token(&settings).await?;
                let target = target(&settings, token.as_deref(), resume.as_ref());
                let mut conn = dial(&settings.url, &target, &settings.dial).await?;
                let welcome = read_welcome(&mut conn).await?;
                Ok((Link::Ws(conn), welcome))
            };
            tokio::time::timeout(timeout, connect)
                .await
                .unwrap_or(Err(AttemptError::Dial(DialError::Timeout(timeout))))
        })
    }

    /// Moves the session from long-polling to the probe's WebSocket when it
    /// resumed the session; true when switched. The hub replays what
    /// followed message `last`: what long-polling delivered since is
    /// skipped.
    async fn switch(
        &mut self,
        conn: &mut Link,
        probed: Result<(Link, Welcome), AttemptError>,
        last: u64,
    ) -> bool {
        match probed {
            Ok((ws, welcome)) if welcome.resumed => {
                let received = self.session.as_ref().map_or(last, |s| s.received);
                self.skip = received.saturating_sub(last);
                if let Some(session) = &mut self.session {
                    session.received = received.max(last);
                }
                tracing::debug!(skip = self.skip, "upgraded from long-polling to WebSocket");
                // The polling link is let go without a DELETE.
                *conn = ws;
                // The WebSocket's handshake carried a token of its own.
                self.on_token(&welcome);
                self.event(Event::Connected {
                    id: welcome.id,
                    resumed: true,
                    missed: welcome.missed,
                    compressed: conn.is_compressed(),
                    transport: conn.transport(),
                });
                true
            }
            Ok((mut ws, _)) => {
                // A new session: not ours to keep.
                ws.close().await;
                false
            }
            Err(error) => {
                tracing::debug!(%error, "WebSocket upgrade attempt failed");
                false
            }
        }
    }

    /// Writes the batch still waiting for its delay before the client
    /// closes: what `emit` accepted goes out ahead of the close frame. A
    /// failed write changes nothing (the client is closing either way).
    async fn flush_batch(&mut self, conn: &mut Link, batch_timer: &mut Option<Pin<Box<Sleep>>>) {
        *batch_timer = None;
        let batch = std::mem::take(&mut self.batch);
        if self.write(conn, batch).await.is_err() {
            tracing::debug!("the last batch was not written before the close");
        }
    }

    /// Sends one message now, or adds it to the batch.
    async fn out(
        &mut self,
        conn: &mut Link,
        message: Message,
        batch_timer: &mut Option<Pin<Box<Sleep>>>,
    ) -> Result<(), LinkEnd> {
        let Some(batching) = self.settings.batching else {
            return self.write(conn, vec![message]).await;
        };
        self.batch.push(message);
        if self.batch.len() >= batching.max_messages {
            *batch_timer = None;
            let batch = std::mem::take(&mut self.batch);
            return self.write(conn, batch).await;
        }
        if batch_timer.is_none() {
            *batch_timer = Some(Box::pin(tokio::time::sleep(batching.max_delay)));
        }
        Ok(())
    }

    /// One frame from the hub: every message but `$pong` is counted
    /// (PROTOCOL.md section 5), then handled.
    async fn on_frame(&mut self, conn: &mut Link, frame: &[u8]) -> Result<(), LinkEnd> {
        let messages = match Codec::Json.decode(frame) {
            Ok(messages) => messages,
            Err(error) => {
                if self.count() {
                    self.bad_frame(&error);
                }
                return Ok(());
            }
        };
        for message in messages {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    if self.count() {
                        self.bad_frame(&error);
                    }
                    continue;
                }
            };
            match message.event.as_deref() {
                Some(reserved::PONG) | Some(reserved::WELCOME) if message.reply.is_none() => {
                    continue;
                }
                _ => {
                    if !self.count() {
                        continue;
                    }
                }
            }
            self.on_message(conn, message).await?;
        }
        Ok(())
    }

    /// Counts a counted message; false when it is a replay to skip (after
    /// an upgrade from long-polling).
    fn count(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        if let Some(session) = &mut self.session {
            session.received += 1;
        }
        true
    }

    fn bad_frame(&self, error: &ProtocolError) {
        tracing::debug!(%error, "a frame from the hub does not decode");
        self.event(Event::Error {
            code: "bad_message".into(),
            message: format!("a frame from the hub does not decode: {error}"),
        });
    }

    async fn on_message(&mut self, conn: &mut Link, message: Message) -> Result<(), LinkEnd> {
        if let Some(ack) = message.reply {
            self.on_reply(ack, message);
            return Ok(());
        }
        let Some(event) = message.event.clone() else {
            return Ok(());
        };
        if !self.admit(conn, &message).await? {
            return Ok(());
        }
        if event == reserved::ERROR {
            let data = message.data.unwrap_or(Value::Null);
            let field = |k: &str| {
                data.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            self.event(Event::Error {
                code: field("code"),
                message: field("message"),
            });
            return Ok(());
        }
        if reserved::is_reserved(&event) {
            if let Some(presence) = presence_event(&event, message.room, message.data) {
                self.event(presence);
            }
            return Ok(());
        }
        let handler = self.shared.handlers.get(&event);
        let data = message.data.unwrap_or(Value::Null);
        match (handler, message.ack) {
            (None, Some(ack)) => {
                let body = ErrorBody {
                    code: "no_handler".into(),
                    message: format!("no handler for `{event}`"),
                };
                self.write(conn, vec![Message::reply_error(ack, body)])
                    .await
            }
            (None, None) => {
                tracing::trace!(%event, "no handler");
                Ok(())
            }
            (Some(handler), ack) => {
                let run = AssertUnwindSafe(handler(data)).catch_unwind();
                let commands = self.weak.clone();
                let events = self.events.clone();
                // Each handler runs in a task of its own (the client goes
                // on reading), once the one before it has finished: in the
                // order the events came, on any runtime.
                let previous = self.last_handler.take();
                let (done, finished) = tokio::sync::oneshot::channel();
                self.last_handler = Some(finished);
                tokio::spawn(async move {
                    if let Some(previous) = previous {
                        let _ = previous.await;
                    }
                    let result = run
                        .await
                        .unwrap_or_else(|_| Err(HandlerError::new("the handler panicked")));
                    match ack {
                        Some(ack) => {
                            if let Some(commands) = commands.upgrade() {
                                let _ = commands.send(Command::Reply(reply_of(ack, result))).await;
                            }
                        }
                        None => {
                            if let Err(error) = result {
                                let _ = events.send(Event::Error {
                                    code: "handler".into(),
                                    message: format!("handler of `{event}` failed: {error}"),
                                });
                            }
                        }
                    }
                    let _ = done.send(());
                });
                Ok(())
            }
        }
    }

    fn on_reply(&mut self, ack: u64, message: Message) {
        let Some(pending) = self.pending.remove(&ack) else {
            return;
        };
        let result = match message.error {
            Some(error) => Err(ClientAckError::Remote {
                code: error.code,
                message: error.message,
            }),
            None => Ok(message.data.unwrap_or(Value::Null)),
        };
        match &pending.kind {
            RequestKind::Plain => {}
            RequestKind::Join { room, since } => match &result {
                Ok(data) => {
                    self.rooms_write().insert(room.clone());
                    self.on_joined(room, data, since.as_ref());
                }
                Err(_) => {
                    if !self.rooms_read().contains(room) {
                        self.positions_write().remove(room);
                    }
                }
            },
            RequestKind::Rejoin { room, since } => {
                match &result {
                    Ok(data) => self.on_joined(room, data, since.as_ref()),
                    Err(error) => {
                        self.rooms_write().remove(room);
                        self.positions_write().remove(room);
                        self.event(Event::Error {
                            code: "rejoin".into(),
                            message: format!("rejoining `{room}` failed: {error}"),
                        });
                    }
                }
                self.rejoins = self.rejoins.saturating_sub(1);
                if self.rejoins == 0 {
                    self.announce_connected();
                }
            }
            RequestKind::Locate(room) => self.on_located(room, &result),
        }
        let _ = pending.reply.send(result);
    }

    fn rooms_write(&self) -> std::sync::RwLockWriteGuard<'_, std::collections::BTreeSet<String>> {
        self.shared.rooms.write().unwrap_or_else(|e| e.into_inner())
    }

    fn rooms_read(&self) -> std::sync::RwLockReadGuard<'_, std::collections::BTreeSet<String>> {
        self.shared.rooms.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The reply to the hub's ack from a handler's result.
fn reply_of(ack: u64, result: Result<Value, HandlerError>) -> Message {
    match result {
        Ok(data) => Message::reply(ack, data),
        Err(e) => Message::reply_error(
            ack,
            ErrorBody {
                code: e.code,
                message: e.message,
            },
        ),
    }
}

/// The event of a `$joined` or `$left` from the hub (PROTOCOL.md section
/// 10); `None` for other reserved events, or one without its room or user.
fn presence_event(event: &str, room: Option<String>, data: Option<Value>) -> Option<Event> {
    let mut data = data?;
    let user = data.get("user")?.as_str()?.to_owned();
    let room = room?;
    match event {
        reserved::JOINED => Some(Event::Joined {
            room,
            user,
            info: data.get_mut("info").map(Value::take).unwrap_or(Value::Null),
        }),
        reserved::LEFT => Some(Event::Left { room, user }),
        _ => None,
    }
}
