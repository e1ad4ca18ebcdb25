//! The one dial stack of the crate, used by the reconnecting client and by
//! the pool: the URL parser ([`url`]), the TLS setup ([`tls`]), the byte
//! stream ([`stream`]), the HTTP/1.1 upgrade ([`upgrade`]) and the
//! WebSocket over the pinned `sockudo-ws` codec ([`websocket`]); one
//! [`DialError`] for all of it.

mod error;
pub(crate) mod stream;
pub(crate) mod tls;
pub(crate) mod upgrade;
pub(crate) mod url;
pub(crate) mod websocket;

pub use error::DialError;
pub use tls::tls_config_with_roots;
