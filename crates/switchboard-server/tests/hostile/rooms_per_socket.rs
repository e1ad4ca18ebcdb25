//! Attack 2: one socket joins rooms without end (400,000 `$join`, 1.5 MB on
//! the wire, cost +238 MiB, kept after the link dropped). Now a socket is
//! in at most `--max-rooms-per-socket` rooms (default 1,000): every further
//! `$join` gets `$error` `limit`, counted in
//! `switchboard_errors_sent_total{code="limit"}`; room names are at most
//! 256 bytes (longer: `bad_message`).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{WsClient, within};

use crate::support::AttackedServer;

const JOINS: usize = 400_000;
const PER_FRAME: usize = 1000;
const MAX_ROOMS: usize = 1000;

#[tokio::test]
async fn a_socket_joins_at_most_max_rooms() {
    let target = AttackedServer::start(&[]).await;
    let client = WsClient::connect_at(target.addr, "/ws").await;
    let (mut sink, mut stream) = client.ws.split();

    // The hub's answers are read as they come (a client that does not read
    // is slowed down by backpressure, not served faster).
    let reader = tokio::spawn(async move {
        let mut limited = 0;
        while limited < JOINS - MAX_ROOMS {
            match stream.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    // Checked without parsing: the reader keeps up.
                    assert!(
                        text.as_str()
                            .starts_with(r#"{"event":"$error","data":{"code":"limit""#),
                        "{text}"
                    );
                    limited += 1;
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                other => panic!("the joining client was closed or failed: {other:?}"),
            }
        }
        stream
    });
    let writer = async {
        for frame in 0..JOINS / PER_FRAME {
            let batch: Vec<Value> = (0..PER_FRAME)
                .map(|i| json!({"event": "$join", "data": {"room": format!("{frame}.{i}")}}))
                .collect();
            sink.send(WsMessage::text(Value::Array(batch).to_string()))
                .await
                .expect("send");
            if frame % 100 == 0 {
                target.assert_served().await;
            }
        }
    };
    // ~15 s on a debug build: longer than one awaited event may take.
    let attack = std::time::Duration::from_secs(60);
    tokio::time::timeout(attack, writer)
        .await
        .expect("400,000 joins sent within a minute");
    let mut stream = tokio::time::timeout(attack, reader)
        .await
        .expect("399,000 `limit` errors within a minute")
        .unwrap();
    // Already a member: allowed. A name over 256 bytes: a bad message.
    let mut call = async |room: String, ack: u64| {
        let join = json!({"event": "$join", "data": {"room": room}, "ack": ack});
        sink.send(WsMessage::text(join.to_string())).await.unwrap();
        within("a $join reply", async {
            loop {
                if let Some(Ok(WsMessage::Text(text))) = stream.next().await {
                    let message: Value = serde_json::from_str(text.as_str()).unwrap();
                    if message["reply"] == ack || message["event"] == "$error" {
                        return message;
                    }
                }
            }
        })
        .await
    };
    let reply = call("0.0".to_owned(), 1).await;
    assert_eq!(reply["data"]["room"], "0.0", "{reply}");
    // A 60 KB name: `$error` `bad_message` (too invalid to be answered
    // as a reply).
    let reply = call("x".repeat(60_000), 2).await;
    assert_eq!(reply["event"], "$error", "{reply}");
    assert_eq!(reply["data"]["code"], "bad_message", "{reply}");

    let limited = target
        .metric_f64("switchboard_errors_sent_total{code=\"limit\"}")
        .await;
    assert_eq!(limited as usize, JOINS - MAX_ROOMS);
    // The server's own probe rooms come and go; this socket holds 1,000.
    assert!(target.metric_f64("switchboard_rooms").await as usize <= MAX_ROOMS + 2);
    target.assert_served().await;
    target.assert_growth_below("400,000 $join on one socket", 24 * 1024);
}
