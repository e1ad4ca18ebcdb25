//! Pieces every workload's report shares: CPU use of the generator and the
//! hub, and writing the report as a table or as JSON.

use std::io::Write;

use serde::Serialize;

use crate::cpu::CpuUse;
use crate::error::Result;

/// CPU use over a workload's measured window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuReport {
    /// All the generator's processes together (the parent, which also
    /// runs the publisher, and every worker).
    pub generator: Option<CpuUse>,
    /// Processes of the generator (1: no worker processes).
    pub generator_processes: usize,
    /// The busiest generator process, in cores: near 1.0 means that
    /// process was the limit.
    pub busiest_process_cores: Option<f64>,
    /// The hub process, when its pid is known (`--spawn-hub` or
    /// `--hub-pid`).
    pub hub: Option<CpuUse>,
}

impl CpuReport {
    /// Adds up the parent's and the workers' use.
    pub fn collect(
        parent: Option<CpuUse>,
        workers: &[Option<CpuUse>],
        hub: Option<CpuUse>,
    ) -> Self {
        let all: Vec<CpuUse> = parent
            .into_iter()
            .chain(workers.iter().flatten().copied())
            .collect();
        let generator = all.iter().copied().reduce(|a, b| a.plus(&b));
        let busiest = all.iter().map(|c| c.cores_busy).reduce(f64::max);
        Self {
            generator,
            generator_processes: 1 + workers.iter().flatten().count(),
            busiest_process_cores: busiest,
            hub,
        }
    }

    /// One line for a table: `generator 0.45 cores (2 procs, busiest 0.30); hub 0.98 cores`.
    pub fn line(&self) -> String {
        let generator = match (self.generator, self.busiest_process_cores) {
            (Some(g), Some(busiest)) => format!(
                "generator {:.2} cores ({:.2} user + {:.2} system s over {:.1} s; {} process{}, busiest {busiest:.2})",
                g.cores_busy,
                g.user_s,
                g.system_s,
                g.wall_s,
                self.generator_processes,
                if self.generator_processes == 1 {
                    ""
                } else {
                    "es"
                },
            ),
            _ => "generator n/a".to_owned(),
        };
        let hub = self.hub.map_or_else(
            || "hub n/a (pid unknown)".to_owned(),
            |h| format!("hub {:.2} cores", h.cores_busy),
        );
        format!("cpu: {generator}; {hub}")
    }
}

/// Writes `report` to stdout: one JSON line with `json`, else what
/// `table` writes.
pub fn emit<R: Serialize>(
    report: &R,
    json: bool,
    table: impl FnOnce(&R, &mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, report).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        table(report, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

/// `part / whole` as a rate per second, 0 for an empty window.
pub fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_generator_cpu() {
        let use_ = |busy: f64| CpuUse {
            user_s: busy,
            system_s: 0.0,
            wall_s: 1.0,
            cores_busy: busy,
        };
        let report = CpuReport::collect(Some(use_(0.1)), &[Some(use_(0.5)), Some(use_(0.3))], None);
        assert_eq!(report.generator_processes, 3);
        assert!((report.generator.unwrap().cores_busy - 0.9).abs() < 1e-9);
        assert_eq!(report.busiest_process_cores, Some(0.5));
        assert!(report.line().contains("busiest 0.50"));
        assert_eq!(per_second(10, 0.0), 0.0);
    }
}
