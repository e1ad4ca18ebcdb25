//! Presence (PROTOCOL.md section 10) through the Rust client, against a
//! hub that keeps it for `chat-*`, over real sockets: `presence()` lists
//! who is in a room, `$joined` / `$left` arrive as events with their room,
//! and a room without presence is refused `forbidden`.

#[path = "client_support.rs"]
mod support;

use support::*;
use switchboard::TokenVerifier;

const SECRET: &[u8] = b"a test secret that is long enough for HS256";

fn token(sub: &str) -> String {
    let claims = serde_json::json!({"sub": sub, "info": {"name": sub.to_uppercase()}});
    switchboard_testkit::hs256_token(SECRET, claims)
}

async fn connect_as(server: &TestHub, user: &str) -> Client {
    within("connect", fast(&server.url()).token(token(user)).connect())
        .await
        .unwrap()
}

fn presence_of(event: &Event) -> Option<Event> {
    matches!(event, Event::Joined { .. } | Event::Left { .. }).then(|| event.clone())
}

#[tokio::test]
async fn presence_lists_the_room_and_arrivals_and_departures_are_events() {
    let server = TestHub::start(
        echo_hub()
            .tokens(TokenVerifier::hmac(SECRET))
            .presence(|room: &str| room.starts_with("chat-")),
    )
    .await;
    let ada = connect_as(&server, "ada").await;
    let mut events = ada.events();
    ada.join("chat-1").await.unwrap();
    assert_eq!(
        next_event(&mut events, presence_of).await,
        Event::Joined {
            room: "chat-1".into(),
            user: "ada".into(),
            info: serde_json::json!({"name": "ADA"}),
        }
    );
    let bob = connect_as(&server, "bob").await;
    bob.join("chat-1").await.unwrap();
    assert_eq!(
        next_event(&mut events, presence_of).await,
        Event::Joined {
            room: "chat-1".into(),
            user: "bob".into(),
            info: serde_json::json!({"name": "BOB"}),
        }
    );
    let presence = ada.presence("chat-1").await.unwrap();
    assert_eq!(presence.room, "chat-1");
    let users: Vec<(&str, u64)> = presence
        .users
        .iter()
        .map(|u| (u.user.as_str(), u.sockets))
        .collect();
    assert_eq!(users, [("ada", 1), ("bob", 1)]);
    assert_eq!(presence.anonymous, 0);

    bob.close().await;
    assert_eq!(
        next_event(&mut events, presence_of).await,
        Event::Left {
            room: "chat-1".into(),
            user: "bob".into(),
        }
    );
    ada.join("news").await.unwrap();
    match ada.presence("news").await {
        Err(ClientAckError::Remote { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("expected forbidden, got {other:?}"),
    }
    ada.close().await;
}
