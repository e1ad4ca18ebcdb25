//! An outside HTTP client: `tests/outside/polling_client.py`, written with
//! nothing but the Python standard library against PROTOCOL.md sections 5
//! and 6, runs a whole long-polling session against the `switchboard`
//! binary (started with `--max-message-size 4KiB`, as the script expects).
//! Without `python3` the test is skipped with the reason, unless `CI=true`,
//! where that is a failure.
#![allow(clippy::print_stderr)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/outside/polling_client.py")
}

/// Kills the server when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the address it printed.
fn start_server() -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--max-message-size",
            "4KiB",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the switchboard binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Killed(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads every line (so the server never blocks on a full pipe), sending
        // the address once.
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(addr) = line.strip_prefix("switchboard listening on http://") {
                sent = tx.send(addr.trim().to_owned()).is_ok();
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server did not print `switchboard listening on http://ADDR` within 20 s");
    (server, addr)
}

#[test]
fn python_urllib_long_polling_session_passes_every_check() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    match Command::new(&python).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            let why = format!("`{python}` is not installed");
            assert!(
                !in_ci(),
                "CI=true and the long-polling outside client cannot run: {why}"
            );
            eprintln!("skipped: {why}");
            return;
        }
    }
    let (_server, addr) = start_server();
    let mut client = Command::new(&python)
        .arg(script())
        .arg(format!("http://{addr}/ws"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    // The script bounds every wait; this bounds the script.
    let (tx, rx) = mpsc::channel();
    let stdout = client.stdout.take().expect("piped stdout");
    let stderr = client.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        let out = std::io::read_to_string(stdout).unwrap_or_default();
        let err = std::io::read_to_string(stderr).unwrap_or_default();
        let _ = tx.send((out, err));
    });
    let Ok((stdout, stderr)) = rx.recv_timeout(Duration::from_secs(300)) else {
        let _ = client.kill();
        panic!("the Python client did not finish within 300 s");
    };
    let status = client.wait().expect("wait for the Python client");
    eprintln!("{stdout}");
    assert!(
        status.success(),
        "the long-polling outside client failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
