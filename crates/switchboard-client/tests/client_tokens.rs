//! Tokens (PROTOCOL.md section 10) against a hub that checks them, over
//! real sockets: a token function for every handshake, refresh before
//! expiry, a resume with a fresh token after `4003` (long-polling: `401
//! token_expired`) that loses nothing, and the refusals that stop the
//! client. Tokens are signed with `jsonwebtoken`.

#[path = "client_support.rs"]
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use support::*;
use switchboard::TokenVerifier;
use switchboard_client::client::ClientBuilder;

const SECRET: &[u8] = b"a test secret that is long enough for HS256";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token of `sub` expiring at `exp` (Unix seconds).
fn token_until(sub: &str, exp: u64) -> String {
    encode(
        &Header::default(),
        &serde_json::json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
    .unwrap()
}

/// A token of `sub` valid for `ttl` seconds.
fn token(sub: &str, ttl: u64) -> String {
    token_until(sub, now() + ttl)
}

async fn token_hub() -> TestHub {
    TestHub::start(echo_hub().tokens(TokenVerifier::hmac(SECRET))).await
}

/// How many times a token function was called.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicU32>);

impl Calls {
    /// The next call's number, from 1.
    fn next(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A client whose token function hands out fresh tokens of `ada` valid for
/// `ttl` seconds, counting its calls.
fn fresh_tokens(builder: ClientBuilder, ttl: u64) -> (ClientBuilder, Calls) {
    let calls = Calls::default();
    let counter = calls.clone();
    let builder = builder.token(move || {
        counter.next();
        async move { Ok::<_, std::convert::Infallible>(token("ada", ttl)) }
    });
    (builder, calls)
}

/// A token function whose refreshes all fail: its first call (the
/// connect) gets a token of `ada` valid for 3 s; later calls before that
/// token's expiry (the refreshes) get a token of another user, which the
/// hub refuses for a refresh; calls from the expiry on (the resume) wait
/// 300 ms, so the link stays down a while, and get a fresh token of `ada`.
fn failing_refreshes(builder: ClientBuilder) -> (ClientBuilder, Calls, u64) {
    let calls = Calls::default();
    let counter = calls.clone();
    let first_expiry = now() + 3;
    let builder = builder.token(move || {
        let call = counter.next();
        async move {
            if call == 1 {
                Ok::<_, String>(token_until("ada", first_expiry))
            } else if now() < first_expiry {
                Ok(token("mallory", 600))
            } else {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok(token("ada", 600))
            }
        }
    });
    (builder, calls, first_expiry)
}

async fn disconnected(events: &mut broadcast::Receiver<Event>) -> (ClientDisconnect, bool) {
    next_event(events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect,
        } => Some((reason.clone(), *will_reconnect)),
        _ => None,
    })
    .await
}

/// Waits for the next `Connected`: its id, whether it resumed, its transport.
async fn connected(events: &mut broadcast::Receiver<Event>) -> (String, bool, Transport) {
    next_event(events, |e| match e {
        Event::Connected {
            id,
            resumed,
            transport,
            ..
        } => Some((id.clone(), *resumed, *transport)),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_token_function_is_called_for_every_handshake_and_names_the_user() {
    let server = token_hub().await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, calls) = fresh_tokens(fast(&proxy.url()), 600);
    let client = within("connect", builder.connect()).await.unwrap();
    let mut events = client.events();
    let (id, resumed, _) = connected(&mut events).await;
    assert!(!resumed);
    assert_eq!(client.user().as_deref(), Some("ada"));
    let expires_at = client.expires_at().expect("an expiry");
    assert!(expires_at >= now() + 590, "{expires_at}");
    assert_eq!(calls.get(), 1);
    // A dropped link resumes with a fresh token from the function.
    proxy.cut();
    let (again, resumed, _) = connected(&mut events).await;
    assert!(resumed);
    assert_eq!(again, id);
    assert_eq!(calls.get(), 2);
    assert_eq!(client.user().as_deref(), Some("ada"));
    let back: String = client.emit_with_ack("echo", "hi", None).await.unwrap();
    assert_eq!(back, "hi");
    client.close().await;
}

#[tokio::test]
async fn refresh_keeps_a_short_lived_token_link_open_past_its_expiry() {
    let server = token_hub().await;
    let (builder, calls) = fresh_tokens(fast(&server.url()), 3);
    let client = within("connect", builder.connect()).await.unwrap();
    let mut events = client.events();
    let first = client.expires_at().unwrap();
    let id = client.id().unwrap();
    // Well past the first token's expiry (3 s at most).
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert!(now() > first);
    assert_eq!(client.reconnect_count(), 0, "no reconnect");
    assert_eq!(*client.state().borrow(), State::Connected);
    assert!(calls.get() >= 3, "refreshed twice or more: {}", calls.get());
    let later = client.expires_at().unwrap();
    assert!(later > first, "{later} > {first}");
    // The hub holds the refreshed expiry, and the link works.
    let socket = server.hub.socket(&id).expect("the same socket");
    assert!(socket.identity().unwrap().expires_at().unwrap() > first);
    let back: String = client.emit_with_ack("echo", "still", None).await.unwrap();
    assert_eq!(back, "still");
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, Event::Disconnected { .. } | Event::Error { .. }),
            "{event:?}"
        );
    }
    client.close().await;
}

/// A client whose refreshes fail: the hub closes its link when the token
/// expires, and the client resumes at once with a fresh token; what the
/// hub sent meanwhile arrives once, in order.
async fn failed_refresh_resumes(transports: Transports) {
    let server = token_hub().await;
    let (builder, rx) = recorder(fast(&server.url()).transports(transports), "n");
    let mut rx = rx;
    let (builder, calls, first_expiry) = failing_refreshes(builder);
    let client = within("connect", builder.connect()).await.unwrap();
    let mut events = client.events();
    let id = client.id().unwrap();
    client.join("r").await.unwrap();
    server.hub.to("r").emit("n", 1).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![1]);

    let refresh_failed = next_event(&mut events, |e| match e {
        Event::Error { code, message } if code == "refresh" => Some(message.clone()),
        _ => None,
    })
    .await;
    assert!(refresh_failed.contains("unauthorized"), "{refresh_failed}");
    let (reason, will_reconnect) = disconnected(&mut events).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 4003, .. }),
        "{reason:?}"
    );
    assert!(will_reconnect);
    assert!(now() >= first_expiry);
    // The session waits for the resume (the token function holds it up),
    // and keeps what is sent meanwhile.
    server.hub.send_to(&id, "n", 2).unwrap();
    for n in 3..=4 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    let (again, resumed, transport) = connected(&mut events).await;
    assert!(resumed, "the session is resumed");
    assert_eq!(again, id);
    if transports == Transports::LongPolling {
        assert_eq!(transport, Transport::LongPolling);
    }
    assert_eq!(recv_n(&mut rx, 3).await, vec![2, 3, 4]);
    assert_eq!(client.reconnect_count(), 1);
    assert!(client.expires_at().unwrap() > first_expiry + 500);
    assert!(
        calls.get() >= 3,
        "connect, refreshes, resume: {}",
        calls.get()
    );
    server.hub.to("r").emit("n", 5).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![5]);
    client.close().await;
}

#[tokio::test]
async fn a_failed_refresh_closes_4003_and_the_client_resumes_without_loss() {
    failed_refresh_resumes(Transports::WebSocket).await;
}

#[tokio::test]
async fn long_polling_resumes_after_401_token_expired_without_loss() {
    failed_refresh_resumes(Transports::LongPolling).await;
}

#[tokio::test]
async fn a_fixed_token_that_expires_stops_the_client_after_4003() {
    let server = token_hub().await;
    let client = within(
        "connect",
        fast(&server.url()).token(token("ada", 2)).connect(),
    )
    .await
    .unwrap();
    let mut events = client.events();
    assert_eq!(client.user().as_deref(), Some("ada"));
    let (reason, will_reconnect) = disconnected(&mut events).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 4003, .. }),
        "{reason:?}"
    );
    assert!(will_reconnect, "4003 is not final");
    // The resume with the same, expired, token is refused: the client stops.
    match closed_reason(&client).await {
        ClientDisconnect::Unauthorized { code, .. } => assert_eq!(code, "token_expired"),
        other => panic!("expected token_expired, got {other:?}"),
    }
    assert_eq!(client.reconnect_count(), 0);
}

#[tokio::test]
async fn a_bad_fixed_token_is_refused_once_with_a_clear_error() {
    let server = token_hub().await;
    for transports in [Transports::WebSocket, Transports::LongPolling] {
        let client = fast(&server.url())
            .transports(transports)
            .token("not a token")
            .build()
            .unwrap();
        let mut events = client.events();
        let reason = closed_reason(&client).await;
        match &reason {
            ClientDisconnect::Unauthorized { code, message } => {
                assert_eq!(code, "unauthorized");
                assert!(!message.is_empty());
            }
            other => panic!("expected unauthorized, got {other:?}"),
        }
        assert!(reason.to_string().contains("refused the token"), "{reason}");
        while let Ok(event) = events.try_recv() {
            assert!(
                !matches!(event, Event::Reconnecting { .. }),
                "no reconnect: {event:?}"
            );
        }
    }
    // `connect` reports it too.
    match fast(&server.url()).token("not a token").connect().await {
        Err(client::ConnectError(ClientDisconnect::Unauthorized { code, .. })) => {
            assert_eq!(code, "unauthorized")
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_function_refused_401_gets_three_tries() {
    let server = token_hub().await;
    let calls = Calls::default();
    let counter = calls.clone();
    let result = fast(&server.url())
        .token(move || {
            counter.next();
            // Expired a minute ago.
            async { Ok::<_, String>(token_until("ada", now() - 60)) }
        })
        .connect()
        .await;
    match result {
        Err(client::ConnectError(ClientDisconnect::Unauthorized { code, .. })) => {
            assert_eq!(code, "token_expired")
        }
        other => panic!("expected token_expired, got {other:?}"),
    }
    assert_eq!(calls.get(), 3);

    // A token function that fails is retried (with backoff) until it works.
    let calls = Calls::default();
    let counter = calls.clone();
    let client = fast(&server.url())
        .token(move || {
            let call = counter.next();
            async move {
                match call {
                    1 | 2 => Err("the identity service is down"),
                    _ => Ok(token("ada", 600)),
                }
            }
        })
        .build()
        .unwrap();
    let mut events = client.events();
    let why = next_event(&mut events, |e| match e {
        Event::Error { code, message } if code == "token" => Some(message.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("identity service"), "{why}");
    within("connect", client.connected()).await.unwrap();
    assert_eq!(calls.get(), 3);
    assert_eq!(client.user().as_deref(), Some("ada"));
    client.close().await;
}
