//! Shared support of the pool tests: in-process WebSocket servers on
//! 127.0.0.1:0 that can be killed and restarted, and event helpers.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::{Config, Message, Role, WebSocketStream};
use switchboard_client::pool::{
    ConnectionOptions, Frame, OverflowPolicy, Pool, PoolDisconnect, PoolError, PoolEvent,
    PoolEvents, Source, tls_config_with_roots,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use switchboard_testkit::WAIT;

// ---------------------------------------------------------------- servers

/// Accepts the upgrade on `io` and returns the server-side stream.
pub async fn accept_ws<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) -> Option<WebSocketStream<S>> {
    let mut buf = BytesMut::with_capacity(1024);
    let (key, used) = loop {
        if io.read_buf(&mut buf).await.ok()? == 0 {
            return None;
        }
        if let Some((request, used)) = sockudo_ws::handshake::parse_request(&buf).ok()? {
            break (request.key.to_owned(), used);
        }
    };
    let accept = sockudo_ws::handshake::generate_accept_key(&key);
    let response = sockudo_ws::handshake::build_response(&accept, None, None);
    io.write_all(&response).await.ok()?;
    let rest = buf.split_off(used);
    let leftover = (!rest.is_empty()).then(|| rest.freeze());
    Some(WebSocketStream::from_raw_with_leftover(
        io,
        Role::Server,
        Config::default(),
        leftover,
    ))
}

/// What a feed server does with one connection.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// `subscribe NAME` answers `count` frames `NAME:0`..; anything else
    /// is echoed.
    Feed { count: usize },
    /// Completes the handshake, then never reads nor writes.
    Mute,
}

/// Notes from a server to its test.
#[derive(Debug)]
pub enum Note {
    /// A connection received a close frame with this code.
    Closed(u16),
    /// A `Feed` received this text (not a subscription).
    Text(String),
    /// A `Feed` finished writing a subscription's frames.
    Written,
    /// Then it saw the client answer a ping sent after them (so the client
    /// has read them all).
    Read,
}

/// An in-process WebSocket server that can be killed (every socket
/// dropped at once) and restarted on the same port.
pub struct TestServer {
    pub addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl TestServer {
    pub async fn start(behaviour: Behaviour, notes: mpsc::UnboundedSender<Note>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, behaviour, notes)
    }

    pub async fn restart_on(
        addr: SocketAddr,
        behaviour: Behaviour,
        notes: mpsc::UnboundedSender<Note>,
    ) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        Self::serve(listener, behaviour, notes)
    }

    pub fn serve(
        listener: TcpListener,
        behaviour: Behaviour,
        notes: mpsc::UnboundedSender<Note>,
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let notes = notes.clone();
                connections.spawn(async move {
                    if let Some(ws) = accept_ws(tcp).await {
                        serve_connection(ws, behaviour, notes).await;
                    }
                });
            }
        });
        Self { addr, tasks }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/feed", self.addr)
    }

    /// Drops the listener and every connection, like a crash.
    pub async fn kill(mut self) {
        self.tasks.shutdown().await;
    }
}

pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    behaviour: Behaviour,
    notes: mpsc::UnboundedSender<Note>,
) {
    let Behaviour::Feed { count } = behaviour else {
        // Mute: hold the socket without reading until killed.
        std::future::pending::<()>().await;
        return;
    };
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Text(text)) => {
                let text = String::from_utf8(text.to_vec()).unwrap();
                if let Some(name) = text.strip_prefix("subscribe ") {
                    for i in 0..count {
                        if ws
                            .feed(Message::Text(format!("{name}:{i}").into()))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    if ws.flush().await.is_err() {
                        return;
                    }
                    let _ = notes.send(Note::Written);
                    if ws
                        .send(Message::Ping(Bytes::from_static(b"read?")))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    // The pong comes after the client has read every frame.
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Pong(_))) => break,
                            Some(Ok(Message::Text(t))) => {
                                let _ = ws.send(Message::Text(t)).await;
                            }
                            Some(Ok(_)) => {}
                            _ => return,
                        }
                    }
                    let _ = notes.send(Note::Read);
                } else {
                    let _ = notes.send(Note::Text(text.clone()));
                    if ws.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
            }
            Ok(Message::Binary(data)) => {
                if ws.send(Message::Binary(data)).await.is_err() {
                    return;
                }
            }
            Ok(Message::Close(reason)) => {
                let _ = notes.send(Note::Closed(reason.map_or(1005, |r| r.code)));
                // Let the codec answer the close.
                while let Some(Ok(_)) = ws.next().await {}
                return;
            }
            Ok(_) => {}
            Err(sockudo_ws::Error::Closed(reason)) => {
                let _ = notes.send(Note::Closed(reason.map_or(1005, |r| r.code)));
                return;
            }
            Err(_) => return,
        }
    }
}

// ---------------------------------------------------------------- helpers

pub async fn next(events: &mut PoolEvents) -> PoolEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("no pool event in time")
        .expect("the pool stream ended")
}

/// Reads events until one matches; returns it.
pub async fn until(
    events: &mut PoolEvents,
    what: &str,
    pred: impl Fn(&PoolEvent) -> bool,
) -> PoolEvent {
    let wait = async {
        loop {
            let event = events.recv().await.expect("the pool stream ended");
            if pred(&event) {
                return event;
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub fn is_connected(event: &PoolEvent, who: &str) -> bool {
    matches!(event, PoolEvent::Connected { id } if &**id == who)
}

pub fn text_of(event: &PoolEvent) -> Option<(&str, &str)> {
    match event {
        PoolEvent::Frame { id, frame } => Some((id, frame.as_text()?)),
        _ => None,
    }
}

pub async fn note(notes: &mut mpsc::UnboundedReceiver<Note>) -> Note {
    tokio::time::timeout(WAIT, notes.recv())
        .await
        .expect("no server note in time")
        .expect("servers gone")
}

pub fn subscribing(name: &'static str, calls: Arc<AtomicUsize>) -> ConnectionOptions {
    ConnectionOptions::new()
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(200))
        .on_connect(move |sender| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sender.send(Frame::text(format!("subscribe {name}")))?;
                Ok(())
            }
        })
}

pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("ws://{addr}/")
}
