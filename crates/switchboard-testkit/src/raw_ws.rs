//! A WebSocket client on a bare TCP stream, for frames a library client
//! refuses to send (bad opcodes, oversized control frames).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::raw_handshake;
use crate::wait::within;

/// A raw WebSocket connection: it writes and reads frames byte by byte.
#[derive(Debug)]
pub struct RawWsClient {
    /// The upgraded stream.
    pub stream: TcpStream,
}

impl RawWsClient {
    /// Upgrades `path` at `addr`; fails the test unless the answer is `101`.
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        let (status, headers, stream) = raw_handshake(addr, path, &[]).await;
        assert_eq!(status, 101, "upgrade refused: {headers:?}");
        Self { stream }
    }

    /// Sends one masked frame (mask key zero) with this opcode and payload
    /// (under 64 KiB).
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mut frame = vec![0x80 | opcode];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await.expect("write a frame");
    }

    /// Reads one unfragmented text frame of under 64 KiB.
    pub async fn read_text_frame(&mut self) -> String {
        let mut header = [0u8; 2];
        within("a frame", self.stream.read_exact(&mut header))
            .await
            .expect("read a frame head");
        assert_eq!(header[0], 0x81, "a final text frame");
        let mut len = usize::from(header[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            within("a frame", self.stream.read_exact(&mut ext))
                .await
                .expect("read a frame length");
            len = usize::from(u16::from_be_bytes(ext));
        }
        let mut payload = vec![0u8; len];
        within("a frame", self.stream.read_exact(&mut payload))
            .await
            .expect("read a frame payload");
        String::from_utf8(payload).expect("UTF-8 text")
    }

    /// Reads frames until a close frame; returns its code (`None`: the
    /// stream ended first).
    pub async fn read_close_code(&mut self) -> Option<u16> {
        loop {
            let mut header = [0u8; 2];
            if within("a frame", self.stream.read_exact(&mut header))
                .await
                .is_err()
            {
                return None;
            }
            let mut len = u64::from(header[1] & 0x7f);
            if len == 126 {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from(u16::from_be_bytes(ext));
            } else if len == 127 {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from_be_bytes(ext);
            }
            let mut payload = vec![0u8; len as usize];
            self.stream.read_exact(&mut payload).await.ok()?;
            if header[0] & 0x0f == 0x8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    }
}
