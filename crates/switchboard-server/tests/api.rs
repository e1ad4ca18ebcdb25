//! The HTTP API, metrics, static files and the hub's room rules, against an
//! in-process server on a real socket.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TestServer, WsClient, get, http, publish, within};
use serde_json::json;
use switchboard_server::Config;
use switchboard_server::assets::ASSETS;
use switchboard_server::glob::RoomPatterns;

/// The `Content-Type` of the JavaScript files.
const JS: &str = "text/javascript; charset=utf-8";

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::default().await;
    let r = get(server.addr, "/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok");
    assert_eq!(get(server.addr, "/nowhere").await.status, 404);
}

#[tokio::test]
async fn static_files_are_served_with_their_types_and_cache_headers() {
    let server = TestServer::default().await;
    let expected = [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", JS),
        ("/style.css", "text/css; charset=utf-8"),
        ("/switchboard.js", JS),
        ("/lib/client.js", JS),
        ("/lib/emitter.js", JS),
        ("/lib/errors.js", JS),
        ("/lib/history.js", JS),
        ("/lib/message.js", JS),
        ("/lib/options.js", JS),
        ("/lib/polling-transport.js", JS),
        ("/lib/reconnect.js", JS),
        ("/lib/room-methods.js", JS),
        ("/lib/token-refresh.js", JS),
        ("/lib/upgrade-probe.js", JS),
        ("/lib/urls.js", JS),
        ("/lib/websocket-transport.js", JS),
    ];
    for (path, content_type) in expected {
        let asset = ASSETS.iter().find(|a| a.path == path).expect("embedded");
        let r = get(server.addr, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.body, asset.body, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        let etag = r.header("etag").expect("etag").to_owned();
        assert_eq!(etag, asset.etag());
        let again = http(server.addr, "GET", path, &[("If-None-Match", &etag)], b"").await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        let other = http(server.addr, "GET", path, &[("If-None-Match", "\"x\"")], b"").await;
        assert_eq!(other.status, 200);
    }
    // The embedded files are the ones in clients/.
    let client = include_bytes!("../../../clients/js/switchboard.js");
    assert_eq!(get(server.addr, "/switchboard.js").await.body, client);
    let page = include_bytes!("../../../clients/demo/index.html");
    assert_eq!(get(server.addr, "/").await.body, page);
}

/// Every module of the browser client on disk (`clients/js/switchboard.js` and
/// `clients/js/lib/*.js`) is served at its path, as it is on disk, and every
/// relative import in them names a served module, so that the demo page,
/// which imports `/switchboard.js`, loads the whole client from the server.
#[tokio::test]
async fn every_browser_client_module_is_served_with_its_imports() {
    let server = TestServer::default().await;
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/js");
    let mut modules = vec!["switchboard.js".to_owned()];
    for entry in std::fs::read_dir(js.join("lib")).expect("clients/js/lib") {
        let name = entry.expect("dir entry").file_name();
        let name = name.to_str().expect("UTF-8 file name");
        if name.ends_with(".js") {
            modules.push(format!("lib/{name}"));
        }
    }
    assert!(modules.len() > 1, "no modules in clients/js/lib");
    for module in &modules {
        let path = format!("/{module}");
        let on_disk = std::fs::read(js.join(module)).expect("module file");
        let r = get(server.addr, &path).await;
        assert_eq!(r.status, 200, "{path} is not served");
        assert_eq!(r.header("content-type"), Some(JS), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert!(r.header("etag").is_some(), "{path}");
        assert_eq!(r.body, on_disk, "{path} differs from clients/js/{module}");
        // Relative imports resolve against the module's own URL.
        let dir = &path[..=path.rfind('/').expect("a slash")];
        let text = String::from_utf8(on_disk).expect("UTF-8 module");
        for import in text.split(" from './").skip(1) {
            let target = import.split('\'').next().expect("a quoted path");
            let url = format!("{dir}{target}");
            assert!(
                modules.iter().any(|m| format!("/{m}") == url),
                "{path} imports {url}, which is not a client module"
            );
            assert_eq!(get(server.addr, &url).await.status, 200, "{url}");
        }
    }
}

#[tokio::test]
async fn stats_and_metrics_follow_traffic() {
    let server = TestServer::start(Config {
        rooms: RoomPatterns::new(["open"]),
        ..Config::default()
    })
    .await;
    let stats = get(server.addr, "/api/stats").await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.header("content-type"), Some("application/json"));
    let s = stats.json();
    for field in [
        "connections",
        "rooms",
        "messages_in",
        "messages_out",
        "uptime_s",
    ] {
        assert!(s[field].is_u64(), "{field} in {s}");
    }
    assert_eq!(s["connections"], 0);
    assert_eq!(s["rooms"], 0);
    assert_eq!(s["messages_in"], 0);

    let metrics = get(server.addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(metrics.text().contains("\nswitchboard_connections 0\n"));

    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    assert!(a.join("open").await["data"]["room"] == "open");
    let refused = a.join("closed").await;
    assert_eq!(refused["error"]["code"], "forbidden");
    a.send(json!({"event": "$ping"})).await;
    assert_eq!(a.recv().await["event"], "$pong");
    publish(server.addr, r#"{"event":"news","data":1}"#).await;
    assert_eq!(a.recv().await["event"], "news");

    let s = get(server.addr, "/api/stats").await.json();
    assert_eq!(s["connections"], 1);
    assert_eq!(s["rooms"], 1);
    assert!(s["messages_in"].as_u64().unwrap() >= 3, "{s}");
    assert!(s["messages_out"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["errors"]["forbidden"], 1);

    let text = get(server.addr, "/metrics").await.text();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    };
    assert_eq!(value("switchboard_connections"), 1.0);
    assert_eq!(value("switchboard_rooms"), 1.0);
    assert_eq!(value("switchboard_connections_opened_total"), 1.0);
    assert!(value("switchboard_messages_in_total") >= 3.0);
    assert!(value("switchboard_messages_out_total") >= 1.0);
    assert!(value("switchboard_bytes_in_total") > 0.0);
    assert!(value("switchboard_bytes_out_total") > 0.0);
    assert_eq!(
        value("switchboard_errors_sent_total{code=\"forbidden\"}"),
        1.0
    );
    assert_eq!(
        value("switchboard_errors_sent_total{code=\"bad_message\"}"),
        0.0
    );
    assert_eq!(value("switchboard_slow_consumer_closes_total"), 0.0);
    assert_eq!(value("switchboard_handshakes_refused_total"), 0.0);
    assert_eq!(value("switchboard_coalescing_pauses_total"), 0.0);
    assert!(value("switchboard_uptime_seconds") >= 0.0);

    // A socket that leaves is no longer counted.
    let socket = server.hub.socket(&a.id).expect("connected");
    a.ws.close(None).await.unwrap();
    within("the socket to end", socket.closed()).await;
    let s = get(server.addr, "/api/stats").await.json();
    assert_eq!(s["connections"], 0);
    assert_eq!(s["rooms"], 0);
}

#[tokio::test]
async fn publish_refuses_bad_bodies() {
    let server = TestServer::default().await;
    let cases = [
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1,2]", "JSON object"),
        ("\"event\"", "JSON object"),
        ("{}", "`event` is missing"),
        (r#"{"data":1}"#, "`event` is missing"),
        (r#"{"event":""}"#, "`event` must not be empty"),
        (r#"{"event":42}"#, "`event` must be a string"),
        (r#"{"event":"$welcome"}"#, "reserved"),
        (r#"{"event":"$custom","room":"r"}"#, "reserved"),
        (r#"{"event":"e","room":7}"#, "`room` must be a string"),
        (r#"{"event":"e","room":""}"#, "`room` must not be empty"),
        (r#"{"event":"e","to":7}"#, "`to` must be a non-empty string"),
        (r#"{"event":"e","to":[]}"#, "empty array"),
        (r#"{"event":"e","to":["id",3]}"#, "non-empty strings only"),
        (r#"{"event":"e","room":"r","to":["id"]}"#, "not both"),
        (r#"{"event":"e","room":"r","to":"id"}"#, "not both"),
    ];
    for (body, reason) in cases {
        let message = publish(server.addr, body)
            .await
            .api_error(400, "bad_request");
        assert!(message.contains(reason), "{body}: {message}");
    }
}

#[tokio::test]
async fn publish_reaches_a_room_a_socket_or_everyone() {
    let server = TestServer::default().await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let mut b = WsClient::connect_at(server.addr, "/ws").await;
    a.join("news").await;

    // To a room: only its members, and the message carries `room`.
    let r = publish(
        server.addr,
        r#"{"event":"headline","data":{"t":1},"room":"news"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(
        a.recv().await,
        json!({"event": "headline", "data": {"t": 1}, "room": "news"})
    );

    // To one socket by id: only that one, without `room`.
    let body = json!({"event": "private", "data": "psst", "to": b.id}).to_string();
    assert_eq!(
        publish(server.addr, &body).await.json(),
        json!({"ok": true})
    );
    assert_eq!(b.recv().await, json!({"event": "private", "data": "psst"}));

    // To everyone; `data` may be absent. What each client receives next
    // proves it got nothing of the publishes meant for the other one.
    assert_eq!(publish(server.addr, r#"{"event":"all"}"#).await.status, 200);
    let all = a.recv().await;
    assert_eq!(all["event"], "all");
    assert!(all.get("room").is_none(), "{all}");
    assert_eq!(b.recv().await["event"], "all");

    // To a list of ids (one nobody holds): each listed socket, once.
    let mut c = WsClient::connect_at(server.addr, "/ws").await;
    let body = json!({"event": "few", "data": 2, "to": [a.id, c.id, "nobody", a.id]});
    let r = publish(server.addr, &body.to_string()).await;
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(a.recv().await, json!({"event": "few", "data": 2}));
    assert_eq!(c.recv().await, json!({"event": "few", "data": 2}));
    assert_eq!(
        publish(server.addr, r#"{"event":"all2"}"#).await.status,
        200
    );
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.recv().await["event"], "all2");
    }

    // Fire-and-forget: nobody holds this id or room.
    let r = publish(server.addr, r#"{"event":"e","to":"no-such-socket"}"#).await;
    assert_eq!(r.json(), json!({"ok": true}));
    let r = publish(server.addr, r#"{"event":"e","room":"empty"}"#).await;
    assert_eq!(r.json(), json!({"ok": true}));
}

#[tokio::test]
async fn rooms_list_their_members() {
    let server = TestServer::default().await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let mut b = WsClient::connect_at(server.addr, "/ws").await;
    let mut c = WsClient::connect_at(server.addr, "/ws").await;
    a.join("lobby").await;
    b.join("lobby").await;
    c.join("elsewhere").await;

    let r = get(server.addr, "/api/rooms/lobby").await;
    assert_eq!(r.status, 200);
    let mut ids = vec![a.id.clone(), b.id.clone()];
    ids.sort();
    assert_eq!(r.json(), json!({"room": "lobby", "members": ids}));

    let r = get(server.addr, "/api/rooms/nobody-here").await;
    assert_eq!(r.json(), json!({"room": "nobody-here", "members": []}));

    // Room names are percent-decoded and may hold a slash.
    c.join("a b/c").await;
    let r = get(server.addr, "/api/rooms/a%20b/c").await;
    assert_eq!(
        r.json(),
        json!({"room": "a b/c", "members": [c.id.clone()]})
    );

    b.request("$leave", json!({"room": "lobby"})).await;
    let r = get(server.addr, "/api/rooms/lobby").await;
    assert_eq!(r.json()["members"], json!([a.id.clone()]));
}

#[tokio::test]
async fn kicking_closes_with_4000_then_the_id_is_unknown() {
    let server = TestServer::default().await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let socket = server.hub.socket(&a.id).expect("connected");

    let path = format!("/api/sockets/{}", a.id);
    let r = http(server.addr, "DELETE", &path, &[], b"").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(a.close_code().await, 4000);
    let id = a.id.clone();
    drop(a);
    within("the kicked socket to end", socket.closed()).await;

    let message = http(server.addr, "DELETE", &path, &[], b"")
        .await
        .api_error(404, "not_found");
    assert!(message.contains(&id), "{message}");
    http(server.addr, "DELETE", "/api/sockets/never-was", &[], b"")
        .await
        .api_error(404, "not_found");
}

#[tokio::test]
async fn room_patterns_limit_joins_and_members_relay() {
    let server = TestServer::start(Config {
        rooms: RoomPatterns::new(["public-*", "lobby", "team-?"]),
        ..Config::default()
    })
    .await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let mut b = WsClient::connect_at(server.addr, "/ws").await;
    let mut outsider = WsClient::connect_at(server.addr, "/ws").await;

    for room in ["public-1", "public-", "lobby", "team-a"] {
        let reply = a.join(room).await;
        assert_eq!(reply["data"], json!({"room": room}), "{reply}");
    }
    for room in ["secret", "Lobby", "team-ab", "public"] {
        let reply = a.join(room).await;
        assert_eq!(reply["error"]["code"], "forbidden", "{room}: {reply}");
    }
    // Without an ack the refusal comes as `$error`.
    a.send(json!({"event": "$join", "data": {"room": "secret"}}))
        .await;
    let error = a.recv().await;
    assert_eq!(error["event"], "$error");
    assert_eq!(error["data"]["code"], "forbidden");
    assert_eq!(
        get(server.addr, "/api/rooms/secret").await.json()["members"],
        json!([])
    );

    // Members relay to their room; the sender does not get its own relay.
    b.join("lobby").await;
    a.send(json!({"event": "chat", "data": "hi", "room": "lobby"}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"event": "chat", "data": "hi", "room": "lobby", "from": a.id})
    );
    // Non-members may not.
    let reply = outsider.request("chat", json!("intruding")).await;
    assert!(
        reply.get("error").is_some(),
        "no handler for a plain event: {reply}"
    );
    outsider
        .send(json!({"event": "chat", "data": "x", "room": "lobby", "ack": 99}))
        .await;
    let refused = outsider.recv().await;
    assert_eq!(refused["reply"], 99);
    assert_eq!(refused["error"]["code"], "forbidden");
    // b got nothing from the outsider: its next message is this one.
    a.send(json!({"event": "chat", "data": "second", "room": "lobby"}))
        .await;
    assert_eq!(b.recv().await["data"], "second");
}

#[tokio::test]
async fn api_key_guards_the_api_but_not_health_or_metrics() {
    let server = TestServer::start(Config {
        api_key: Some("s3cret-key".to_owned()),
        ..Config::default()
    })
    .await;
    let addr = server.addr;
    let missing = get(addr, "/api/stats").await;
    missing.api_error(401, "unauthorized");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    http(
        addr,
        "GET",
        "/api/stats",
        &[("Authorization", "Bearer wrong")],
        b"",
    )
    .await
    .api_error(401, "unauthorized");
    http(
        addr,
        "GET",
        "/api/stats",
        &[("Authorization", "Bearer s3cret-key2")],
        b"",
    )
    .await
    .api_error(401, "unauthorized");
    http(
        addr,
        "GET",
        "/api/stats",
        &[("Authorization", "Basic s3cret-key")],
        b"",
    )
    .await
    .api_error(401, "unauthorized");
    // Every /api/ request, unknown routes and bad bodies included.
    get(addr, "/api/nothing")
        .await
        .api_error(401, "unauthorized");
    publish(addr, "not json")
        .await
        .api_error(401, "unauthorized");

    let auth = [("Authorization", "Bearer s3cret-key")];
    let ok = http(addr, "GET", "/api/stats", &auth, b"").await;
    assert_eq!(ok.status, 200);
    let ok = http(addr, "POST", "/api/publish", &auth, br#"{"event":"e"}"#).await;
    assert_eq!(ok.json(), json!({"ok": true}));
    http(addr, "GET", "/api/nothing", &auth, b"")
        .await
        .api_error(404, "not_found");

    assert_eq!(get(addr, "/healthz").await.status, 200);
    assert_eq!(get(addr, "/metrics").await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let server = TestServer::default().await;
    let addr = server.addr;
    get(addr, "/api/nothing").await.api_error(404, "not_found");
    get(addr, "/api").await.api_error(404, "not_found");
    get(addr, "/api/sockets/x").await;
    let wrong = get(addr, "/api/publish").await;
    let message = wrong.api_error(405, "method_not_allowed");
    assert!(message.contains("GET"), "{message}");
    assert!(
        wrong.header("allow").is_some_and(|a| a.contains("POST")),
        "{:?}",
        wrong.headers
    );
    http(addr, "POST", "/api/stats", &[], b"")
        .await
        .api_error(405, "method_not_allowed");
    http(addr, "PUT", "/api/rooms/x", &[], b"")
        .await
        .api_error(405, "method_not_allowed");
    get(addr, "/api/sockets/abc")
        .await
        .api_error(405, "method_not_allowed");
    // A body over axum's limit is a JSON 413 as well.
    let huge = vec![b' '; 3 << 20];
    http(addr, "POST", "/api/publish", &[], &huge)
        .await
        .api_error(413, "payload_too_large");
}

#[tokio::test]
async fn without_a_key_callers_without_a_known_loopback_address_are_refused() {
    use tower::ServiceExt;
    // The router alone, served without ConnectInfo: the peer is unknown,
    // so the loopback rule refuses it (the predicate itself is unit-tested
    // in api.rs; non-loopback addresses cannot be used on this machine).
    let server = switchboard_server::Server::new(Config::default()).expect("server");
    let request = axum::http::Request::get("/api/stats")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = server.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 403);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    // Over loopback the same API answers.
    let served = TestServer::default().await;
    assert_eq!(get(served.addr, "/api/stats").await.status, 200);
}

#[tokio::test]
async fn stopping_the_server_closes_clients_with_1001() {
    let server = TestServer::default().await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let addr = server.addr;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(a.close_code().await, 1001);
    drop(a);
    within("the server to stop", stopping).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
            .await
            .map(|r| r.is_err())
            .unwrap_or(true),
        "still accepting after stop"
    );
}

#[tokio::test]
async fn history_rooms_answer_their_history_by_offset() {
    let server = TestServer::start(Config {
        history: RoomPatterns::new(["feed-*"]),
        history_size: 3,
        ..Config::default()
    })
    .await;
    for n in 1..=5 {
        let body = json!({ "room": "feed-1", "event": "n", "data": n }).to_string();
        assert_eq!(publish(server.addr, &body).await.status, 200);
    }
    let r = get(server.addr, "/api/rooms/feed-1/history?since=3&limit=1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.json();
    let epoch = page["epoch"].as_str().unwrap().to_owned();
    assert!(!epoch.is_empty());
    assert_eq!(
        page,
        json!({
            "room": "feed-1", "epoch": epoch, "offset": 5,
            "messages": [{ "event": "n", "data": 4, "room": "feed-1", "offset": 4 }],
        })
    );
    // Only the last 3 are kept.
    let all = get(server.addr, "/api/rooms/feed-1/history").await.json();
    let offsets: Vec<_> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["offset"].clone())
        .collect();
    assert_eq!(offsets, [json!(3), json!(4), json!(5)]);
    // A client recovers from where it stood.
    let mut client = WsClient::connect(&format!("ws://{}/ws", server.addr)).await;
    let reply = client
        .request(
            "$join",
            json!({ "room": "feed-1", "since": { "epoch": epoch, "offset": 4 } }),
        )
        .await;
    assert_eq!(reply["data"]["recovered"], true, "{reply}");
    assert_eq!(client.recv().await["offset"], 5);

    let r = get(server.addr, "/api/rooms/lobby/history").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    for bad in ["since=-1", "limit=0", "limit=5000", "since=x"] {
        let r = get(server.addr, &format!("/api/rooms/feed-1/history?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
}
