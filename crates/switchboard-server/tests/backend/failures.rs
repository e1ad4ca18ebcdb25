//! A back end that fails: too slow, down, or answering garbage. The client
//! gets `unavailable` (a handshake `503`), each failure is counted by kind
//! in `/metrics`, and the hub keeps serving.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_server::options::*;

use switchboard_testkit::http_json;

use crate::common::{TestServer, WsClient};
use crate::fake::{FakeBackend, Reply};
use crate::{config, metric};

/// The back end sleeps past `--proxy-timeout`.
const TOO_SLOW: Duration = Duration::from_secs(3);

fn errors(hook: &str, kind: &str) -> String {
    format!("switchboard_backend_errors_total{{hook=\"{hook}\",kind=\"{kind}\"}}")
}

/// The reply to `event` with `ack` must be the error `unavailable`.
async fn assert_unavailable(client: &mut WsClient, event: &str, ack: u64) {
    let reply = client.call(event, Value::Null, ack).await;
    assert_eq!(reply["error"]["code"], "unavailable", "{event}: {reply}");
}

/// A back end slower than `--proxy-timeout`: the handshake gets `503`
/// `unavailable` on both transports, an event the error `unavailable`,
/// each within the timeout rather than the back end's time; the next
/// client and the next event are served.
#[tokio::test]
async fn a_slow_back_end_is_unavailable() {
    let backend = FakeBackend::start(|hook, body| {
        let slow = body["query"]["slow"] == "1" || body["event"] == "slow";
        let reply = match hook {
            "connect" => Reply::json(json!({})),
            _ => Reply::json(json!({"data": "fast"})),
        };
        if slow { reply.after(TOO_SLOW) } else { reply }
    })
    .await;
    let server = TestServer::start(config(&[
        (PROXY_CONNECT, &[&backend.url("connect")]),
        (PROXY_EVENT, &[&backend.url("event")]),
        (PROXY_TIMEOUT, &["200ms"]),
    ]))
    .await;
    let started = Instant::now();
    let url = format!("ws://{}/ws?slow=1", server.addr);
    assert_eq!(WsClient::try_open_with(&url, &[]).await.unwrap_err(), 503);
    let (status, body) = http_json(server.addr, "POST", "/ws/poll?slow=1", "").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    assert_unavailable(&mut client, "slow", 1).await;
    assert!(
        started.elapsed() < TOO_SLOW,
        "three timed-out calls took {:?}",
        started.elapsed()
    );
    let fast = client.call("fast", Value::Null, 2).await;
    assert_eq!(fast["data"], "fast", "{fast}");
    assert_eq!(
        metric(server.addr, &errors("connect", "timeout")).await,
        Some(2)
    );
    assert_eq!(
        metric(server.addr, &errors("event", "timeout")).await,
        Some(1)
    );
    assert_eq!(
        metric(server.addr, &errors("event", "connect")).await,
        Some(0)
    );
    // The slow calls took the timeout: their durations sit past 0.1 s.
    let fast_bucket =
        r#"switchboard_backend_call_duration_seconds_bucket{hook="connect",le="0.1"}"#;
    let count = r#"switchboard_backend_call_duration_seconds_count{hook="connect"}"#;
    let (fast_calls, all_calls) = (
        metric(server.addr, fast_bucket).await.unwrap(),
        metric(server.addr, count).await.unwrap(),
    );
    assert_eq!(all_calls - fast_calls, 2, "{fast_calls} of {all_calls}");
}

/// A URL where nothing listens (connection refused): joins and events get
/// `unavailable`, a handshake `503`; counted as `connect` errors.
#[tokio::test]
async fn a_back_end_that_is_down_is_unavailable() {
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let server = TestServer::start(config(&[
        (PROXY_JOIN, &[&format!("{down}/join")]),
        (PROXY_EVENT, &[&format!("{down}/event")]),
    ]))
    .await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    let join = client.join("lobby").await;
    assert_eq!(join["error"]["code"], "unavailable", "{join}");
    assert!(server.hub.rooms_of(&client.id).is_empty());
    assert_unavailable(&mut client, "ping", 7).await;
    assert_eq!(
        metric(server.addr, &errors("join", "connect")).await,
        Some(1)
    );
    assert_eq!(
        metric(server.addr, &errors("event", "connect")).await,
        Some(1)
    );

    let refusing = TestServer::start(config(&[(PROXY_CONNECT, &[&format!("{down}/c")])])).await;
    let url = format!("ws://{}/ws", refusing.addr);
    assert_eq!(WsClient::try_open_with(&url, &[]).await.unwrap_err(), 503);
    assert_eq!(
        metric(refusing.addr, &errors("connect", "connect")).await,
        Some(1)
    );
}

/// Answers other than `200` JSON of the hook's shape: a status other than
/// 200 (`status`), a body that is not JSON, not an object, or has keys the
/// hook does not know, or a malformed refusal (`bad_answer`). Each gives
/// `unavailable`; a good answer after them is served.
#[tokio::test]
async fn garbage_answers_are_unavailable() {
    let backend = FakeBackend::start(|_, body| match body["event"].as_str() {
        Some("html") => Reply::raw(200, "<html>oops</html>"),
        Some("empty") => Reply::raw(200, ""),
        Some("array") => Reply::raw(200, "[]"),
        Some("typo") => Reply::json(json!({"dta": 1})),
        Some("half-error") => Reply::json(json!({"error": {"code": "x"}})),
        Some("500") => Reply::raw(500, r#"{"data":1}"#),
        Some("204") => Reply::raw(204, ""),
        Some("redirect") => Reply::raw(307, ""),
        _ => Reply::json(json!({"data": "good"})),
    })
    .await;
    let server = TestServer::start(config(&[(PROXY_EVENT, &[&backend.url("event")])])).await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    let garbage = [
        "html",
        "empty",
        "array",
        "typo",
        "half-error",
        "500",
        "204",
        "redirect",
    ];
    for (ack, event) in (1..).zip(garbage) {
        assert_unavailable(&mut client, event, ack).await;
    }
    let good = client.call("good", Value::Null, 99).await;
    assert_eq!(good["data"], "good", "{good}");
    assert_eq!(
        metric(server.addr, &errors("event", "bad_answer")).await,
        Some(5)
    );
    assert_eq!(
        metric(server.addr, &errors("event", "status")).await,
        Some(3)
    );
    assert_eq!(
        metric(
            server.addr,
            r#"switchboard_backend_calls_total{hook="event"}"#
        )
        .await,
        Some(9)
    );
    // The redirect was not followed.
    assert_eq!(backend.calls("event").len(), 9);
}
