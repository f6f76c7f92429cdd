//! Several processes' traces read as one: each lock class (matched by name and kind, as the
//! diff matches them) with its figures summed over the processes and its row in each.
//!
//! A merged row is each process's [`LockRow`] added up: counts summed, the most waiters at
//! once the largest of any process, wait histograms merged. Hold histograms are merged as
//! sampled when every process timed the same one hold in N; when the periods differ, each is
//! scaled up to stand for every hold first, so the estimated total stays right.

use std::collections::HashMap;

use super::{LockRow, Model};

/// One lock class across processes.
#[derive(Clone, Debug)]
pub struct FleetRow {
    /// The figures summed over every process that has the class (its `class` is the first
    /// process's id for it, meaningful only there).
    pub merged: LockRow,
    /// (process index, the class's row in that process), in process order.
    pub per_process: Vec<(usize, LockRow)>,
}

/// The lock classes of `models` (one per process), most total wait first, as
/// [`Model::lock_rows`] orders one trace's.
pub fn lock_rows(models: &[&Model]) -> Vec<FleetRow> {
    let mut by_key: HashMap<(String, &'static str), FleetRow> = HashMap::new();
    let mut order = Vec::new();
    for (i, m) in models.iter().enumerate() {
        for r in m.lock_rows() {
            let key = (r.name.clone(), r.kind.map_or("unknown", |k| k.as_str()));
            match by_key.get_mut(&key) {
                Some(f) => f.per_process.push((i, r)),
                None => {
                    order.push(key.clone());
                    by_key.insert(
                        key,
                        FleetRow {
                            merged: r.clone(),
                            per_process: vec![(i, r)],
                        },
                    );
                }
            }
        }
    }
    let mut rows: Vec<FleetRow> = order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .map(|mut f| {
            f.merged = merged(&f.per_process);
            f
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.merged.wait.total().cmp(&a.merged.wait.total()))
            .then(b.merged.contentions.cmp(&a.merged.contentions))
            .then(a.merged.name.cmp(&b.merged.name))
    });
    rows
}

/// The rows of one class added up.
fn merged(rows: &[(usize, LockRow)]) -> LockRow {
    let mut out = rows[0].1.clone();
    let same_period = rows
        .iter()
        .all(|(_, r)| r.hold_sample_period == out.hold_sample_period);
    if !same_period {
        out.hold = out.hold.scaled(out.hold_sample_period);
        out.hold_sample_period = 1;
    }
    for (_, r) in &rows[1..] {
        out.instances += r.instances;
        out.acquisitions += r.acquisitions;
        out.contentions += r.contentions;
        out.max_waiters = out.max_waiters.max(r.max_waiters);
        out.wait.merge(&r.wait);
        if same_period {
            out.hold.merge(&r.hold);
        } else {
            out.hold.merge(&r.hold.scaled(r.hold_sample_period));
        }
        out.still_waiting += r.still_waiting;
        out.gave_up += r.gave_up;
        if r.figures_from == super::FiguresFrom::Events {
            // A lower bound anywhere makes the sum one.
            out.figures_from = r.figures_from;
        }
        if r.site != out.site {
            out.site = "(several sites)".to_owned();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::two_locks;

    #[test]
    fn the_same_class_in_two_processes_is_one_row_that_adds_up() {
        let ((a, ..), (b, ..)) = (two_locks(), two_locks());
        let one = a.lock_rows();
        let rows = lock_rows(&[&a, &b]);
        assert_eq!(rows.len(), one.len());
        for (f, r) in rows.iter().zip(&one) {
            assert_eq!(f.merged.name, r.name);
            assert_eq!(f.per_process.len(), 2);
            assert_eq!(f.merged.acquisitions, 2 * r.acquisitions);
            assert_eq!(f.merged.contentions, 2 * r.contentions);
            assert_eq!(f.merged.wait.count(), 2 * r.wait.count());
            assert_eq!(f.merged.wait.total(), 2 * r.wait.total());
            assert_eq!(f.merged.wait.max(), r.wait.max());
            assert_eq!(f.merged.hold_summary().total, 2 * r.hold_summary().total);
        }
    }

    #[test]
    fn different_hold_periods_keep_the_estimated_total() {
        let (m, ..) = two_locks();
        let mut rows: Vec<(usize, LockRow)> =
            m.lock_rows().into_iter().take(1).map(|r| (0, r)).collect();
        let mut other = rows[0].1.clone();
        other.hold_sample_period = rows[0].1.hold_sample_period * 4;
        let want = rows[0].1.hold_summary().total + other.hold_summary().total;
        rows.push((1, other));
        let row = merged(&rows);
        assert_eq!(row.hold_sample_period, 1);
        assert_eq!(row.hold_summary().total, want);
    }
}
