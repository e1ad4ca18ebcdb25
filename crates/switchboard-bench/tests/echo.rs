//! `echo` against an in-process hub: every round trip answered, in both
//! modes.

mod common;

use switchboard_bench::echo;

async fn run(mode: &str) -> echo::Report {
    let (_hub, url) = common::start_hub().await;
    let args: echo::Args = common::parse(&[
        "--url",
        &url,
        "--clients",
        "5",
        "--rate",
        "50",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--mode",
        mode,
    ]);
    echo::measure(&args).await.expect("the run completes")
}

fn assert_all_answered(report: &echo::Report) {
    assert_eq!(report.clients, 5);
    assert_eq!(report.sent, 250, "{report:?}");
    assert_eq!(report.answered, 250);
    assert_eq!(report.lost, 0);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.other_messages, 0);
    assert_eq!(report.disconnected, 0);
    assert_eq!(report.latency.count, 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_acks_answer_every_message() {
    assert_all_answered(&run("relay").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_get_every_pong() {
    assert_all_answered(&run("ping").await);
}
