//! A first application using Switchboard from outside its workspace: it
//! starts a hub on a free port, connects the Rust client to it, emits an
//! event with an ack and checks the answer. Exits 0 when all went well.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::{HandlerError, Hub};
use switchboard_client::client;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = Hub::builder()
        .on("echo", |_socket, data: Value| async move {
            Ok::<_, HandlerError>(json!({ "echoed": data }))
        })
        .build();
    let listener = switchboard::listen(([127, 0, 0, 1], 0)).await?;
    let addr = listener.local_addr()?;
    // `serve` mounts the hub at `/`, until `shutdown`.
    let server = tokio::spawn({
        let hub = hub.clone();
        async move { hub.serve(listener).await }
    });

    let url = format!("ws://{addr}/");
    let client = tokio::time::timeout(WAIT, client::connect(&url).connect()).await??;
    let answer: Value = client
        .emit_with_ack("echo", json!({ "n": 42 }), WAIT)
        .await?;
    if answer != json!({ "echoed": { "n": 42 } }) {
        return Err(format!("unexpected answer to the ack: {answer}").into());
    }
    println!("ack answered: {answer}");

    client.close().await;
    tokio::time::timeout(WAIT, hub.shutdown()).await?;
    tokio::time::timeout(WAIT, server).await???;
    Ok(())
}
