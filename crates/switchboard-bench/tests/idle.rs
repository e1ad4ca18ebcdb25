//! `idle` against an in-process hub (so the hub's pid is this process's):
//! every connection opens, joins the room `idle` (or none with `--bare`),
//! and is held.

mod common;

use switchboard_bench::idle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_and_holds_every_connection() {
    let (hub, url) = common::start_hub().await;
    let pid = std::process::id().to_string();
    let args: idle::Args = common::parse(&[
        "--url",
        &url,
        "--hub-pid",
        &pid,
        "--clients",
        "200",
        "--settle",
        "0",
    ]);
    let report = idle::measure(&args).await.expect("the run completes");
    assert_eq!(
        report.room.as_deref(),
        Some("idle"),
        "an idle subscriber by default"
    );
    assert_eq!(report.opened, 200);
    assert_eq!(report.failed, 0);
    assert_eq!(report.closed_early, 0);
    assert!(report.hub_rss_before_kib > 0);
    assert!(report.hub_rss_after_kib >= report.hub_rss_before_kib);
    // The connections ended with close frames.
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
    assert_eq!(hub.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_connections_join_no_room() {
    let (hub, url) = common::start_hub().await;
    let pid = std::process::id().to_string();
    let line = [
        "--url",
        &url,
        "--hub-pid",
        &pid,
        "--clients",
        "20",
        "--settle",
        "0",
    ];
    let mut bare = line.to_vec();
    bare.push("--bare");
    let report = idle::measure(&common::parse(&bare))
        .await
        .expect("the run completes");
    assert_eq!((report.opened, report.room), (20, None));
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
}

#[tokio::test]
async fn needs_the_hubs_pid() {
    let (_hub, url) = common::start_hub().await;
    let args: idle::Args = common::parse(&["--url", &url, "--clients", "1"]);
    assert!(idle::measure(&args).await.is_err());
}
