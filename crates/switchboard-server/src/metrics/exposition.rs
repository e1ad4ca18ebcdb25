//! A writer of the Prometheus text exposition format 0.0.4: each metric
//! family with its `# HELP` and `# TYPE` lines, then its samples.

use std::fmt::{Display, Write as _};

/// A metric family's type.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A total that only goes up.
    Counter,
    /// Observations counted in buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// The text being rendered. Every family is named `switchboard_{name}`.
#[derive(Debug)]
pub(super) struct Exposition {
    out: String,
}

impl Exposition {
    /// An empty exposition.
    pub(super) fn new() -> Self {
        Self {
            out: String::with_capacity(2048),
        }
    }

    /// A family of one unlabelled sample.
    pub(super) fn metric(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) {
        self.describe(name, kind, help);
        let _ = writeln!(self.out, "switchboard_{name} {value}");
    }

    /// A family of samples told apart by one label.
    pub(super) fn labelled<V: Display>(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        label: &str,
        samples: impl IntoIterator<Item = (&'static str, V)>,
    ) {
        self.describe(name, kind, help);
        for (label_value, value) in samples {
            let _ = writeln!(
                self.out,
                "switchboard_{name}{{{label}=\"{label_value}\"}} {value}"
            );
        }
    }

    /// A family's `# HELP` and `# TYPE` lines, for samples written with
    /// [`Exposition::sample`].
    pub(super) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.describe(name, kind, help);
    }

    /// One sample of `switchboard_{name}` with these labels (values are
    /// written as given: they must need no escaping).
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        let _ = write!(self.out, "switchboard_{name}");
        for (index, (label, label_value)) in labels.iter().enumerate() {
            let open = if index == 0 { "{" } else { "," };
            let _ = write!(self.out, "{open}{label}=\"{label_value}\"");
        }
        let close = if labels.is_empty() { "" } else { "}" };
        let _ = writeln!(self.out, "{close} {value}");
    }

    fn describe(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = kind.as_str();
        let _ = write!(
            self.out,
            "# HELP switchboard_{name} {help}\n# TYPE switchboard_{name} {kind}\n"
        );
    }

    /// The rendered text.
    pub(super) fn finish(self) -> String {
        self.out
    }
}
