//! The client against an in-process hub: which closes and refusals stop
//! it, and which make it reconnect.

#[path = "client_support.rs"]
mod support;

use support::*;

#[tokio::test]
async fn kick_4000_stops_reconnecting() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    let mut events = client.events();
    assert!(
        server
            .hub
            .disconnect(&client.id().unwrap(), CloseCode::Kicked)
    );
    let reason = closed_reason(&client).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 4000, .. }),
        "{reason:?}"
    );
    let will = next_event(&mut events, |e| match e {
        Event::Disconnected { will_reconnect, .. } => Some(*will_reconnect),
        _ => None,
    })
    .await;
    assert!(!will);
    assert!(matches!(
        client.emit_with_ack::<Value>("x", 1, None).await,
        Err(ClientAckError::Closed)
    ));
}

#[tokio::test]
async fn policy_1008_stops_reconnecting() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    assert!(
        server
            .hub
            .disconnect(&client.id().unwrap(), CloseCode::Policy)
    );
    let reason = closed_reason(&client).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 1008, .. }),
        "{reason:?}"
    );
}

#[tokio::test]
async fn refused_handshake_stops_with_the_status() {
    let server = TestHub::start(Hub::builder()).await;
    let url = format!("ws://{}/nowhere", server.addr);
    match fast(&url).connect().await {
        Err(client::ConnectError(ClientDisconnect::Refused { status, .. })) => {
            assert_eq!(status, 404)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn hub_shutdown_1001_reconnects_to_a_restarted_hub() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    let mut events = client.events();
    client.join("r").await.unwrap();

    let addr = server.stop().await;
    let reason = next_event(&mut events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect: true,
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 1001, .. }),
        "{reason:?}"
    );

    let server = TestHub::start_on(addr, Hub::builder()).await;
    let (id, resumed) = next_event(&mut events, |e| match e {
        Event::Connected { id, resumed, .. } => Some((id.clone(), *resumed)),
        _ => None,
    })
    .await;
    assert!(!resumed, "a restarted hub knows no session");
    assert_eq!(server.hub.members("r"), vec![id]);
    assert!(client.reconnect_count() >= 1);
    client.close().await;
}

#[tokio::test]
async fn max_attempts_gives_up() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let result = fast(&format!("ws://{addr}/ws"))
        .max_attempts(Some(2))
        .connect()
        .await;
    match result {
        Err(client::ConnectError(ClientDisconnect::GaveUp { attempts, last })) => {
            assert_eq!(attempts, 2);
            assert!(matches!(*last, ClientDisconnect::DialFailed(_)), "{last:?}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
}
