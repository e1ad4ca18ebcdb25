//! The hub's protocol, and Socket.IO's packets as the lean client sends and
//! reads them.
//!
//! Socket.IO (protocol 5, over Engine.IO 4) is spoken over WebSocket only,
//! with the JSON ("common") parser: one Engine.IO packet per text frame,
//! its type a leading digit (`0` open, `2` ping, `3` pong, `4` message),
//! and a Socket.IO packet in a message (`40` connect, `42` event, `43`
//! ack), an ack id as digits right after the type. The default namespace
//! `/` is never written. A session: the upgrade at
//! `/socket.io/?EIO=4&transport=websocket`, the server's `0{…}`, the
//! client's `40`, the server's `40{"sid":…}`. The server sends `2` every
//! ping interval and drops a client that does not answer `3`.
//!
//! What the peer (`switchboard-bench-sio-peer`) does with the events these
//! packets carry: `join` (a room name; acked), `relay` (`{"room","data"}`:
//! `msg` with the data to the room's other members; acked), `echo` (acked
//! with its data).

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::stamp::Stamp;

/// The query that selects Engine.IO 4 over WebSocket alone (no polling
/// first, no upgrade).
pub const ENGINE_QUERY: &str = "EIO=4&transport=websocket";
/// The Engine.IO open packet's start (`0{"sid":…,"pingInterval":…}`).
pub const OPEN: &[u8] = b"0{";
/// Socket.IO connect to the default namespace; the server's answer starts
/// with it too (`40{"sid":…}`).
pub const CONNECT: &[u8] = b"40";
/// Socket.IO connect error (`44{"message":…}`).
pub const CONNECT_ERROR: &[u8] = b"44";
/// Engine.IO ping (server to client).
pub const PING: &[u8] = b"2";
/// Engine.IO pong, the answer to [`PING`].
pub const PONG: &[u8] = b"3";

/// The protocol the hub under test speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Switchboard's own (PROTOCOL.md): JSON messages, `$welcome`, `$join`,
    /// relays with a `room` field.
    #[default]
    Switchboard,
    /// Socket.IO 5 over Engine.IO 4, WebSocket transport only, with the
    /// peer's events (`join`, `relay`, `echo`).
    #[value(name = "socketio")]
    #[serde(rename = "socketio")]
    SocketIo,
}

impl Protocol {
    /// The URL to connect to for `url`: as it is for Switchboard; for
    /// Socket.IO with [`ENGINE_QUERY`] added when it has no `EIO`
    /// parameter.
    pub fn connect_url(self, url: &str) -> String {
        match self {
            Protocol::SocketIo if !url.contains("EIO=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}{ENGINE_QUERY}")
            }
            _ => url.to_owned(),
        }
    }

    /// What a report's title adds after the hub's URL: nothing for
    /// Switchboard, ` (Socket.IO)`.
    pub fn title_suffix(self) -> &'static str {
        match self {
            Protocol::Switchboard => "",
            Protocol::SocketIo => " (Socket.IO)",
        }
    }

    /// Writes a stamped event relayed to `room` into `out` (cleared
    /// first), asking for an ack under `ack` when given: Switchboard's
    /// relay of `event` (see [`crate::stamp::write_relay`]), or the peer's
    /// `relay` event, whose data it broadcasts as `msg` (the event name is
    /// not sent).
    pub fn write_relay(
        self,
        out: &mut Vec<u8>,
        event: &str,
        room: &str,
        stamp: Stamp,
        pad: &str,
        ack: Option<u64>,
    ) {
        match self {
            Protocol::Switchboard => crate::stamp::write_relay(out, event, room, stamp, pad, ack),
            Protocol::SocketIo => write_relay(out, room, stamp, pad, ack),
        }
    }
}

/// `42` and the ack id, if any: the start of an event packet.
fn write_event_head(out: &mut Vec<u8>, ack: Option<u64>) {
    out.extend_from_slice(b"42");
    if let Some(ack) = ack {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{ack}");
    }
}

/// The peer's `join` event for `room`, with ack id `ack`:
/// `42<ack>["join","<room>"]`.
pub fn join_packet(room: &str, ack: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(room.len() + 16);
    write_event_head(&mut out, Some(ack));
    let _ = write!(
        out,
        r#"["join",{}]"#,
        serde_json::Value::from(room.to_owned())
    );
    out
}

/// Writes the peer's `relay` event into `out` (cleared first):
/// `42<ack>["relay",{"room":…,"data":{"seq":…,"t":…,"pad":…}}]`.
pub fn write_relay(out: &mut Vec<u8>, room: &str, stamp: Stamp, pad: &str, ack: Option<u64>) {
    out.clear();
    write_event_head(out, ack);
    let _ = write!(
        out,
        r#"["relay",{{"room":"{room}","data":{{"seq":{},"t":{},"pad":"{pad}"}}}}]"#,
        stamp.seq, stamp.t
    );
}

/// Writes the peer's `echo` event, without data, into `out` (cleared
/// first): `42<ack>["echo"]`.
pub fn write_echo(out: &mut Vec<u8>, ack: u64) {
    out.clear();
    write_event_head(out, Some(ack));
    out.extend_from_slice(br#"["echo"]"#);
}

/// The ack id of an ack packet (`43<id>[…]`), if `message` is one.
pub fn ack_id(message: &[u8]) -> Option<u64> {
    let digits = message.strip_prefix(b"43")?;
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || digits.get(len) != Some(&b'[') {
        return None;
    }
    digits[..len].iter().try_fold(0u64, |value, &b| {
        value.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_engine_query_once() {
        let sio = Protocol::SocketIo;
        assert_eq!(
            sio.connect_url("ws://h:1/socket.io/"),
            "ws://h:1/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            sio.connect_url("ws://h:1/socket.io/?x=1"),
            "ws://h:1/socket.io/?x=1&EIO=4&transport=websocket"
        );
        let given = "ws://h:1/socket.io/?EIO=4&transport=websocket";
        assert_eq!(sio.connect_url(given), given);
        assert_eq!(
            Protocol::Switchboard.connect_url("ws://h:1/ws"),
            "ws://h:1/ws"
        );
    }

    #[test]
    fn writes_packets() {
        assert_eq!(join_packet("fan\"out", 0), br#"420["join","fan\"out"]"#);
        let mut out = vec![b'x'];
        let stamp = Stamp { seq: 3, t: 44 };
        write_relay(&mut out, "r", stamp, "xy", None);
        assert_eq!(
            out,
            br#"42["relay",{"room":"r","data":{"seq":3,"t":44,"pad":"xy"}}]"#
        );
        assert_eq!(crate::stamp::find(&out), Some(stamp));
        Protocol::SocketIo.write_relay(&mut out, "tick", "r", stamp, "", Some(12));
        assert!(out.starts_with(br#"4212["relay","#));
        write_echo(&mut out, 7);
        assert_eq!(out, br#"427["echo"]"#);
    }

    #[test]
    fn reads_ack_ids() {
        assert_eq!(ack_id(b"430[]"), Some(0));
        assert_eq!(ack_id(br#"4312[{"room":"r"}]"#), Some(12));
        assert_eq!(ack_id(b"43[]"), None);
        assert_eq!(ack_id(b"4312"), None);
        assert_eq!(ack_id(br#"42["msg",{}]"#), None);
        assert_eq!(ack_id(b"4399999999999999999999[]"), None);
    }

    #[test]
    fn the_broadcast_keeps_the_stamp_findable() {
        let frame = br#"42["msg",{"seq":9,"t":1234,"pad":"xxx"}]"#;
        assert_eq!(crate::stamp::find(frame), Some(Stamp { seq: 9, t: 1234 }));
    }
}
