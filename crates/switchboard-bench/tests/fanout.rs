//! `fanout` against an in-process hub: every receiver gets every message
//! once, in process and spread over two worker processes.

mod common;

use switchboard_bench::fanout;

async fn run(extra: &[&str]) -> fanout::Report {
    let (_hub, url) = common::start_hub().await;
    let mut line = vec![
        "--url",
        &url,
        "--clients",
        "20",
        "--rate",
        "200",
        "--duration",
        "1",
        "--warmup",
        "0",
    ];
    line.extend_from_slice(extra);
    let args: fanout::Args = common::parse(&line);
    fanout::measure(&args).await.expect("the run completes")
}

fn assert_everything_delivered(report: &fanout::Report) {
    assert_eq!(report.receivers, 20);
    assert_eq!(report.connect_errors, 0);
    assert_eq!(report.sent, 200);
    assert_eq!(report.expected_deliveries, 4000);
    assert_eq!(report.counts.received, 4000, "{report:?}");
    assert_eq!(report.counts.lost, 0);
    assert_eq!(report.counts.duplicates, 0);
    assert_eq!(report.disconnected, 0);
    assert_eq!(report.latency.count, 4000);
    assert!(report.latency.p50_us > 0);
    assert!(
        report.deliveries_per_s > 1000.0,
        "{}",
        report.deliveries_per_s
    );
    assert!(report.cpu.generator.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_receivers_get_every_message_once() {
    let report = run(&[]).await;
    assert_eq!(report.settings.worker_processes, 0);
    assert_everything_delivered(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_in_two_worker_processes_get_every_message_once() {
    let report = run(&["--procs", "2", "--worker-exe", common::BENCH_EXE]).await;
    assert_eq!(report.settings.worker_processes, 2);
    assert_eq!(report.cpu.generator_processes, 3);
    assert_everything_delivered(&report);
}
