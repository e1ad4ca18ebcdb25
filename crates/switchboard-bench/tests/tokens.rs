//! `--token-hmac-secret` against an in-process hub that requires tokens:
//! every client of `idle`, `fanout`, `handshake`, `echo` and `poll-fanout`
//! connects as its own user, and without the option none gets in.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use switchboard::{Hub, TokenVerifier};
use switchboard_bench::{echo, fanout, handshake, idle, poll_fanout};

const SECRET: &str = "a secret of at least thirty-two bytes";

/// A hub that requires tokens signed with [`SECRET`], and the users its
/// sockets connected as.
async fn token_hub(resume: bool) -> (Hub, String, Arc<Mutex<BTreeSet<String>>>) {
    let users = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = users.clone();
    let mut builder = Hub::builder()
        .tokens(TokenVerifier::hmac(SECRET))
        .on_connect(move |socket| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .insert(socket.user().unwrap_or("(anonymous)").to_owned());
            }
        });
    if !resume {
        builder = builder.resume_buffer(0);
    }
    let (hub, url) = common::start_hub_with(builder).await;
    (hub, url, users)
}

fn users(names: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_clients_connect_as_their_own_users_in_a_room() {
    let (hub, url, seen) = token_hub(true).await;
    let pid = std::process::id().to_string();
    let line = [
        "--url",
        &url,
        "--hub-pid",
        &pid,
        "--clients",
        "30",
        "--settle",
        "0",
        "--room",
        "lobby",
    ];
    let anonymous: idle::Args = common::parse(&line);
    let report = idle::measure(&anonymous).await.expect("the run completes");
    assert_eq!((report.opened, report.failed), (0, 30), "{report:?}");
    assert!(!report.authenticated);

    let mut signed = line.to_vec();
    signed.extend(["--token-hmac-secret", SECRET]);
    let args: idle::Args = common::parse(&signed);
    let report = idle::measure(&args).await.expect("the run completes");
    assert_eq!((report.opened, report.failed), (30, 0), "{report:?}");
    assert_eq!(report.closed_early, 0);
    assert!(report.authenticated);
    assert_eq!(report.room.as_deref(), Some("lobby"));
    assert_eq!(
        *seen.lock().unwrap(),
        users((0..30).map(|n| format!("user-{n}")))
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_receivers_in_two_processes_and_the_publisher_authenticate() {
    let (_hub, url, seen) = token_hub(true).await;
    let args: fanout::Args = common::parse(&[
        "--url",
        &url,
        "--clients",
        "10",
        "--rate",
        "100",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--procs",
        "2",
        "--worker-exe",
        common::BENCH_EXE,
        "--token-hmac-secret",
        SECRET,
    ]);
    let report = fanout::measure(&args).await.expect("the run completes");
    assert!(report.settings.authenticated);
    assert_eq!(report.receivers, 10);
    assert_eq!(report.counts.received, 1000, "{report:?}");
    assert_eq!(report.counts.lost, 0);
    let mut expected = users((0..10).map(|n| format!("user-{n}")));
    expected.insert("publisher".to_owned());
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_handshake_carries_its_loops_token() {
    let (hub, url, seen) = token_hub(false).await;
    let args: handshake::Args = common::parse(&[
        "--url",
        &url,
        "--concurrency",
        "3",
        "--duration",
        "1",
        "--token-hmac-secret",
        SECRET,
    ]);
    let report = handshake::measure(&args).await.expect("the run completes");
    assert!(report.authenticated);
    assert!(report.sessions > 30, "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(
        *seen.lock().unwrap(),
        users((0..3).map(|n| format!("user-{n}")))
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_and_long_polling_clients_authenticate() {
    let (_hub, url, seen) = token_hub(true).await;
    let common_line = [
        "--url",
        url.as_str(),
        "--clients",
        "4",
        "--rate",
        "20",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--token-hmac-secret",
        SECRET,
    ];
    let args: echo::Args = common::parse(&common_line);
    let report = echo::measure(&args).await.expect("the run completes");
    assert!(report.settings.authenticated);
    assert_eq!((report.clients, report.lost), (4, 0), "{report:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        users((0..4).map(|n| format!("user-{n}")))
    );

    seen.lock().unwrap().clear();
    let args: poll_fanout::Args = common::parse(&common_line);
    let report = poll_fanout::measure(&args)
        .await
        .expect("the run completes");
    assert_eq!(report.receivers, 4);
    assert_eq!(report.counts.received, 80, "{report:?}");
    // The publisher is a WebSocket client; the receivers long-poll.
    let mut expected = users((0..4).map(|n| format!("user-{n}")));
    expected.insert("publisher".to_owned());
    assert_eq!(*seen.lock().unwrap(), expected);
}
