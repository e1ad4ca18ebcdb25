//! The application's back-end calls (`--proxy-*`): per hook, the calls,
//! the refusals, the failures by kind and the calls' latency as a
//! histogram with fixed buckets.

use super::exposition::Exposition;
use super::exposition::Kind::{Counter, Histogram};
use crate::backend::stats::HookSnapshot;

/// Renders the back-end families of the hooks the server calls (nothing
/// when it calls none).
pub fn render_backend(hooks: &[HookSnapshot]) -> String {
    let mut out = Exposition::new();
    if hooks.is_empty() {
        return out.finish();
    }
    out.family(
        "backend_calls_total",
        Counter,
        "Calls to the application's back end, by hook (answered or not).",
    );
    for hook in hooks {
        out.sample(
            "backend_calls_total",
            &[("hook", hook.hook.as_str())],
            hook.calls,
        );
    }
    out.family(
        "backend_refusals_total",
        Counter,
        "Back-end calls answered {\"error\":...}, by hook.",
    );
    for hook in hooks {
        out.sample(
            "backend_refusals_total",
            &[("hook", hook.hook.as_str())],
            hook.refusals,
        );
    }
    out.family(
        "backend_errors_total",
        Counter,
        "Back-end calls that failed (the client got `unavailable`), by hook and kind: timeout, connect, status (not 200), bad_answer.",
    );
    for hook in hooks {
        for (kind, count) in hook.failures {
            out.sample(
                "backend_errors_total",
                &[("hook", hook.hook.as_str()), ("kind", kind.as_str())],
                count,
            );
        }
    }
    out.family(
        "backend_call_duration_seconds",
        Histogram,
        "How long back-end calls took, by hook (failed ones included).",
    );
    for hook in hooks {
        let name = hook.hook.as_str();
        for (le, count) in &hook.buckets {
            let le = le.map_or_else(|| "+Inf".to_owned(), |le| le.to_string());
            out.sample(
                "backend_call_duration_seconds_bucket",
                &[("hook", name), ("le", &le)],
                count,
            );
        }
        out.sample(
            "backend_call_duration_seconds_sum",
            &[("hook", name)],
            format!("{:.6}", hook.sum_seconds),
        );
        out.sample(
            "backend_call_duration_seconds_count",
            &[("hook", name)],
            hook.count,
        );
    }
    out.finish()
}
