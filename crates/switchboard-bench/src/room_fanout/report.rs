//! The figures of a `fanout` run, as a table or one JSON object.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::histogram::LatencySummary;
use crate::lean::Protocol;
use crate::report::CpuReport;
use crate::sequence::SequenceCounts;

/// A whole `fanout` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `"fanout"` or `"poll-fanout"`.
    pub benchmark: &'static str,
    /// What was asked for.
    pub settings: Settings,
    /// Receivers connected and joined.
    pub receivers: u64,
    /// Receivers that could not connect or join.
    pub connect_errors: u64,
    /// Seconds to connect and join every receiver.
    pub setup_s: f64,
    /// Measured messages the publisher sent.
    pub sent: u64,
    /// How far behind its schedule the publisher fell at worst, µs.
    pub publisher_max_lag_us: u64,
    /// `$error`s the hub sent the publisher.
    pub publisher_hub_errors: u64,
    /// Set when the hub closed the publisher's connection.
    pub publisher_closed: Option<String>,
    /// Measured deliveries due: measured messages × receivers.
    pub expected_deliveries: u64,
    /// Receivers × rate: the delivery rate asked of the hub.
    pub offered_per_s: f64,
    /// First copies of measured messages received (over all receivers),
    /// per second from the first measured send to the last measured
    /// arrival.
    pub deliveries_per_s: f64,
    /// Loss, duplicates and order over all receivers.
    #[serde(flatten)]
    pub counts: SequenceCounts,
    /// Messages without a stamp.
    pub other_messages: u64,
    /// Receivers the hub disconnected during the run.
    pub disconnected: u64,
    /// How they ended (close code, `eof`, `error`) with counts.
    pub endings: BTreeMap<String, u64>,
    /// Send (just before the write) to arrival (just after the read that
    /// brought it), first copies of measured messages.
    pub latency: LatencySummary,
    /// CPU use from the first send (warmup included) to the last arrival.
    pub cpu: CpuReport,
    /// Deliveries in the CPU window: warmup and measured messages, first
    /// copies, over all receivers. The CPU figures divide by this, not by
    /// the measured `received`, which leaves the warmup out.
    pub deliveries_in_cpu_window: u64,
    /// The hub's CPU-seconds (user + system) per million deliveries over
    /// the CPU window, when its pid is known.
    pub hub_cpu_s_per_million: Option<f64>,
    /// Deliveries per CPU-second of the generator over the CPU window:
    /// what one generator core can receive at this load.
    pub deliveries_per_generator_cpu_s: Option<f64>,
}

/// CPU-seconds per million deliveries (`None` without deliveries).
pub(super) fn cpu_s_per_million(cpu_s: f64, deliveries: u64) -> Option<f64> {
    (deliveries > 0).then(|| cpu_s * 1e6 / deliveries as f64)
}

/// A `fanout` run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Receivers asked for.
    pub clients: usize,
    /// Messages per second.
    pub rate: u32,
    /// Seconds measured.
    pub duration_s: u64,
    /// Seconds sent before measuring.
    pub warmup_s: u64,
    /// Bytes of filler per message.
    pub payload_bytes: usize,
    /// Generator processes holding receivers (0: in the parent).
    pub worker_processes: usize,
    /// Whether each client (receivers and publisher) authenticated with a
    /// token of its own.
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
            "{}: {} clients{}, {} msg/s for {} s after {} s warmup, {}-byte filler, \
             {} worker processes, hub {}{}",
            self.benchmark,
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
        let c = &self.counts;
        let rows: [(&str, String); 15] = [
            (
                "receivers",
                format!(
                    "{} ({} failed to connect, setup {:.1} s)",
                    self.receivers, self.connect_errors, self.setup_s
                ),
            ),
            (
                "sent (measured)",
                format!(
                    "{} (publisher max lag {} µs, hub errors {}{})",
                    self.sent,
                    self.publisher_max_lag_us,
                    self.publisher_hub_errors,
                    self.publisher_closed
                        .as_ref()
                        .map_or(String::new(), |c| format!(", closed {c}"))
                ),
            ),
            (
                "deliveries",
                format!("{} of {} expected", c.received, self.expected_deliveries),
            ),
            (
                "deliveries/s",
                format!(
                    "{:.0} (offered {:.0})",
                    self.deliveries_per_s, self.offered_per_s
                ),
            ),
            ("lost", c.lost.to_string()),
            ("duplicates", c.duplicates.to_string()),
            ("out of order", c.out_of_order.to_string()),
            (
                "disconnected",
                format!("{} {:?}", self.disconnected, self.endings),
            ),
            ("other messages", self.other_messages.to_string()),
            ("latency p50 µs", l.p50_us.to_string()),
            ("latency p90/p99 µs", format!("{} / {}", l.p90_us, l.p99_us)),
            (
                "latency p99.9/max µs",
                format!("{} / {}", l.p999_us, l.max_us),
            ),
            (
                "generator capacity",
                self.deliveries_per_generator_cpu_s
                    .map_or("n/a".into(), |d| {
                        format!("{d:.0} deliveries per CPU-second")
                    }),
            ),
            (
                "hub CPU per delivery",
                self.hub_cpu_s_per_million.map_or("n/a".into(), |s| {
                    format!(
                        "{s:.3} CPU-s per million ({} deliveries, warmup included)",
                        self.deliveries_in_cpu_window
                    )
                }),
            ),
            ("", self.cpu.line()),
        ];
        for (name, value) in rows {
            writeln!(out, "{name:<22} {value}")?;
        }
        Ok(())
    }
}
