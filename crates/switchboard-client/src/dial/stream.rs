//! The byte stream under a WebSocket or a long-polling request: TCP, and
//! TLS over it for `wss://` / `https://`.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

use super::error::DialError;
use super::tls::connect_tls;
use super::url::WsUrl;

/// Any byte stream a link can run on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed byte stream: TCP or TLS over TCP.
pub(crate) type BoxIo = Box<dyn Io>;

/// Opens TCP (and TLS for `wss://`) to the URL's host.
pub(crate) async fn open(url: &WsUrl, tls: &Arc<ClientConfig>) -> Result<BoxIo, DialError> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(DialError::Connect)?;
    let _ = tcp.set_nodelay(true);
    if !url.tls {
        return Ok(Box::new(tcp));
    }
    Ok(Box::new(connect_tls(&url.host, tcp, tls).await?))
}
