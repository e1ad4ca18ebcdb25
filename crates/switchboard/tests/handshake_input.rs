//! Hostile handshake input over real sockets: the query and long-polling
//! open body are parsed by the protocol crate (`HandshakeQuery`,
//! `parse_open_body`), and what no client of the hub can send is refused
//! `400` before it is looked up or kept, while real tokens work as before.

mod common;

use common::{PollClient, TestServer, WsClient, http, http_json, within};
use serde_json::{Value, json};
use switchboard::Hub;
use switchboard_protocol::MAX_SESSION_TOKEN_LEN;

fn assert_bad_request(status: u16, body: &Value, says: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message:?} does not say {says:?}");
}

/// The header the hand-written HTTP client of these tests always sent.
const JSON_BODY: &[(&str, &str)] = &[("Content-Type", "application/json")];

#[tokio::test]
async fn session_tokens_longer_than_any_issued_are_refused_and_real_ones_resume() {
    let server = TestServer::start(Hub::builder()).await;
    let too_long = "A".repeat(MAX_SESSION_TOKEN_LEN + 1);
    let says = "`resume` is 129 bytes long, longer than any session token";

    // WebSocket upgrade.
    let url = format!("{}?resume={too_long}&last=0", server.url());
    assert_eq!(WsClient::try_open_with(&url, &[]).await.err(), Some(400));

    // Long-polling: in the query, in the open body, and as `sid`.
    let path = format!("/ws/poll?resume={too_long}&last=0");
    let (status, body) = http_json(server.addr, "POST", &path, "").await;
    assert_bad_request(status, &body, says);
    let open = json!({"resume": too_long, "last": 0}).to_string();
    let (status, body) = http_json(server.addr, "POST", "/ws/poll", &open).await;
    assert_bad_request(status, &body, says);
    for method in ["GET", "POST", "DELETE"] {
        let path = format!("/ws/poll?sid={too_long}");
        let (status, body) = http_json(server.addr, method, &path, "[]").await;
        assert_bad_request(status, &body, "`sid` is 129 bytes long");
    }
    assert_eq!(server.hub.count(), 0, "nothing was opened");

    // A well-formed unknown token is what it was: a new session, or 404.
    let unknown = "B".repeat(32);
    let path = format!("/ws/poll?sid={unknown}");
    let (status, body) = http_json(server.addr, "GET", &path, "").await;
    assert_eq!(status, 404, "{body}");
    let (_fresh, messages) = PollClient::open(server.addr, Some((&unknown, 0))).await;
    assert_eq!(messages[0]["data"]["resumed"], false);

    // Issued tokens resume, on both transports.
    let mut ws = server.client().await;
    let welcome = ws.recv_event("$welcome").await;
    let token = welcome["data"]["session"].as_str().unwrap().to_owned();
    drop(ws);
    let (_polling, messages) = PollClient::open(server.addr, Some((&token, 0))).await;
    assert_eq!(messages[0]["data"]["resumed"], true, "{messages:?}");
    assert_eq!(messages[0]["data"]["id"], welcome["data"]["id"]);
    let url = format!("{}?resume={token}&last=0", server.url());
    let mut again = WsClient::open(&url).await;
    let welcome = again.recv_event("$welcome").await;
    assert_eq!(welcome["data"]["resumed"], true, "{welcome}");
}

/// `{"resume":"x","last":1,"j":[[[…nil…]]]}` with `depth` nested arrays.
fn deep_msgpack_body(depth: usize) -> Vec<u8> {
    let mut body = b"\x83\xa6resume\xa1x\xa4last\x01\xa1j".to_vec();
    body.extend(std::iter::repeat_n(0x91, depth));
    body.push(0xc0);
    body
}

/// Regression: rmp-serde skipped an unknown field's value recursively, up
/// to 1,024 levels; in a debug build that overflowed the 2 MiB stack of the
/// thread serving the hub (here, the test's), aborting the process.
#[tokio::test]
async fn a_deeply_nested_msgpack_open_body_is_refused_and_the_hub_serves_on() {
    let server = TestServer::start(Hub::builder()).await;
    let response = http(
        server.addr,
        "POST",
        "/ws/poll?codec=msgpack",
        JSON_BODY,
        &deep_msgpack_body(1_000),
    )
    .await;
    let (status, body) = (response.status, response.body);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_bad_request(status, &body, "depth limit exceeded");

    // A shallow one is a resume request (of an unknown session: a new one).
    let response = http(
        server.addr,
        "POST",
        "/ws/poll?codec=msgpack",
        JSON_BODY,
        &deep_msgpack_body(10),
    )
    .await;
    let (status, answer) = (response.status, response.body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let (_client, messages) = within("a poll session", PollClient::open(server.addr, None)).await;
    assert_eq!(messages[0]["event"], "$welcome");
}

#[tokio::test]
async fn a_malformed_query_says_what_is_wrong() {
    let server = TestServer::start(Hub::builder()).await;
    let cases = [
        (
            "codec=xml",
            "unknown codec `xml` (expected `json` or `msgpack`)",
        ),
        (
            "last=-1",
            "`last` must be a non-negative integer, not \"-1\"",
        ),
    ];
    for (query, says) in cases {
        let path = format!("/ws/poll?{query}");
        let (status, body) = http_json(server.addr, "POST", &path, "").await;
        assert_bad_request(status, &body, says);
        let url = format!("{}?{query}", server.url());
        assert_eq!(WsClient::try_open_with(&url, &[]).await.err(), Some(400));
    }
    let (status, body) = http_json(server.addr, "POST", "/ws/poll", "{\"resume\":\"s\"}").await;
    assert_bad_request(
        status,
        &body,
        "the body must be empty or {\"resume\": token, \"last\": n}: missing field `last`",
    );
}
