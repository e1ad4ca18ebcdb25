//! The figures of a `cluster-latency` run, as a table or one JSON object.

use std::io::Write;

use serde::Serialize;

use super::ServeMode;
use crate::histogram::LatencySummary;
use crate::sequence::SequenceCounts;

/// A whole run: its settings and one result per backend.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `"cluster-latency"`.
    pub benchmark: &'static str,
    /// What was asked for.
    pub settings: Settings,
    /// Logical CPUs available to this process.
    pub cpus: usize,
    /// One result per backend, in the order run.
    pub results: Vec<BackendReport>,
}

/// The run's settings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Settings {
    /// Messages per second.
    pub rate: u32,
    /// Seconds measured.
    pub duration_s: u64,
    /// Seconds sent before measuring.
    pub warmup_s: u64,
    /// Bytes of filler in each message.
    pub payload_bytes: usize,
    /// How the hubs serve their clients.
    pub serve: ServeMode,
    /// Whether the room keeps history.
    pub history: bool,
}

/// The figures of one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    /// `memory`, `redis` or `nats`.
    pub backend: String,
    /// Where the backend ran.
    pub server: String,
    /// Measured messages the hub accepted.
    pub sent: u64,
    /// Messages the hub refused (warmup included).
    pub publish_errors: u64,
    /// Messages hub A's cluster adapter could not hand to the backend.
    pub cluster_dropped: u64,
    /// How far behind its schedule the publisher fell at worst.
    pub publisher_max_lag_us: u64,
    /// The receiver on hub A, the publisher's node.
    pub local: PathReport,
    /// The receiver on hub B.
    pub cross_node: PathReport,
    /// Cross-node minus local median, microseconds.
    pub added_p50_us: i64,
    /// Cross-node minus local 99th percentile, microseconds.
    pub added_p99_us: i64,
    /// This process's CPU over the measured window; `None` without `/proc`.
    pub cpu: Option<CpuReport>,
}

/// What one receiver saw of the measured messages.
#[derive(Debug, Clone, Serialize)]
pub struct PathReport {
    /// Loss, duplicates and order.
    #[serde(flatten)]
    pub counts: SequenceCounts,
    /// Frames that were not a benchmark message.
    pub other_frames: u64,
    /// Whether the hub closed the connection during the run.
    pub disconnected: bool,
    /// Latency from just before the emit to just after the frame was read.
    pub latency: LatencySummary,
}

/// CPU time of this process (hubs, clients, publisher) over the measured
/// window; the backend server's own CPU is not included.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuReport {
    /// User time, seconds.
    pub user_s: f64,
    /// System time, seconds.
    pub system_s: f64,
    /// Wall time of the window, seconds.
    pub wall_s: f64,
    /// CPU time over wall time: cores kept busy on average.
    pub cores_busy: f64,
}

/// Signed difference of two latencies in microseconds.
pub(crate) fn added(cross_node: u64, local: u64) -> i64 {
    i64::try_from(cross_node).unwrap_or(i64::MAX) - i64::try_from(local).unwrap_or(i64::MAX)
}

impl Report {
    /// Writes the report as one line of JSON.
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)
    }

    /// Writes the report as tables.
    pub fn write_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let s = &self.settings;
        writeln!(
            out,
            "cluster-latency: {} msg/s for {} s after {} s warmup, {}-byte filler, \
             serve {}, {} CPUs{}",
            s.rate,
            s.duration_s,
            s.warmup_s,
            s.payload_bytes,
            s.serve,
            self.cpus,
            if s.history { ", room with history" } else { "" }
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{:<8} {:<10} {:>9} {:>6} {:>5} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "backend",
            "receiver",
            "received",
            "lost",
            "dup",
            "ooo",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs"
        )?;
        for r in &self.results {
            for (name, path) in [("local", &r.local), ("cross-node", &r.cross_node)] {
                let (c, l) = (&path.counts, &path.latency);
                writeln!(
                    out,
                    "{:<8} {:<10} {:>9} {:>6} {:>5} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8}{}",
                    r.backend,
                    name,
                    c.received,
                    c.lost,
                    c.duplicates,
                    c.out_of_order,
                    l.p50_us,
                    l.p90_us,
                    l.p99_us,
                    l.p999_us,
                    l.max_us,
                    if path.disconnected {
                        "  (disconnected)"
                    } else {
                        ""
                    }
                )?;
            }
        }
        writeln!(out)?;
        writeln!(
            out,
            "{:<8} {:>9} {:>12} {:>12} {:>10} {:>8} {:>8}  cpu (cores busy; user + system s)",
            "backend", "sent", "added p50 µs", "added p99 µs", "max lag µs", "dropped", "errors",
        )?;
        for r in &self.results {
            let cpu = r.cpu.map_or_else(
                || "n/a".to_owned(),
                |c| format!("{:.2}; {:.2} + {:.2}", c.cores_busy, c.user_s, c.system_s),
            );
            writeln!(
                out,
                "{:<8} {:>9} {:>12} {:>12} {:>10} {:>8} {:>8}  {}",
                r.backend,
                r.sent,
                format!("{:+}", r.added_p50_us),
                format!("{:+}", r.added_p99_us),
                r.publisher_max_lag_us,
                r.cluster_dropped,
                r.publish_errors,
                cpu
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_is_signed() {
        assert_eq!(added(150, 50), 100);
        assert_eq!(added(40, 50), -10);
    }
}
