//! `handshake` against an in-process hub: sessions open and close, from
//! spread source addresses and from the kernel's choice.

mod common;

use switchboard_bench::handshake;

async fn run(sources: &str) -> handshake::Report {
    // Resume off: a handshake cut short when the run stops leaves no
    // session waiting for a resume, so the hub can be awaited until idle.
    let (hub, url) = common::start_hub_with(switchboard::Hub::builder().resume_buffer(0)).await;
    let args: handshake::Args = common::parse(&[
        "--url",
        &url,
        "--concurrency",
        "4",
        "--duration",
        "1",
        "--sources",
        sources,
    ]);
    let report = handshake::measure(&args).await.expect("the run completes");
    // Every session has ended (by its close frame; the one cut short when
    // the run stopped, by its dropped link).
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
    assert_eq!(hub.count(), 0);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_sessions_from_spread_sources() {
    let report = run("254").await;
    assert_eq!(report.sources, 254);
    assert!(report.sessions > 50, "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.latency.count, report.sessions);
    assert!(report.sessions_per_s > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_sessions_without_binding() {
    let report = run("0").await;
    assert_eq!(report.sources, 0);
    assert!(report.sessions > 50, "{report:?}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
}
