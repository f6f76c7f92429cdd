//! `lockscope report --diff BASE NEW`: per-lock-class changes between two traces, as text or
//! as JSON (schema 1).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::model::{LockDelta, LockRow, Model, lock_deltas};
use crate::units::{Table, clip_left, ns};

/// Longest lock name in a table cell.
const NAME_WIDTH: usize = 48;

/// The machine-readable diff. Fields may be added, never renamed or removed.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    /// Always [`super::json::SCHEMA`].
    pub schema: u32,
    /// The base trace's path.
    pub base_trace: String,
    /// The new trace's path.
    pub new_trace: String,
    /// One entry per lock class in either trace, the largest change in total wait first.
    pub diff: Vec<LockChange>,
}

/// One lock class (matched by name and kind) in both traces.
#[derive(Debug, Serialize)]
pub struct LockChange {
    /// Display name.
    pub name: String,
    /// `mutex`, `rwlock`, `semaphore`, `condvar` (`unknown` when its definition was lost).
    pub kind: &'static str,
    /// `changed` (in both traces), `new` (only in the new one) or `gone` (only in the base).
    pub status: &'static str,
    /// Acquisitions.
    pub acquisitions: Figure,
    /// Acquisitions that had to wait.
    pub contentions: Figure,
    /// Median wait of contended acquisitions.
    pub wait_p50_ns: Figure,
    /// 99th-percentile wait.
    pub wait_p99_ns: Figure,
    /// Summed wait time: the sort key.
    pub wait_total_ns: Figure,
    /// Median hold (from the timed sample).
    pub hold_p50_ns: Figure,
    /// 99th-percentile hold (from the timed sample).
    pub hold_p99_ns: Figure,
}

/// One figure in both traces.
#[derive(Debug, Serialize, PartialEq)]
pub struct Figure {
    /// In the base trace; `null` when the lock is not in it.
    pub base: Option<u64>,
    /// In the new trace; `null` when the lock is not in it.
    pub new: Option<u64>,
    /// `new − base`, a missing side counting as 0: positive means more (for times, worse).
    pub change: i64,
    /// `change / base × 100`, to two decimals; `null` when the base is absent or 0.
    pub change_pct: Option<f64>,
}

impl Figure {
    fn of(d: &LockDelta, f: impl Fn(&LockRow) -> u64) -> Figure {
        let (base, new) = (d.base.as_ref().map(&f), d.new.as_ref().map(&f));
        let change = i128::from(new.unwrap_or(0)) - i128::from(base.unwrap_or(0));
        let change = i64::try_from(change).unwrap_or(if change < 0 { i64::MIN } else { i64::MAX });
        let change_pct = base
            .filter(|&b| b > 0)
            .map(|b| (change as f64 * 10_000.0 / b as f64).round() / 100.0);
        Figure {
            base,
            new,
            change,
            change_pct,
        }
    }
}

/// The figures the diff compares, with their text labels and whether they are durations.
type Getter = fn(&LockRow) -> u64;
const FIGURES: [(&str, bool, Getter); 7] = [
    ("acquisitions", false, |r| r.acquisitions),
    ("contentions", false, |r| r.contentions),
    ("wait p50", true, |r| r.wait_summary().p50),
    ("wait p99", true, |r| r.wait_summary().p99),
    ("wait total", true, |r| r.wait_summary().total),
    ("hold p50", true, |r| r.hold_summary().p50),
    ("hold p99", true, |r| r.hold_summary().p99),
];

/// Builds the JSON diff of `base` (read from `base_path`) against `new`.
pub fn json(base: &Model, base_path: &Path, new: &Model, new_path: &Path) -> DiffReport {
    let diff = (lock_deltas(base, new).iter())
        .map(|d| {
            let [
                acquisitions,
                contentions,
                wait_p50_ns,
                wait_p99_ns,
                wait_total_ns,
                hold_p50_ns,
                hold_p99_ns,
            ] = FIGURES.map(|(_, _, f)| Figure::of(d, f));
            LockChange {
                name: d.name.clone(),
                kind: d.kind.map_or("unknown", |k| k.as_str()),
                status: d.status(),
                acquisitions,
                contentions,
                wait_p50_ns,
                wait_p99_ns,
                wait_total_ns,
                hold_p50_ns,
                hold_p99_ns,
            }
        })
        .collect();
    DiffReport {
        schema: super::json::SCHEMA,
        base_trace: base_path.display().to_string(),
        new_trace: new_path.display().to_string(),
        diff,
    }
}

/// Renders the text diff: one block of rows per lock class, the largest change in total
/// wait first.
pub fn text(base: &Model, base_path: &Path, new: &Model, new_path: &Path) -> String {
    let deltas = lock_deltas(base, new);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lockscope report --diff: {} (base) → {} (new)",
        base_path.display(),
        new_path.display()
    );
    let count = |s: &str| deltas.iter().filter(|d| d.status() == s).count();
    let worse = (deltas.iter())
        .filter(|d| d.status() == "changed" && d.wait_total_ns() > 0)
        .count();
    let better = (deltas.iter())
        .filter(|d| d.status() == "changed" && d.wait_total_ns() < 0)
        .count();
    let _ = writeln!(
        out,
        "  {} lock classes: {worse} wait more, {better} wait less, {} new, {} gone",
        deltas.len(),
        count("new"),
        count("gone")
    );
    let _ = writeln!(out, "\nLocks, by change in total wait time");
    if deltas.is_empty() {
        let _ = writeln!(out, "  (no locks in either trace)");
        return out;
    }
    let mut t = Table::new(&[
        ("lock", false),
        ("kind", false),
        ("", false),
        ("figure", false),
        ("base", true),
        ("new", true),
        ("change", true),
        ("%", false),
    ]);
    for d in &deltas {
        for (i, (label, is_ns, f)) in FIGURES.iter().enumerate() {
            let fig = Figure::of(d, f);
            let show = |v: Option<u64>| match v {
                None => "-".to_owned(),
                Some(v) if *is_ns => ns(v),
                Some(v) => v.to_string(),
            };
            let change = match fig.change {
                0 => "0".to_owned(),
                c => {
                    let mag = if *is_ns {
                        ns(c.unsigned_abs())
                    } else {
                        c.unsigned_abs().to_string()
                    };
                    format!("{}{mag}", if c > 0 { '+' } else { '-' })
                }
            };
            let pct = fig
                .change_pct
                .map_or(String::new(), |p| format!("{p:+.1}%"));
            let first = i == 0;
            t.row(vec![
                if first {
                    clip_left(&d.name, NAME_WIDTH)
                } else {
                    String::new()
                },
                if first {
                    d.kind.map_or("?", |k| k.as_str()).to_owned()
                } else {
                    String::new()
                },
                match d.status() {
                    s @ ("new" | "gone") if first => s.to_owned(),
                    _ => String::new(),
                },
                (*label).to_owned(),
                show(fig.base),
                show(fig.new),
                change,
                pct,
            ]);
        }
    }
    out.push_str(&t.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Filter;
    use crate::model::tests_support::two_locks;

    #[test]
    fn figures_give_the_change_and_its_percentage() {
        let (new, a, _) = two_locks();
        let base = new.filtered(&Filter {
            class: Some(a),
            range_ns: None,
        });
        let r = json(&base, Path::new("a"), &new, Path::new("b"));
        let beta = r.diff.iter().find(|l| l.name == "beta").unwrap();
        assert_eq!(beta.wait_total_ns.change, 200);
        let alpha = r.diff.iter().find(|l| l.name == "alpha").unwrap();
        assert_eq!(alpha.wait_total_ns.change_pct, Some(0.0));
        assert!(text(&base, Path::new("a"), &new, Path::new("b")).contains("wait total"));
    }
}
