//! The parent's side: starts shares (tasks here, or worker processes),
//! waits until all are ready, raises go and stop, collects the results.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::control::{self, Progress};
use super::{Finished, Job, Line};
use crate::error::{Error, Result};

/// How a parent tells a share to go and stop.
enum Signals {
    /// A task of this process.
    Local {
        go: watch::Sender<bool>,
        stop: watch::Sender<bool>,
    },
    /// A worker process, through its stdin.
    Child(ChildStdin),
}

/// One running share.
struct Share<O> {
    ready: watch::Receiver<bool>,
    progress: Progress,
    signals: Signals,
    finished: JoinHandle<Result<Finished<O>>>,
}

/// The running shares of one workload.
pub struct Workers<O> {
    shares: Vec<Share<O>>,
    processes: usize,
}

impl<O> std::fmt::Debug for Workers<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("shares", &self.shares.len())
            .field("processes", &self.processes)
            .finish()
    }
}

impl<O: serde::de::DeserializeOwned + Send + 'static> Workers<O> {
    /// Starts one share per job: as a task of this process when there is
    /// one job and `processes` is false, otherwise each in a worker
    /// process running `exe` (default: this executable).
    pub async fn start<J: Job<Output = O>>(
        jobs: Vec<J>,
        processes: bool,
        exe: Option<PathBuf>,
    ) -> Result<Self> {
        if !processes && jobs.len() == 1 {
            let shares = jobs.into_iter().map(start_local).collect();
            return Ok(Self {
                shares,
                processes: 0,
            });
        }
        let exe = match exe {
            Some(exe) => exe,
            None => std::env::current_exe()?,
        };
        let count = jobs.len();
        let mut shares = Vec::with_capacity(count);
        for job in jobs {
            shares.push(start_child(&exe, job).await?);
        }
        Ok(Self {
            shares,
            processes: count,
        })
    }

    /// Worker processes started (0: the share runs in this process).
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Waits until every share is ready; a share that fails first fails
    /// the wait with its error.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let all = async {
            for share in &mut self.shares {
                if share.ready.wait_for(|ready| *ready).await.is_err() {
                    // The share ended before it was ready: its error says why.
                    return Some(share);
                }
            }
            None
        };
        match tokio::time::timeout(limit, all).await {
            Ok(None) => Ok(()),
            Ok(Some(share)) => match (&mut share.finished).await? {
                Err(error) => Err(error),
                Ok(_) => Err(Error::Worker("a share ended before it was ready".into())),
            },
            Err(_) => Err(Error::Timeout(format!(
                "the shares were not ready within {limit:?}"
            ))),
        }
    }

    /// Starts the measured part in every share.
    pub async fn go(&mut self) -> Result<()> {
        self.signal("go").await
    }

    /// Ends every share.
    pub async fn stop(&mut self) -> Result<()> {
        self.signal("stop").await
    }

    async fn signal(&mut self, what: &str) -> Result<()> {
        for share in &mut self.shares {
            match &mut share.signals {
                Signals::Local { go, stop } => {
                    let signal = if what == "go" { go } else { stop };
                    signal.send_replace(true);
                }
                Signals::Child(stdin) => {
                    // A worker that already ended cannot read it; its
                    // result (or error) is what counts.
                    let _ = stdin.write_all(format!("{what}\n").as_bytes()).await;
                    let _ = stdin.flush().await;
                }
            }
        }
        Ok(())
    }

    /// Every share's counters (to read while the shares run).
    pub fn counters(&self) -> Vec<Progress> {
        self.shares.iter().map(|s| s.progress.clone()).collect()
    }

    /// Work done over all shares.
    pub fn done(&self) -> u64 {
        self.shares.iter().map(|s| s.progress.done()).sum()
    }

    /// Errors over all shares.
    pub fn errors(&self) -> u64 {
        self.shares.iter().map(|s| s.progress.errors()).sum()
    }

    /// Stops every share (if not yet) and collects their results.
    pub async fn finish(mut self) -> Result<Vec<Finished<O>>> {
        self.stop().await?;
        let mut results = Vec::with_capacity(self.shares.len());
        for share in self.shares {
            // Closing a worker's stdin lets it exit: its runtime waits for
            // the thread blocked reading stdin.
            drop(share.signals);
            results.push(share.finished.await??);
        }
        Ok(results)
    }
}

fn start_local<J: Job>(job: J) -> Share<J::Output> {
    let (control, handles) = control::control();
    let finished = tokio::spawn(async move {
        let output = job.run(control).await?;
        Ok(Finished { output, cpu: None })
    });
    Share {
        ready: handles.ready,
        progress: handles.progress,
        signals: Signals::Local {
            go: handles.go,
            stop: handles.stop,
        },
        finished,
    }
}

async fn start_child<J: Job>(exe: &Path, job: J) -> Result<Share<J::Output>> {
    let mut child = Command::new(exe)
        .arg("worker")
        .arg(J::KIND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Worker(format!("cannot start {}: {e}", exe.display())))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = serde_json::to_vec(&job).map_err(|e| Error::Worker(e.to_string()))?;
    first.push(b'\n');
    stdin.write_all(&first).await?;
    stdin.flush().await?;
    let (ready_tx, ready) = watch::channel(false);
    let progress = Progress::default();
    let counters = progress.clone();
    let finished = tokio::spawn(async move {
        let outcome = read_lines::<J::Output>(stdout, ready_tx, counters).await;
        if outcome.is_err() {
            let _ = child.start_kill();
        }
        let _ = child.wait().await;
        outcome
    });
    Ok(Share {
        ready,
        progress,
        signals: Signals::Child(stdin),
        finished,
    })
}

/// Reads a worker's lines until its result.
async fn read_lines<O: serde::de::DeserializeOwned>(
    stdout: ChildStdout,
    ready: watch::Sender<bool>,
    progress: Progress,
) -> Result<Finished<O>> {
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        let line: Line<O> = serde_json::from_str(&line)
            .map_err(|e| Error::Worker(format!("unreadable line from a worker ({e}): {line}")))?;
        match line {
            Line::Ready => {
                ready.send_replace(true);
            }
            Line::Progress { done, errors } => progress.set(done, errors),
            Line::Finished(finished) => return Ok(finished),
            Line::Failed(message) => return Err(Error::Worker(message)),
        }
    }
    Err(Error::Worker("a worker exited without a result".into()))
}
