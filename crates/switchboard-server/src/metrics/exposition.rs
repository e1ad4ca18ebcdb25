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
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
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
