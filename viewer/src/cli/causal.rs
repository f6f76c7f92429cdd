//! The causal profile in the report: a ranked table in the text, rows in the JSON. Both come
//! from [`Model::causal_profile`], as the Causal panel does.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::Model;
use crate::model::causal::{CausalPoint, CausalProfile};

/// One row of the JSON report's `causal` array: one class, one speedup, one progress point.
#[derive(Debug, Serialize)]
pub struct CausalRow {
    /// The lock class sped up.
    pub lock: String,
    /// The virtual speedup of its critical sections, percent.
    pub speedup_pct: u64,
    /// The progress point measured.
    pub progress: String,
    /// Predicted throughput change, percent.
    pub throughput_change_pct: f64,
    /// Half-width of the 95 % confidence interval, percent (null with too few experiments).
    pub ci_pct: Option<f64>,
    /// Experiments behind the figure.
    pub experiments: usize,
    /// The class's rank key: percent of throughput per percent of speedup.
    pub impact: f64,
}

/// The JSON rows, highest-impact class first, then by speedup.
pub fn rows(m: &Model) -> Vec<CausalRow> {
    m.causal_profile()
        .lines
        .into_iter()
        .flat_map(|l| {
            l.points.into_iter().map(move |p| CausalRow {
                lock: l.lock.clone(),
                speedup_pct: p.speedup_pct,
                progress: l.progress.clone(),
                throughput_change_pct: p.throughput_change_pct,
                ci_pct: p.ci_pct,
                experiments: p.experiments,
                impact: l.impact,
            })
        })
        .collect()
}

/// The text section (nothing when the trace has no experiments).
pub fn text(out: &mut String, m: &Model) {
    let profile: CausalProfile = m.causal_profile();
    if profile.experiments == 0 {
        return;
    }
    let speedups: Vec<u64> = {
        let mut s: Vec<u64> = profile
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.speedup_pct))
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let _ = writeln!(
        out,
        "\nCausal profile: predicted throughput change if a lock's critical sections were faster"
    );
    let baselines: Vec<String> = profile
        .baselines
        .iter()
        .map(|(p, n)| format!("{n} baselines for {p:?}"))
        .collect();
    let _ = writeln!(
        out,
        "  ({} experiments, {}; ± is a 95 % interval; impact: % throughput per % speedup)",
        profile.experiments,
        baselines.join(", ")
    );
    if let Some(warning) = profile.oversubscribed_warning() {
        let _ = writeln!(out, "  warning: {warning}");
    }
    if profile.lines.is_empty() {
        let _ = writeln!(
            out,
            "  no prediction: the run needs baseline and sped-up experiments with progress (lockscope::progress)"
        );
        return;
    }
    let width = profile
        .lines
        .iter()
        .map(|l| l.lock.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut head = format!("  {:width$}  {:12}  {:>7}", "lock", "progress", "impact");
    for s in &speedups {
        let _ = write!(head, "  {:>16}", format!("+{s} %"));
    }
    let _ = writeln!(out, "{head}");
    for l in &profile.lines {
        let mut row = format!("  {:width$}  {:12}  {:>7.2}", l.lock, l.progress, l.impact);
        for s in &speedups {
            let c = l
                .points
                .iter()
                .find(|p| p.speedup_pct == *s)
                .map_or_else(|| "-".to_owned(), CausalPoint::text);
            let _ = write!(row, "  {c:>16}");
        }
        let _ = writeln!(out, "{row}");
    }
}
