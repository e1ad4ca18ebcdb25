//! The actor's dial phase: the handshake attempt (the token, the
//! transports in order, `$welcome`) and what a failed one means: retry,
//! stop, or a fresh token after a `401`.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use sockudo_ws::{Error as WsError, Message as WsMessage};
use switchboard_protocol::{Codec, Welcome, reserved};

use super::{Actor, Outcome};
use crate::client::error::ClientDisconnect;
use crate::client::handle::Event;
use crate::client::link::{Link, Transports};
use crate::client::poll::PollLink;
use crate::client::settings::Settings;
use crate::client::stop_rules::refusal_is_final;
use crate::client::token::MAX_UNAUTHORIZED;
use crate::dial::DialError;
use crate::dial::websocket::{WsConn, dial};

pub(super) type DialFuture =
    Pin<Box<dyn Future<Output = Result<(Link, Welcome), AttemptError>> + Send>>;

/// Why a handshake attempt failed: the dial, or the token function.
pub(super) enum AttemptError {
    Dial(DialError),
    Token(String),
}

impl From<DialError> for AttemptError {
    fn from(error: DialError) -> Self {
        AttemptError::Dial(error)
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Dial(error) => error.fmt(f),
            AttemptError::Token(why) => write!(f, "the token function failed: {why}"),
        }
    }
}

impl Actor {
    fn dial_future(&self) -> DialFuture {
        let settings = self.settings.clone();
        let resume = self.resume();
        Box::pin(async move {
            let timeout = settings.connect_timeout;
            let attempt = async {
                let token = handshake_token(&settings).await?;
                let target = target(&settings, token.as_deref(), resume.as_ref());
                let websocket = async {
                    let mut conn = dial(&settings.url, &target, &settings.dial).await?;
                    let welcome = read_welcome(&mut conn).await?;
                    Ok::<_, DialError>((Link::Ws(conn), welcome))
                };
                let polling = async {
                    let (link, welcome, first) = PollLink::open(
                        &settings.url,
                        &settings.dial.tls,
                        token.as_deref(),
                        resume.as_ref().map(|(t, n)| (t.as_str(), *n)),
                        settings.dial.max_message_size,
                    )
                    .await?;
                    Ok((Link::Poll(link, Some(first)), welcome))
                };
                let connected = match settings.transports {
                    Transports::WebSocket => websocket.await,
                    Transports::LongPolling => polling.await,
                    Transports::WebSocketWithFallback => match websocket.await {
                        Ok(ok) => Ok(ok),
                        Err(error) => {
                            tracing::debug!(%error, "WebSocket failed; falling back to long-polling");
                            polling.await
                        }
                    },
                };
                connected.map_err(AttemptError::Dial)
            };
            tokio::time::timeout(timeout, attempt)
                .await
                .unwrap_or(Err(AttemptError::Dial(DialError::Timeout(timeout))))
        })
    }

    /// Dials while serving commands. `Ok(None)`: closed by the client.
    pub(super) async fn dial_phase(&mut self) -> Result<Option<(Link, Welcome)>, Outcome> {
        let mut dialing = self.dial_future();
        loop {
            tokio::select! {
                result = &mut dialing => {
                    return match result {
                        Ok(ok) => Ok(Some(ok)),
                        Err(AttemptError::Token(why)) => {
                            self.event(Event::Error { code: "token".into(), message: why.clone() });
                            Err(Outcome::Retry(ClientDisconnect::Token(why)))
                        }
                        Err(AttemptError::Dial(DialError::Refused { status: 401, body })) => {
                            Err(self.unauthorized(&body))
                        }
                        Err(AttemptError::Dial(DialError::Refused { status, body })) => {
                            let reason = ClientDisconnect::Refused { status, body };
                            if refusal_is_final(status) {
                                Err(Outcome::Stop(reason))
                            } else {
                                Err(Outcome::Retry(reason))
                            }
                        }
                        Err(AttemptError::Dial(error @ DialError::InvalidUrl(_))) => {
                            Err(Outcome::Stop(ClientDisconnect::DialFailed(error.to_string())))
                        }
                        Err(AttemptError::Dial(error)) => {
                            self.event(Event::Error { code: "dial".into(), message: error.to_string() });
                            Err(Outcome::Retry(ClientDisconnect::DialFailed(error.to_string())))
                        }
                    };
                }
                command = self.rx.recv() => {
                    if !self.offline_command(command).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// A handshake refused `401`: with a token function, tried again with a
    /// fresh token up to [`MAX_UNAUTHORIZED`] refusals in a row; with a
    /// fixed token (or none), the client stops.
    fn unauthorized(&mut self, body: &str) -> Outcome {
        let (code, message) = error_of(body);
        self.unauthorized += 1;
        let function = self.settings.token.as_ref().is_some_and(|t| !t.is_fixed());
        let reason = ClientDisconnect::Unauthorized {
            code: code.clone(),
            message,
        };
        if function && self.unauthorized < MAX_UNAUTHORIZED {
            self.event(Event::Error {
                code,
                message: reason.to_string(),
            });
            Outcome::Retry(reason)
        } else {
            Outcome::Stop(reason)
        }
    }
}

/// The `error.code` and `error.message` of a refusal's body.
fn error_of(body: &str) -> (String, String) {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let field = |k: &str| value["error"][k].as_str().map(str::to_owned);
    (
        field("code").unwrap_or_else(|| "unauthorized".into()),
        field("message").unwrap_or_else(|| body.to_owned()),
    )
}

/// A token for the next handshake: `None` without a token source.
pub(super) async fn handshake_token(settings: &Settings) -> Result<Option<String>, AttemptError> {
    match &settings.token {
        Some(source) => source.get().await.map(Some).map_err(AttemptError::Token),
        None => Ok(None),
    }
}

/// The request target of a WebSocket dial: the token, and the session to
/// resume.
pub(super) fn target(
    settings: &Settings,
    token: Option<&str>,
    resume: Option<&(String, u64)>,
) -> String {
    let last = resume.map(|(_, n)| n.to_string());
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(token) = token {
        pairs.push(("token", token));
    }
    if let (Some((session, _)), Some(last)) = (resume, &last) {
        pairs.push(("resume", session));
        pairs.push(("last", last));
    }
    settings.url.target(&pairs)
}

/// Reads the first message, which must be `$welcome`.
pub(super) async fn read_welcome(conn: &mut WsConn) -> Result<Welcome, DialError> {
    loop {
        let frame = match conn.next().await {
            Some(Ok(WsMessage::Text(bytes) | WsMessage::Binary(bytes))) => bytes,
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(WsMessage::Close(reason))) | Some(Err(WsError::Closed(reason))) => {
                let code = reason.map_or(1005, |r| r.code);
                return Err(DialError::Handshake(format!(
                    "closed ({code}) before $welcome"
                )));
            }
            Some(Err(e)) => return Err(DialError::Handshake(e.to_string())),
            None => {
                return Err(DialError::Handshake(
                    "connection ended before $welcome".into(),
                ));
            }
        };
        let message = Codec::Json
            .decode(&frame)
            .ok()
            .and_then(|mut v| (v.len() == 1).then(|| v.pop()).flatten())
            .and_then(Result::ok);
        return match message {
            Some(m) if m.event.as_deref() == Some(reserved::WELCOME) => {
                serde_json::from_value(m.data.unwrap_or(Value::Null))
                    .map_err(|e| DialError::Handshake(format!("bad $welcome: {e}")))
            }
            _ => Err(DialError::Handshake(
                "the first message is not $welcome".into(),
            )),
        };
    }
}
