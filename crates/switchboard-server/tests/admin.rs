//! The admin dashboard's access rules and actions (issue 21), over real
//! sockets: off without a password; login refused then accepted; the
//! cookie's flags; CSRF refusals; the login rate limit; logout and
//! expiry; the live stream; rooms, sockets and users; publish and kick.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{HttpResponse, TestServer, WsClient, eventually_async, http};
use serde_json::{Value, json};
use switchboard_server::Config;
use switchboard_server::config::{AdminSettings, ConfigError, RawOptions, TokenKey, TokenSettings};
use switchboard_server::options::{ADMIN_PASSWORD, ADMIN_PASSWORD_FILE, Source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "a shared secret of at least 32 bytes";

fn admin_settings(password: &str, ttl: Duration) -> AdminSettings {
    let mut raw = RawOptions::default();
    raw.set(&ADMIN_PASSWORD, vec![password.to_owned()], Source::Flag);
    let mut settings = Config::resolve(&raw).unwrap().admin.unwrap();
    settings.session_ttl = ttl;
    settings
}

async fn server_with_ttl(ttl: Duration) -> TestServer {
    TestServer::start(Config {
        admin: Some(admin_settings(PASSWORD, ttl)),
        tokens: Some(TokenSettings {
            key: TokenKey::HmacSecret(SECRET.into()),
            issuer: None,
            audience: None,
            allow_anonymous: true,
        }),
        ..Config::default()
    })
    .await
}

async fn server() -> TestServer {
    server_with_ttl(Duration::from_secs(3600)).await
}

async fn login_with(addr: SocketAddr, password: &str, origin: Option<&str>) -> HttpResponse {
    let body = json!({ "password": password }).to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    http(addr, "POST", "/admin/login", &headers, body.as_bytes()).await
}

/// A logged-in dashboard: its cookie header and CSRF token.
struct Admin {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

impl Admin {
    async fn login(addr: SocketAddr) -> Self {
        let response = login_with(addr, PASSWORD, None).await;
        assert_eq!(response.status, 200, "{}", response.text());
        let set = response.header("set-cookie").expect("a cookie").to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let csrf = response.json()["csrf"].as_str().unwrap().to_owned();
        Self { addr, cookie, csrf }
    }

    async fn get(&self, path: &str) -> HttpResponse {
        http(self.addr, "GET", path, &[("Cookie", &self.cookie)], b"").await
    }

    async fn change(&self, method: &str, path: &str, body: Value) -> HttpResponse {
        let body = body.to_string();
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
            ("Content-Type", "application/json"),
        ];
        http(self.addr, method, path, &headers, body.as_bytes()).await
    }
}

#[tokio::test]
async fn without_a_password_there_is_no_dashboard() {
    let server = TestServer::default().await;
    for path in ["/admin", "/admin/api/session", "/admin/js/app.js"] {
        assert_eq!(
            http(server.addr, "GET", path, &[], b"").await.status,
            404,
            "{path}"
        );
    }
    let response = login_with(server.addr, PASSWORD, None).await;
    assert_eq!(response.status, 404);
}

#[tokio::test]
async fn the_page_and_its_vendored_chart_library_are_served_from_memory() {
    let server = server().await;
    let page = http(server.addr, "GET", "/admin", &[], b"").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("login-form"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let chart = http(
        server.addr,
        "GET",
        "/admin/vendor/uPlot.iife.min.js",
        &[],
        b"",
    )
    .await;
    assert_eq!(chart.status, 200);
    assert!(chart.text().contains("uPlot"));
    let license = http(server.addr, "GET", "/admin/vendor/uPlot.LICENSE", &[], b"").await;
    assert!(license.text().contains("MIT License"));
}

#[tokio::test]
async fn login_is_refused_then_accepted_with_a_strict_http_only_cookie() {
    let server = server().await;
    // No session: the API refuses.
    let response = http(server.addr, "GET", "/admin/api/session", &[], b"").await;
    assert_eq!(response.status, 401);
    let response = login_with(server.addr, "wrong password!!", None).await;
    assert_eq!(response.status, 401);
    assert!(response.header("set-cookie").is_none());
    // Not JSON: refused before the password is looked at.
    let form = http(
        server.addr,
        "POST",
        "/admin/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("password={PASSWORD}").as_bytes(),
    )
    .await;
    assert_eq!(form.status, 415);

    let response = login_with(
        server.addr,
        PASSWORD,
        Some(&format!("http://{}", server.addr)),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let cookie = response.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=3600"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(!response.text().contains(PASSWORD));
    let admin = Admin::login(server.addr).await;
    let session = admin.get("/admin/api/session").await;
    assert_eq!(session.status, 200);
    assert_eq!(session.json()["csrf"], admin.csrf);
    assert_eq!(session.header("cache-control"), Some("no-store"));
    // A made-up cookie is no session.
    let forged = http(
        server.addr,
        "GET",
        "/admin/api/session",
        &[(
            "Cookie",
            "switchboard_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )],
        b"",
    )
    .await;
    assert_eq!(forged.status, 401);
}

#[tokio::test]
async fn changes_need_the_csrf_token_and_a_same_origin() {
    let server = server().await;
    let admin = Admin::login(server.addr).await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    let body = json!({"event": "note", "data": 1, "to": client.id}).to_string();
    let without = http(
        server.addr,
        "POST",
        "/admin/api/publish",
        &[
            ("Cookie", &admin.cookie),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(without.status, 403);
    assert_eq!(without.json()["error"]["code"], "csrf_refused");
    let wrong = http(
        server.addr,
        "POST",
        "/admin/api/publish",
        &[
            ("Cookie", &admin.cookie),
            ("X-CSRF-Token", "not-the-token"),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(wrong.status, 403);
    let cross_site = http(
        server.addr,
        "POST",
        "/admin/api/publish",
        &[
            ("Cookie", &admin.cookie),
            ("X-CSRF-Token", &admin.csrf),
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(cross_site.status, 403);
    let fetch_site = http(
        server.addr,
        "DELETE",
        &format!("/admin/api/sockets/{}", client.id),
        &[
            ("Cookie", &admin.cookie),
            ("X-CSRF-Token", &admin.csrf),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        b"",
    )
    .await;
    assert_eq!(fetch_site.status, 403);
    // A login from another site is refused too (login CSRF).
    let login = login_with(server.addr, PASSWORD, Some("https://evil.example")).await;
    assert_eq!(login.status, 403);
    // None of it reached the client; the right request does.
    let ok = admin
        .change(
            "POST",
            "/admin/api/publish",
            serde_json::from_str(&body).unwrap(),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(client.recv().await, json!({"event": "note", "data": 1}));
    // A bad publish body is refused as /api/publish refuses it.
    let bad = admin
        .change("POST", "/admin/api/publish", json!({"event": "$welcome"}))
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let server = server().await;
    for _ in 0..5 {
        assert_eq!(
            login_with(server.addr, "guess guess guess", None)
                .await
                .status,
            401
        );
    }
    let limited = login_with(server.addr, "guess guess guess", None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"]["code"], "rate_limited");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(wait >= 1, "{wait}");
    // While limited, even the right password waits.
    assert_eq!(login_with(server.addr, PASSWORD, None).await.status, 429);
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let server = server().await;
    let admin = Admin::login(server.addr).await;
    // Logging out is a change: the CSRF token is needed.
    let forged = http(
        server.addr,
        "POST",
        "/admin/logout",
        &[("Cookie", &admin.cookie)],
        b"",
    )
    .await;
    assert_eq!(forged.status, 403);
    let response = admin.change("POST", "/admin/logout", json!({})).await;
    assert_eq!(response.status, 204);
    assert!(response.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(admin.get("/admin/api/session").await.status, 401);
    assert_eq!(admin.get("/admin/api/rooms").await.status, 401);
}

#[tokio::test]
async fn a_session_expires() {
    let server = server_with_ttl(Duration::from_millis(300)).await;
    let admin = Admin::login(server.addr).await;
    assert_eq!(admin.get("/admin/api/session").await.status, 200);
    eventually_async("the session to expire", || async {
        admin.get("/admin/api/session").await.status == 401
    })
    .await;
}

/// A connection that has sent `GET /admin/api/stream` with `admin`'s
/// session cookie.
async fn request_stream(admin: &Admin) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(admin.addr).await.unwrap();
    let request = format!(
        "GET /admin/api/stream HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\r\n",
        admin.addr, admin.cookie
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads a server-sent event stream until `count` events have come;
/// returns their names and data.
async fn read_events(admin: &Admin, count: usize) -> Vec<(String, Value)> {
    let mut stream = request_stream(admin).await;
    let mut text = String::new();
    let mut buffer = [0u8; 16 * 1024];
    let read = async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the stream ended: {text}");
            text.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if text.matches("\n\n").count() > count {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("events in time");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/event-stream"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = None;
            for line in block.lines() {
                // Chunked framing lines (sizes) are skipped.
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(value).ok();
                }
            }
            Some((event?, data?))
        })
        .take(count)
        .collect()
}

#[tokio::test]
async fn the_live_stream_sends_history_then_a_sample_a_second() {
    let server = server().await;
    let admin = Admin::login(server.addr).await;
    let mut client = WsClient::connect_at(server.addr, "/ws").await;
    client.join("lobby").await;
    let events = read_events(&admin, 2).await;
    assert_eq!(events[0].0, "history");
    assert!(events[0].1.is_array());
    let (name, sample) = &events[1];
    assert_eq!(name, "sample");
    assert_eq!(sample["connections"], 1);
    assert_eq!(sample["by_transport"]["websocket"], 1);
    assert_eq!(sample["by_codec"]["json"], 1);
    assert_eq!(sample["rooms"], 1);
    assert_eq!(sample["cluster"]["node"], server.hub.node_id());
    // A second viewer gets the samples kept so far.
    let events = read_events(&admin, 1).await;
    assert!(
        !events[0].1.as_array().unwrap().is_empty(),
        "{:?}",
        events[0]
    );
    // Without a session, no stream.
    let refused = http(server.addr, "GET", "/admin/api/stream", &[], b"").await;
    assert_eq!(refused.status, 401);
}

/// Opens the live stream of `admin`'s login and reads its answer's head;
/// returns the status and the connection (the stream stays open while it
/// is held).
async fn open_stream(admin: &Admin) -> (u16, tokio::net::TcpStream, String) {
    let mut stream = request_stream(admin).await;
    let mut text = String::new();
    let mut buffer = [0u8; 16 * 1024];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !text.contains("\r\n\r\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "closed before its head: {text}");
            text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
    .await
    .expect("an answer in time");
    let status = text[9..12].parse().unwrap();
    (status, stream, text)
}

#[tokio::test]
async fn a_login_holds_at_most_four_live_streams() {
    let server = server().await;
    let admin = Admin::login(server.addr).await;
    let mut open = Vec::new();
    for _ in 0..4 {
        let (status, stream, text) = open_stream(&admin).await;
        assert_eq!(status, 200, "{text}");
        open.push(stream);
    }
    let (status, _, text) = open_stream(&admin).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("too_many_streams"), "{text}");
    // Another login has its own.
    let other = Admin::login(server.addr).await;
    let (status, _other_stream, text) = open_stream(&other).await;
    assert_eq!(status, 200, "{text}");
    // A stream whose client went away gives its place back.
    drop(open.pop());
    eventually_async("a closed stream's place to be given back", || async {
        let (status, _, _) = open_stream(&admin).await;
        status == 200
    })
    .await;
}

#[tokio::test]
async fn rooms_sockets_and_users_are_found_and_acted_on() {
    let server = server().await;
    let admin = Admin::login(server.addr).await;
    let token = switchboard_testkit::hs256_token(
        SECRET.as_bytes(),
        json!({"sub": "ada", "exp": 4_000_000_000u64}),
    );
    let mut ada = WsClient::connect(&format!("ws://{}/ws?token={token}", server.addr)).await;
    let mut anonymous = WsClient::connect_at(server.addr, "/ws").await;
    ada.join("chat-room").await;
    anonymous.join("chat-room").await;
    anonymous.join("other").await;

    let rooms = admin.get("/admin/api/rooms?q=CHAT").await.json();
    assert_eq!(rooms["total"], 1);
    assert_eq!(rooms["rooms"], json!([{"room": "chat-room", "members": 2}]));
    let room = admin.get("/admin/api/rooms/chat-room").await.json();
    let members = room["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let ada_row = members.iter().find(|m| m["id"] == ada.id.as_str()).unwrap();
    assert_eq!(ada_row["user"], "ada");
    assert_eq!(ada_row["transport"], "websocket");
    assert_eq!(ada_row["remote"], "127.0.0.1");
    assert_eq!(ada_row["node"], server.hub.node_id());

    let detail = admin
        .get(&format!("/admin/api/sockets/{}", ada.id))
        .await
        .json();
    assert_eq!(detail["user"], "ada");
    assert_eq!(detail["rooms"], json!(["chat-room"]));
    assert_eq!(detail["token_expires_at"], 4_000_000_000u64);
    assert!(detail["opened_at"].as_u64().unwrap() > 1_700_000_000);
    assert!(detail["queue"]["resume_messages"].is_u64());
    assert_eq!(admin.get("/admin/api/sockets/nope").await.status, 404);

    let found = admin.get("/admin/api/find?q=ada").await.json();
    assert_eq!(found, json!({"kind": "user", "id": "ada"}));
    let found = admin
        .get(&format!("/admin/api/find?q={}", anonymous.id))
        .await
        .json();
    assert_eq!(found["kind"], "socket");
    let user = admin.get("/admin/api/users/ada").await.json();
    assert_eq!(user["sockets"][0]["id"], ada.id.as_str());

    // Send an event to one socket, publish to the room.
    let sent = admin
        .change(
            "POST",
            "/admin/api/publish",
            json!({"event": "hi", "data": {"a": 1}, "to": ada.id}),
        )
        .await;
    assert_eq!(sent.status, 200);
    assert_eq!(ada.recv().await, json!({"event": "hi", "data": {"a": 1}}));
    let sent = admin
        .change(
            "POST",
            "/admin/api/publish",
            json!({"event": "news", "data": 2, "room": "other"}),
        )
        .await;
    assert_eq!(sent.status, 200);
    assert_eq!(
        anonymous.recv().await,
        json!({"event": "news", "data": 2, "room": "other"})
    );

    // Kick: 4000; then the user: every socket closed with 4000.
    let kicked = admin
        .change(
            "DELETE",
            &format!("/admin/api/sockets/{}", anonymous.id),
            json!({}),
        )
        .await;
    assert_eq!(kicked.status, 204);
    assert_eq!(anonymous.close_code().await, 4000);
    let closed = admin
        .change("DELETE", "/admin/api/users/ada", json!({}))
        .await;
    assert_eq!(closed.json(), json!({"closed": 1}));
    assert_eq!(ada.close_code().await, 4000);
    let gone = admin
        .change("DELETE", "/admin/api/sockets/nope", json!({}))
        .await;
    assert_eq!(gone.status, 404);
}

#[test]
fn the_password_options_are_checked() {
    let resolve = |option, value: &str| {
        let mut raw = RawOptions::default();
        raw.set(option, vec![value.to_owned()], Source::Flag);
        Config::resolve(&raw)
    };
    let short = resolve(&ADMIN_PASSWORD, "short").unwrap_err().to_string();
    assert!(short.contains("at least 12 characters"), "{short}");
    assert!(
        short.contains("--admin-password") && !short.contains("short\""),
        "the flag named, the password not shown: {short}"
    );

    let dir = std::env::temp_dir().join(format!("sb-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, format!("  {PASSWORD}\n")).unwrap();
    let config = resolve(&ADMIN_PASSWORD_FILE, file.to_str().unwrap()).unwrap();
    let admin = config.admin.clone().expect("the dashboard is on");
    assert_eq!(admin.password.as_bytes(), PASSWORD.as_bytes(), "trimmed");
    assert!(!format!("{config:?}").contains(PASSWORD));
    assert!(!format!("{:?}", admin.password).contains(PASSWORD));
    let missing = resolve(&ADMIN_PASSWORD_FILE, "/nonexistent/pw").unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");

    let mut raw = RawOptions::default();
    raw.set(&ADMIN_PASSWORD, vec![PASSWORD.into()], Source::Env);
    raw.set(
        &ADMIN_PASSWORD_FILE,
        vec![file.to_str().unwrap().into()],
        Source::Flag,
    );
    let both: ConfigError = Config::resolve(&raw).unwrap_err();
    assert!(both.to_string().contains("one of"), "{both}");
    std::fs::remove_dir_all(&dir).unwrap();
}
