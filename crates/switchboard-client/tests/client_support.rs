//! Shared test support for the client tests (included with `#[path]`; also
//! built as an empty test target of its own): a hub on 127.0.0.1:0, proxies
//! that cut, freeze, block upgrades or count frames, and event helpers.
#![allow(dead_code, missing_docs, unreachable_pub, unused_imports)]

pub use std::net::SocketAddr;
pub use std::sync::Arc;
pub use std::time::Duration;

pub use serde_json::Value;
pub use switchboard::{CloseCode, Hub, HubBuilder};
pub use switchboard_client::client::{
    self, Client, ClientAckError, ClientDisconnect, EmitError, Event, HandlerError, State,
    Transport, Transports,
};
pub use tokio::net::{TcpListener, TcpStream};
pub use tokio::sync::{broadcast, mpsc, watch};
pub use tokio::task::JoinHandle;

pub use switchboard_testkit::{WAIT, within};

pub struct TestHub {
    pub hub: Hub,
    pub addr: SocketAddr,
    serve: JoinHandle<()>,
}

impl TestHub {
    pub async fn start(builder: HubBuilder) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(builder, listener)
    }

    pub async fn start_on(addr: SocketAddr, builder: HubBuilder) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        Self::serve(builder, listener)
    }

    pub fn serve(builder: HubBuilder, listener: TcpListener) -> Self {
        let hub = builder.build();
        let addr = listener.local_addr().unwrap();
        let app = hub.router("/ws");
        let serve = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { hub, addr, serve }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Shuts the hub down (`1001` to every socket) and stops listening.
    pub async fn stop(self) -> SocketAddr {
        self.hub.shutdown().await;
        self.serve.abort();
        let _ = self.serve.await;
        self.addr
    }
}

/// A TCP proxy whose links can be cut at once, without close frames.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    freeze: watch::Sender<u64>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(0u64);
        let (freeze, _) = watch::channel(0u64);
        let cuts = cut.clone();
        let freezes = freeze.clone();
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let is_down = down.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_down.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let mut cut = cuts.subscribe();
                let mut freeze = freezes.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                        _ = freeze.changed() => {
                            // Silence: nothing forwarded, nothing closed,
                            // until a cut.
                            let _ = cut.changed().await;
                        }
                    }
                    // Both sockets are dropped here: FIN, never a close frame.
                });
            }
        });
        Self {
            addr,
            cut,
            freeze,
            down,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// While down, new connections are dropped at once.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The current links go silent (a dead peer), without closing.
    pub fn freeze(&self) {
        self.freeze.send_modify(|n| *n += 1);
    }
}

pub fn fast(url: &str) -> client::ClientBuilder {
    client::connect(url)
        .reconnect_delay(Duration::from_millis(20))
        .reconnect_delay_max(Duration::from_millis(200))
        .ack_timeout(Duration::from_secs(5))
}

/// Waits for the first event matching `pick`.
pub async fn next_event<T>(
    events: &mut broadcast::Receiver<Event>,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    within("an event", async {
        loop {
            let event = events.recv().await.expect("event channel");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await
}

pub async fn closed_reason(client: &Client) -> ClientDisconnect {
    let mut state = client.state();
    let state = within(
        "the client to close",
        state.wait_for(|s| matches!(s, State::Closed(_))),
    )
    .await
    .unwrap()
    .clone();
    match state {
        State::Closed(reason) => reason,
        _ => unreachable!(),
    }
}

/// A client handler that records `n` payloads in arrival order (the
/// recording runs synchronously when the event is dispatched).
pub fn recorder(
    builder: client::ClientBuilder,
    event: &str,
) -> (client::ClientBuilder, mpsc::Receiver<u64>) {
    let (tx, rx) = mpsc::channel(1024);
    let builder = builder.on(event, move |n: u64| {
        let _ = tx.try_send(n);
        async { Ok::<_, HandlerError>(()) }
    });
    (builder, rx)
}

pub async fn recv_n(rx: &mut mpsc::Receiver<u64>, n: usize) -> Vec<u64> {
    let mut got = Vec::new();
    while got.len() < n {
        got.push(within("a recorded message", rx.recv()).await.unwrap());
    }
    got
}

pub fn echo_hub() -> HubBuilder {
    Hub::builder()
        .on("echo", |_socket, data: Value| async move {
            Ok::<_, HandlerError2>(data)
        })
        .on("fail", |_socket, _: Value| async move {
            Err::<(), _>(HandlerError2::with_code("nope", "refused by the app"))
        })
        .on("never", |_socket, _: Value| async move {
            std::future::pending::<()>().await;
            Ok::<_, HandlerError2>(())
        })
}

pub use switchboard::HandlerError as HandlerError2;

pub fn polling(url: &str) -> client::ClientBuilder {
    fast(url).transports(Transports::LongPolling)
}

/// A proxy that drops every WebSocket upgrade and forwards plain HTTP.
pub async fn upgrade_blocking_proxy(
    target: SocketAddr,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicBool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let block = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let blocking = block.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let blocking = blocking.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut chunk = [0u8; 1024];
                    match inbound.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                if String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("upgrade: websocket")
                    && blocking.load(std::sync::atomic::Ordering::SeqCst)
                {
                    return;
                }
                let Ok(mut outbound) = TcpStream::connect(target).await else {
                    return;
                };
                if outbound.write_all(&head).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (addr, block)
}

/// A proxy that counts the text frames a client sends (no compression).
pub async fn frame_counting_proxy(
    target: SocketAddr,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let frames = count.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let frames = frames.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, mut client_write) = inbound.into_split();
                let (mut hub_read, mut hub_write) = outbound.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut hub_read, &mut client_write).await;
                });
                // Client to hub: forward, and parse the frames after the
                // HTTP head.
                let mut buf: Vec<u8> = Vec::new();
                let mut head_done = false;
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match client_read.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if hub_write.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if !head_done {
                        match buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            Some(end) => {
                                buf.drain(..end + 4);
                                head_done = true;
                            }
                            None => continue,
                        }
                    }
                    // Whole frames: header, 4-byte mask, payload.
                    loop {
                        if buf.len() < 2 {
                            break;
                        }
                        let (len, header) = match buf[1] & 0x7f {
                            126 if buf.len() >= 4 => {
                                (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4)
                            }
                            127 if buf.len() >= 10 => (
                                u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
                                10,
                            ),
                            126 | 127 => break,
                            small => (small as usize, 2),
                        };
                        let total = header + 4 + len;
                        if buf.len() < total {
                            break;
                        }
                        if buf[0] & 0x0f == 1 {
                            frames.fetch_add(1, Ordering::SeqCst);
                        }
                        buf.drain(..total);
                    }
                }
                down.abort();
            });
        }
    });
    (addr, count)
}
