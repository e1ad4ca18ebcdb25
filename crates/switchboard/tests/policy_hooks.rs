//! Join and relay hooks that choose the client's error and rewrite a
//! relay's data (the application's back end decides, PROTOCOL.md section
//! 10), over real sockets.

mod common;

use common::TestServer;
use serde_json::{Value, json};
use switchboard::{HandlerError, Hub, RelayRequest, Socket};

#[tokio::test]
async fn a_join_hook_chooses_the_error_the_client_gets() {
    let server = TestServer::start(Hub::builder().join_hook(
        |_s: Socket, room: String| async move {
            match room.as_str() {
                "open" => Ok(()),
                "down" => Err(HandlerError::with_code(
                    "unavailable",
                    "the back end did not answer",
                )),
                _ => Err(HandlerError::with_code(
                    "forbidden",
                    format!("not `{room}`"),
                )),
            }
        },
    ))
    .await;
    let (mut client, id) = server.joined_client().await;
    let reply = client.call("$join", json!({"room": "open"}), 1).await;
    assert_eq!(reply["data"], json!({"room": "open"}));
    let reply = client.call("$join", json!({"room": "down"}), 2).await;
    assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
    assert_eq!(reply["error"]["message"], "the back end did not answer");
    client
        .send(json!({"event": "$join", "data": {"room": "x"}}))
        .await;
    let error = client.recv().await;
    assert_eq!(
        (error["event"].as_str(), error["data"]["code"].as_str()),
        (Some("$error"), Some("forbidden"))
    );
    assert_eq!(server.hub.rooms_of(&id), ["open"]);
}

#[tokio::test]
async fn a_join_rule_answers_before_the_join_hook_is_asked() {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_saw = asked.clone();
    let builder = Hub::builder()
        .join_rule(|_s: &Socket, room: &str| {
            if room.starts_with("admin-") {
                Err(HandlerError::with_code("forbidden", "members only"))
            } else {
                Ok(())
            }
        })
        .join_hook(move |_s: Socket, room: String| {
            hook_saw.lock().unwrap().push(room.clone());
            async move {
                if room == "full" {
                    Err(HandlerError::with_code("limit", "the room is full"))
                } else {
                    Ok(())
                }
            }
        });
    let server = TestServer::start(builder).await;
    let (mut client, id) = server.joined_client().await;
    let reply = client.call("$join", json!({"room": "admin-1"}), 1).await;
    assert_eq!(
        reply["error"],
        json!({"code": "forbidden", "message": "members only"})
    );
    let reply = client.call("$join", json!({"room": "full"}), 2).await;
    assert_eq!(reply["error"]["code"], "limit", "{reply}");
    let reply = client.call("$join", json!({"room": "lobby"}), 3).await;
    assert_eq!(reply["data"], json!({"room": "lobby"}));
    assert_eq!(
        *asked.lock().unwrap(),
        ["full", "lobby"],
        "the rule refused admin-1 alone"
    );
    assert_eq!(server.hub.rooms_of(&id), ["lobby"]);
}

#[tokio::test]
async fn a_join_rule_alone_answers_on_the_connection_in_order() {
    let server = TestServer::start(Hub::builder().join_rule(|_s: &Socket, room: &str| {
        if room == "closed" {
            Err(HandlerError::with_code("forbidden", "closed"))
        } else {
            Ok(())
        }
    }))
    .await;
    let (mut client, id) = server.joined_client().await;
    // Joins, refusals and leaves in one frame, answered in order.
    client
        .send(json!([
            {"event": "$join", "data": {"room": "a"}, "ack": 1},
            {"event": "$join", "data": {"room": "closed"}, "ack": 2},
            {"event": "$join", "data": {"room": "b"}, "ack": 3},
            {"event": "$leave", "data": {"room": "a"}, "ack": 4}
        ]))
        .await;
    let mut replies = Vec::new();
    while replies.len() < 4 {
        let message = client.recv().await;
        if message.get("reply").is_some() {
            replies.push(message);
        }
    }
    let order: Vec<u64> = replies
        .iter()
        .map(|r| r["reply"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [1, 2, 3, 4]);
    assert_eq!(replies[1]["error"]["code"], "forbidden", "{}", replies[1]);
    assert_eq!(server.hub.rooms_of(&id), ["b"]);
}

#[tokio::test]
async fn a_relay_hook_sees_the_data_and_may_replace_or_refuse_it() {
    let server = TestServer::start(Hub::builder().relay_hook(
        |socket: Socket, request: RelayRequest, data: Value| async move {
            if !socket.in_room(&request.room) {
                return Err(HandlerError::with_code("forbidden", "members only"));
            }
            match data.as_str() {
                Some("spam") => Err(HandlerError::with_code("moderated", "no spam here")),
                Some(text) if text.contains("darn") => {
                    Ok(Some(json!(text.replace("darn", "****"))))
                }
                _ => Ok(None),
            }
        },
    ))
    .await;
    let (mut sender, _) = server.joined_client().await;
    let (mut receiver, _) = server.joined_client().await;
    for client in [&mut sender, &mut receiver] {
        let reply = client.call("$join", json!({"room": "chat"}), 1).await;
        assert!(reply.get("error").is_none(), "{reply}");
    }
    let relay =
        |data: Value, ack: u64| json!({"event": "say", "room": "chat", "data": data, "ack": ack});
    sender.send(relay(json!("hello"), 2)).await;
    assert!(sender.recv().await.get("error").is_none());
    assert_eq!(receiver.recv_event("say").await["data"], "hello");
    sender.send(relay(json!("darn it"), 3)).await;
    assert!(sender.recv().await.get("error").is_none());
    assert_eq!(receiver.recv_event("say").await["data"], "**** it");
    sender.send(relay(json!("spam"), 4)).await;
    let reply = sender.recv().await;
    assert_eq!(reply["error"]["code"], "moderated", "{reply}");
    receiver.assert_silent(300).await;
    // A non-member is refused by the hook's own rule.
    let (mut outsider, _) = server.joined_client().await;
    outsider.send(relay(json!("hi"), 5)).await;
    assert_eq!(outsider.recv().await["error"]["code"], "forbidden");
}
