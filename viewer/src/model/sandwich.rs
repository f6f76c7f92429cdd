//! The sandwich view (speedscope's): every function with the time spent directly in it and
//! under it, and for one chosen function the callers that reached it and the callees below
//! it, each as a flame tree rooted at the function.

use std::collections::{HashMap, HashSet};

use super::flame_tree::{FlameOrder, FlameTree};
use super::{FlameKind, Model};

/// One frame's row of the sandwich table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameCost {
    /// Function (or, at the leaves, lock) name, as the flamegraph names it.
    pub name: String,
    /// True for a lock (a flamegraph leaf), false for code.
    pub is_lock: bool,
    /// Time whose innermost code frame is this one: the function that itself waited for (or
    /// held) the lock. For a lock, all of its time.
    pub self_ns: u64,
    /// Time of every stack this frame is on, counted once per stack however often the frame
    /// recurs in it.
    pub total_ns: u64,
    /// Waits (or holds) under this frame.
    pub count: u64,
}

/// The two halves of the sandwich for one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandwich {
    /// The frame at the root, then the function that called it, out to the stacks' roots.
    pub callers: FlameTree,
    /// The frame at the root, then what it called, down to the locks.
    pub callees: FlameTree,
}

impl Model {
    /// Every frame of the `kind` flamegraph with its self and total time, heaviest total first.
    pub fn frame_costs(&self, kind: FlameKind) -> Vec<FrameCost> {
        let mut rows: HashMap<String, FrameCost> = HashMap::new();
        self.each_weighted_stack(kind, |frames, ns, _| {
            let innermost_code = frames.len().checked_sub(2);
            let mut seen = HashSet::with_capacity(frames.len());
            for (i, f) in frames.iter().enumerate() {
                if !seen.insert(f.as_str()) {
                    continue;
                }
                let is_lock = i + 1 == frames.len();
                let r = rows.entry(f.clone()).or_insert_with(|| FrameCost {
                    name: f.clone(),
                    is_lock,
                    self_ns: 0,
                    total_ns: 0,
                    count: 0,
                });
                r.total_ns = r.total_ns.saturating_add(ns);
                r.count += 1;
                if is_lock || innermost_code.is_some_and(|c| frames[c] == *f) {
                    r.self_ns = r.self_ns.saturating_add(ns);
                }
            }
        });
        let mut out: Vec<FrameCost> = rows.into_values().collect();
        out.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.name.cmp(&b.name)));
        out
    }

    /// The callers and callees of `frame` in the `kind` flamegraph. In a stack where the frame
    /// recurs, its outermost call is the one split on, so no time is counted twice.
    pub fn sandwich(&self, kind: FlameKind, frame: &str, order: FlameOrder) -> Sandwich {
        let mut callers = FlameTree::rooted(frame);
        let mut callees = FlameTree::rooted(frame);
        let (mut up, mut down) = (HashMap::new(), HashMap::new());
        self.each_weighted_stack(kind, |frames, ns, at| {
            let Some(k) = frames.iter().position(|f| f == frame) else {
                return;
            };
            let above: Vec<String> = frames[..k].iter().rev().cloned().collect();
            callers.add(&mut up, above, ns, at);
            callees.add(&mut down, frames[k + 1..].to_vec(), ns, at);
        });
        callers.order(order);
        callees.order(order);
        Sandwich { callers, callees }
    }
}

#[cfg(test)]
mod tests {
    use lockscope_format::Record;

    use super::*;
    use crate::model::tests_support::{definitions, model, stack_of, wait_under};

    /// Three waits: `main > serve > lookup` on alpha (100 ns), `main > batch > lookup` on
    /// alpha (300 ns) and `main > serve` on beta (50 ns).
    fn three_waits() -> Model {
        let mut r = definitions();
        r.extend(stack_of(1, 1, &["main", "serve", "lookup"]));
        r.extend(stack_of(2, 10, &["main", "batch", "lookup"]));
        r.extend(stack_of(3, 20, &["main", "serve"]));
        r.extend(wait_under(1, 1, 11, (1_000, 1_100)));
        r.extend(wait_under(2, 2, 11, (2_000, 2_300)));
        r.extend(wait_under(3, 3, 21, (3_000, 3_050)));
        r.push(Record::End { ts_ns: 4_000 });
        model(r)
    }

    fn children(t: &FlameTree, i: usize) -> Vec<(&str, u64)> {
        (t.nodes[i].children.iter())
            .map(|&c| (t.nodes[c].name.as_str(), t.nodes[c].total_ns))
            .collect()
    }

    #[test]
    fn the_table_gives_each_frame_its_self_and_total_time() {
        let rows = three_waits().frame_costs(FlameKind::Wait);
        let get = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
        assert_eq!(rows[0].name, "main", "heaviest total first");
        assert_eq!((get("main").self_ns, get("main").total_ns), (0, 450));
        assert_eq!((get("lookup").self_ns, get("lookup").total_ns), (400, 400));
        assert_eq!((get("serve").self_ns, get("serve").total_ns), (50, 150));
        assert_eq!((get("alpha").self_ns, get("alpha").total_ns), (400, 400));
        assert!(get("alpha").is_lock && !get("lookup").is_lock);
        assert_eq!(get("batch").count, 1);
    }

    #[test]
    fn a_frames_sandwich_has_its_callers_above_and_its_callees_below() {
        let s = three_waits().sandwich(FlameKind::Wait, "lookup", FlameOrder::LeftHeavy);
        assert_eq!(s.callers.nodes[0].name, "lookup");
        assert_eq!(s.callers.total_ns(), 400);
        assert_eq!(children(&s.callers, 0), [("batch", 300), ("serve", 100)]);
        let batch = s.callers.nodes[0].children[0];
        assert_eq!(children(&s.callers, batch), [("main", 300)]);
        assert_eq!(s.callees.total_ns(), 400);
        assert_eq!(children(&s.callees, 0), [("alpha", 400)]);
        // A frame on no stack: empty halves.
        let none = three_waits().sandwich(FlameKind::Wait, "nowhere", FlameOrder::LeftHeavy);
        assert_eq!((none.callers.total_ns(), none.callees.total_ns()), (0, 0));
    }

    #[test]
    fn recursion_is_split_at_its_outermost_call_and_counted_once() {
        let mut r = definitions();
        r.extend(stack_of(1, 1, &["main", "walk", "walk", "leaf"]));
        r.extend(wait_under(1, 1, 11, (1_000, 1_200)));
        r.push(Record::End { ts_ns: 2_000 });
        let m = model(r);
        let rows = m.frame_costs(FlameKind::Wait);
        let walk = rows.iter().find(|r| r.name == "walk").unwrap();
        assert_eq!((walk.total_ns, walk.count), (200, 1));
        let s = m.sandwich(FlameKind::Wait, "walk", FlameOrder::LeftHeavy);
        assert_eq!(children(&s.callers, 0), [("main", 200)]);
        assert_eq!(children(&s.callees, 0), [("walk", 200)]);
        assert_eq!(s.callees.total_ns(), 200);
    }
}
