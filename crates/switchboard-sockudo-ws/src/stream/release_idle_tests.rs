//! `Config::release_idle_buffers`: a unified stream waiting for input holds
//! neither a receive window nor a cork buffer, and every kind of input that
//! arrives after idling (large frames, frames split across reads, fragmented
//! messages with interleaved control frames, compressed messages) is still
//! received intact.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

use super::WebSocketStream;
use crate::protocol::Message;
use crate::{Config, RECV_BUFFER_SIZE};

fn lazy_config() -> Config {
    Config {
        release_idle_buffers: true,
        auto_ping: false,
        idle_timeout: 0,
        ..Config::default()
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A masked client frame, written by hand.
fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first_byte];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

async fn assert_idle(server: &mut WebSocketStream<DuplexStream>) {
    assert!(futures_util::poll!(server.next()).is_pending());
    assert_eq!(
        server.read_buf.capacity(),
        0,
        "receive window held while idle"
    );
    assert_eq!(
        server.output.write_buf.open_capacity(),
        0,
        "cork buffer held while idle"
    );
}

/// The next data message, skipping control frames.
async fn next_data(server: &mut WebSocketStream<DuplexStream>) -> Message {
    loop {
        match server
            .next()
            .await
            .expect("stream ended")
            .expect("read failed")
        {
            Message::Ping(_) | Message::Pong(_) => continue,
            message => return message,
        }
    }
}

#[tokio::test]
async fn a_waiting_stream_holds_no_buffers_and_reads_large_frames() {
    // A small pipe: large frames arrive over many reads.
    let (server_io, client_io) = duplex(8 * 1024);
    let mut server = WebSocketStream::server(server_io, lazy_config());
    let mut client = WebSocketStream::client(client_io, Config::default());
    assert_eq!(server.read_buf.capacity(), 0);
    assert_idle(&mut server).await;

    // Larger than the stack probe, the receive window and the pipe.
    for len in [5 * 1024, RECV_BUFFER_SIZE + 1, 300 * 1024] {
        let big = Bytes::from(payload(len));
        let (sent, received) = tokio::join!(
            client.send(Message::Binary(big.clone())),
            next_data(&mut server)
        );
        sent.unwrap();
        assert!(matches!(&received, Message::Binary(b) if *b == big));
        assert_idle(&mut server).await;
    }

    // Small messages after idling, several in one read.
    client.feed(Message::Text("one".into())).await.unwrap();
    client.feed(Message::Text("two".into())).await.unwrap();
    client.flush().await.unwrap();
    assert!(matches!(next_data(&mut server).await, Message::Text(b) if b == "one"));
    assert!(matches!(next_data(&mut server).await, Message::Text(b) if b == "two"));
    assert_idle(&mut server).await;

    // Writes: the cork buffer exists while frames wait and is released
    // once they are flushed.
    server.feed(Message::Text("welcome".into())).await.unwrap();
    assert!(server.output.write_buf.open_capacity() > 0);
    server.flush().await.unwrap();
    assert!(matches!(client.next().await.unwrap().unwrap(), Message::Text(b) if b == "welcome"));
    assert_idle(&mut server).await;
    let big = Bytes::from(payload(100 * 1024));
    let (sent, received) = tokio::join!(server.send(Message::Binary(big.clone())), client.next());
    sent.unwrap();
    assert!(matches!(received.unwrap().unwrap(), Message::Binary(b) if b == big));
    assert_idle(&mut server).await;
}

#[tokio::test]
async fn split_frames_and_fragmented_messages_after_idling() {
    let (server_io, mut client_io) = duplex(64 * 1024);
    let mut server = WebSocketStream::server(server_io, lazy_config());
    assert_idle(&mut server).await;

    // One frame whose header and payload arrive in separate reads, with the
    // stream polled (and waiting) in between.
    let text = payload(1000)
        .iter()
        .map(|b| b'a' + b % 26)
        .collect::<Vec<u8>>();
    let frame = client_frame(0x81, &text);
    for piece in [&frame[..1], &frame[1..6], &frame[6..500], &frame[500..]] {
        assert!(futures_util::poll!(server.next()).is_pending());
        client_io.write_all(piece).await.unwrap();
    }
    assert!(matches!(next_data(&mut server).await, Message::Text(b) if b == text));
    assert_idle(&mut server).await;

    // A fragmented message: text, a Ping, continuation, continuation (FIN),
    // each fragment after the stream went idle again.
    let first = &text[..300];
    let middle = payload(10 * 1024)
        .iter()
        .map(|b| b'a' + b % 26)
        .collect::<Vec<u8>>();
    let last = &text[300..];
    client_io
        .write_all(&client_frame(0x01, first))
        .await
        .unwrap();
    assert_idle(&mut server).await;
    client_io
        .write_all(&client_frame(0x89, b"ping"))
        .await
        .unwrap();
    assert!(matches!(server.next().await, Some(Ok(Message::Ping(_)))));
    assert_idle(&mut server).await;
    client_io
        .write_all(&client_frame(0x00, &middle))
        .await
        .unwrap();
    assert_idle(&mut server).await;
    client_io
        .write_all(&client_frame(0x80, last))
        .await
        .unwrap();
    let mut expected = first.to_vec();
    expected.extend_from_slice(&middle);
    expected.extend_from_slice(last);
    assert!(matches!(next_data(&mut server).await, Message::Text(b) if b == expected));
    assert_idle(&mut server).await;

    // Invalid input is still refused after idling.
    client_io
        .write_all(&client_frame(0x81, &[0xff, 0xfe]))
        .await
        .unwrap();
    assert!(matches!(
        server.next().await,
        Some(Err(crate::Error::InvalidUtf8))
    ));
}

#[tokio::test]
async fn the_default_configuration_keeps_its_receive_window() {
    let (server_io, _client_io) = duplex(1024);
    let mut server = WebSocketStream::server(
        server_io,
        Config {
            auto_ping: false,
            idle_timeout: 0,
            ..Config::default()
        },
    );
    assert!(futures_util::poll!(server.next()).is_pending());
    assert!(server.read_buf.capacity() >= RECV_BUFFER_SIZE);
    assert!(server.output.write_buf.open_capacity() > 0);
}

#[cfg(feature = "permessage-deflate")]
#[tokio::test]
async fn a_compressed_stream_releases_its_buffers_too() {
    use super::CompressedWebSocketStream;
    use crate::deflate::DeflateConfig;

    let (server_io, client_io) = duplex(8 * 1024);
    let mut server =
        CompressedWebSocketStream::server(server_io, lazy_config(), DeflateConfig::default());
    let mut client =
        CompressedWebSocketStream::client(client_io, Config::default(), DeflateConfig::default());
    macro_rules! assert_idle {
        () => {
            assert!(futures_util::poll!(server.next()).is_pending());
            assert_eq!(server.read_buf.capacity(), 0);
            assert_eq!(server.output.write_buf.open_capacity(), 0);
        };
    }
    assert_idle!();
    // Compressible and not, small and larger than every buffer; the
    // context is taken over from one message to the next.
    let messages = [
        Bytes::from(b"a small message, compressed or not".repeat(2)),
        Bytes::from(payload(400 * 1024)),
        Bytes::from(b"tiny".to_vec()),
        Bytes::from(b"the same words again and again ".repeat(3000)),
    ];
    for message in messages {
        let (sent, received) = tokio::join!(client.send(Message::Binary(message.clone())), async {
            loop {
                match server.next().await.unwrap().unwrap() {
                    Message::Ping(_) | Message::Pong(_) => continue,
                    message => return message,
                }
            }
        });
        sent.unwrap();
        assert!(matches!(&received, Message::Binary(b) if *b == message));
        assert_idle!();
    }
    let (sent, received) = tokio::join!(
        server.send(Message::Text("hello from the server, hello".into())),
        client.next()
    );
    sent.unwrap();
    assert!(matches!(
        received.unwrap().unwrap(),
        Message::Text(b) if b == "hello from the server, hello"
    ));
    assert_idle!();
}
