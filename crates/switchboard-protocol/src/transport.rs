//! The transports a link can run on (PROTOCOL.md sections 1 and 6).

use std::fmt;

/// The transport a link runs on, and a session was opened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// A WebSocket upgrade (`GET P`).
    WebSocket,
    /// Long-polling (`POST P/poll`, PROTOCOL.md section 6).
    LongPolling,
}

impl Transport {
    /// `"websocket"` or `"polling"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::LongPolling => "polling",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
