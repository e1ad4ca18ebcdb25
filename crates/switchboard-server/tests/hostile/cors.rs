//! Attack 10's other side: long-polling across origins. A page on an
//! origin `--allow-origin` names gets its preflight answered and
//! `Access-Control-Allow-Origin` on every long-polling answer, errors
//! included; any other origin gets no CORS header and its preflight is
//! refused. (The browser proof is clients/js/test/browser.test.mjs.)

use crate::common::{HttpResponse, http};
use crate::support::AttackedServer;

const APP: &str = "http://app.example:3000";
const EVIL: &str = "http://evil.example";

async fn preflight(target: &AttackedServer, origin: &str) -> HttpResponse {
    http(
        target.addr,
        "OPTIONS",
        "/ws/poll",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        b"",
    )
    .await
}

#[tokio::test]
async fn long_polling_answers_cors_for_allowed_origins_only() {
    let target = AttackedServer::start(&["--allow-origin", APP]).await;

    let ok = preflight(&target, APP).await;
    assert_eq!(ok.status, 204, "{}", ok.text());
    assert_eq!(ok.header("access-control-allow-origin"), Some(APP));
    let methods = ok.header("access-control-allow-methods").unwrap();
    for method in ["GET", "POST", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    assert_eq!(
        ok.header("access-control-allow-headers"),
        Some("Content-Type")
    );
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    assert_eq!(ok.header("vary"), Some("Origin"));

    let refused = preflight(&target, EVIL).await;
    refused.api_error(403, "origin_refused");
    assert_eq!(refused.header("access-control-allow-origin"), None);

    // A whole session from the allowed origin: every answer carries it.
    let json = ("Content-Type", "application/json");
    let open = http(
        target.addr,
        "POST",
        "/ws/poll",
        &[("Origin", APP), json],
        b"",
    )
    .await;
    assert_eq!(open.status, 200, "{}", open.text());
    assert_eq!(open.header("access-control-allow-origin"), Some(APP));
    let sid = open.json()[0]["data"]["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/ws/poll?sid={sid}");
    let ping = br#"{"event":"$ping"}"#;
    let post = http(target.addr, "POST", &path, &[("Origin", APP), json], ping).await;
    assert_eq!(post.status, 204);
    assert_eq!(post.header("access-control-allow-origin"), Some(APP));
    let get = http(target.addr, "GET", &path, &[("Origin", APP)], b"").await;
    assert_eq!(get.status, 200);
    assert_eq!(get.json()[0]["event"], "$pong");
    assert_eq!(get.header("access-control-allow-origin"), Some(APP));
    assert_eq!(get.header("vary"), Some("Origin"));
    // Errors too.
    let unknown = http(
        target.addr,
        "GET",
        "/ws/poll?sid=nope",
        &[("Origin", APP)],
        b"",
    )
    .await;
    unknown.api_error(404, "unknown_session");
    assert_eq!(unknown.header("access-control-allow-origin"), Some(APP));
    let bad = http(target.addr, "POST", &path, &[("Origin", APP), json], b"[1").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.header("access-control-allow-origin"), Some(APP));
    // Another origin: no CORS header (the browser withholds the answer),
    // and its handshake is refused as on WebSocket.
    let other = http(target.addr, "POST", &path, &[("Origin", EVIL), json], ping).await;
    assert_eq!(other.status, 204);
    assert_eq!(other.header("access-control-allow-origin"), None);
    let other_open = http(
        target.addr,
        "POST",
        "/ws/poll",
        &[("Origin", EVIL), json],
        b"",
    )
    .await;
    other_open.api_error(403, "origin_refused");
    assert_eq!(other_open.header("access-control-allow-origin"), None);
    let delete = http(target.addr, "DELETE", &path, &[("Origin", APP)], b"").await;
    assert_eq!(delete.status, 204);
    assert_eq!(delete.header("access-control-allow-origin"), Some(APP));

    assert_eq!(
        target
            .metric("switchboard_cors_preflights_refused_total")
            .await,
        1
    );
    target.assert_served().await;
}

#[tokio::test]
async fn same_host_only_servers_answer_no_preflight() {
    // Default: same host only. A same-origin page needs no CORS; a
    // preflight from elsewhere is refused.
    let target = AttackedServer::start(&[]).await;
    preflight(&target, APP)
        .await
        .api_error(403, "origin_refused");
    // An OPTIONS that is not a preflight is still a method not allowed.
    let options = http(target.addr, "OPTIONS", "/ws/poll", &[], b"").await;
    options.api_error(405, "method_not_allowed");
}
