//! `poll-fanout` against an in-process hub: every long-polling receiver
//! gets every message once.

mod common;

use switchboard_bench::poll_fanout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_receivers_get_every_message_once() {
    let (hub, url) = common::start_hub().await;
    let args: poll_fanout::Args = common::parse(&[
        "--url",
        &url,
        "--clients",
        "20",
        "--rate",
        "20",
        "--duration",
        "1",
        "--warmup",
        "0",
    ]);
    let report = poll_fanout::measure(&args)
        .await
        .expect("the run completes");
    assert_eq!(report.benchmark, "poll-fanout");
    assert_eq!(report.receivers, 20);
    assert_eq!(report.sent, 20);
    assert_eq!(report.counts.received, 400, "{report:?}");
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.duplicates, 0);
    assert_eq!(report.disconnected, 0);
    assert_eq!(report.latency.count, 400);
    // The sessions were ended with DELETE.
    tokio::time::timeout(std::time::Duration::from_secs(5), hub.wait_idle())
        .await
        .expect("every session ends");
    assert_eq!(hub.count(), 0);
}
