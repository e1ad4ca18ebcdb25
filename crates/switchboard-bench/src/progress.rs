//! Live progress: one line on stderr every second while a workload runs.

use std::io::Write;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Prints progress until dropped.
#[derive(Debug)]
pub struct ProgressPrinter(JoinHandle<()>);

impl ProgressPrinter {
    /// Every second from now, writes `[label] N s: ` and what `line`
    /// returns to stderr.
    pub fn start(label: &'static str, mut line: impl FnMut() -> String + Send + 'static) -> Self {
        let start = Instant::now();
        Self(tokio::spawn(async move {
            let second = Duration::from_secs(1);
            let mut tick = tokio::time::interval_at(start + second, second);
            loop {
                tick.tick().await;
                let _ = writeln!(
                    std::io::stderr(),
                    "[{label}] {:>3} s: {}",
                    start.elapsed().as_secs(),
                    line()
                );
            }
        }))
    }
}

impl Drop for ProgressPrinter {
    fn drop(&mut self) {
        self.0.abort();
    }
}
