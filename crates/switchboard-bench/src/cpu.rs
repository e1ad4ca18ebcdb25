//! The CPU time this process has used, read from `/proc/self/stat` (Linux).
//! A benchmark reports it beside its figures, so a reader sees whether the
//! generator itself was the limit.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Clock ticks per second of the times in `/proc/<pid>/stat`: the kernel's
/// `USER_HZ`, 100 on every Linux architecture this runs on.
const USER_HZ: u64 = 100;

/// User and system CPU time of the process (every thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuTime {
    /// Time spent in user mode.
    pub user: Duration,
    /// Time spent in the kernel on the process's behalf.
    pub system: Duration,
}

impl CpuTime {
    /// The process's CPU time so far; `None` where `/proc` cannot be read
    /// (not Linux).
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&stat)
    }

    /// Another process's CPU time so far (e.g. the hub's); `None` where
    /// its `/proc/<pid>/stat` cannot be read.
    pub fn of_pid(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(&stat)
    }

    /// Parses a `/proc/<pid>/stat` line: fields 14 and 15 (`utime`,
    /// `stime`) in clock ticks. The command name (field 2) may hold spaces
    /// and parentheses, so fields are counted after its last `)`.
    pub fn parse(stat: &str) -> Option<Self> {
        let (_, rest) = stat.rsplit_once(')')?;
        // After the name: field 3 (state) is index 0, so field n is n - 3.
        let mut fields = rest.split_whitespace().skip(14 - 3);
        let ticks = |field: Option<&str>| field?.parse::<u64>().ok();
        let user = ticks(fields.next())?;
        let system = ticks(fields.next())?;
        Some(Self {
            user: ticks_to_duration(user),
            system: ticks_to_duration(system),
        })
    }

    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// The time used since `earlier`.
    pub fn since(&self, earlier: &CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// CPU use over a wall-clock window, as a report gives it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuUse {
    /// User time, seconds.
    pub user_s: f64,
    /// System time, seconds.
    pub system_s: f64,
    /// Wall time of the window, seconds.
    pub wall_s: f64,
    /// CPU time over wall time: cores kept busy on average.
    pub cores_busy: f64,
}

impl CpuUse {
    /// The use between `before` and `after`, over `wall`; `None` when
    /// either reading is missing.
    pub fn between(
        before: Option<CpuTime>,
        after: Option<CpuTime>,
        wall: Duration,
    ) -> Option<Self> {
        let used = after?.since(&before?);
        let wall_s = wall.as_secs_f64();
        Some(Self {
            user_s: used.user.as_secs_f64(),
            system_s: used.system.as_secs_f64(),
            wall_s,
            cores_busy: if wall_s > 0.0 {
                used.total().as_secs_f64() / wall_s
            } else {
                0.0
            },
        })
    }

    /// The sum of two processes' use over the same window (the longer
    /// wall time is kept).
    pub fn plus(&self, other: &CpuUse) -> CpuUse {
        let user_s = self.user_s + other.user_s;
        let system_s = self.system_s + other.system_s;
        let wall_s = self.wall_s.max(other.wall_s);
        CpuUse {
            user_s,
            system_s,
            wall_s,
            cores_busy: if wall_s > 0.0 {
                (user_s + system_s) / wall_s
            } else {
                0.0
            },
        }
    }
}

/// Watches one process's CPU time over a window.
#[derive(Debug, Clone, Copy)]
pub struct CpuWindow {
    pid: Option<u32>,
    before: Option<CpuTime>,
    started: std::time::Instant,
}

impl CpuWindow {
    /// Starts watching this process.
    pub fn start() -> Self {
        Self {
            pid: None,
            before: CpuTime::now(),
            started: std::time::Instant::now(),
        }
    }

    /// Starts watching process `pid`.
    pub fn start_pid(pid: u32) -> Self {
        Self {
            pid: Some(pid),
            before: CpuTime::of_pid(pid),
            started: std::time::Instant::now(),
        }
    }

    /// The use since the start.
    pub fn finish(&self) -> Option<CpuUse> {
        let after = match self.pid {
            Some(pid) => CpuTime::of_pid(pid),
            None => CpuTime::now(),
        };
        CpuUse::between(self.before, after, self.started.elapsed())
    }
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks.saturating_mul(1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_after_an_awkward_name() {
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 37 0 0 20 0 3 0 100 1000 200";
        let cpu = CpuTime::parse(stat).expect("parses");
        assert_eq!(cpu.user, Duration::from_millis(2500));
        assert_eq!(cpu.system, Duration::from_millis(370));
        assert_eq!(cpu.total(), Duration::from_millis(2870));
    }

    #[test]
    fn use_adds_up_over_the_longer_window() {
        let a = CpuUse {
            user_s: 1.0,
            system_s: 0.5,
            wall_s: 2.0,
            cores_busy: 0.75,
        };
        let b = CpuUse {
            user_s: 0.5,
            system_s: 0.0,
            wall_s: 2.5,
            cores_busy: 0.2,
        };
        let sum = a.plus(&b);
        assert_eq!(sum.wall_s, 2.5);
        assert!((sum.cores_busy - 0.8).abs() < 1e-9);
    }

    #[test]
    fn refuses_a_short_line() {
        assert_eq!(CpuTime::parse("1 (x) S 1 2"), None);
    }

    #[test]
    fn reads_this_process_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(CpuTime::now().is_some());
        }
    }
}
