//! What each hook decides, and what the back end is told.

use serde_json::{Value, json};
use switchboard_server::options::*;

use switchboard_testkit::http_json;

use crate::common::{TestServer, WsClient, http};
use crate::fake::{FakeBackend, Reply};
use crate::{config, metric};

/// The `$welcome` data of a WebSocket handshake with these headers.
async fn welcome(url: &str, headers: &[(&str, &str)]) -> (WsClient, Value) {
    let mut client = WsClient::try_open_with(url, headers).await.unwrap();
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    client.id = welcome["data"]["id"].as_str().unwrap().to_owned();
    (client, welcome["data"].clone())
}

/// Relays `event` with data `"hi"` to `room` and returns the reply.
async fn relay(client: &mut WsClient, event: &str, room: &str, ack: u64) -> Value {
    client
        .send(json!({"event": event, "room": room, "data": "hi", "ack": ack}))
        .await;
    let reply = client.recv().await;
    assert_eq!(reply["reply"], ack, "{reply}");
    reply
}

/// The connect call sees the socket id, transport, client address, the
/// forwarded headers (the four always, `--proxy-forward-header`'s, no
/// others) and the query (the token included), with `--proxy-header`'s
/// static headers; its answer grants the user, the rooms it may join
/// (instead of `--rooms`) and the rooms it joins at connect. An answer
/// without a user leaves the client anonymous, under `--rooms`.
#[tokio::test]
async fn connect_grants_a_user_and_rooms() {
    let backend = FakeBackend::start(|_, body| {
        if body["query"]["name"] == "ada" {
            Reply::json(json!({
                "user": "ada",
                "info": {"team": "blue"},
                "rooms": ["team-*"],
                "join": ["lobby"],
            }))
        } else {
            Reply::json(json!({}))
        }
    })
    .await;
    let server = TestServer::start(config(&[
        (PROXY_CONNECT, &[&backend.url("connect")]),
        (PROXY_HEADER, &["X-Secret: s3cret, with a comma"]),
        (PROXY_FORWARD_HEADER, &["X-Request-Id"]),
        (ALLOW_ORIGIN, &["*"]),
        (ROOMS, &["open"]),
    ]))
    .await;
    let url = format!("ws://{}/ws?name=ada&token=abc&name=again", server.addr);
    let headers = [
        ("Cookie", "a=1"),
        ("Authorization", "Basic YWRhOnB3"),
        ("Origin", "https://app.example"),
        ("User-Agent", "test-agent"),
        ("X-Request-Id", "r-1"),
        ("X-Not-Forwarded", "no"),
    ];
    let (mut ada, data) = welcome(&url, &headers).await;
    assert_eq!(data["user"], "ada");
    assert!(data.get("expires_at").is_none(), "{data}");

    let call = backend.next("connect").await;
    assert_eq!(
        call.body,
        json!({
            "socket": ada.id,
            "user": null,
            "transport": "websocket",
            "remote": "127.0.0.1",
            "headers": {
                "cookie": "a=1",
                "authorization": "Basic YWRhOnB3",
                "user-agent": "test-agent",
                "origin": "https://app.example",
                "x-request-id": "r-1",
            },
            "query": {"name": "ada", "token": "abc"},
        })
    );
    assert_eq!(call.headers["x-secret"], "s3cret, with a comma");
    assert_eq!(call.headers["content-type"], "application/json");

    // The grants: `join` at connect, `rooms` instead of `--rooms`.
    assert_eq!(server.hub.rooms_of(&ada.id), ["lobby"]);
    assert_eq!(ada.join("team-a").await["data"], json!({"room": "team-a"}));
    assert_eq!(ada.join("open").await["error"]["code"], "forbidden");

    // No user in the answer, no token: anonymous, under `--rooms`.
    let (mut guest, data) = welcome(&format!("ws://{}/ws", server.addr), &[]).await;
    assert!(data.get("user").is_none(), "{data}");
    assert_eq!(guest.join("open").await["data"], json!({"room": "open"}));
    assert_eq!(guest.join("team-a").await["error"]["code"], "forbidden");
    // Long-polling handshakes are asked too.
    let (status, _) = http_json(server.addr, "POST", "/ws/poll?name=bob", "").await;
    assert_eq!(status, 200);
    assert_eq!(backend.next("connect").await.body["transport"], "websocket");
    assert_eq!(backend.next("connect").await.body["transport"], "polling");
}

/// `{"error":{"code","message"}}` refuses the handshake with `403` and
/// that code and message, on both transports; other clients still get in.
#[tokio::test]
async fn connect_refuses_with_the_back_ends_code() {
    let backend = FakeBackend::start(|_, body| {
        if body["query"]["banned"] == "1" {
            Reply::error("banned", "not you")
        } else {
            Reply::json(json!({"user": "ok"}))
        }
    })
    .await;
    let server = TestServer::start(config(&[(PROXY_CONNECT, &[&backend.url("connect")])])).await;
    let url = format!("ws://{}/ws?banned=1", server.addr);
    assert_eq!(WsClient::try_open_with(&url, &[]).await.unwrap_err(), 403);
    let (status, body) = http_json(server.addr, "POST", "/ws/poll?banned=1", "").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": {"code": "banned", "message": "not you"}})
    );
    let (_client, data) = welcome(&format!("ws://{}/ws", server.addr), &[]).await;
    assert_eq!(data["user"], "ok");
    assert_eq!(
        metric(
            server.addr,
            "switchboard_backend_refusals_total{hook=\"connect\"}"
        )
        .await,
        Some(2)
    );
}

/// The join call is made for joins `--rooms` allows, with the user the
/// connect call granted: `{}` joins, `{"error":...}` refuses with its code
/// and message; a join `--rooms` refuses is `forbidden` without a call.
#[tokio::test]
async fn join_allowed_and_refused() {
    let backend = FakeBackend::start(|hook, body| match (hook, body["room"].as_str()) {
        ("connect", _) => Reply::json(json!({"user": "ada"})),
        (_, Some("vip")) => Reply::error("forbidden", "members only"),
        _ => Reply::json(json!({})),
    })
    .await;
    let server = TestServer::start(config(&[
        (PROXY_CONNECT, &[&backend.url("connect")]),
        (PROXY_JOIN, &[&backend.url("join")]),
        (ROOMS, &["open", "vip"]),
    ]))
    .await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    assert_eq!(client.join("open").await["data"], json!({"room": "open"}));
    let refused = client.join("vip").await;
    assert_eq!(
        refused["error"],
        json!({"code": "forbidden", "message": "members only"})
    );
    let outside = client.join("elsewhere").await;
    assert_eq!(outside["error"]["code"], "forbidden", "{outside}");
    assert_eq!(server.hub.rooms_of(&client.id), ["open"]);
    let calls = backend.calls("join");
    let bodies: Vec<&Value> = calls.iter().map(|call| &call.body).collect();
    assert_eq!(
        bodies,
        [
            &json!({"socket": client.id, "user": "ada", "room": "open"}),
            &json!({"socket": client.id, "user": "ada", "room": "vip"}),
        ],
        "no call for a room --rooms refuses"
    );
}

/// The publish call is made for relays a member sends: `{}` relays the
/// data as sent, `{"data":...}` relays that instead, `{"error":...}`
/// refuses with its code; a non-member's relay is `forbidden` without a
/// call. Without `--proxy-event`, events still get `no_handler`.
#[tokio::test]
async fn publish_allowed_replaced_and_refused() {
    let backend = FakeBackend::start(|_, body| match body["event"].as_str() {
        Some("shout") => Reply::json(json!({
            "data": body["data"].as_str().unwrap().to_uppercase()
        })),
        Some("spam") => Reply::error("moderated", "no spam here"),
        _ => Reply::json(json!({})),
    })
    .await;
    let server = TestServer::start(config(&[(PROXY_PUBLISH, &[&backend.url("publish")])])).await;
    let mut alice = WsClient::connect_at(server.addr, "/ws").await;
    let mut bob = WsClient::connect_at(server.addr, "/ws").await;
    alice.join("chat").await;
    bob.join("chat").await;
    assert_eq!(
        relay(&mut alice, "plain", "chat", 1).await["data"],
        Value::Null
    );
    assert_eq!(
        relay(&mut alice, "shout", "chat", 2).await["data"],
        Value::Null
    );
    let refused = relay(&mut alice, "spam", "chat", 3).await;
    assert_eq!(
        refused["error"],
        json!({"code": "moderated", "message": "no spam here"})
    );
    assert_eq!(
        relay(&mut alice, "plain", "other", 4).await["error"]["code"],
        "forbidden"
    );
    // Bob gets the relayed data, then the replaced data, and nothing of
    // the refused relay (the next message proves it).
    let first = bob.recv().await;
    assert_eq!(
        (&first["event"], &first["data"]),
        (&json!("plain"), &json!("hi"))
    );
    assert_eq!(first["from"], alice.id.as_str());
    let second = bob.recv().await;
    assert_eq!(
        (&second["event"], &second["data"]),
        (&json!("shout"), &json!("HI"))
    );
    relay(&mut alice, "plain", "chat", 5).await;
    assert_eq!(bob.recv().await["data"], "hi");

    let calls = backend.calls("publish");
    assert_eq!(calls.len(), 4, "no call for a non-member's relay");
    assert_eq!(
        calls[0].body,
        json!({"socket": alice.id, "user": null, "room": "chat", "event": "plain", "data": "hi"})
    );
    let answer = alice.call("anything", json!(1), 9).await;
    assert_eq!(answer["error"]["code"], "no_handler", "{answer}");
}

/// The event call answers an event without a handler: `{"data":...}` is
/// the reply, `{}` replies `null`, `{"error":...}` is its error. Calls and
/// their latency are counted.
#[tokio::test]
async fn event_replies_and_errors() {
    let backend = FakeBackend::start(|_, body| match body["event"].as_str() {
        Some("add") => Reply::json(json!({
            "data": body["data"]["a"].as_i64().unwrap() + body["data"]["b"].as_i64().unwrap()
        })),
        Some("fail") => Reply::error("bad_input", "no such thing"),
        _ => Reply::json(json!({})),
    })
    .await;
    let server = TestServer::start(config(&[(PROXY_EVENT, &[&backend.url("event")])])).await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    let sum = client.call("add", json!({"a": 2, "b": 3}), 1).await;
    assert_eq!(sum["data"], 5, "{sum}");
    let failed = client.call("fail", json!(null), 2).await;
    assert_eq!(
        failed["error"],
        json!({"code": "bad_input", "message": "no such thing"})
    );
    let empty = client.call("other", json!([1]), 3).await;
    assert_eq!(empty["data"], Value::Null, "{empty}");
    // Without an ack the event is delivered too (the next call's reply
    // comes after it: one socket's calls are made in order).
    client.send(json!({"event": "note", "data": "x"})).await;
    client.call("other", json!(null), 4).await;
    let calls = backend.calls("event");
    let events: Vec<&Value> = calls.iter().map(|call| &call.body["event"]).collect();
    assert_eq!(events, ["add", "fail", "other", "note", "other"]);
    assert_eq!(
        calls[3].body,
        json!({"socket": client.id, "user": null, "event": "note", "data": "x"})
    );
    let calls = r#"switchboard_backend_calls_total{hook="event"}"#;
    let count = r#"switchboard_backend_call_duration_seconds_count{hook="event"}"#;
    let inf = r#"switchboard_backend_call_duration_seconds_bucket{hook="event",le="+Inf"}"#;
    assert_eq!(metric(server.addr, calls).await, Some(5));
    assert_eq!(metric(server.addr, count).await, Some(5));
    assert_eq!(metric(server.addr, inf).await, Some(5));
    assert_eq!(
        metric(
            server.addr,
            r#"switchboard_backend_refusals_total{hook="event"}"#
        )
        .await,
        Some(1)
    );
    assert_eq!(
        metric(
            server.addr,
            r#"switchboard_backend_calls_total{hook="join"}"#
        )
        .await,
        None,
        "hooks without a URL are not listed"
    );
    // Without an ack, the back end's refusal is dropped too: no `$error`
    // comes before the next reply.
    client.send(json!({"event": "fail", "data": null})).await;
    client
        .send(json!({"event": "other", "data": null, "ack": 6}))
        .await;
    let next = client.recv().await;
    assert_eq!(next["reply"], 6, "{next}");
}

/// The disconnect call tells a session's end with its user and reason:
/// the client's close (`client_closed`, its code) or a kick (`kicked`,
/// 4000).
#[tokio::test]
async fn disconnect_tells_the_reason() {
    let backend = FakeBackend::start(|hook, _| match hook {
        "connect" => Reply::json(json!({"user": "ada"})),
        _ => Reply::json(json!({})),
    })
    .await;
    let server = TestServer::start(config(&[
        (PROXY_CONNECT, &[&backend.url("connect")]),
        (PROXY_DISCONNECT, &[&backend.url("disconnect")]),
    ]))
    .await;
    let closing = WsClient::connect_at(server.addr, "/ws").await;
    let id = closing.id.clone();
    closing.close_normally().await;
    let call = backend.next("disconnect").await;
    assert_eq!(
        call.body,
        json!({"socket": id, "user": "ada", "reason": "client_closed", "code": 1000})
    );
    let mut kicked = WsClient::connect_at(server.addr, "/ws").await;
    let response = http(
        server.addr,
        "DELETE",
        &format!("/api/sockets/{}", kicked.id),
        &[],
        b"",
    )
    .await;
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(kicked.close_code().await, 4000);
    let call = backend.next("disconnect").await;
    assert_eq!(
        call.body,
        json!({"socket": kicked.id, "user": "ada", "reason": "kicked", "code": 4000})
    );
}

/// With tokens checked, the connect call is told the token's user, and its
/// answer's grants lie over the token's claims field by field: here its
/// `rooms` replace the token's, while the token's user and expiry stay.
#[tokio::test]
async fn connect_grants_lie_over_the_tokens() {
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &str = "a test secret that is long enough for HS256";
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({"sub": "ada", "exp": exp, "rooms": ["a-*"], "join": ["a-home"]});
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let token = encode(&Header::default(), &claims, &key).unwrap();
    let backend = FakeBackend::start(|_, _| Reply::json(json!({"rooms": ["b-*"]}))).await;
    let server = TestServer::start(config(&[
        (TOKEN_HMAC_SECRET, &[SECRET]),
        (PROXY_CONNECT, &[&backend.url("connect")]),
    ]))
    .await;
    let url = format!("ws://{}/ws?token={token}", server.addr);
    let (mut client, data) = welcome(&url, &[]).await;
    assert_eq!(
        (&data["user"], &data["expires_at"]),
        (&json!("ada"), &json!(exp))
    );
    let call = backend.next("connect").await;
    assert_eq!(call.body["user"], "ada");
    assert_eq!(call.body["query"]["token"], token.as_str());
    assert_eq!(server.hub.rooms_of(&client.id), ["a-home"]);
    assert_eq!(client.join("b-1").await["data"], json!({"room": "b-1"}));
    assert_eq!(client.join("a-1").await["error"]["code"], "forbidden");
    // A bad token is refused before the back end is asked.
    let bad = format!("ws://{}/ws?token=not-a-token", server.addr);
    assert_eq!(WsClient::try_open_with(&bad, &[]).await.unwrap_err(), 401);
    assert_eq!(
        metric(
            server.addr,
            r#"switchboard_backend_calls_total{hook="connect"}"#
        )
        .await,
        Some(1)
    );
}

/// A `$refresh` after the connect answer renamed the user: the fresh token
/// must name the `sub` the handshake's token named (not the answer's
/// user), and the answer's grants stay; a token of another `sub` is
/// refused and changes nothing.
#[tokio::test]
async fn a_refresh_keeps_the_back_ends_user_and_grants() {
    use jsonwebtoken::{EncodingKey, Header, encode};

    const SECRET: &str = "a test secret that is long enough for HS256";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let token = |sub: &str, exp: u64| {
        encode(&Header::default(), &json!({"sub": sub, "exp": exp}), &key).unwrap()
    };
    let backend =
        FakeBackend::start(|_, _| Reply::json(json!({"user": "u-7", "rooms": ["team-*"]}))).await;
    let server = TestServer::start(config(&[
        (TOKEN_HMAC_SECRET, &[SECRET]),
        (PROXY_CONNECT, &[&backend.url("connect")]),
    ]))
    .await;
    let url = format!("ws://{}/ws?token={}", server.addr, token("ada", now + 600));
    let (mut client, data) = welcome(&url, &[]).await;
    assert_eq!(data["user"], "u-7");
    for sub in ["u-7", "bob"] {
        let refused = client
            .request("$refresh", json!({"token": token(sub, now + 900)}))
            .await;
        assert_eq!(refused["error"]["code"], "unauthorized", "{sub}: {refused}");
    }
    let renewed = client
        .request("$refresh", json!({"token": token("ada", now + 1200)}))
        .await;
    assert_eq!(
        renewed["data"],
        json!({"expires_at": now + 1200}),
        "{renewed}"
    );
    assert_eq!(
        client.join("team-1").await["data"],
        json!({"room": "team-1"})
    );
    assert_eq!(client.join("other").await["error"]["code"], "forbidden");
}
