//! Users across nodes (PROTOCOL.md section 10): one user's sockets on two
//! nodes reached by one publish, listed and closed from a third.

use serde_json::json;
use switchboard::{AuthRejection, CloseCode, Hub, HubBuilder, UserGrant};

use super::{ClusterBackend, Node, test_options};
use crate::{WsClient, eventually_async};

/// A hub whose clients name their user with `?user=` (the authentication
/// hook grants it, with the info `{"name": user}`, as a token would);
/// clients without it are anonymous.
pub(super) fn hub_with_users() -> HubBuilder {
    Hub::builder().authenticate(|request| async move {
        let mut data = http::Extensions::new();
        let query = request.uri.query().unwrap_or_default().to_owned();
        for pair in query.split('&') {
            if let Some(user) = pair.strip_prefix("user=") {
                if user.is_empty() {
                    return Err(AuthRejection::new("an empty user"));
                }
                data.insert(UserGrant {
                    user: user.to_owned(),
                    info: Some(json!({ "name": user })),
                    ..UserGrant::default()
                });
            }
        }
        Ok(data)
    })
}

/// Connects as `user` to `node`.
pub(super) async fn connect_as(node: &Node, user: &str) -> WsClient {
    let client = WsClient::connect(&format!("{}?user={user}", node.url())).await;
    assert!(!client.id.is_empty());
    client
}

/// A user with sockets on two nodes: a publish to the user from a third
/// reaches both and no one else; the third lists both and closes both with
/// `4000`, after which the user has no socket anywhere.
pub async fn users_cross_nodes<B: ClusterBackend>(backend: &B) {
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start_with(hub_with_users(), backend.driver(), test_options()).await);
    }
    for node in &nodes {
        node.wait_status("every node to see the others", |s| {
            s.backend_up && s.peers.len() == 2
        })
        .await;
    }
    let mut ada_0 = connect_as(&nodes[0], "ada").await;
    let mut ada_1 = connect_as(&nodes[1], "ada").await;
    let mut bob = connect_as(&nodes[2], "bob").await;

    let mut ids = vec![ada_0.id.clone(), ada_1.id.clone()];
    ids.sort();
    let listed = nodes[2].hub.cluster().user_sockets("ada").await;
    assert!(listed.is_complete(), "{listed:?}");
    assert_eq!(listed.value, ids);

    let reached_here = nodes[2].hub.to_user("ada").emit("note", "for ada").unwrap();
    assert_eq!(reached_here, 0, "node 2 holds none of ada's sockets");
    for client in [&mut ada_0, &mut ada_1] {
        assert_eq!(client.recv_event("note").await["data"], json!("for ada"));
    }
    bob.assert_silent(300).await;

    let closed = nodes[2]
        .hub
        .cluster()
        .disconnect_user("ada", CloseCode::Kicked)
        .await;
    assert_eq!(closed.value, 2, "{closed:?}");
    assert_eq!(ada_0.close_code().await, 4000);
    assert_eq!(ada_1.close_code().await, 4000);
    eventually_async("ada has no socket left", || async {
        nodes[1]
            .hub
            .cluster()
            .user_sockets("ada")
            .await
            .value
            .is_empty()
    })
    .await;
    let bobs = nodes[0].hub.cluster().user_sockets("bob").await;
    assert_eq!(bobs.value, [bob.id.clone()]);
}
