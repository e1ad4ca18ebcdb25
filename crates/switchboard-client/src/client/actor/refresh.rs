//! The token of a live link (PROTOCOL.md section 10): the user and expiry
//! of each `$welcome`, and the task that sends `$refresh` with a fresh
//! token from the token function before the expiry.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use switchboard_protocol::{Message, Welcome, reserved};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Actor;
use crate::client::handle::{Command, Event, RequestKind, Shared};
use crate::client::token::{
    REFRESH_RETRIES, TokenSource, refresh_delay, refresh_retry_delay, until,
};

impl Actor {
    /// After a `$welcome`: its user and expiry, and the refresh task (with
    /// a token function and an expiry) started over from that expiry.
    pub(super) fn on_token(&mut self, welcome: &Welcome) {
        *self.shared.user.write().unwrap_or_else(|e| e.into_inner()) = welcome.user.clone();
        self.shared
            .expires_at
            .store(welcome.expires_at.unwrap_or(0), Ordering::Relaxed);
        self.stop_refresh();
        let (Some(source), Some(expires_at)) = (&self.settings.token, welcome.expires_at) else {
            return;
        };
        if source.is_fixed() {
            return;
        }
        let refresher = Refresher {
            source: source.clone(),
            commands: self.weak.clone(),
            shared: self.shared.clone(),
            events: self.events.clone(),
            timeout: self.settings.refresh_timeout,
        };
        self.refresh = Some(tokio::spawn(refresher.run(expires_at)));
    }

    /// Stops the refresh task (the link ended; the next `$welcome` starts
    /// another).
    pub(super) fn stop_refresh(&mut self) {
        if let Some(task) = self.refresh.take() {
            task.abort();
        }
    }
}

/// What the refresh task needs.
struct Refresher {
    source: TokenSource,
    /// Weak: the task does not keep the client alive.
    commands: mpsc::WeakSender<Command>,
    shared: Arc<Shared>,
    events: broadcast::Sender<Event>,
    timeout: Duration,
}

impl Refresher {
    /// Refreshes before each expiry, from `expires_at` on; a failed
    /// refresh is tried again [`REFRESH_RETRIES`] times with backoff while
    /// the token is valid. After that the task ends: the hub closes the
    /// link `4003` at the expiry and the client resumes with a fresh token.
    async fn run(self, mut expires_at: u64) {
        loop {
            tokio::time::sleep(refresh_delay(until(expires_at))).await;
            let mut retry = 0;
            expires_at = loop {
                match self.refresh().await {
                    Ok(at) => break at,
                    Err(why) => {
                        retry += 1;
                        tracing::debug!(%why, retry, "token refresh failed");
                        let _ = self.events.send(Event::Error {
                            code: "refresh".into(),
                            message: format!("refreshing the token failed: {why}"),
                        });
                        let left = until(expires_at);
                        if retry > REFRESH_RETRIES || left.is_zero() {
                            return;
                        }
                        tokio::time::sleep(refresh_retry_delay(retry, left)).await;
                    }
                }
            };
            tracing::debug!(expires_at, "token refreshed");
            self.shared.expires_at.store(expires_at, Ordering::Relaxed);
        }
    }

    /// One `$refresh` with a fresh token: the new `expires_at`, or why not.
    async fn refresh(&self) -> Result<u64, String> {
        let token = tokio::time::timeout(self.timeout, self.source.get())
            .await
            .map_err(|_| format!("the token function took over {:?}", self.timeout))?
            .map_err(|e| format!("the token function failed: {e}"))?;
        let (reply, wait) = oneshot::channel();
        let request = Command::Request {
            message: Message::event(reserved::REFRESH, serde_json::json!({ "token": token })),
            kind: RequestKind::Plain,
            reply,
        };
        let commands = self.commands.upgrade().ok_or("the client is closed")?;
        commands
            .send(request)
            .await
            .map_err(|_| "the client is closed")?;
        drop(commands);
        let answer = tokio::time::timeout(self.timeout, wait)
            .await
            .map_err(|_| format!("no reply within {:?}", self.timeout))?
            .map_err(|_| "the client is closed")?
            .map_err(|e| e.to_string())?;
        answer
            .get("expires_at")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the reply has no expires_at: {answer}"))
    }
}
