//! Each client's endpoint: the hub's own for anonymous clients, or the
//! hub's URL with the client's token as the `token` query parameter.

use super::Minter;
use crate::error::Result;
use crate::lean::{Endpoint, Protocol};

/// The endpoints of one share's clients, their tokens signed up front.
#[derive(Debug, Clone)]
pub struct ClientEndpoints {
    /// The hub's endpoint, without a token.
    base: Endpoint,
    /// One per client, when they authenticate.
    own: Vec<Endpoint>,
}

impl ClientEndpoints {
    /// Resolves `url` (a hub speaking `protocol`) once; with `tokens`,
    /// signs a token for each of clients `first..first + count` (the run's
    /// numbering) and gives each its own endpoint.
    pub async fn resolve(
        url: &str,
        protocol: Protocol,
        tokens: Option<&Minter>,
        first: usize,
        count: usize,
    ) -> Result<Self> {
        let base = Endpoint::resolve_for(url, protocol).await?;
        let own = match tokens {
            None => Vec::new(),
            Some(minter) => minter
                .mint_clients(first, count)?
                .iter()
                .map(|token| base.with_query_param("token", token))
                .collect(),
        };
        Ok(Self { base, own })
    }

    /// The hub's endpoint, without a token.
    pub fn base(&self) -> &Endpoint {
        &self.base
    }

    /// The endpoint of the share's client `i` (from 0).
    pub fn client(&self, i: usize) -> &Endpoint {
        self.own.get(i).unwrap_or(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn each_client_carries_its_own_token() {
        let url = "ws://127.0.0.1:9/ws?codec=json";
        let sb = Protocol::Switchboard;
        let anonymous = ClientEndpoints::resolve(url, sb, None, 0, 3).await.unwrap();
        assert_eq!(anonymous.client(2).url.path, "/ws?codec=json");
        let minter =
            Minter::new("0123456789abcdef0123456789abcdef", Duration::from_secs(60)).unwrap();
        let signed = ClientEndpoints::resolve(url, sb, Some(&minter), 5, 2)
            .await
            .unwrap();
        let token = minter.mint("user-6").unwrap();
        assert_eq!(
            signed.client(1).url.path,
            format!("/ws?codec=json&token={token}")
        );
        assert_eq!(signed.base().url.path, "/ws?codec=json");
        let sio = ClientEndpoints::resolve(
            "ws://127.0.0.1:9/socket.io/",
            Protocol::SocketIo,
            None,
            0,
            1,
        )
        .await
        .unwrap();
        assert_eq!(
            sio.client(0).url.path,
            "/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(sio.client(0).protocol, Protocol::SocketIo);
    }
}
