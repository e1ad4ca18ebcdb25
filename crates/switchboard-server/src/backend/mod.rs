//! The application's back end over HTTP (PROTOCOL.md section 10): with
//! `--proxy-connect`, `--proxy-join`, `--proxy-publish`, `--proxy-event`
//! and `--proxy-disconnect`, the server asks an application written in any
//! language to decide handshakes, joins and relays, to answer events, and
//! tells it of each session's end.
//!
//! Each call is a `POST` of a JSON body ([`bodies`]) through one pooled
//! keep-alive client, bounded by `--proxy-timeout` ([`client`]); the answer
//! is read strictly ([`answer`]). A back end that times out, refuses the
//! connection or answers other than `200` JSON of the hook's shape gives
//! the client the error `unavailable` (a handshake: `503`), is logged, and
//! is counted in `/metrics` ([`stats`]). The calls of one socket are made
//! from its dispatcher, which handles its messages one at a time in order:
//! at most one call per socket is in flight, in the order of its messages;
//! different sockets call concurrently. [`hooks`] installs all of it in
//! the hub's builder, beside the `--rooms` and token rules.

use std::sync::Arc;

use serde_json::Value;
use switchboard::{
    AuthRejection, DisconnectReason, HandlerError, HandshakeRequest, Socket, UserGrant,
};

pub mod answer;
pub mod bodies;
pub mod client;
pub mod hooks;
pub mod stats;

use self::answer::Outcome;
use self::client::Caller;
use self::stats::BackendStats;
use crate::config::{BackendSettings, ConfigError};

/// The message of the `unavailable` error a client gets when the back end
/// fails (the reason is logged, not sent).
const UNAVAILABLE: &str = "the application's back end is unavailable";

/// A back-end hook: what the server calls it for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `--proxy-connect`: a handshake.
    Connect,
    /// `--proxy-join`: a `$join`.
    Join,
    /// `--proxy-publish`: a relay to a room.
    Publish,
    /// `--proxy-event`: a client event without a handler.
    Event,
    /// `--proxy-disconnect`: a session's end.
    Disconnect,
}

impl Hook {
    /// Every hook, in the order `/metrics` lists them.
    pub const ALL: [Hook; 5] = [
        Hook::Connect,
        Hook::Join,
        Hook::Publish,
        Hook::Event,
        Hook::Disconnect,
    ];

    /// The `hook` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Connect => "connect",
            Hook::Join => "join",
            Hook::Publish => "publish",
            Hook::Event => "event",
            Hook::Disconnect => "disconnect",
        }
    }
}

/// The application's back end: its URLs and the client that calls them.
/// Cheap to clone (one shared client).
#[derive(Debug, Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: BackendSettings,
    caller: Caller,
    stats: Arc<BackendStats>,
}

impl Backend {
    /// The back end of `settings`, with its HTTP client.
    pub fn new(settings: BackendSettings) -> Result<Self, ConfigError> {
        let configured = Hook::ALL.map(|hook| url_of(&settings, hook).is_some());
        let stats = Arc::new(BackendStats::new(configured));
        let caller = Caller::new(&settings, stats.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                caller,
                stats,
            }),
        })
    }

    /// The counters `/metrics` shows.
    pub fn stats(&self) -> &Arc<BackendStats> {
        &self.inner.stats
    }

    /// The URL of `hook`, if the server calls it.
    pub fn url(&self, hook: Hook) -> Option<&str> {
        url_of(&self.inner.settings, hook)
    }

    /// The connect call: the handshake's extensions with the merged grant,
    /// or its refusal (`403` with the back end's code, `503`
    /// `unavailable`).
    pub async fn connect(
        &self,
        request: HandshakeRequest,
    ) -> Result<http::Extensions, AuthRejection> {
        let mut extensions = http::Extensions::new();
        let Some(url) = self.url(Hook::Connect) else {
            return Ok(extensions);
        };
        let body = bodies::connect(&request, &self.inner.settings.forward_headers);
        let outcome = self
            .inner
            .caller
            .call(Hook::Connect, url, &body, answer::connect);
        match outcome.await {
            Ok(Outcome::Allowed(grant)) => {
                let granted = !grant.is_empty();
                match grant.over(request.user) {
                    Some(merged) => {
                        extensions.insert::<UserGrant>(merged);
                    }
                    None if granted => tracing::debug!(
                        socket = request.socket_id,
                        "the back end's grant names no user, for a client without a token: the socket stays anonymous"
                    ),
                    None => {}
                }
                Ok(extensions)
            }
            Ok(Outcome::Refused { code, message }) => {
                tracing::debug!(
                    socket = request.socket_id,
                    code,
                    "handshake refused by the back end"
                );
                Err(AuthRejection::with_code(code, message))
            }
            Err(_) => Err(AuthRejection::unavailable(UNAVAILABLE)),
        }
    }

    /// The join call, for a `$join` the room rules allowed.
    pub async fn join(&self, socket: &Socket, room: &str) -> Result<(), HandlerError> {
        let Some(url) = self.url(Hook::Join) else {
            return Ok(());
        };
        let body = bodies::join(socket, room);
        decided(
            self.inner
                .caller
                .call(Hook::Join, url, &body, answer::join)
                .await,
        )
    }

    /// The publish call, for a relay the room rules allowed: `None` relays
    /// the data as sent, `Some` relays that instead.
    pub async fn publish(
        &self,
        socket: &Socket,
        room: &str,
        event: &str,
        data: &Value,
    ) -> Result<Option<Value>, HandlerError> {
        let Some(url) = self.url(Hook::Publish) else {
            return Ok(None);
        };
        let body = bodies::publish(socket, room, event, data);
        decided(
            self.inner
                .caller
                .call(Hook::Publish, url, &body, answer::publish)
                .await,
        )
    }

    /// The event call: the reply to the event's ack, or its error.
    pub async fn event(
        &self,
        socket: &Socket,
        event: &str,
        data: &Value,
    ) -> Result<Value, HandlerError> {
        let Some(url) = self.url(Hook::Event) else {
            return Err(HandlerError::with_code(
                "no_handler",
                format!("no handler for `{event}`"),
            ));
        };
        let body = bodies::event(socket, event, data);
        decided(
            self.inner
                .caller
                .call(Hook::Event, url, &body, answer::event)
                .await,
        )
    }

    /// The disconnect call (its answer is not read).
    pub async fn disconnect(&self, socket: &Socket, reason: &DisconnectReason) {
        if let Some(url) = self.url(Hook::Disconnect) {
            let body = bodies::disconnect(socket, reason);
            self.inner.caller.notify(Hook::Disconnect, url, &body).await;
        }
    }
}

fn url_of(settings: &BackendSettings, hook: Hook) -> Option<&str> {
    match hook {
        Hook::Connect => settings.connect.as_deref(),
        Hook::Join => settings.join.as_deref(),
        Hook::Publish => settings.publish.as_deref(),
        Hook::Event => settings.event.as_deref(),
        Hook::Disconnect => settings.disconnect.as_deref(),
    }
}

/// A call's outcome as the client sees it: the back end's own error, or
/// `unavailable` when it failed.
fn decided<T>(outcome: Result<Outcome<T>, client::CallError>) -> Result<T, HandlerError> {
    match outcome {
        Ok(Outcome::Allowed(value)) => Ok(value),
        Ok(Outcome::Refused { code, message }) => Err(HandlerError::with_code(code, message)),
        Err(_) => Err(HandlerError::with_code("unavailable", UNAVAILABLE)),
    }
}
