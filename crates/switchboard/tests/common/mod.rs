//! Test support: a hub on 127.0.0.1:0; the WebSocket and long-polling
//! clients, HTTP and waits come from `switchboard-testkit`.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::net::SocketAddr;

use switchboard::{Hub, HubBuilder};
pub use switchboard_testkit::{
    Ended, PollClient, RawWsClient, WAIT, WsClient, eventually, http, http_json, within,
};
use tokio::net::TcpListener;

pub struct TestServer {
    pub hub: Hub,
    pub addr: SocketAddr,
}

impl TestServer {
    pub async fn start(builder: HubBuilder) -> Self {
        Self::start_hub(builder.build()).await
    }

    pub async fn start_hub(hub: Hub) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = hub.router("/ws");
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { hub, addr }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self) -> WsClient {
        WsClient::open(&self.url()).await
    }

    /// Connects and reads `$welcome`; returns the client and its socket id.
    pub async fn joined_client(&self) -> (WsClient, String) {
        let mut client = self.client().await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        let id = welcome["data"]["id"].as_str().unwrap().to_owned();
        (client, id)
    }
}
