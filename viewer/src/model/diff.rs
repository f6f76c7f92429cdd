//! A/B comparison of two traces, lock by lock (matched by lock name).

use std::collections::BTreeMap;

use super::{LockRow, Model};

/// One lock in two traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockDelta {
    /// The lock's name.
    pub name: String,
    /// Its row in the base trace, if it appears there.
    pub base: Option<LockRow>,
    /// Its row in the new trace, if it appears there.
    pub new: Option<LockRow>,
}

fn signed(new: u64, base: u64) -> i128 {
    i128::from(new) - i128::from(base)
}

impl LockDelta {
    fn get(row: &Option<LockRow>, f: impl Fn(&LockRow) -> u64) -> u64 {
        row.as_ref().map_or(0, f)
    }

    /// Change in contentions (new − base).
    pub fn contentions(&self) -> i128 {
        let f = |r: &LockRow| r.contentions;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }

    /// Change in total wait time, nanoseconds.
    pub fn wait_total_ns(&self) -> i128 {
        let f = |r: &LockRow| r.wait.total();
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }

    /// Change in p99 wait, nanoseconds.
    pub fn wait_p99_ns(&self) -> i128 {
        let f = |r: &LockRow| r.wait_summary().p99;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }

    /// Change in p99 hold, nanoseconds.
    pub fn hold_p99_ns(&self) -> i128 {
        let f = |r: &LockRow| r.hold_summary().p99;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }
}

/// Every lock in either trace, the largest change in total wait first.
pub fn lock_deltas(base: &Model, new: &Model) -> Vec<LockDelta> {
    let mut by_name: BTreeMap<String, LockDelta> = BTreeMap::new();
    let mut put = |row: LockRow, is_new: bool| {
        let d = by_name
            .entry(row.name.clone())
            .or_insert_with(|| LockDelta {
                name: row.name.clone(),
                base: None,
                new: None,
            });
        if is_new {
            d.new = Some(row);
        } else {
            d.base = Some(row);
        }
    };
    base.lock_rows().into_iter().for_each(|r| put(r, false));
    new.lock_rows().into_iter().for_each(|r| put(r, true));
    let mut out: Vec<LockDelta> = by_name.into_values().collect();
    out.sort_by(|a, b| {
        (b.wait_total_ns().abs().cmp(&a.wait_total_ns().abs())).then(a.name.cmp(&b.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Filter;
    use crate::model::tests_support::two_locks;

    #[test]
    fn deltas_match_locks_by_name() {
        let (new, a, _) = two_locks();
        let base = new.filtered(&Filter {
            class: Some(a),
            range_ns: None,
        });
        let d = lock_deltas(&base, &new);
        let beta = d.iter().find(|d| d.name == "beta").unwrap();
        assert_eq!((beta.contentions(), beta.wait_total_ns()), (1, 200));
        assert_eq!(d[0].name, "beta", "largest change first");
        let alpha = d.iter().find(|d| d.name == "alpha").unwrap();
        assert_eq!(alpha.wait_total_ns(), 0);
    }
}
