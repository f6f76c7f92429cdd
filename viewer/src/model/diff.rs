//! A/B comparison of two traces, lock class by lock class (matched by name and kind).

use std::collections::{BTreeMap, HashMap};

use lockscope_format::LockKind;

use super::{FlameKind, LockRow, Model};

/// One lock class in two traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockDelta {
    /// The lock's name.
    pub name: String,
    /// Its primitive kind (`None` when the definition was lost).
    pub kind: Option<LockKind>,
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

    /// `new` when the lock is only in the new trace, `gone` when only in the base,
    /// `changed` otherwise (even when nothing moved).
    pub fn status(&self) -> &'static str {
        match (&self.base, &self.new) {
            (None, Some(_)) => "new",
            (Some(_), None) => "gone",
            _ => "changed",
        }
    }

    /// Change in acquisitions (new − base).
    pub fn acquisitions(&self) -> i128 {
        let f = |r: &LockRow| r.acquisitions;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }

    /// Change in p50 wait, nanoseconds.
    pub fn wait_p50_ns(&self) -> i128 {
        let f = |r: &LockRow| r.wait_summary().p50;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
    }

    /// Change in p50 hold, nanoseconds.
    pub fn hold_p50_ns(&self) -> i128 {
        let f = |r: &LockRow| r.hold_summary().p50;
        signed(Self::get(&self.new, f), Self::get(&self.base, f))
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

/// Every lock class in either trace, the largest change in total wait first. Classes match
/// by name and kind: a mutex renamed, or turned into an rwlock, is one gone and one new.
pub fn lock_deltas(base: &Model, new: &Model) -> Vec<LockDelta> {
    let mut by_name: BTreeMap<(String, Option<LockKind>), LockDelta> = BTreeMap::new();
    let mut put = |row: LockRow, is_new: bool| {
        let key = (row.name.clone(), row.kind);
        let d = by_name.entry(key).or_insert_with(|| LockDelta {
            name: row.name.clone(),
            kind: row.kind,
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
        (b.wait_total_ns().abs().cmp(&a.wait_total_ns().abs()))
            .then(a.name.cmp(&b.name))
            .then(a.kind.cmp(&b.kind))
    });
    out
}

/// A node of a differential flame tree: one path, weighed in both traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffNode {
    /// Frame name (the lock at the leaves, `all` at the root).
    pub name: String,
    /// Nanoseconds under this path in the base trace.
    pub base_ns: u64,
    /// Nanoseconds under this path in the new trace.
    pub new_ns: u64,
    /// Depth, 0 at the root.
    pub depth: usize,
    /// Children, heaviest (in either trace) first.
    pub children: Vec<usize>,
}

impl DiffNode {
    /// The larger of the two weights: what the node's width stands for.
    pub fn width_ns(&self) -> u64 {
        self.base_ns.max(self.new_ns)
    }

    /// New minus base.
    pub fn delta_ns(&self) -> i128 {
        signed(self.new_ns, self.base_ns)
    }
}

/// The stacks of both traces merged into one tree (node 0 is the root), so each path
/// shows what it cost before and after.
pub fn diff_tree(base: &Model, new: &Model, kind: FlameKind) -> Vec<DiffNode> {
    let mut nodes = vec![DiffNode {
        name: "all".to_owned(),
        base_ns: 0,
        new_ns: 0,
        depth: 0,
        children: Vec::new(),
    }];
    let mut index: HashMap<(usize, String), usize> = HashMap::new();
    for (model, is_new) in [(base, false), (new, true)] {
        for s in model.folded_stacks(kind) {
            let mut at = 0;
            let add = |n: &mut DiffNode| {
                if is_new {
                    n.new_ns = n.new_ns.saturating_add(s.weight_ns);
                } else {
                    n.base_ns = n.base_ns.saturating_add(s.weight_ns);
                }
            };
            add(&mut nodes[0]);
            for f in &comparable_frames(&s.frames) {
                let next = match index.get(&(at, f.clone())) {
                    Some(&i) => i,
                    None => {
                        let i = nodes.len();
                        let depth = nodes[at].depth + 1;
                        nodes.push(DiffNode {
                            name: f.clone(),
                            base_ns: 0,
                            new_ns: 0,
                            depth,
                            children: Vec::new(),
                        });
                        nodes[at].children.push(i);
                        index.insert((at, f.clone()), i);
                        i
                    }
                };
                add(&mut nodes[next]);
                at = next;
            }
        }
    }
    for i in 0..nodes.len() {
        let mut c = std::mem::take(&mut nodes[i].children);
        c.sort_by(|&a, &b| nodes[b].width_ns().cmp(&nodes[a].width_ns()));
        nodes[i].children = c;
    }
    nodes
}

/// A stack's frames as the diff compares them: closure frames (`f::{{closure}}`) stand for
/// the function they are in, and a frame repeating the one before is dropped, so a debug
/// build's extra closure frame does not split a path its release build has once.
fn comparable_frames(frames: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(frames.len());
    for f in frames {
        let mut name = f.as_str();
        while let Some(outer) = name.strip_suffix("::{{closure}}") {
            name = outer;
        }
        if out.last().is_none_or(|last| last != name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// How well the two traces' stacks line up, from 0 to 1: the wait both traces have on the
/// same paths (each leaf's smaller weight, summed), over the wait both have on the same locks
/// (each lock's smaller total). Near 1 when the paths match; near 0 when the same locks are
/// reached by paths that differ (another build, other inlining), where only the per-lock
/// totals compare. `None` when the traces share no waited-on lock.
pub fn stack_alignment(nodes: &[DiffNode]) -> Option<f64> {
    let mut per_lock: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut on_paths = 0u64;
    for n in nodes.iter().skip(1).filter(|n| n.children.is_empty()) {
        on_paths = on_paths.saturating_add(n.base_ns.min(n.new_ns));
        let t = per_lock.entry(n.name.as_str()).or_default();
        t.0 = t.0.saturating_add(n.base_ns);
        t.1 = t.1.saturating_add(n.new_ns);
    }
    let on_locks = (per_lock.values()).fold(0u64, |s, &(b, n)| s.saturating_add(b.min(n)));
    (on_locks > 0).then(|| on_paths as f64 / on_locks as f64)
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
        assert_eq!((alpha.status(), beta.status()), ("changed", "changed"));
    }

    #[test]
    fn a_lock_whose_kind_changed_is_one_gone_and_one_new() {
        let (base, _, _) = two_locks();
        let mut new = base.clone();
        for c in new.classes.values_mut() {
            if c.name == "beta" {
                c.kind = Some(LockKind::RwLock);
            }
        }
        let d = lock_deltas(&base, &new);
        let betas: Vec<_> = d.iter().filter(|d| d.name == "beta").collect();
        assert_eq!(betas.len(), 2);
        let mut statuses: Vec<_> = betas.iter().map(|d| d.status()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, ["gone", "new"]);
    }

    #[test]
    fn the_diff_tree_weighs_each_path_in_both_traces() {
        let (new, a, _) = two_locks();
        let base = new.filtered(&Filter {
            class: Some(a),
            range_ns: None,
        });
        let t = diff_tree(&base, &new, FlameKind::Wait);
        assert_eq!((t[0].base_ns, t[0].new_ns), (150, 350));
        let beta = t.iter().find(|n| n.name == "beta").unwrap();
        assert_eq!((beta.base_ns, beta.new_ns, beta.delta_ns()), (0, 200, 200));
        let alpha = t.iter().find(|n| n.name == "alpha").unwrap();
        assert_eq!(alpha.delta_ns(), 0);
    }

    /// A model whose one wait (t1 on alpha, 1 µs) has a stack of these function names.
    fn waited_through(functions: &[&str]) -> Model {
        use crate::model::tests_support::{definitions, model, stack_of, wait_under};
        use lockscope_format::Record;
        let mut r = definitions();
        r.extend(stack_of(7, 1, functions));
        r.extend(wait_under(7, 1, 11, (1_000, 2_000)));
        r.push(Record::End { ts_ns: 3_000 });
        model(r)
    }

    #[test]
    fn a_debug_builds_closure_frame_does_not_split_the_path() {
        let base = waited_through(&["app::main", "app::main::{{closure}}", "app::worker"]);
        let new = waited_through(&["app::main", "app::worker"]);
        let t = diff_tree(&base, &new, FlameKind::Wait);
        let alpha = t.iter().find(|n| n.name == "alpha").unwrap();
        assert_eq!((alpha.base_ns, alpha.new_ns), (1_000, 1_000));
        assert_eq!(stack_alignment(&t), Some(1.0));
    }

    #[test]
    fn stacks_that_do_not_line_up_are_told_apart_from_a_real_change() {
        let base = waited_through(&["app::main", "app::worker"]);
        let new = waited_through(&["app::main", "lib::inlined_elsewhere", "app::worker"]);
        let t = diff_tree(&base, &new, FlameKind::Wait);
        assert_eq!(stack_alignment(&t), Some(0.0));
        // The lock table still compares them: the same 1 µs before and after.
        let d = lock_deltas(&base, &new);
        assert_eq!(
            d.iter()
                .find(|d| d.name == "alpha")
                .unwrap()
                .wait_total_ns(),
            0
        );
    }
}
