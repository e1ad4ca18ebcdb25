//! Spreading a workload's connections over worker processes.
//!
//! A workload splits its clients into shares, one per process: a [`Job`]
//! holds one share's settings and knows how to run it. With `--procs 1`
//! the single share runs as a task of this process; with `--procs K` the
//! generator re-executes itself K times as `switchboard-bench worker
//! KIND` (a hidden subcommand), each worker on its own current-thread
//! runtime. The parent writes the job as one JSON line on the worker's
//! stdin, then `go` and `stop` lines; the worker answers with JSON lines on
//! its stdout ([`Line`]): `ready`, a `progress` line four times a second,
//! and at the end `finished` with its results and its own CPU use between
//! go and stop (or `failed`). Latencies across processes compare
//! `CLOCK_MONOTONIC` stamps ([`crate::clock`]).
//!
//! Files: `control.rs` (the share's side), `parent.rs` (starting and
//! driving shares), `child.rs` (the worker process).

pub mod child;
pub mod control;
pub mod parent;

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use control::{Control, Progress, Signal};
pub use parent::Workers;

use crate::cpu::CpuUse;
use crate::error::Result;

/// One share of a workload, runnable here or in a worker process.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The name the worker subcommand knows it by.
    const KIND: &'static str;
    /// What the share reports at the end.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// Sets the share up, calls [`Control::ready`], and runs until its
    /// work is done or [`Control::stop`] is raised.
    fn run(self, control: Control) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// A share's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finished<O> {
    /// What the share measured.
    pub output: O,
    /// The worker process's CPU use from go to stop; `None` for a share
    /// run in the parent (the parent's own CPU covers it).
    pub cpu: Option<CpuUse>,
}

/// One line a worker writes to its parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line<O> {
    /// Set up: connected and joined.
    Ready,
    /// Counters so far.
    Progress {
        /// Work done.
        done: u64,
        /// Errors.
        errors: u64,
    },
    /// The results.
    Finished(Finished<O>),
    /// The share failed with this message.
    Failed(String),
}

/// Splits `total` items into `parts` shares differing by at most one.
pub fn split(total: usize, parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

/// As [`split`], each share as the range of item numbers it takes (from
/// 0, in order): share `i` takes `ranges[i]`.
pub fn split_ranges(total: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let mut first = 0;
    split(total, parts)
        .into_iter()
        .map(|count| {
            first += count;
            first - count..first
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_evenly() {
        assert_eq!(split(10, 3), [4, 3, 3]);
        assert_eq!(split(2, 4), [1, 1, 0, 0]);
        assert_eq!(split(5, 0), [5]);
        assert_eq!(split(10_000, 2).iter().sum::<usize>(), 10_000);
        assert_eq!(split_ranges(10, 3), [0..4, 4..7, 7..10]);
        assert_eq!(split_ranges(1, 2), [0..1, 1..1]);
    }

    #[test]
    fn lines_round_trip() {
        let finished: Line<u32> = Line::Finished(Finished {
            output: 7,
            cpu: None,
        });
        for line in [Line::Ready, Line::Progress { done: 1, errors: 2 }, finished] {
            let text = serde_json::to_string(&line).unwrap();
            let back: Line<u32> = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
    }
}
