#![allow(clippy::print_stderr)]
//! An outside client: `tests/outside/python_client.py`, written with
//! Python `websockets` against PROTOCOL.md, drives a hub set up as it
//! expects. With `CI=true` a missing Python or `websockets` is a failure;
//! elsewhere the test is skipped with the reason.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::TestServer;
use switchboard::{HandlerError, Hub};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/outside/python_client.py")
}

async fn python_ready() -> Result<String, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = tokio::process::Command::new(&python)
        .args(["-c", "import websockets"])
        .output()
        .await
        .map_err(|e| format!("{python} cannot run: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python} has no `websockets` (pip install -r tests/outside/requirements.txt)"
        ));
    }
    Ok(python)
}

#[tokio::test]
async fn python_websockets_client_passes_every_check() {
    let python = match python_ready().await {
        Ok(python) => python,
        Err(reason) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {reason}");
            return;
        }
        Err(reason) => panic!("{reason}"),
    };
    let server = TestServer::start(
        Hub::builder()
            .on("echo", |_s, data: serde_json::Value| async move {
                Ok::<_, HandlerError>(data)
            })
            .join_policy(|_s, room: String| async move { !room.starts_with("private") }),
    )
    .await;
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(python)
            .arg(script())
            .arg(server.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .expect("the Python client did not finish within 60 s")
    .expect("the Python client could not start");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
