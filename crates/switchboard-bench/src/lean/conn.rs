//! One lean WebSocket connection over a tokio `TcpStream`: a fixed read
//! buffer parsed in place (many frames per read, no allocation per frame),
//! masked client frames written from one reused buffer, pings answered
//! (WebSocket pings, and Socket.IO's Engine.IO pings in that protocol).

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::frame::{self, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT, Parsed};
use super::handshake::{self, Response, WsUrl};
use super::socketio::{self, Protocol};
use crate::clock;
use crate::error::{Error, Result};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The hub's URL (for Socket.IO, with the Engine.IO query).
    pub url: WsUrl,
    /// Its resolved address.
    pub addr: SocketAddr,
    /// The protocol the hub speaks.
    pub protocol: Protocol,
}

impl Endpoint {
    /// Parses and resolves `url` once, for many connections, to a
    /// Switchboard hub.
    pub async fn resolve(url: &str) -> Result<Self> {
        Self::resolve_for(url, Protocol::Switchboard).await
    }

    /// Parses and resolves `url` once, for many connections, to a hub
    /// speaking `protocol` (see [`Protocol::connect_url`]).
    pub async fn resolve_for(url: &str, protocol: Protocol) -> Result<Self> {
        let url = WsUrl::parse(&protocol.connect_url(url))?;
        let addr = url.resolve().await?;
        Ok(Self {
            url,
            addr,
            protocol,
        })
    }

    /// The same hub, with `name=value` added to the URL's query (see
    /// [`WsUrl::with_query_param`]).
    pub fn with_query_param(&self, name: &str, value: &str) -> Self {
        Self {
            url: self.url.with_query_param(name, value),
            addr: self.addr,
            protocol: self.protocol,
        }
    }
}

/// Whether the connection is still open after a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Open.
    Open,
    /// The hub sent a close frame (with this code, if any) or the stream
    /// ended (`None`).
    Closed(Option<u16>),
}

/// A client connection that has completed the upgrade.
#[derive(Debug)]
pub struct LeanWs {
    stream: TcpStream,
    /// Read buffer: bytes `start..end` are received and not yet parsed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A fragmented message being put together (rare: the hub sends one
    /// message per frame).
    message: Vec<u8>,
    fragmented: bool,
    /// Outgoing frames, reused.
    out: Vec<u8>,
    /// The payload of a ping still to answer.
    pong: Option<Vec<u8>>,
    /// The protocol spoken over the connection.
    protocol: Protocol,
    /// Whether an Engine.IO ping (`2`) is still to answer (`3`).
    engine_pong: bool,
    /// Whether [`LeanWs::next_message`] left received bytes unparsed, for
    /// the next [`LeanWs::read_batch`] to parse before it reads.
    leftover: bool,
    /// Masking key state (xorshift).
    mask_state: u32,
    /// Whether this side has sent its close frame.
    close_sent: bool,
}

impl LeanWs {
    /// Connects to `endpoint` (from `source`, when given: bound before
    /// connecting), upgrades, and keeps a read buffer of `buffer` bytes
    /// (grown when a frame needs more).
    pub async fn connect(
        endpoint: &Endpoint,
        source: Option<IpAddr>,
        buffer: usize,
    ) -> Result<Self> {
        let stream = match source {
            None => TcpStream::connect(endpoint.addr).await?,
            Some(ip) => {
                let socket = match ip {
                    IpAddr::V4(_) => TcpSocket::new_v4()?,
                    IpAddr::V6(_) => TcpSocket::new_v6()?,
                };
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(endpoint.addr).await?
            }
        };
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let mut ws = Self {
            stream,
            buf: vec![0; buffer.max(512)],
            start: 0,
            end: 0,
            message: Vec::new(),
            fragmented: false,
            out: Vec::with_capacity(256),
            pong: None,
            protocol: endpoint.protocol,
            engine_pong: false,
            leftover: false,
            mask_state: u32::from(local.port()) | 0x9E37_0000,
            close_sent: false,
        };
        ws.stream
            .write_all(&handshake::upgrade_request(&endpoint.url))
            .await?;
        loop {
            match handshake::parse_response(&ws.buf[..ws.end]) {
                Response::Upgraded { head_len } => {
                    ws.start = head_len;
                    return Ok(ws);
                }
                Response::Refused { status } => return Err(Error::Refused(status)),
                Response::Incomplete => {
                    if ws.end == ws.buf.len() {
                        return Err(Error::Protocol("upgrade answer too long".into()));
                    }
                    let n = ws.stream.read(&mut ws.buf[ws.end..]).await?;
                    if n == 0 {
                        return Err(Error::Protocol("closed during the upgrade".into()));
                    }
                    ws.end += n;
                }
            }
        }
    }

    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_ne_bytes()
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, payload: &[u8]) -> Result<()> {
        self.send_frame(OP_TEXT, payload).await
    }

    async fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<()> {
        let mask = self.next_mask();
        self.out.clear();
        frame::encode(&mut self.out, opcode, payload, mask);
        self.stream.write_all(&self.out).await?;
        Ok(())
    }

    /// Sends a close frame with `code` (the hub answers with its own and
    /// closes the TCP connection).
    pub async fn send_close(&mut self, code: u16) -> Result<()> {
        self.close_sent = true;
        self.send_frame(OP_CLOSE, &code.to_be_bytes()).await
    }

    /// The protocol spoken over the connection.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Reads once from the socket (or, first, parses what the last
    /// [`LeanWs::next_message`] received beyond its message) and hands
    /// every complete text (or binary) message to `on_message` with the
    /// time the read returned (`clock::now_ns`); answers pings (Engine.IO's
    /// too, which are not handed on). Cancel-safe between reads.
    pub async fn read_batch(&mut self, mut on_message: impl FnMut(&[u8], u64)) -> Result<Status> {
        if self.leftover {
            // What the setup's last read brought after the message it
            // wanted (a ping that waits for its answer, say): parsed now,
            // without waiting for more.
            self.leftover = false;
        } else {
            if self.end == self.buf.len() {
                self.make_room(None);
            }
            let n = self.stream.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Ok(Status::Closed(None));
            }
            self.end += n;
        }
        let arrived_ns = clock::now_ns();
        let mut closed = None;
        loop {
            let header = match frame::parse(&self.buf[self.start..self.end]) {
                Parsed::Frame(header) => header,
                Parsed::Incomplete { needed } => {
                    self.make_room(needed);
                    break;
                }
                Parsed::Invalid(why) => return Err(Error::Protocol(why.into())),
            };
            let payload = self.start + header.header_len..self.start + header.total_len();
            self.start += header.total_len();
            let payload = &self.buf[payload];
            match header.opcode {
                OP_TEXT | OP_BINARY if header.fin && !self.fragmented => {
                    if self.protocol == Protocol::SocketIo && payload == socketio::PING {
                        self.engine_pong = true;
                    } else {
                        on_message(payload, arrived_ns);
                    }
                }
                OP_TEXT | OP_BINARY => {
                    self.fragmented = true;
                    self.message.clear();
                    self.message.extend_from_slice(payload);
                }
                OP_CONTINUATION => {
                    self.message.extend_from_slice(payload);
                    if header.fin {
                        self.fragmented = false;
                        on_message(&self.message, arrived_ns);
                    }
                }
                OP_PING => self.pong = Some(payload.to_vec()),
                OP_CLOSE => {
                    closed = Some(frame::close_code(payload));
                    break;
                }
                _ => {} // a pong
            }
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if let Some(ping) = self.pong.take() {
            self.send_frame(frame::OP_PONG, &ping).await?;
        }
        if self.engine_pong {
            self.engine_pong = false;
            self.send_text(socketio::PONG).await?;
        }
        match closed {
            Some(code) => {
                // Answer the close (best effort); the hub then ends TCP.
                if !self.close_sent {
                    let _ = self.send_close(code.unwrap_or(1000)).await;
                }
                Ok(Status::Closed(code))
            }
            None => Ok(Status::Open),
        }
    }

    /// Moves unparsed bytes to the front, and grows the buffer when a
    /// frame of `needed` bytes (or a full buffer) would not fit.
    fn make_room(&mut self, needed: Option<usize>) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let needed = needed.unwrap_or(0).max(self.end + 1);
        if needed > self.buf.len() {
            self.buf.resize(needed.max(self.buf.len() * 2), 0);
        }
    }

    /// The next message, copied (for setup steps, not the measured path);
    /// pings are answered, Engine.IO's too (and not returned). Messages
    /// after it stay buffered for the next call or [`LeanWs::read_batch`].
    pub async fn next_message(&mut self) -> Result<Vec<u8>> {
        loop {
            let message = self.next_frame_message().await?;
            if self.protocol == Protocol::SocketIo && message == socketio::PING {
                self.send_text(socketio::PONG).await?;
            } else {
                return Ok(message);
            }
        }
    }

    /// The next text or binary message, copied; WebSocket pings answered.
    async fn next_frame_message(&mut self) -> Result<Vec<u8>> {
        loop {
            loop {
                let header = match frame::parse(&self.buf[self.start..self.end]) {
                    Parsed::Frame(header) => header,
                    Parsed::Incomplete { needed } => {
                        self.make_room(needed);
                        break;
                    }
                    Parsed::Invalid(why) => return Err(Error::Protocol(why.into())),
                };
                let payload = self.start + header.header_len..self.start + header.total_len();
                self.start += header.total_len();
                match header.opcode {
                    OP_TEXT | OP_BINARY if header.fin => {
                        self.leftover = self.start < self.end;
                        return Ok(self.buf[payload].to_vec());
                    }
                    OP_PING => {
                        let ping = self.buf[payload].to_vec();
                        self.send_frame(frame::OP_PONG, &ping).await?;
                    }
                    OP_CLOSE => {
                        return Err(Error::Closed(frame::close_code(&self.buf[payload])));
                    }
                    frame::OP_PONG => {}
                    _ => return Err(Error::Protocol("a fragmented message".into())),
                }
            }
            let n = self.stream.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return Err(Error::Closed(None));
            }
            self.end += n;
        }
    }

    /// Reads the hub's welcome: `$welcome`; for Socket.IO, the Engine.IO
    /// open packet, then (after sending the namespace connect `40`) the
    /// connect's answer `40{"sid":…}`.
    pub async fn expect_welcome(&mut self) -> Result<()> {
        let unexpected = |what: &str, message: &[u8]| {
            Err(Error::Protocol(format!(
                "{what}: {}",
                String::from_utf8_lossy(message)
            )))
        };
        match self.protocol {
            Protocol::Switchboard => {
                let message = self.next_message().await?;
                if message.starts_with(br#"{"event":"$welcome""#) {
                    Ok(())
                } else {
                    unexpected("first message is not $welcome", &message)
                }
            }
            Protocol::SocketIo => {
                let open = self.next_message().await?;
                if !open.starts_with(socketio::OPEN) {
                    return unexpected("first packet is not Engine.IO's open", &open);
                }
                self.send_text(socketio::CONNECT).await?;
                let connected = self.next_message().await?;
                if connected.starts_with(socketio::CONNECT) {
                    Ok(())
                } else if connected.starts_with(socketio::CONNECT_ERROR) {
                    unexpected("connect refused", &connected)
                } else {
                    unexpected("no answer to the connect", &connected)
                }
            }
        }
    }

    /// Joins `room` with ack number `ack` and waits for the reply; other
    /// messages before it are dropped.
    pub async fn join(&mut self, room: &str, ack: u64) -> Result<()> {
        if self.protocol == Protocol::SocketIo {
            return self.join_socketio(room, ack).await;
        }
        let request = serde_json::json!({"event": "$join", "data": {"room": room}, "ack": ack});
        self.send_text(request.to_string().as_bytes()).await?;
        let expected = format!("\"reply\":{ack}");
        loop {
            let message = self.next_message().await?;
            if memchr::memmem::find(&message, expected.as_bytes()).is_some() {
                if memchr::memmem::find(&message, b"\"error\"").is_some() {
                    return Err(Error::Protocol(format!(
                        "join {room} refused: {}",
                        String::from_utf8_lossy(&message)
                    )));
                }
                return Ok(());
            }
        }
    }

    /// [`LeanWs::join`] for Socket.IO: the peer's `join` event with ack
    /// id `ack`, until its ack.
    async fn join_socketio(&mut self, room: &str, ack: u64) -> Result<()> {
        self.send_text(&socketio::join_packet(room, ack)).await?;
        loop {
            let message = self.next_message().await?;
            if socketio::ack_id(&message) == Some(ack) {
                return Ok(());
            }
        }
    }

    /// Connects, reads the welcome: the common first steps.
    pub async fn open(endpoint: &Endpoint, source: Option<IpAddr>, buffer: usize) -> Result<Self> {
        let mut ws = Self::connect(endpoint, source, buffer).await?;
        ws.expect_welcome().await?;
        Ok(ws)
    }

    /// Reads until the hub closes the connection or `limit` passes,
    /// after [`LeanWs::send_close`]: the hub then closes TCP first, so the
    /// TIME_WAIT state stays on its side, not on this client's port.
    pub async fn wait_closed(&mut self, limit: std::time::Duration) {
        let wait = async { while let Ok(Status::Open) = self.read_batch(|_, _| {}).await {} };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    /// A server frame: unmasked, one text frame of under 126 bytes.
    fn text_frame(payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0x81, payload.len() as u8];
        frame.extend_from_slice(payload);
        frame
    }

    /// Serves one upgrade answered by `after` in the same write, then
    /// reads until the client's frames `expect` arrive (returned, unmasked
    /// payloads), with nothing more sent.
    async fn serve_once(listener: TcpListener, after: Vec<u8>, expect: usize) -> Vec<Vec<u8>> {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let mut answer = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        answer.extend_from_slice(&after);
        tcp.write_all(&answer).await.unwrap();
        let mut frames = Vec::new();
        while frames.len() < expect {
            let mut header = [0u8; 6];
            tcp.read_exact(&mut header).await.unwrap();
            let mut payload = vec![0u8; usize::from(header[1] & 0x7f)];
            tcp.read_exact(&mut payload).await.unwrap();
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= header[2 + i % 4];
            }
            frames.push(payload);
        }
        frames
    }

    #[tokio::test]
    async fn what_the_setup_left_unread_is_read_first() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/socket.io/", listener.local_addr().unwrap());
        // The open packet, the connect's answer and a ping, all at once:
        // the ping must be answered though nothing more arrives.
        let sent = [
            text_frame(br#"0{"sid":"s","pingInterval":25000}"#),
            text_frame(br#"40{"sid":"a"}"#),
            text_frame(b"2"),
        ]
        .concat();
        let server = tokio::spawn(serve_once(listener, sent, 2));
        let endpoint = Endpoint::resolve_for(&url, Protocol::SocketIo)
            .await
            .unwrap();
        assert!(endpoint.url.path.ends_with("?EIO=4&transport=websocket"));
        let mut ws = LeanWs::open(&endpoint, None, 1024).await.unwrap();
        let mut messages = 0;
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            ws.read_batch(|_, _| messages += 1),
        )
        .await
        .expect("the buffered ping is parsed without a read");
        assert_eq!(read.unwrap(), Status::Open);
        assert_eq!(messages, 0, "a ping is not a message");
        let frames = server.await.unwrap();
        assert_eq!(frames, [b"40".to_vec(), b"3".to_vec()]);
    }

    #[tokio::test]
    async fn a_ping_read_with_the_welcome_is_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        // `$welcome` and a WebSocket ping in one write: the ping must be
        // answered though nothing more arrives.
        let mut sent = text_frame(br#"{"event":"$welcome","data":{}}"#);
        sent.extend_from_slice(&[0x89, 2, b'h', b'i']);
        let server = tokio::spawn(serve_once(listener, sent, 1));
        let endpoint = Endpoint::resolve(&url).await.unwrap();
        let mut ws = LeanWs::open(&endpoint, None, 1024).await.unwrap();
        let mut messages = 0;
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            ws.read_batch(|_, _| messages += 1),
        )
        .await
        .expect("the buffered ping is parsed without a read");
        assert_eq!(read.unwrap(), Status::Open);
        assert_eq!(messages, 0);
        let frames = server.await.unwrap();
        assert_eq!(frames, [b"hi".to_vec()]);
    }
}
