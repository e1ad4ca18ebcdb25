//! Handlers see the handshake (issue 17, point 3) and the hub selects a
//! WebSocket subprotocol (point 4, PROTOCOL.md section 1), over real
//! sockets: headers, URI and query, the client address, the request
//! extensions an axum middleware set before the upgrade, typed
//! application state, and `Sec-WebSocket-Protocol` answered as the
//! protocol says, with the codec following the selected name.

mod common;

use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use common::{PollClient, TestServer, WsClient};
use futures_util::SinkExt;
use serde_json::{Value, json};
use switchboard::{Codec, HandlerError, Hub, HubBuilder, Socket, Transport};
use switchboard_testkit::raw_handshake;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What an application's own auth layer puts in the request.
#[derive(Clone)]
struct CurrentUser(String);

/// The application's typed state.
struct AppName(&'static str);

async fn auth_layer(mut request: Request, next: Next) -> Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned();
    request.extensions_mut().insert(CurrentUser(user));
    next.run(request).await
}

/// A handler answering with everything the socket knows of its handshake.
fn describe(socket: &Socket) -> Value {
    let handshake = socket.handshake();
    json!({
        "path": handshake.uri().path(),
        "query": handshake.query(),
        "token": handshake.query_param("token"),
        "x_test": handshake.headers().get("x-test").and_then(|v| v.to_str().ok()),
        "host": handshake.headers().get("host").is_some(),
        "peer": handshake.peer_addr().map(|a| a.to_string()),
        "client_ip": handshake.client_ip().map(|a| a.to_string()),
        "subprotocol": socket.subprotocol(),
        "codec": socket.codec().as_str(),
        "transport": handshake.transport().as_str(),
        "user": socket.req_extension::<CurrentUser>().map(|u| u.0.clone()),
        "app": socket.state::<AppName>().map(|a| a.0),
    })
}

fn builder() -> HubBuilder {
    Hub::builder()
        .state(AppName("switchboard-test"))
        .subprotocol("chat.v2")
        .on("describe", |socket: Socket, _: Value| async move {
            Ok::<_, HandlerError>(describe(&socket))
        })
}

/// The hub behind an axum middleware, served by `Hub::serve_router` (which
/// adds the peer address).
async fn start_behind_middleware(builder: HubBuilder) -> (Hub, SocketAddr) {
    let hub = builder.build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .merge(hub.router("/ws"))
        .layer(middleware::from_fn(auth_layer));
    let serving = hub.clone();
    tokio::spawn(async move {
        serving
            .serve_router(listener, router, std::future::pending())
            .await
            .unwrap();
    });
    (hub, addr)
}

/// Completes a hand-written upgrade; the answer's headers and a client on
/// the upgraded stream.
async fn upgrade(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (Vec<(String, String)>, WsClient) {
    let (status, answer, stream) = raw_handshake(addr, path, headers).await;
    assert_eq!(status, 101, "{answer:?}");
    let ws =
        WebSocketStream::from_raw_socket(MaybeTlsStream::Plain(stream), Role::Client, None).await;
    (answer, WsClient::from_stream(ws))
}

fn answered_subprotocol(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-protocol"))
        .map(|(_, value)| value.as_str())
}

/// Reads `$welcome` and keeps the socket id.
async fn welcomed(client: &mut WsClient) -> Value {
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    client.id = welcome["data"]["id"].as_str().unwrap().to_owned();
    welcome
}

#[tokio::test]
async fn event_handlers_see_the_handshake_the_middleware_and_the_state() {
    let (hub, addr) = start_behind_middleware(builder()).await;
    let url = format!("ws://{addr}/ws?token=a%20b&x=1");
    let mut client = WsClient::try_open_with(
        &url,
        &[
            ("x-test", "yes"),
            ("x-user", "ada"),
            ("sec-websocket-protocol", "switchboard.v1"),
        ],
    )
    .await
    .expect("upgrade");
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    let data = &reply["data"];
    assert_eq!(data["path"], "/ws", "{reply}");
    assert_eq!(data["query"], "token=a%20b&x=1");
    assert_eq!(data["token"], "a b");
    assert_eq!(data["x_test"], "yes");
    assert_eq!(data["host"], true);
    assert!(
        data["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{reply}"
    );
    assert_eq!(data["client_ip"], "127.0.0.1");
    assert_eq!(data["subprotocol"], "switchboard.v1");
    assert_eq!(data["codec"], "json");
    assert_eq!(data["transport"], "websocket");
    assert_eq!(data["user"], "ada");
    assert_eq!(data["app"], "switchboard-test");

    // The same from outside a handler, through the hub.
    let socket = hub.socket(&client.id).expect("connected");
    assert_eq!(socket.handshake().subprotocol(), Some("switchboard.v1"));
    assert!(
        socket.extension::<CurrentUser>().is_none(),
        "the auth hook's data is apart"
    );
    assert!(
        socket
            .handshake()
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .is_none(),
        "the peer address is kept as peer_addr, not as an extension"
    );
}

#[tokio::test]
async fn under_a_nested_router_the_uri_is_the_clients() {
    let hub = builder().build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/api", hub.router("/ws"));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut client = WsClient::try_open_with(&format!("ws://{addr}/api/ws?x=1"), &[])
        .await
        .expect("upgrade");
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["path"], "/api/ws", "{reply}");
    assert_eq!(reply["data"]["query"], "x=1");
    // Served without ConnectInfo: no address.
    assert_eq!(reply["data"]["peer"], Value::Null);
    let socket = hub.socket(&client.id).unwrap();
    let extensions = socket.handshake().extensions();
    assert!(extensions.get::<axum::extract::OriginalUri>().is_none());
    assert!(extensions.get::<axum::extract::MatchedPath>().is_none());
    assert!(extensions.get::<axum::extract::NestedPath>().is_none());
    assert!(extensions.is_empty(), "axum's own entries are left out");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_address() {
    let (_hub, addr) =
        start_behind_middleware(builder().trusted_proxies(vec!["127.0.0.1".parse().unwrap()]))
            .await;
    let mut client = WsClient::try_open_with(
        &format!("ws://{addr}/ws"),
        &[("x-forwarded-for", "203.0.113.7")],
    )
    .await
    .expect("upgrade");
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["client_ip"], "203.0.113.7", "{reply}");
    assert!(
        reply["data"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    // No subprotocol offered: none answered, none seen.
    assert_eq!(reply["data"]["subprotocol"], Value::Null);
}

#[tokio::test]
async fn long_polling_sessions_see_their_open_request() {
    let (hub, addr) = start_behind_middleware(builder()).await;
    let (client, _) = PollClient::open(addr, None).await;
    let socket = hub.socket(&client.id).expect("open");
    let handshake = socket.handshake();
    assert_eq!(handshake.transport(), Transport::LongPolling);
    assert_eq!(handshake.uri().path(), "/ws/poll");
    assert_eq!(handshake.subprotocol(), None);
    assert_eq!(handshake.codec(), Codec::Json);
    assert!(handshake.peer_addr().is_some());
    assert_eq!(
        socket.req_extension::<CurrentUser>().map(|u| u.0.as_str()),
        Some("anonymous")
    );
    assert_eq!(
        socket.state::<AppName>().map(|a| a.0),
        Some("switchboard-test")
    );
}

#[tokio::test]
async fn the_hub_selects_the_first_offered_subprotocol_it_speaks() {
    let server = TestServer::start(builder()).await;

    // The protocol's names: answered, and the codec follows.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws",
        &[("Sec-WebSocket-Protocol", "switchboard.v1.msgpack")],
    )
    .await;
    assert_eq!(
        answered_subprotocol(&answer),
        Some("switchboard.v1.msgpack")
    );
    let welcome = welcomed(&mut client).await;
    assert_eq!(welcome["data"]["resumed"], false);
    let socket = server.hub.socket(&client.id).unwrap();
    assert_eq!(socket.codec(), Codec::MsgPack);
    assert_eq!(socket.subprotocol(), Some("switchboard.v1.msgpack"));
    // A MessagePack round trip.
    let ping = rmp_serde::to_vec_named(&json!({"event": "$ping"})).unwrap();
    client
        .ws
        .send(WsMessage::Binary(ping.into()))
        .await
        .unwrap();
    assert_eq!(client.recv().await["event"], "$pong");

    // Several offered, over several headers: the first the hub speaks.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws",
        &[
            ("Sec-WebSocket-Protocol", "mqtt, Switchboard.V1"),
            (
                "Sec-WebSocket-Protocol",
                "switchboard.v1, switchboard.v1.msgpack",
            ),
        ],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), Some("switchboard.v1"));
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["subprotocol"], "switchboard.v1");
    assert_eq!(reply["data"]["codec"], "json");

    // Only unknown names: connects, with no subprotocol answered.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws",
        &[("Sec-WebSocket-Protocol", "mqtt, graphql-ws")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), None, "{answer:?}");
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["subprotocol"], Value::Null);
    assert_eq!(reply["data"]["codec"], "json");
}

#[tokio::test]
async fn the_codec_follows_the_subprotocol_and_the_query_applies_without_one() {
    let server = TestServer::start(builder()).await;

    // `codec=` disagrees with the selected protocol name: the name wins.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws?codec=msgpack",
        &[("Sec-WebSocket-Protocol", "switchboard.v1")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), Some("switchboard.v1"));
    welcomed(&mut client).await; // a JSON text frame: recv reads it as such
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["codec"], "json", "{reply}");

    let (answer, mut client) = upgrade(
        server.addr,
        "/ws?codec=json",
        &[("Sec-WebSocket-Protocol", "switchboard.v1.msgpack")],
    )
    .await;
    assert_eq!(
        answered_subprotocol(&answer),
        Some("switchboard.v1.msgpack")
    );
    welcomed(&mut client).await;
    assert_eq!(
        server.hub.socket(&client.id).unwrap().codec(),
        Codec::MsgPack
    );

    // An application's name chooses no codec: `codec=` does.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws?codec=msgpack",
        &[("Sec-WebSocket-Protocol", "nope, chat.v2, switchboard.v1")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), Some("chat.v2"));
    welcomed(&mut client).await;
    let socket = server.hub.socket(&client.id).unwrap();
    assert_eq!(socket.codec(), Codec::MsgPack);
    assert_eq!(socket.subprotocol(), Some("chat.v2"));

    // Unknown names only: `codec=` applies.
    let (answer, mut client) = upgrade(
        server.addr,
        "/ws?codec=msgpack",
        &[("Sec-WebSocket-Protocol", "mqtt")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), None);
    welcomed(&mut client).await;
    assert_eq!(
        server.hub.socket(&client.id).unwrap().codec(),
        Codec::MsgPack
    );
}

#[tokio::test]
async fn a_resumed_session_keeps_its_subprotocol_codec() {
    let server = TestServer::start(builder()).await;
    let (_, mut first) = upgrade(
        server.addr,
        "/ws",
        &[("Sec-WebSocket-Protocol", "switchboard.v1.msgpack")],
    )
    .await;
    let welcome = welcomed(&mut first).await;
    let token = welcome["data"]["session"].as_str().unwrap().to_owned();
    first.reset();
    // Resumed with the same codec named by the subprotocol (not `codec=`).
    let path = format!("/ws?resume={token}&last=0");
    let (answer, mut second) = upgrade(
        server.addr,
        &path,
        &[("Sec-WebSocket-Protocol", "switchboard.v1.msgpack")],
    )
    .await;
    assert_eq!(
        answered_subprotocol(&answer),
        Some("switchboard.v1.msgpack")
    );
    let welcome = welcomed(&mut second).await;
    assert_eq!(welcome["data"]["resumed"], true, "{welcome}");
}

#[tokio::test]
async fn a_real_client_accepts_the_answer() {
    // tokio-tungstenite checks the answer as RFC 6455 asks: the selected
    // name must be one it offered.
    let server = TestServer::start(builder()).await;
    let mut client = WsClient::try_open_with(
        &server.url(),
        &[("sec-websocket-protocol", "chat.v2, switchboard.v1")],
    )
    .await
    .expect("upgrade");
    welcomed(&mut client).await;
    let reply = client.request("describe", Value::Null).await;
    assert_eq!(reply["data"]["subprotocol"], "chat.v2");
}

#[tokio::test]
async fn raw_hubs_select_only_the_applications_names() {
    let server = TestServer::start(Hub::builder().raw_mode().subprotocol("chat.v2")).await;
    let (answer, _client) = upgrade(
        server.addr,
        "/ws",
        &[("Sec-WebSocket-Protocol", "switchboard.v1")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), None);
    let (answer, _client) = upgrade(
        server.addr,
        "/ws",
        &[("Sec-WebSocket-Protocol", "switchboard.v1, chat.v2")],
    )
    .await;
    assert_eq!(answered_subprotocol(&answer), Some("chat.v2"));
}

#[tokio::test]
async fn handlers_registered_with_the_typed_state_receive_it() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use switchboard::HubState;

    #[derive(Clone, Default)]
    struct Visits(std::sync::Arc<AtomicU64>);

    let visits = Visits::default();
    let hub = Hub::builder()
        .with_state(visits.clone())
        .on_state(
            "visit",
            |_socket: Socket, HubState(visits): HubState<Visits>, by: u64| async move {
                Ok::<_, HandlerError>(visits.0.fetch_add(by, Ordering::Relaxed) + by)
            },
        )
        .build();
    assert!(hub.state::<Visits>().is_some(), "also readable by type");
    let server = TestServer::start_hub(hub).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    assert_eq!(a.request("visit", json!(2)).await["data"], 2);
    assert_eq!(
        b.request("visit", json!(3)).await["data"],
        5,
        "one state, shared"
    );
    assert_eq!(visits.0.load(Ordering::Relaxed), 5);
}
