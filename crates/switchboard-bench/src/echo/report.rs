//! The figures of an `echo` run, as a table or one JSON object.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::Mode;
use crate::histogram::LatencySummary;
use crate::lean::Protocol;
use crate::report::CpuReport;

/// A whole `echo` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `"echo"`.
    pub benchmark: &'static str,
    /// What was asked for.
    pub settings: Settings,
    /// Clients connected.
    pub clients: u64,
    /// Clients that could not connect (or join).
    pub connect_errors: u64,
    /// Measured messages sent.
    pub sent: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Measured messages sent and never answered.
    pub lost: u64,
    /// Answers received twice.
    pub duplicates: u64,
    /// Answers that came after a later message's.
    pub out_of_order: u64,
    /// Answered measured round trips per second of the measured time.
    pub round_trips_per_s: f64,
    /// Messages that were not an expected answer.
    pub other_messages: u64,
    /// Clients the hub disconnected.
    pub disconnected: u64,
    /// How they ended, with counts.
    pub endings: BTreeMap<String, u64>,
    /// Round-trip latency of measured messages.
    pub latency: LatencySummary,
    /// Seconds from go to the last answer (or the end of waiting).
    pub run_s: f64,
    /// CPU use from go to the end of the run.
    pub cpu: CpuReport,
}

/// An `echo` run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Clients asked for.
    pub clients: usize,
    /// Messages per second per client.
    pub rate: u32,
    /// Relay ack or `$ping`.
    pub mode: Mode,
    /// Seconds measured.
    pub duration_s: u64,
    /// Seconds sent before measuring.
    pub warmup_s: u64,
    /// Bytes of filler per relayed message.
    pub payload_bytes: usize,
    /// Generator processes holding clients (0: in the parent).
    pub worker_processes: usize,
    /// Whether each client authenticated with a token of its own.
    pub authenticated: bool,
    /// The hub's URL.
    pub url: String,
    /// The protocol the hub was spoken to in.
    pub protocol: Protocol,
}

impl Report {
    /// Writes the report as a table.
    pub fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let s = &self.settings;
        writeln!(
            out,
            "echo ({:?}): {} clients{} × {} msg/s for {} s after {} s warmup, {}-byte filler, \
             {} worker processes, hub {}{}",
            s.mode,
            s.clients,
            if s.authenticated { " with tokens" } else { "" },
            s.rate,
            s.duration_s,
            s.warmup_s,
            s.payload_bytes,
            s.worker_processes,
            s.url,
            s.protocol.title_suffix()
        )?;
        writeln!(out)?;
        let l = &self.latency;
        let rows: [(&str, String); 10] = [
            (
                "clients",
                format!(
                    "{} ({} failed to connect)",
                    self.clients, self.connect_errors
                ),
            ),
            ("sent (measured)", self.sent.to_string()),
            (
                "answered",
                format!("{} ({:.0}/s)", self.answered, self.round_trips_per_s),
            ),
            ("lost", self.lost.to_string()),
            (
                "duplicates / out of order",
                format!("{} / {}", self.duplicates, self.out_of_order),
            ),
            (
                "disconnected",
                format!(
                    "{} {:?}; other messages {}",
                    self.disconnected, self.endings, self.other_messages
                ),
            ),
            ("round trip p50 µs", l.p50_us.to_string()),
            (
                "round trip p90/p99 µs",
                format!("{} / {}", l.p90_us, l.p99_us),
            ),
            (
                "round trip p99.9/max µs",
                format!("{} / {}", l.p999_us, l.max_us),
            ),
            ("", self.cpu.line()),
        ];
        for (name, value) in rows {
            writeln!(out, "{name:<25} {value}")?;
        }
        Ok(())
    }
}
