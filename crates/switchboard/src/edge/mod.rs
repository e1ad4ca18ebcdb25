//! The HTTP edge (issue 15): the accept loop and its timeouts, request
//! bodies, idle connections, long-polling CORS, and `listen`; with the
//! `tls` feature, TLS termination in the accept loop.

pub(crate) mod activity;
pub(crate) mod body;
pub(crate) mod cors;
pub(crate) mod listen;
pub(crate) mod pending;
pub(crate) mod serve;
#[cfg(feature = "tls")]
pub(crate) mod tls;
#[cfg(feature = "tls")]
pub(crate) mod tls_config;
