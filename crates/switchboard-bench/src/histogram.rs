//! Latency histograms at microsecond resolution, and their summary.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency kept exactly: one minute. Longer ones are recorded as
/// one minute (and show as such in `max`).
const HIGHEST_US: u64 = 60_000_000;

/// A latency histogram in microseconds (3 significant digits).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, HIGHEST_US, 3)
                .expect("valid histogram bounds"),
        }
    }

    /// Records one latency given in nanoseconds.
    pub fn record_ns(&mut self, nanos: u64) {
        self.histogram.saturating_record(nanos / 1_000);
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// Records one latency given in microseconds, `count` times.
    pub fn record_us_n(&mut self, micros: u64, count: u64) {
        let _ = self.histogram.record_n(micros.clamp(1, HIGHEST_US), count);
    }

    /// Adds every latency recorded in `other`.
    pub fn add(&mut self, other: &LatencyHistogram) {
        // Same bounds and precision: adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    /// The recorded latencies as (microseconds, count) pairs, lowest first,
    /// for sending to another process; [`LatencyHistogram::from_counts`]
    /// rebuilds an equal histogram.
    pub fn counts(&self) -> HistogramCounts {
        HistogramCounts(
            self.histogram
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// A histogram holding `counts`.
    pub fn from_counts(counts: &HistogramCounts) -> Self {
        let mut histogram = Self::new();
        for &(micros, count) in &counts.0 {
            histogram.record_us_n(micros, count);
        }
        histogram
    }

    /// Percentiles, mean and max; all zero when empty.
    pub fn summary(&self) -> LatencySummary {
        if self.is_empty() {
            return LatencySummary::default();
        }
        let at = |q: f64| self.histogram.value_at_quantile(q);
        LatencySummary {
            count: self.len(),
            mean_us: self.histogram.mean(),
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: self.histogram.max(),
        }
    }
}

/// A histogram's non-empty buckets as (microseconds, count) pairs: what a
/// worker process sends its parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramCounts(pub Vec<(u64, u64)>);

/// The figures a report gives of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Latencies recorded.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Highest.
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_in_microseconds() {
        let mut histogram = LatencyHistogram::new();
        for us in 1..=1000u64 {
            histogram.record_ns(us * 1_000 + 999);
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50_us, 500);
        assert_eq!(summary.p99_us, 990);
        assert_eq!(summary.max_us, 1000);
    }

    #[test]
    fn counts_round_trip_and_merge() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        for us in 1..=500u64 {
            a.record_ns(us * 1_000);
            b.record_ns((us + 500) * 1_000);
        }
        let a2 = LatencyHistogram::from_counts(&a.counts());
        assert_eq!(a2.summary(), a.summary());
        let json = serde_json::to_string(&b.counts()).unwrap();
        let b2 = LatencyHistogram::from_counts(&serde_json::from_str(&json).unwrap());
        let mut merged = a2;
        merged.add(&b2);
        let summary = merged.summary();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50_us, 500);
        assert_eq!(summary.p99_us, 990);
        assert_eq!(summary.max_us, 1000);
    }

    #[test]
    fn empty_is_all_zero() {
        assert_eq!(LatencyHistogram::new().summary(), LatencySummary::default());
    }

    #[test]
    fn saturates_instead_of_failing() {
        let mut histogram = LatencyHistogram::new();
        histogram.record_ns(u64::MAX);
        assert!(histogram.summary().max_us >= HIGHEST_US);
    }
}
