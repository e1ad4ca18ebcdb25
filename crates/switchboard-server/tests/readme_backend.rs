#![allow(clippy::print_stderr)] // the note of a skipped test
//! The README's worked example, run as written: its back end
//! (`examples/backend/backend.py`, which the README quotes verbatim) under
//! Python, the binary with the README's flags in front of it, and clients
//! with tokens: the connect answer's profile, rooms and `join`, presence,
//! an event answered by the back end, and the refusals.
//!
//! With `CI=true` a missing Python is a failure; elsewhere the test is
//! skipped with a note.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{Binary, WsClient, command};
use serde_json::json;

const SECRET: &str = "a shared secret of at least 32 bytes";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn token(user: &str) -> String {
    switchboard_testkit::hs256_token(SECRET.as_bytes(), json!({ "sub": user }))
}

/// A free port on the loopback interface (the back end binds it itself).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the back end never listened on {port}");
}

#[test]
fn the_readme_quotes_the_back_end_verbatim() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let backend = std::fs::read_to_string(repo_file("examples/backend/backend.py")).unwrap();
    assert!(
        readme.contains(&format!("```python\n{backend}```")),
        "README.md must quote examples/backend/backend.py as it is"
    );
}

#[tokio::test]
async fn the_worked_example_runs_as_the_readme_says() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let port = free_port();
    let spawned = tokio::process::Command::new(&python)
        .arg(repo_file("examples/backend/backend.py"))
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let _backend = match spawned {
        Ok(child) => child,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {python} cannot run ({error})");
            return;
        }
        Err(error) => panic!("{python} cannot run: {error}"),
    };
    wait_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let hub = Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--token-hmac-secret",
        SECRET,
        "--presence",
        "chat-*",
        "--proxy-connect",
        &format!("{base}/connect"),
        "--proxy-event",
        &format!("{base}/event"),
        "--proxy-header",
        "X-Secret: change-me",
    ]))
    .await;

    // ada: the token names her, the back end adds her profile and joins
    // her to chat-lobby, where she hears her own arrival.
    let mut ada = WsClient::connect_at(hub.addr, &format!("/ws?token={}", token("ada"))).await;
    let joined = ada.recv_event("$joined").await;
    assert_eq!(
        joined,
        json!({
            "event": "$joined",
            "room": "chat-lobby",
            "data": {"user": "ada", "info": {"name": "Ada Lovelace"}},
        })
    );
    // An event with an ack is a call the back end answers.
    let sum = ada.request("add", json!([1, 2])).await;
    assert_eq!(sum["data"], 3, "{sum}");
    let unknown = ada.request("nope", json!(null)).await;
    assert_eq!(unknown["error"]["code"], "no_handler", "{unknown}");
    // The back end's rooms grant: chat-* only.
    assert_eq!(ada.join("chat-2").await["data"]["room"], "chat-2");
    assert_eq!(ada.join("news").await["error"]["code"], "forbidden");

    // bob arrives: ada hears it, and both are in the room's presence.
    let mut bob = WsClient::connect_at(hub.addr, &format!("/ws?token={}", token("bob"))).await;
    assert_eq!(bob.recv_event("$joined").await["data"]["user"], "bob");
    assert_eq!(ada.recv_event("$joined").await["data"]["user"], "bob");
    let presence = bob
        .request("$presence", json!({"room": "chat-lobby"}))
        .await;
    assert_eq!(
        presence["data"]["users"],
        json!([
            {"user": "ada", "info": {"name": "Ada Lovelace"}, "sockets": 1},
            {"user": "bob", "info": {"name": "Bob"}, "sockets": 1},
        ]),
        "{presence}"
    );

    // A user the back end does not know is refused at the handshake.
    let refused =
        WsClient::try_open_with(&format!("ws://{}/ws?token={}", hub.addr, token("eve")), &[]).await;
    assert_eq!(refused.err(), Some(403));
}
