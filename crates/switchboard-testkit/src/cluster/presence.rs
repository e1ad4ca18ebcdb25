//! Presence across nodes (PROTOCOL.md section 10): `$joined` once per user
//! however many nodes hold its sockets, `$left` when the last one goes,
//! `$presence` counted over every node, a node that comes late learning
//! what the others hold, and a change made while the backend was away
//! arriving once it is back.

use serde_json::json;
use switchboard::HubBuilder;

use super::users::{connect_as, hub_with_users};
use super::{ClusterBackend, Node, join, test_options};
use crate::{WsClient, eventually};

/// The room of the scenario; rooms `chat-*` keep presence.
const ROOM: &str = "chat-1";

fn hub_with_presence() -> HubBuilder {
    hub_with_users().presence(|room: &str| room.starts_with("chat-"))
}

/// The next message, which must be `$joined` or `$left` of `user` in
/// [`ROOM`] (so a duplicate before it fails the test).
async fn expect_presence(client: &mut WsClient, event: &str, user: &str) {
    let message = loop {
        let message = client.recv().await;
        if message["event"] != "$pong" {
            break message;
        }
    };
    let data = match event {
        "$joined" => json!({ "user": user, "info": { "name": user } }),
        _ => json!({ "user": user }),
    };
    assert_eq!(
        message,
        json!({ "event": event, "room": ROOM, "data": data }),
        "to {}",
        client.id
    );
}

/// `$presence` of [`ROOM`] as `client` sees it: `[(user, sockets)]` and
/// the anonymous count.
async fn presence(client: &mut WsClient) -> (Vec<(String, u64)>, u64) {
    let reply = client.request("$presence", json!({ "room": ROOM })).await;
    let data = &reply["data"];
    assert_eq!(data["room"], ROOM, "{reply}");
    let users = data["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {reply}"))
        .iter()
        .map(|u| {
            (
                u["user"].as_str().unwrap().to_owned(),
                u["sockets"].as_u64().unwrap(),
            )
        })
        .collect();
    (users, data["anonymous"].as_u64().unwrap())
}

fn listed(users: &[(&str, u64)]) -> Vec<(String, u64)> {
    users.iter().map(|(u, n)| ((*u).to_owned(), *n)).collect()
}

/// Three nodes (one late) over `backend`, which is cut once.
pub async fn presence_cross_nodes<B: ClusterBackend>(backend: &mut B) {
    let mut nodes = Vec::new();
    for _ in 0..2 {
        nodes.push(Node::start_with(hub_with_presence(), backend.driver(), test_options()).await);
    }
    for node in &nodes {
        node.wait_status("both nodes to see each other", |s| {
            s.backend_up && s.peers.len() == 1
        })
        .await;
    }
    // An anonymous watcher on node 1.
    let mut watcher = nodes[1].client().await;
    join(&mut watcher, ROOM).await;

    // ada's first socket, on node 0: everyone hears of her, she too.
    let mut ada_0 = connect_as(&nodes[0], "ada").await;
    join(&mut ada_0, ROOM).await;
    expect_presence(&mut ada_0, "$joined", "ada").await;
    expect_presence(&mut watcher, "$joined", "ada").await;
    // Her second, on node 1, is no news; bob's first (node 0) is, and it
    // is the watcher's next message.
    let mut ada_1 = connect_as(&nodes[1], "ada").await;
    join(&mut ada_1, ROOM).await;
    let mut bob = connect_as(&nodes[0], "bob").await;
    join(&mut bob, ROOM).await;
    expect_presence(&mut bob, "$joined", "bob").await;
    expect_presence(&mut watcher, "$joined", "bob").await;
    assert_eq!(
        presence(&mut watcher).await,
        (listed(&[("ada", 2), ("bob", 1)]), 1)
    );
    let full = nodes[1].hub.presence(ROOM).expect("chat-1 keeps presence");
    assert_eq!(full.users[0].info, json!({ "name": "ada" }));

    // A node that comes late learns what the others hold.
    nodes.push(Node::start_with(hub_with_presence(), backend.driver(), test_options()).await);
    nodes[2]
        .wait_status("the late node to see the others", |s| s.peers.len() == 2)
        .await;
    eventually("the late node to know who is in the room", || {
        nodes[2].hub.presence(ROOM).as_ref() == Some(&full)
    })
    .await;

    // A join while the backend is away reaches the others once it is back.
    backend.cut().await;
    nodes[0]
        .wait_status("node 0 to lose the backend", |s| !s.backend_up)
        .await;
    let mut cy = connect_as(&nodes[0], "cy").await;
    join(&mut cy, ROOM).await;
    expect_presence(&mut cy, "$joined", "cy").await;
    expect_presence(&mut bob, "$joined", "cy").await;
    backend.restore().await;
    expect_presence(&mut watcher, "$joined", "cy").await;

    // ada leaves node 0: she is still on node 1. When her last socket
    // goes, everyone hears it once.
    ada_0.close_normally().await;
    ada_1.close_normally().await;
    expect_presence(&mut watcher, "$left", "ada").await;
    expect_presence(&mut bob, "$left", "ada").await;
    assert_eq!(
        presence(&mut bob).await,
        (listed(&[("bob", 1), ("cy", 1)]), 1)
    );

    // Only members may ask, and only about rooms that keep presence.
    let mut outsider = connect_as(&nodes[2], "dan").await;
    for room in [ROOM, "news"] {
        let reply = outsider.request("$presence", json!({ "room": room })).await;
        assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    }
    join(&mut outsider, "news").await;
    let reply = outsider
        .request("$presence", json!({ "room": "news" }))
        .await;
    assert_eq!(reply["error"]["code"], "forbidden", "{reply}");
    assert_eq!(
        nodes[2].hub.presence("news"),
        None::<switchboard::RoomPresence>
    );
}
