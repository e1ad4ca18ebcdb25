//! Binding the listening socket with a backlog sized for reconnection
//! storms.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// The listen backlog [`listen`] asks for: how many connections the kernel
/// may hold completed but not yet accepted. Linux caps it at
/// `net.core.somaxconn` (4096 by default since 5.4).
///
/// `TcpListener::bind` asks for 128, as the standard library does. When
/// more clients than that connect at once (every client of a restarted
/// server reconnecting, or a flood the hub is busy refusing), the kernel
/// drops the excess: their handshakes are retried after a second or more,
/// and with SYN cookies some are reset after they have sent their request.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a TCP listener on `addr` with [`LISTEN_BACKLOG`] and
/// `SO_REUSEADDR` (so that a restarted server can bind at once), for
/// [`Hub::serve`](crate::Hub::serve) or
/// [`Hub::serve_router`](crate::Hub::serve_router).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = switchboard::listen(([127, 0, 0, 1], 8080)).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// What `socket`, `bind` or `listen` fail with: the address is in use or
/// not local, or it needs privileges.
pub async fn listen(addr: impl Into<SocketAddr>) -> std::io::Result<TcpListener> {
    let addr = addr.into();
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_accepts_on_the_port_it_bound() {
        let listener = listen(([127, 0, 0, 1], 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    }

    #[tokio::test]
    async fn a_port_in_use_is_an_error() {
        let first = listen(([127, 0, 0, 1], 0)).await.unwrap();
        let taken = first.local_addr().unwrap();
        let error = listen(taken).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    }
}
