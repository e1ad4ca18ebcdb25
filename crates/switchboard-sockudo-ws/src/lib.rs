//! # Sockudo-WS: Ultra-low latency WebSocket library
//!
//! *This is `switchboard-sockudo-ws`, Switchboard's fork of sockudo-ws 3.1.0:
//! upstream's code plus [`Config::release_idle_buffers`] (idle unified
//! streams hold no receive window nor cork buffer) and an inflate state
//! created by the first compressed message. The crate's `README.md` says
//! why, and `UPSTREAM.diff` is the whole change.*
//!
//! A high-performance WebSocket library designed for HFT applications,
//! fully compatible with Tokio and Axum.
//!
//! ## Performance Features
//!
//! - **SIMD Acceleration**: AVX2/AVX-512/NEON for frame masking and UTF-8 validation
//! - **Zero-Copy Parsing**: Direct buffer access without intermediate copies
//! - **Write Batching (Corking)**: Minimizes syscalls via vectored I/O
//! - **Cache-Line Alignment**: Prevents false sharing in concurrent scenarios
//! - **Lock-Free Queues**: SPSC/MPMC for cross-task communication
//! - **Optional mimalloc**: High-performance allocator for reduced latency
//!
//! ## Example with Axum
//!
//! ```ignore
//! use axum::{Router, routing::get};
//! use sockudo_ws::axum::WebSocketUpgrade;
//!
//! async fn ws_handler(ws: WebSocketUpgrade) -> impl IntoResponse {
//!     ws.on_upgrade(|socket| async move {
//!         // Handle WebSocket connection
//!     })
//! }
//!
//! let app = Router::new().route("/ws", get(ws_handler));
//! ```
//!
//! ## HTTP/2 and HTTP/3 WebSocket Support
//!
//! ```ignore
//! use sockudo_ws::{WebSocketServer, WebSocketClient, Http2, Http3, Config};
//!
//! // HTTP/2 server
//! let server = WebSocketServer::<Http2>::new(Config::default());
//! server.serve(tls_stream, |ws, req| async move {
//!     // handle connection
//! }).await?;
//!
//! // HTTP/3 server
//! let server = WebSocketServer::<Http3>::bind(addr, tls_config, Config::default()).await?;
//! server.serve(|ws, req| async move {
//!     // handle connection
//! }).await?;
//! ```

#![allow(dead_code)]
#![allow(clippy::missing_safety_doc)]

// Use mimalloc as the global allocator when the feature is enabled
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cork;
pub mod error;
pub mod frame;
pub mod handshake;
mod heartbeat;
pub mod mask;
pub mod protocol;
#[cfg(feature = "tokio-runtime")]
pub mod pubsub;
pub mod queue;
pub mod simd;
#[cfg(feature = "tokio-runtime")]
pub mod stream;
pub mod utf8;

#[cfg(feature = "compio-runtime")]
pub mod compio;

// Transport and Extended CONNECT modules
#[cfg(any(feature = "http2", feature = "http3"))]
pub mod extended_connect;
pub mod transport;

#[cfg(feature = "tokio-runtime")]
pub mod server;

#[cfg(feature = "tokio-runtime")]
pub mod client;

#[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
pub mod multiplex;

#[cfg(feature = "permessage-deflate")]
pub mod deflate;

#[cfg(feature = "permessage-deflate")]
pub mod compression;

#[cfg(feature = "axum-integration")]
pub mod axum_integration;

#[cfg(feature = "http2")]
pub mod http2;

#[cfg(feature = "http3")]
pub mod http3;

#[cfg(all(feature = "io-uring", target_os = "linux"))]
pub mod io_uring;

// Core re-exports
pub use error::{Error, Result};
pub use frame::{Frame, OpCode};
pub use handshake::HandshakeResult;
pub use protocol::{Message, RawMessage, Role};
#[cfg(feature = "tokio-runtime")]
pub use pubsub::{PubSub, PubSubState, PublishResult, SubscriberId};
#[cfg(feature = "tokio-runtime")]
pub use stream::{SplitReader, SplitWriter, Stream, WebSocketStream, init_clock};

#[cfg(all(feature = "permessage-deflate", feature = "tokio-runtime"))]
pub use stream::CompressedWebSocketStream;

#[cfg(feature = "compio-runtime")]
pub use compio::{CompioSplitReader, CompioSplitWriter, CompioWebSocketStream};

#[cfg(all(feature = "compio-runtime", feature = "permessage-deflate"))]
pub use compio::{
    CompioCompressedSplitReader, CompioCompressedSplitWriter, CompioCompressedWebSocketStream,
};

// Transport re-exports
pub use transport::{Http1, Http2, Http3, Transport};

// Extended CONNECT re-exports (for HTTP/2 and HTTP/3)
#[cfg(any(feature = "http2", feature = "http3"))]
pub use extended_connect::{
    ExtendedConnectConfig, ExtendedConnectRequest, ExtendedConnectResponse,
};
#[cfg(any(feature = "http2", feature = "http3"))]
pub use extended_connect::{build_extended_connect_error, build_extended_connect_response};

// Server/Client re-exports
#[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
pub use server::WebSocketServer;

#[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
pub use client::WebSocketClient;

#[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
pub use multiplex::MultiplexedConnection;

// Re-export config types at top level for convenience

#[cfg(feature = "permessage-deflate")]
pub use compression::{CompressionContext, SharedCompressorPool, global_shared_pool};
#[cfg(feature = "permessage-deflate")]
pub use deflate::{DeflateConfig, DeflateContext};
#[cfg(feature = "permessage-deflate")]
pub use protocol::CompressedProtocol;

/// Cache line size for modern CPUs (64 bytes for x86_64, ARM64)
pub const CACHE_LINE_SIZE: usize = 64;

/// Default cork buffer size (16KB like uWebSockets)
pub const CORK_BUFFER_SIZE: usize = 16 * 1024;

/// Default receive buffer size (64KB for high throughput)
pub const RECV_BUFFER_SIZE: usize = 64 * 1024;

/// Maximum WebSocket frame header size (2 + 8 + 4 = 14 bytes)
pub const MAX_FRAME_HEADER_SIZE: usize = 14;

/// Small message threshold for fast-path optimization (< 126 bytes uses 2-byte header)
pub const SMALL_MESSAGE_THRESHOLD: usize = 125;

/// Medium message threshold (< 64KB uses 4-byte header)
pub const MEDIUM_MESSAGE_THRESHOLD: usize = 65535;

/// WebSocket GUID for handshake
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ============================================================================
// Transport-specific configurations
// ============================================================================

/// HTTP/2 configuration (RFC 8441)
#[cfg(feature = "http2")]
#[derive(Debug, Clone)]
pub struct Http2Config {
    /// Maximum HTTP/2 frame payload accepted from the peer (default: 16 KiB).
    /// Must be in 16,384..=16,777,215. This advertises SETTINGS_MAX_FRAME_SIZE;
    /// it does not set the WebSocket message limit or the peer's receive limit.
    /// Larger values can reduce DATA framing overhead but retain larger connection
    /// buffers and delay other streams sharing the connection.
    pub max_frame_size: u32,
    /// Initial stream-level flow control window size (default: 1MB)
    pub initial_stream_window_size: u32,
    /// Initial connection-level flow control window size (default: 2MB)
    pub initial_connection_window_size: u32,
    /// Maximum concurrent streams per connection (default: 100)
    pub max_concurrent_streams: u32,
    /// Enable Extended CONNECT protocol for WebSocket (default: true)
    pub enable_connect_protocol: bool,
}

#[cfg(feature = "http2")]
impl Http2Config {
    pub(crate) fn validated_max_frame_size(&self) -> Result<u32> {
        if !(16_384..=16_777_215).contains(&self.max_frame_size) {
            return Err(Error::HandshakeFailed(
                "HTTP/2 max_frame_size must be in 16384..=16777215",
            ));
        }
        Ok(self.max_frame_size)
    }
}

#[cfg(feature = "http2")]
impl Default for Http2Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16_384,
            initial_stream_window_size: 1024 * 1024, // 1MB
            initial_connection_window_size: 2 * 1024 * 1024, // 2MB
            max_concurrent_streams: 100,
            enable_connect_protocol: true,
        }
    }
}

/// HTTP/3 configuration (RFC 9220)
#[cfg(feature = "http3")]
#[derive(Debug, Clone)]
pub struct Http3Config {
    /// Maximum idle timeout for QUIC connection in milliseconds (default: 30000).
    /// Zero disables the local timeout; the peer can still impose its own limit.
    pub max_idle_timeout_ms: u64,
    /// Initial per-stream receive window size (default: 1,250,000 bytes, as in Quinn).
    /// Must be nonzero: zero also blocks HTTP/3 control streams and request headers.
    pub initial_stream_window_size: u64,
    /// Request 0-RTT support (default: false)
    ///
    /// The built-in HTTP/3 client and server reject `true` because their H3 layer
    /// cannot safely restore peer settings after resumption.
    pub enable_0rtt: bool,
    /// Enable Extended CONNECT protocol for WebSocket (default: true)
    pub enable_connect_protocol: bool,
    /// Maximum accepted UDP payload size (1200–65527 bytes; default: 1472, as in Quinn).
    /// This advertised receive limit is not a fixed outgoing packet size.
    /// Increasing it linearly increases endpoint datagram receive-buffer memory;
    /// the multiplier depends on the runtime and platform. Each built-in Tokio
    /// client connection creates its own endpoint.
    pub max_udp_payload_size: u16,
}

#[cfg(feature = "http3")]
impl Default for Http3Config {
    fn default() -> Self {
        Self {
            max_idle_timeout_ms: 30_000,
            initial_stream_window_size: 1_250_000, // Quinn's default stream receive window
            enable_0rtt: false,
            enable_connect_protocol: true,
            max_udp_payload_size: 1472,
        }
    }
}

/// io_uring configuration (Linux only)
#[cfg(all(feature = "io-uring", target_os = "linux"))]
#[derive(Debug, Clone)]
pub struct IoUringConfig {
    /// Number of registered buffers for zero-copy I/O (default: 64)
    pub registered_buffer_count: usize,
    /// Size of each registered buffer in bytes (default: 64KB)
    pub registered_buffer_size: usize,
    /// Enable SQPOLL mode for reduced syscalls (default: false)
    pub sqpoll: bool,
    /// Number of submission queue entries (default: 256)
    pub sq_entries: u32,
}

#[cfg(all(feature = "io-uring", target_os = "linux"))]
impl Default for IoUringConfig {
    fn default() -> Self {
        Self {
            registered_buffer_count: 64,
            registered_buffer_size: 64 * 1024, // 64KB
            sqpoll: false,
            sq_entries: 256,
        }
    }
}

// ============================================================================
// Compression
// ============================================================================

/// LZ77 window sizes supported by the configured compression backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DeflateWindowBits {
    /// 512-byte window.
    Bits9 = 9,
    /// 1KB window.
    Bits10 = 10,
    /// 2KB window.
    Bits11 = 11,
    /// 4KB window.
    Bits12 = 12,
    /// 8KB window.
    Bits13 = 13,
    /// 16KB window.
    Bits14 = 14,
    /// 32KB window.
    Bits15 = 15,
}

impl TryFrom<u8> for DeflateWindowBits {
    type Error = Error;

    fn try_from(value: u8) -> Result<Self> {
        match value {
            9 => Ok(Self::Bits9),
            10 => Ok(Self::Bits10),
            11 => Ok(Self::Bits11),
            12 => Ok(Self::Bits12),
            13 => Ok(Self::Bits13),
            14 => Ok(Self::Bits14),
            15 => Ok(Self::Bits15),
            _ => Err(Error::Compression(format!(
                "unsupported deflate window bits {value}; backend supports 9-15"
            ))),
        }
    }
}

impl From<DeflateWindowBits> for u8 {
    fn from(value: DeflateWindowBits) -> Self {
        value as Self
    }
}

/// Compression mode for WebSocket connections (RFC 7692 permessage-deflate)
///
/// This enum controls how compression is handled for WebSocket connections.
///
/// Per RFC 7692, the LZ77 sliding window size is limited to 8-15 bits. The
/// configured compression backend supports 9-15, so valid configurations start
/// at a 512-byte window. Larger windows provide better compression but use more
/// memory per connection.
///
/// Window-specific modes constrain both endpoint directions. During server
/// negotiation, modes below 32KB require the client to offer
/// `client_max_window_bits`; clients that send only `permessage-deflate` remain
/// uncompressed rather than exceeding the configured client window limit.
///
/// # Memory Usage per Connection
///
/// | Mode | Description | Window Bits | Window Size |
/// |------|-------------|-------------|-------------|
/// | `Disabled` | No compression | - | - |
/// | `Dedicated` | Per-connection compressor | 15 | 32KB |
/// | `Shared` | Shared compressor pool | 15 | 32KB |
/// | `Window1KB` | 1KB sliding window | 10 | 1KB |
/// | `Window2KB` | 2KB sliding window | 11 | 2KB |
/// | `Window4KB` | 4KB sliding window | 12 | 4KB |
/// | `Window8KB` | 8KB sliding window | 13 | 8KB |
/// | `Window16KB` | 16KB sliding window | 14 | 16KB |
/// | `Window32KB` | 32KB sliding window (max) | 15 | 32KB |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression
    #[default]
    Disabled,
    /// Dedicated compressor per connection (32KB window, best compression)
    Dedicated,
    /// Shared compressor pool (32KB window, good for many connections)
    Shared,
    /// 1KB sliding window (window_bits=10)
    Window1KB,
    /// 2KB sliding window (window_bits=11)
    Window2KB,
    /// 4KB sliding window (window_bits=12)
    Window4KB,
    /// 8KB sliding window (window_bits=13)
    Window8KB,
    /// 16KB sliding window (window_bits=14)
    Window16KB,
    /// 32KB sliding window (window_bits=15, maximum per RFC 7692)
    Window32KB,
}

impl Compression {
    /// Returns true if compression is enabled
    #[inline]
    pub fn is_enabled(&self) -> bool {
        !matches!(self, Compression::Disabled)
    }

    /// Returns true if this mode uses shared compression
    #[inline]
    pub fn is_shared(&self) -> bool {
        matches!(self, Compression::Shared)
    }

    /// Returns true if this mode uses dedicated per-connection compression
    #[inline]
    pub fn is_dedicated(&self) -> bool {
        !matches!(self, Compression::Disabled | Compression::Shared)
    }

    /// Get the window bits for this compression mode
    ///
    /// Returns the configured LZ77 window size, or `None` when disabled.
    #[inline]
    pub fn window_bits(&self) -> Option<DeflateWindowBits> {
        match self {
            Compression::Disabled => None,
            Compression::Window1KB => Some(DeflateWindowBits::Bits10),
            Compression::Window2KB => Some(DeflateWindowBits::Bits11),
            Compression::Window4KB => Some(DeflateWindowBits::Bits12),
            Compression::Window8KB => Some(DeflateWindowBits::Bits13),
            Compression::Window16KB => Some(DeflateWindowBits::Bits14),
            Compression::Dedicated | Compression::Shared | Compression::Window32KB => {
                Some(DeflateWindowBits::Bits15)
            }
        }
    }

    /// Get the compression threshold for this mode
    ///
    /// Messages smaller than this threshold won't be compressed.
    /// Larger window modes benefit more from compressing smaller messages.
    #[inline]
    pub fn compression_threshold(&self) -> usize {
        match self {
            Compression::Disabled => usize::MAX,
            Compression::Window1KB => 64,
            Compression::Window2KB => 48,
            Compression::Window4KB => 40,
            Compression::Window8KB => 32,
            Compression::Window16KB | Compression::Window32KB => 24,
            Compression::Dedicated | Compression::Shared => 16,
        }
    }

    /// Whether to use context takeover (preserve compression dictionary between messages)
    ///
    /// Smaller window modes disable context takeover to reduce memory.
    /// Shared mode also disables context takeover since the encoder pool
    /// cannot maintain context across different connections.
    /// Larger dedicated modes enable it for better compression across messages.
    #[inline]
    pub fn context_takeover(&self) -> bool {
        !matches!(
            self,
            Compression::Disabled
                | Compression::Shared
                | Compression::Window1KB
                | Compression::Window2KB
        )
    }

    /// Convert to DeflateConfig
    #[cfg(feature = "permessage-deflate")]
    pub fn to_deflate_config(&self) -> Option<crate::deflate::DeflateConfig> {
        let window_bits = self.window_bits()?;
        let no_context_takeover = !self.context_takeover();

        Some(crate::deflate::DeflateConfig {
            server_max_window_bits: window_bits,
            client_max_window_bits: window_bits,
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            compression_level: match self {
                Compression::Window1KB => 1, // Fast for small windows
                Compression::Window2KB | Compression::Window4KB => 3, // Balanced
                Compression::Window8KB | Compression::Window16KB => 5, // Good compression
                _ => 6,                      // Best for 32KB
            },
            compression_threshold: self.compression_threshold(),
        })
    }
}

/// Configuration for WebSocket connections
///
/// Mirrors uWebSockets configuration options for familiarity.
///
/// # Example
///
/// ```
/// use sockudo_ws::{Config, Compression};
///
/// let config = Config::builder()
///     .compression(Compression::Shared)
///     .max_payload_length(16 * 1024)
///     .idle_timeout(10)
///     .max_backpressure(1024 * 1024)
///     .build();
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Validate incoming Text payloads as UTF-8 (default: true).
    ///
    /// Disabling this relaxes RFC 6455 text validation: received `Message::Text`
    /// payloads may contain invalid UTF-8. Consumers must validate bytes before
    /// using unchecked string conversions. Close reasons remain validated, and
    /// `Message::as_text` and `Message::into_text` still check their input.
    /// This setting is fixed when the connection is constructed.
    pub validate_text_utf8: bool,
    /// Maximum message size (default: 64MB)
    /// Equivalent to uWS maxPayloadLength
    pub max_message_size: usize,
    /// Maximum frame size (default: 16MB)
    pub max_frame_size: usize,
    /// Write buffer size for corking (default: 16KB)
    pub write_buffer_size: usize,
    /// Compression mode (default: Disabled)
    pub compression: Compression,
    /// Hard inbound-idle timeout in seconds (default: 120, 0 = disabled).
    ///
    /// Every valid inbound frame resets this independent deadline. When it
    /// ties a Pong deadline, the more specific Pong timeout wins.
    pub idle_timeout: u32,
    /// Queued-write backpressure threshold in bytes (default: 1 MiB).
    /// The Tokio Sink drains pending encoded bytes before accepting another
    /// message when this threshold is reached. One message may exceed it;
    /// this is not an outbound message size limit or a peak memory bound.
    /// Zero drains any pending output before accepting another message.
    /// Split and Compio sends already drain each message before returning.
    ///
    /// Tokio `feed`, `send_all`, and `forward` may wait here. A blocked unified
    /// write does not drive reads or inbound deadlines; applications must choose
    /// their slow-consumer policy. With [`Config::write_coalescing`] enabled,
    /// readiness drains at the smaller of this threshold and the high-water
    /// mark (default: 64 KiB); disabling batching drains any pending output.
    pub max_backpressure: usize,
    /// Send native Pings after inbound inactivity (default: true).
    ///
    /// Disabling this does not disable mandatory automatic Pong or Close
    /// responses.
    pub auto_ping: bool,
    /// Inbound inactivity before a native Ping (default: 30, 0 = disabled).
    pub ping_interval: u32,
    /// Time to wait for the matching Pong after a native Ping is flushed
    /// (default: 10 seconds, 0 = no Pong deadline).
    pub pong_timeout: u32,
    /// Close code used when a native Pong deadline expires (default: 1001).
    pub pong_timeout_close_code: u16,
    /// Close reason used when a native Pong deadline expires.
    pub pong_timeout_close_reason: String,
    /// Maximum time spent flushing a timeout/handshake Close and shutting down
    /// the transport (default: 5 seconds). A Tokio split `close()` starts this
    /// budget when local closing begins, including time waiting for the shared
    /// sink. Zero makes that path try the sink and write once without waiting.
    /// Unified streams start one absolute budget when a local Close is queued
    /// or a peer Close is received. It covers Close/control writes, waiting for
    /// the peer Close, and transport shutdown; incoming traffic never resets it.
    /// After expiry, every budget permits at most one nonwaiting transport read
    /// across subsequent unified `next()` calls. A cancelled owned read is never
    /// restarted. Zero also limits closing writes and shutdown to a single poll.
    /// Deadline expiry alone preserves parsed messages in wire order. A control
    /// write failure or timeout instead terminates immediately and may discard
    /// undelivered Ping/data messages; accepted Close remains protected.
    /// A poll does not guarantee completion: Compio drivers may need a runtime
    /// turn even to write Close or shut down an otherwise writable socket.
    /// No minimum grace period is added. Cleanup cannot
    /// replace an accepted peer Close or an existing idle/Pong timeout error.
    pub close_timeout: u32,
    /// Enable batching across Tokio `SinkExt::feed` calls (default: true).
    ///
    /// Readiness drains at the smaller of the high-water mark and
    /// [`Config::max_backpressure`] before accepting another message. Disabling
    /// batching drains any pending output before accepting another message.
    /// `SinkExt::send` and `SinkExt::flush` always flush regardless of this
    /// setting. Use `feed` followed by `flush` at batch boundaries, before
    /// waiting for replies or pausing reads. The read path also flushes before
    /// waiting for more transport input. One message may exceed either threshold.
    pub write_coalescing: bool,
    /// Hold the receive and cork buffers only while they hold data
    /// (default: false).
    ///
    /// When enabled, a unified stream allocates no receive window until
    /// input arrives: an empty window is released, and the next read goes
    /// through a small stack buffer first, so a connection waiting for input
    /// owns no receive buffer. The cork buffer is allocated on the first
    /// write and released once a flush has written everything. Payloads
    /// already delivered keep their own reference to the bytes they came
    /// from. This trades one allocation per read burst and per flush for
    /// memory: meant for servers holding many mostly idle connections.
    /// Split streams ignore it.
    pub release_idle_buffers: bool,
    /// Per-message deflate configuration (requires `permessage-deflate` feature)
    #[cfg(feature = "permessage-deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,

    // Transport-specific configurations
    /// HTTP/2 configuration (requires `http2` feature)
    #[cfg(feature = "http2")]
    pub http2: Http2Config,
    /// HTTP/3 configuration (requires `http3` feature)
    #[cfg(feature = "http3")]
    pub http3: Http3Config,
    /// io_uring configuration (requires `io-uring` feature, Linux only)
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub io_uring: IoUringConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            validate_text_utf8: true,
            max_message_size: 64 * 1024 * 1024,
            max_frame_size: 16 * 1024 * 1024,
            write_buffer_size: CORK_BUFFER_SIZE,
            compression: Compression::Disabled,
            idle_timeout: 120,
            max_backpressure: 1024 * 1024,
            auto_ping: true,
            ping_interval: 30,
            pong_timeout: 10,
            pong_timeout_close_code: crate::error::CloseReason::GOING_AWAY,
            pong_timeout_close_reason: "Pong reply not received in time".to_string(),
            close_timeout: 5,
            write_coalescing: true,
            release_idle_buffers: false,
            #[cfg(feature = "permessage-deflate")]
            deflate: None,
            #[cfg(feature = "http2")]
            http2: Http2Config::default(),
            #[cfg(feature = "http3")]
            http3: Http3Config::default(),
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            io_uring: IoUringConfig::default(),
        }
    }
}

impl Config {
    /// Create a new config builder
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new()
    }

    /// Create config with uWebSockets-style defaults
    pub fn uws_defaults() -> Self {
        Self {
            validate_text_utf8: true,
            max_message_size: 16 * 1024,
            max_frame_size: 16 * 1024,
            write_buffer_size: CORK_BUFFER_SIZE,
            compression: Compression::Shared,
            // A hard inbound-idle deadline shorter than the first Ping is
            // surprising. uWS-style defaults therefore leave hard idle
            // detection disabled and use correlated Ping/Pong detection.
            idle_timeout: 0,
            max_backpressure: 1024 * 1024,
            auto_ping: true,
            ping_interval: 30,
            pong_timeout: 10,
            pong_timeout_close_code: crate::error::CloseReason::GOING_AWAY,
            pong_timeout_close_reason: "Pong reply not received in time".to_string(),
            close_timeout: 5,
            write_coalescing: true,
            release_idle_buffers: false,
            #[cfg(feature = "permessage-deflate")]
            deflate: None,
            #[cfg(feature = "http2")]
            http2: Http2Config::default(),
            #[cfg(feature = "http3")]
            http3: Http3Config::default(),
            #[cfg(all(feature = "io-uring", target_os = "linux"))]
            io_uring: IoUringConfig::default(),
        }
    }
}

/// Builder for WebSocket configuration
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Create a new builder with default values
    pub fn new() -> Self {
        Self {
            config: Config::default(),
        }
    }

    /// Configure incoming Text validation; see [`Config::validate_text_utf8`].
    pub fn validate_text_utf8(mut self, enabled: bool) -> Self {
        self.config.validate_text_utf8 = enabled;
        self
    }

    /// Set compression mode
    pub fn compression(mut self, compression: Compression) -> Self {
        self.config.compression = compression;
        self
    }

    /// Set maximum payload/message length (uWS: maxPayloadLength)
    pub fn max_payload_length(mut self, size: usize) -> Self {
        self.config.max_message_size = size;
        self.config.max_frame_size = size;
        self
    }

    /// Set maximum message size
    pub fn max_message_size(mut self, size: usize) -> Self {
        self.config.max_message_size = size;
        self
    }

    /// Set maximum frame size
    pub fn max_frame_size(mut self, size: usize) -> Self {
        self.config.max_frame_size = size;
        self
    }

    /// Set idle timeout in seconds (uWS: idleTimeout)
    /// Set to 0 to disable
    pub fn idle_timeout(mut self, seconds: u32) -> Self {
        self.config.idle_timeout = seconds;
        self
    }

    /// Set maximum backpressure before dropping connection (uWS: maxBackpressure)
    pub fn max_backpressure(mut self, bytes: usize) -> Self {
        self.config.max_backpressure = bytes;
        self
    }

    /// Hold the receive and cork buffers only while they hold data; see
    /// [`Config::release_idle_buffers`].
    pub fn release_idle_buffers(mut self, enabled: bool) -> Self {
        self.config.release_idle_buffers = enabled;
        self
    }

    /// Set write buffer size for corking
    pub fn write_buffer_size(mut self, size: usize) -> Self {
        self.config.write_buffer_size = size;
        self
    }

    /// Enable or disable auto ping
    pub fn auto_ping(mut self, enabled: bool) -> Self {
        self.config.auto_ping = enabled;
        self
    }

    /// Set ping interval in seconds
    pub fn ping_interval(mut self, seconds: u32) -> Self {
        self.config.ping_interval = seconds;
        self
    }

    /// Set the matching Pong deadline in seconds.
    ///
    /// A value of 0 disables the deadline. The connection still keeps exactly
    /// one Ping outstanding until its matching Pong arrives.
    pub fn pong_timeout(mut self, seconds: u32) -> Self {
        self.config.pong_timeout = seconds;
        self
    }

    /// Set the Close code and reason used when the Pong deadline expires.
    ///
    /// The reason is truncated to the RFC 6455 control-frame limit when encoded.
    pub fn pong_timeout_close(mut self, code: u16, reason: impl Into<String>) -> Self {
        self.config.pong_timeout_close_code = code;
        self.config.pong_timeout_close_reason = reason.into();
        self
    }

    /// Set the bounded Close flush/shutdown deadline in seconds.
    pub fn close_timeout(mut self, seconds: u32) -> Self {
        self.config.close_timeout = seconds;
        self
    }

    /// Enable or disable batching across Tokio `SinkExt::feed` calls (see
    /// [`Config::write_coalescing`]).
    pub fn write_coalescing(mut self, enabled: bool) -> Self {
        self.config.write_coalescing = enabled;
        self
    }

    // ========================================================================
    // Per-Message Deflate Configuration Methods
    // ========================================================================

    /// Enable per-message deflate compression with default configuration
    #[cfg(feature = "permessage-deflate")]
    pub fn enable_deflate(mut self) -> Self {
        self.config.deflate = Some(crate::deflate::DeflateConfig::default());
        self
    }

    /// Set per-message deflate configuration
    #[cfg(feature = "permessage-deflate")]
    pub fn deflate_config(mut self, config: crate::deflate::DeflateConfig) -> Self {
        self.config.deflate = Some(config);
        self
    }

    // ========================================================================
    // HTTP/2 Configuration Methods
    // ========================================================================

    /// Set HTTP/2 initial stream window size
    #[cfg(feature = "http2")]
    pub fn http2_stream_window_size(mut self, size: u32) -> Self {
        self.config.http2.initial_stream_window_size = size;
        self
    }

    /// Set HTTP/2 initial connection window size
    #[cfg(feature = "http2")]
    pub fn http2_connection_window_size(mut self, size: u32) -> Self {
        self.config.http2.initial_connection_window_size = size;
        self
    }

    /// Advertise the largest HTTP/2 frame payload accepted from the peer.
    /// The valid range is 16,384..=16,777,215; invalid values fail the handshake.
    /// Defaults to 16 KiB. Larger frames trade framing overhead for memory and
    /// latency of other streams on the same connection.
    #[cfg(feature = "http2")]
    pub fn http2_max_frame_size(mut self, size: u32) -> Self {
        self.config.http2.max_frame_size = size;
        self
    }

    /// Set HTTP/2 maximum concurrent streams
    #[cfg(feature = "http2")]
    pub fn http2_max_streams(mut self, count: u32) -> Self {
        self.config.http2.max_concurrent_streams = count;
        self
    }

    /// Enable or disable HTTP/2 Extended CONNECT protocol (RFC 8441)
    #[cfg(feature = "http2")]
    pub fn http2_enable_connect_protocol(mut self, enabled: bool) -> Self {
        self.config.http2.enable_connect_protocol = enabled;
        self
    }

    // ========================================================================
    // HTTP/3 Configuration Methods
    // ========================================================================

    /// Set HTTP/3 maximum idle timeout in milliseconds.
    /// Values exceeding the QUIC variable-integer range are rejected when
    /// creating a built-in endpoint; zero disables the local timeout.
    #[cfg(feature = "http3")]
    pub fn http3_idle_timeout(mut self, ms: u64) -> Self {
        self.config.http3.max_idle_timeout_ms = ms;
        self
    }

    /// Set HTTP/3 initial stream window size.
    /// Zero and values exceeding the QUIC variable-integer range are rejected
    /// when creating a built-in endpoint.
    #[cfg(feature = "http3")]
    pub fn http3_stream_window_size(mut self, size: u64) -> Self {
        self.config.http3.initial_stream_window_size = size;
        self
    }

    /// Request HTTP/3 0-RTT support.
    /// The built-in client and server reject `true`; their H3 layer cannot
    /// safely restore peer settings after resumption.
    #[cfg(feature = "http3")]
    pub fn http3_enable_0rtt(mut self, enabled: bool) -> Self {
        self.config.http3.enable_0rtt = enabled;
        self
    }

    /// Enable or disable HTTP/3 Extended CONNECT protocol (RFC 9220)
    #[cfg(feature = "http3")]
    pub fn http3_enable_connect_protocol(mut self, enabled: bool) -> Self {
        self.config.http3.enable_connect_protocol = enabled;
        self
    }

    /// Set HTTP/3 maximum accepted UDP payload size (1200–65527 bytes).
    /// Values outside this range are rejected when creating a built-in endpoint.
    /// Larger values linearly increase endpoint receive-buffer memory.
    #[cfg(feature = "http3")]
    pub fn http3_max_udp_payload_size(mut self, size: u16) -> Self {
        self.config.http3.max_udp_payload_size = size;
        self
    }

    // ========================================================================
    // io_uring Configuration Methods
    // ========================================================================

    /// Set io_uring registered buffer count and size
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub fn io_uring_buffers(mut self, count: usize, size: usize) -> Self {
        self.config.io_uring.registered_buffer_count = count;
        self.config.io_uring.registered_buffer_size = size;
        self
    }

    /// Enable or disable io_uring SQPOLL mode
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub fn io_uring_sqpoll(mut self, enabled: bool) -> Self {
        self.config.io_uring.sqpoll = enabled;
        self
    }

    /// Set io_uring submission queue entries
    #[cfg(all(feature = "io-uring", target_os = "linux"))]
    pub fn io_uring_sq_entries(mut self, entries: u32) -> Self {
        self.config.io_uring.sq_entries = entries;
        self
    }

    /// Build the configuration
    pub fn build(self) -> Config {
        self.config
    }
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Prelude module for convenient imports
pub mod prelude {
    pub use crate::Config;
    pub use crate::error::{Error, Result};
    pub use crate::frame::{Frame, OpCode};
    pub use crate::protocol::{Message, Role};
    #[cfg(feature = "tokio-runtime")]
    pub use crate::pubsub::{PubSub, PublishResult, SubscriberId};
    #[cfg(feature = "tokio-runtime")]
    pub use crate::stream::WebSocketStream;
    pub use crate::transport::{Http1, Http2, Http3, Transport};

    #[cfg(feature = "compio-runtime")]
    pub use crate::compio::CompioWebSocketStream;

    #[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
    pub use crate::extended_connect::ExtendedConnectRequest;

    #[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
    pub use crate::server::WebSocketServer;

    #[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
    pub use crate::client::WebSocketClient;

    #[cfg(all(feature = "tokio-runtime", any(feature = "http2", feature = "http3")))]
    pub use crate::multiplex::MultiplexedConnection;
}

#[cfg(all(test, feature = "tokio-runtime", feature = "http2"))]
mod tokio_http2_tests {
    use futures_util::{SinkExt, StreamExt};

    use crate::{Config, Http2, Message, WebSocketClient, WebSocketServer};

    #[tokio::test]
    async fn tokio_http2_echo_round_trip() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);

        let server_task = tokio::spawn(async move {
            let server = WebSocketServer::<Http2>::new(Config::default());
            server
                .serve(server_io, |mut ws, req| async move {
                    assert_eq!(req.path, "/h2");
                    let msg = ws.next().await.unwrap().unwrap();
                    assert!(matches!(&msg, Message::Text(text) if text == "h2"));
                    ws.send(msg).await.unwrap();
                    // End the H2 send stream before dropping it, retaining queued DATA.
                    ws.close(1000, "").await.unwrap();
                })
                .await
                .unwrap();
        });

        let client = WebSocketClient::<Http2>::new(Config::default());
        let mut ws = client
            .connect(client_io, "https://localhost/h2", None)
            .await
            .unwrap();

        ws.send(Message::text("h2")).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "h2"));

        assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))));
        drop(ws);
        server_task.await.unwrap();
    }

    #[tokio::test]
    async fn tokio_http2_multiplexed_round_trip() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);

        let server_task = tokio::spawn(async move {
            let server = WebSocketServer::<Http2>::new(Config::default());
            server
                .serve(server_io, |mut ws, req| async move {
                    assert!(matches!(req.path.as_str(), "/one" | "/two"));
                    let msg = ws.next().await.unwrap().unwrap();
                    ws.send(msg).await.unwrap();
                    // End the H2 send stream before dropping it, retaining queued DATA.
                    ws.close(1000, "").await.unwrap();
                })
                .await
                .unwrap();
        });

        let client = WebSocketClient::<Http2>::new(Config::default());
        let mut mux = client.connect_multiplexed(client_io).await.unwrap();
        let mut one = mux
            .open_websocket("https://localhost/one", None)
            .await
            .unwrap();
        let mut two = mux
            .open_websocket("https://localhost/two", None)
            .await
            .unwrap();

        one.send(Message::text("one")).await.unwrap();
        two.send(Message::text("two")).await.unwrap();

        let echoed = one.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "one"));
        let echoed = two.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "two"));

        assert!(matches!(one.next().await, Some(Ok(Message::Close(_)))));
        assert!(matches!(two.next().await, Some(Ok(Message::Close(_)))));
        drop(one);
        drop(two);
        drop(mux);
        server_task.await.unwrap();
    }
}

#[cfg(all(test, feature = "tokio-runtime", feature = "http3"))]
mod tokio_http3_tests {
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};

    use crate::{Config, Http3, Message, WebSocketClient, WebSocketServer};

    fn install_test_crypto_provider() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }

    #[tokio::test]
    async fn tokio_http3_echo_round_trip() {
        install_test_crypto_provider();

        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();

        let cert_der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
        let key_der =
            rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der()).unwrap();

        let server_tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key_der)
            .unwrap();
        let quic_config = quinn::crypto::rustls::QuicServerConfig::try_from(server_tls).unwrap();
        let server_config = quinn::ServerConfig::with_crypto(Arc::new(quic_config));
        let endpoint =
            quinn::Endpoint::server(server_config, "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = endpoint.local_addr().unwrap();
        let server = WebSocketServer::<Http3>::from_endpoint(endpoint.clone(), Config::default());

        let server_task = tokio::spawn(async move {
            server
                .serve(|mut ws, req| async move {
                    assert_eq!(req.path, "/h3");
                    let msg = ws.next().await.unwrap().unwrap();
                    assert!(matches!(&msg, Message::Text(text) if text == "h3"));
                    ws.send(msg).await.unwrap();
                })
                .await
                .unwrap();
        });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        let client_tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();

        let client = WebSocketClient::<Http3>::new(Config::default());
        let mut ws = client
            .connect(addr, "localhost", "/h3", client_tls)
            .await
            .unwrap();

        ws.send(Message::text("h3")).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "h3"));

        drop(ws);
        endpoint.close(quinn::VarInt::from_u32(0x100), b"done");
        server_task.await.unwrap();
    }

    #[tokio::test]
    async fn tokio_http3_multiplexed_round_trip() {
        install_test_crypto_provider();

        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();

        let cert_der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
        let key_der =
            rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der()).unwrap();

        let server_tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key_der)
            .unwrap();
        let quic_config = quinn::crypto::rustls::QuicServerConfig::try_from(server_tls).unwrap();
        let server_config = quinn::ServerConfig::with_crypto(Arc::new(quic_config));
        let endpoint =
            quinn::Endpoint::server(server_config, "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = endpoint.local_addr().unwrap();
        let server = WebSocketServer::<Http3>::from_endpoint(endpoint.clone(), Config::default());

        let server_task = tokio::spawn(async move {
            server
                .serve(|mut ws, req| async move {
                    assert!(matches!(req.path.as_str(), "/one" | "/two"));
                    let msg = ws.next().await.unwrap().unwrap();
                    ws.send(msg).await.unwrap();
                })
                .await
                .unwrap();
        });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert_der).unwrap();
        let client_tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();

        let client = WebSocketClient::<Http3>::new(Config::default());
        let mut mux = client
            .connect_multiplexed(addr, "localhost", client_tls)
            .await
            .unwrap();

        let mut one = mux.open_websocket("/one", None).await.unwrap();
        let mut two = mux.open_websocket("/two", None).await.unwrap();

        one.send(Message::text("one")).await.unwrap();
        two.send(Message::text("two")).await.unwrap();

        let echoed = one.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "one"));
        let echoed = two.next().await.unwrap().unwrap();
        assert!(matches!(echoed, Message::Text(text) if text == "two"));

        drop(one);
        drop(two);
        drop(mux);
        endpoint.close(quinn::VarInt::from_u32(0x100), b"done");
        server_task.await.unwrap();
    }
}
