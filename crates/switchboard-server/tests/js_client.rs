//! Runs the browser client's test suite (`clients/js`, Node's test runner, with the
//! headless Chromium tests of the demo page and of the client's token refresh) against
//! this crate's `switchboard` binary, so that `cargo test --workspace` covers it.
//!
//! The TLS test of the suite (`test/tls.test.mjs`) serves a certificate made here for
//! this run (a private CA and a server certificate for `localhost` and `127.0.0.1`),
//! passed as the files `TEST_TLS_CERT` and `TEST_TLS_KEY`.
//!
//! Needs Node.js 20+ and `npm ci` in `clients/js` (playwright-core) plus Debian's
//! `chromium`. Without node or node_modules the test is skipped with the reason,
//! unless `CI=true`, where that is a failure.
#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (prints why) or, under CI=true, fails.
fn missing(why: &str) {
    assert!(
        !in_ci(),
        "CI=true and the JS client suite cannot run: {why}"
    );
    eprintln!("skipped: {why}");
}

#[test]
fn js_client_suite_passes_against_the_server() {
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients/js");
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => return missing(&format!("`{node}` (Node.js 20+) is not installed")),
    }
    if !js.join("node_modules/playwright-core").is_dir() {
        return missing("clients/js/node_modules is missing: run `npm ci` in clients/js");
    }
    let pki = switchboard_testkit::TestPki::localhost();
    let tls = pki.write_files();
    let out = Command::new(&node)
        .args([
            "--test",
            "--experimental-websocket",
            "--test-reporter=spec",
            "test/",
        ])
        .current_dir(&js)
        .env("SWITCHBOARD_BIN", env!("CARGO_BIN_EXE_switchboard"))
        .env("TEST_TLS_CERT", &tls.cert)
        .env("TEST_TLS_KEY", &tls.key)
        .output()
        .expect("run node --test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Show the runner's summary (and skip reasons) in the cargo output.
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the JS client suite failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
