//! A chat client on the command line: joins a room, relays every line typed
//! on stdin to it, and prints what the others say.
//!
//! ```text
//! cargo run --release                        # the switchboard server: ws://127.0.0.1:8080/ws
//! cargo run -p switchboard-client --example chat_cli -- ws://127.0.0.1:8080/ws lobby alice
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_client::client::{self, Event, HandlerError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

#[derive(Debug, Serialize, Deserialize)]
struct Chat {
    name: String,
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".to_owned());
    let room = args.next().unwrap_or_else(|| "lobby".to_owned());
    let name = args.next().unwrap_or_else(|| "anonymous".to_owned());

    // Everything to print goes through one task, in order.
    let (out_tx, mut out_rx) = mpsc::channel::<String>(256);
    let printer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = out_rx.recv().await {
            let _ = stdout.write_all(line.as_bytes()).await;
            let _ = stdout.write_all(b"\n").await;
            let _ = stdout.flush().await;
        }
    });

    let chat_out = out_tx.clone();
    let client = client::connect(&url)
        .on("chat", move |chat: Chat| {
            let out = chat_out.clone();
            async move {
                let _ = out.send(format!("<{}> {}", chat.name, chat.text)).await;
                Ok::<_, HandlerError>(())
            }
        })
        .build()?;

    let mut events = client.events();
    let status_out = out_tx.clone();
    let status = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            let line = match event {
                Event::Connected { id, resumed, .. } => {
                    format!(
                        "* connected as {id}{}",
                        if resumed { " (resumed)" } else { "" }
                    )
                }
                Event::Disconnected {
                    reason,
                    will_reconnect,
                } => format!(
                    "* disconnected: {reason}{}",
                    if will_reconnect { ", reconnecting" } else { "" }
                ),
                Event::Reconnecting { attempt, delay } => {
                    format!("* reconnect attempt {attempt} in {delay:?}")
                }
                Event::Error { code, message } => format!("* error {code}: {message}"),
                Event::Joined { room, user, .. } => format!("* {user} is in {room}"),
                Event::Left { room, user } => format!("* {user} left {room}"),
                _ => continue,
            };
            if status_out.send(line).await.is_err() {
                break;
            }
        }
    });

    client.connected().await?;
    client.join(&room).await?;
    out_tx
        .send(format!("* joined {room}; type to chat, Ctrl-D to quit"))
        .await?;

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let chat = Chat {
            name: name.clone(),
            text: line,
        };
        let sent = client
            .to(&room)
            .emit_with_ack("chat", &chat, Duration::from_secs(5))
            .await;
        if let Err(error) = sent {
            out_tx.send(format!("* not sent: {error}")).await?;
        }
    }
    // End of input (Ctrl-D): close the session, then let every task run out. The status
    // task ends once the client's last handle is gone (its event channel closes), and the
    // printer once every sender of lines is gone (the `chat` handler's went with the client).
    client.close().await;
    drop(client);
    let _ = status.await;
    drop(out_tx);
    let _ = printer.await;
    Ok(())
}
