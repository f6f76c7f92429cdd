//! The causal profile: what the run's virtual-speedup experiments predict a faster critical
//! section of each lock class would do to each progress point's throughput. One definition for
//! the report, its JSON and the Causal panel.
//!
//! An experiment's rate is its progress count over its effective length (wall time minus the
//! pauses inserted into the other threads). The baseline is every experiment with speedup 0,
//! whatever class it named; a (class, speedup) cell's predicted change is its pooled rate
//! against the baseline's, and its confidence interval (95 %, normal approximation) comes from
//! the spread of the two groups' per-experiment rates. An experiment whose pauses took more
//! than three quarters of it is left out (see [`CausalRun`]).

use std::collections::BTreeMap;

use super::Model;
pub use super::types::CausalRun;

impl CausalRun {
    /// The effective length, or `None` when the pauses took more than three quarters of the
    /// experiment: a class held nearly all the time (say, by a thread asleep inside it) sped
    /// up that far leaves too little time to measure, and the ratio would be noise.
    fn effective_ns(&self) -> Option<u64> {
        let effective = self.duration_ns.saturating_sub(self.delay_ns);
        (effective > 0 && effective >= self.duration_ns / 4).then_some(effective)
    }

    /// Units of progress per second of effective time.
    fn rate(&self) -> Option<f64> {
        self.effective_ns()
            .map(|e| self.count as f64 * 1e9 / e as f64)
    }
}

/// A predicted throughput change for one speedup of one class.
#[derive(Clone, Debug, PartialEq)]
pub struct CausalPoint {
    /// The virtual speedup, percent.
    pub speedup_pct: u64,
    /// Experiments behind it.
    pub experiments: usize,
    /// Predicted throughput change, percent.
    pub throughput_change_pct: f64,
    /// Half-width of its 95 % confidence interval, percent (`None` with fewer than two
    /// experiments on either side).
    pub ci_pct: Option<f64>,
}

impl CausalPoint {
    /// The figure in words, as the report and the Causal panel print it: `+12.3 ± 4.5 %`.
    pub fn text(&self) -> String {
        match self.ci_pct {
            Some(ci) => format!("{:+.1} ± {:.1} %", self.throughput_change_pct, ci),
            None => format!("{:+.1} %", self.throughput_change_pct),
        }
    }
}

/// One class's curve for one progress point.
#[derive(Clone, Debug, PartialEq)]
pub struct CausalLine {
    /// The lock class sped up.
    pub class: u64,
    /// Its name.
    pub lock: String,
    /// The progress point.
    pub progress: String,
    /// Predicted changes by speedup, smallest speedup first.
    pub points: Vec<CausalPoint>,
    /// Least-squares slope of change against speedup (through 0 at 0): percent of throughput
    /// per percent of speedup. Lines are ranked by it.
    pub impact: f64,
}

/// The whole causal profile: ranked lines and what they rest on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CausalProfile {
    /// Lines, highest impact first.
    pub lines: Vec<CausalLine>,
    /// Baseline experiments (speedup 0), per progress point.
    pub baselines: BTreeMap<String, usize>,
    /// Experiments in all.
    pub experiments: usize,
    /// How much of their time the process's threads waited for a CPU
    /// ([`Model::run_delay_pct`]; `None` without scheduler samples).
    pub run_delay_pct: Option<f64>,
}

/// Above this share of their time spent waiting for a CPU, a run's threads were
/// oversubscribed: an experiment speeds a lock up by pausing the other threads, which then
/// also hands the rest CPU they lacked, so every lock looks worth speeding up.
pub const OVERSUBSCRIBED_PCT: f64 = 25.0;

/// Whether threads that waited for a CPU `run_delay_pct` % of the time they could run were
/// oversubscribed (the one test of [`OVERSUBSCRIBED_PCT`]).
pub fn oversubscribed_at(run_delay_pct: Option<f64>) -> bool {
    run_delay_pct.is_some_and(|p| p > OVERSUBSCRIBED_PCT)
}

impl CausalProfile {
    /// Whether the threads waited for a CPU so much that the predictions mix a lock's effect
    /// with the CPU the pauses freed (see [`OVERSUBSCRIBED_PCT`]).
    pub fn oversubscribed(&self) -> bool {
        oversubscribed_at(self.run_delay_pct)
    }

    /// What to say of an oversubscribed run (one text, for the report and the Causal panel).
    pub fn oversubscribed_warning(&self) -> Option<String> {
        self.oversubscribed().then(|| {
            format!(
                "the threads waited for a CPU {:.0} % of the time they could run: the machine \
                 was oversubscribed, and the pauses that speed a lock up gave the other threads \
                 CPU as well, so every lock looks more worth speeding up than it is. Run the \
                 experiments with a core to spare per busy thread.",
                self.run_delay_pct.unwrap_or_default()
            )
        })
    }
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        f64::NAN
    };
    (mean, var)
}

/// Pooled rate (Σ count / Σ effective time) and the per-experiment rates of `runs`.
fn pooled(runs: &[&CausalRun]) -> Option<(f64, Vec<f64>)> {
    let usable = || runs.iter().filter(|r| r.effective_ns().is_some());
    let count: u64 = usable().map(|r| r.count).sum();
    let effective: u64 = usable().filter_map(|r| r.effective_ns()).sum();
    let rates: Vec<f64> = usable().filter_map(|r| r.rate()).collect();
    (effective > 0 && !rates.is_empty()).then(|| (count as f64 * 1e9 / effective as f64, rates))
}

impl Model {
    /// The causal profile of this trace's experiments (empty when it has none).
    pub fn causal_profile(&self) -> CausalProfile {
        let mut profile = CausalProfile::default();
        let mut by_progress: BTreeMap<&str, Vec<&CausalRun>> = BTreeMap::new();
        for r in &self.causal {
            by_progress.entry(&r.progress).or_default().push(r);
        }
        // Each experiment writes one record per progress point known by then.
        profile.experiments = by_progress.values().map(Vec::len).max().unwrap_or(0);
        for (progress, runs) in by_progress {
            let base: Vec<&CausalRun> = runs
                .iter()
                .copied()
                .filter(|r| r.speedup_pct == 0)
                .collect();
            profile.baselines.insert(progress.to_owned(), base.len());
            let Some((base_rate, base_rates)) = pooled(&base) else {
                continue;
            };
            if base_rate <= 0.0 {
                continue;
            }
            let (_, base_var) = mean_var(&base_rates);
            let mut cells: BTreeMap<(u64, u64), Vec<&CausalRun>> = BTreeMap::new();
            for r in runs.iter().filter(|r| r.speedup_pct > 0) {
                cells.entry((r.class, r.speedup_pct)).or_default().push(r);
            }
            let mut lines: BTreeMap<u64, Vec<CausalPoint>> = BTreeMap::new();
            for ((class, speedup_pct), cell) in cells {
                let Some((rate, rates)) = pooled(&cell) else {
                    continue;
                };
                let (_, var) = mean_var(&rates);
                // The ratio's standard error by the delta method, then 1.96 of it.
                let se = ((var / rates.len() as f64) / base_rate.powi(2)
                    + rate.powi(2) * (base_var / base_rates.len() as f64) / base_rate.powi(4))
                .sqrt();
                lines.entry(class).or_default().push(CausalPoint {
                    speedup_pct,
                    experiments: rates.len(),
                    throughput_change_pct: (rate / base_rate - 1.0) * 100.0,
                    ci_pct: se.is_finite().then_some(1.96 * se * 100.0),
                });
            }
            for (class, points) in lines {
                let (sx, sxx) = points.iter().fold((0.0, 0.0), |(sx, sxx), p| {
                    let s = p.speedup_pct as f64;
                    (sx + s * p.throughput_change_pct, sxx + s * s)
                });
                profile.lines.push(CausalLine {
                    class,
                    lock: self.class_name(class).to_owned(),
                    progress: progress.to_owned(),
                    points,
                    impact: if sxx > 0.0 { sx / sxx } else { 0.0 },
                });
            }
        }
        profile
            .lines
            .sort_by(|a, b| b.impact.total_cmp(&a.impact).then(a.lock.cmp(&b.lock)));
        profile.run_delay_pct = self.run_delay_pct();
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(class: u64, speedup_pct: u64, count: u64, delay_ns: u64) -> CausalRun {
        CausalRun {
            ts_ns: 0,
            class,
            speedup_pct,
            duration_ns: 100_000_000,
            delay_ns,
            progress: "requests".into(),
            count,
        }
    }

    #[test]
    fn a_class_whose_speedup_raises_the_rate_ranks_first_with_its_interval() {
        // Baseline: 1000 per 100 ms (10 000/s), give or take.
        let mut m = Model {
            causal: vec![run(1, 0, 990, 0), run(2, 0, 1010, 0), run(1, 0, 1000, 0)],
            ..Model::default()
        };
        // Class 1 at 50 %: 1000 counted in 80 ms effective: +25 %. Class 2: nothing changes.
        m.causal.extend([
            run(1, 50, 1000, 20_000_000),
            run(1, 50, 1000, 20_000_000),
            run(2, 50, 900, 10_000_000),
            run(2, 50, 900, 10_000_000),
        ]);
        let p = m.causal_profile();
        assert_eq!(p.baselines["requests"], 3);
        assert_eq!(p.lines.len(), 2);
        let first = &p.lines[0];
        assert_eq!(first.class, 1);
        assert_eq!(first.points.len(), 1);
        let pt = &first.points[0];
        assert_eq!((pt.speedup_pct, pt.experiments), (50, 2));
        assert!((pt.throughput_change_pct - 25.0).abs() < 1e-9, "{pt:?}");
        let ci = pt.ci_pct.expect("two experiments on each side");
        assert!(ci > 0.0 && ci < 5.0, "{ci}");
        assert!((first.impact - 0.5).abs() < 1e-9);
        let second = &p.lines[1].points[0];
        assert!(second.throughput_change_pct.abs() < 1e-9, "{second:?}");
    }

    #[test]
    fn without_a_baseline_or_with_one_experiment_nothing_is_claimed() {
        let mut m = Model {
            causal: vec![run(1, 50, 1000, 20_000_000)],
            ..Model::default()
        };
        assert!(
            m.causal_profile().lines.is_empty(),
            "no baseline, no prediction"
        );
        m.causal.push(run(1, 0, 1000, 0));
        let p = m.causal_profile();
        assert_eq!(
            p.lines[0].points[0].ci_pct, None,
            "one experiment a side: no interval"
        );
    }
}
