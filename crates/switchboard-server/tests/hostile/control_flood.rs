//! Attack 7: floods of control messages in one batch (`$ping`, acked
//! `$join`, bad messages mixed with `$ping`). They used to overflow the
//! sender's send queue with the hub's own answers and close it with `4001`
//! before a single `$pong` went out. Now the answers are written as the
//! client reads them, or shed past the queue's high-water mark (counted in
//! `switchboard_answers_shed_total`); the connection stays open and usable.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{WsClient, within};
use crate::support::AttackedServer;

/// Sends `batch` as one frame, then reads until a reply to `probe_ack`
/// (an acked `$join` sent after it) arrives; returns every message read
/// before it. Fails on a close frame.
async fn flood(client: &mut WsClient, batch: Vec<Value>, probe_ack: u64) -> Vec<Value> {
    let frame = Value::Array(batch).to_string();
    assert!(frame.len() < 64 * 1024, "the batch is under the size limit");
    client.ws.send(WsMessage::text(frame)).await.expect("send");
    client
        .send(json!({"event": "$join", "data": {"room": "after-flood"}, "ack": probe_ack}))
        .await;
    within("the answers to a flood", async {
        let mut seen = Vec::new();
        loop {
            match client.ws.next().await {
                Some(Ok(WsMessage::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str()).unwrap();
                    if message["reply"] == probe_ack {
                        assert_eq!(message["data"]["room"], "after-flood", "{message}");
                        return seen;
                    }
                    seen.push(message);
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                other => panic!("the flooding client was closed or failed: {other:?}"),
            }
        }
    })
    .await
}

fn count(messages: &[Value], event: &str) -> usize {
    messages.iter().filter(|m| m["event"] == event).count()
}

#[tokio::test]
async fn control_floods_are_answered_or_shed_never_closed_with_4001() {
    let target = AttackedServer::start(&[]).await;
    let mut client = WsClient::connect_at(target.addr, "/ws").await;

    // 1,100 `$ping` in one 18 KB frame, ten times over.
    let pings = vec![json!({"event": "$ping"}); 1100];
    assert!(Value::Array(pings.clone()).to_string().len() >= 18_000);
    let mut pongs = 0;
    for round in 0..10 {
        let seen = flood(&mut client, pings.clone(), 1000 + round).await;
        let round_pongs = count(&seen, "$pong");
        assert!(round_pongs >= 1, "no $pong in round {round}");
        assert_eq!(round_pongs, seen.len(), "only pongs: {:?}", seen.first());
        pongs += round_pongs;
        target.assert_served().await;
    }
    let shed = target.metric_f64("switchboard_answers_shed_total").await;
    assert_eq!(
        shed as usize + pongs,
        11_000,
        "every $ping is answered or counted as shed"
    );

    // 1,100 acked `$join` of distinct rooms: every one is answered, the
    // last 100 (past the 1,000-room limit, less the one joined above) with
    // the error `limit`.
    let joins: Vec<Value> = (0..1100)
        .map(|i| json!({"event": "$join", "data": {"room": format!("r{i}")}, "ack": i}))
        .collect();
    let seen = flood(&mut client, joins, 5000).await;
    let replies: Vec<&Value> = seen.iter().filter(|m| m.get("reply").is_some()).collect();
    assert_eq!(replies.len(), 1100, "every acked $join is answered");
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply["reply"], i, "in order: {reply}");
    }
    let limited = replies
        .iter()
        .filter(|r| r["error"]["code"] == "limit")
        .count();
    assert_eq!(limited, 101, "1,000 rooms at most (one was joined before)");
    target.assert_served().await;

    // 2,000 messages alternating a bad message and `$ping`: never ten bad
    // ones in a row, so no 1008 either.
    let mixed: Vec<Value> = (0..2000)
        .map(|i| {
            if i % 2 == 0 {
                json!({"event": 5})
            } else {
                json!({"event": "$ping"})
            }
        })
        .collect();
    let shed_before = target.metric_f64("switchboard_answers_shed_total").await;
    let seen = flood(&mut client, mixed, 6000).await;
    let answered = count(&seen, "$error") + count(&seen, "$pong");
    assert!(count(&seen, "$error") >= 1 && count(&seen, "$pong") >= 1);
    let shed = target.metric_f64("switchboard_answers_shed_total").await - shed_before;
    assert_eq!(
        answered + shed as usize,
        2000,
        "answered or counted as shed"
    );

    assert_eq!(
        target
            .metric_f64("switchboard_slow_consumer_closes_total")
            .await,
        0.0,
        "no false 4001"
    );
    // Still usable: it leaves a room and joins another.
    let reply = client.request("$leave", json!({"room": "r0"})).await;
    assert_eq!(reply["data"]["room"], "r0", "{reply}");
    let reply = client.join("still-here").await;
    assert_eq!(reply["data"]["room"], "still-here", "{reply}");
    client.close_normally().await;
    target.assert_served().await;
    target.assert_growth_below("control-message floods", 16 * 1024);
}
