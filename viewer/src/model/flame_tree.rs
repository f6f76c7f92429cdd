//! Flame trees for drawing: the folded stacks of [`super::flame`] merged into a tree whose
//! children are ordered either heaviest first or by when they first happened.

use std::collections::HashMap;

use super::{FlameKind, Model};

/// How siblings are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlameOrder {
    /// Heaviest child first (speedscope's left-heavy view).
    #[default]
    LeftHeavy,
    /// The child that happened first, first.
    TimeOrder,
}

/// One node: a frame under its parent's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlameNode {
    /// Frame name (a lock name at the leaves; `all` at the root).
    pub name: String,
    /// Nanoseconds under this node.
    pub total_ns: u64,
    /// Waits (or holds) under this node.
    pub count: u64,
    /// When the first of them began.
    pub first_ns: u64,
    /// Depth, 0 at the root.
    pub depth: usize,
    /// Parent index, `None` at the root.
    pub parent: Option<usize>,
    /// Children indexes, in the tree's order.
    pub children: Vec<usize>,
}

/// A flame tree; node 0 is the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlameTree {
    /// Nodes, root first.
    pub nodes: Vec<FlameNode>,
}

impl FlameTree {
    fn new() -> Self {
        FlameTree::rooted("all")
    }

    /// An empty tree whose root is called `root`.
    pub(super) fn rooted(root: &str) -> Self {
        FlameTree {
            nodes: vec![FlameNode {
                name: root.to_owned(),
                total_ns: 0,
                count: 0,
                first_ns: u64::MAX,
                depth: 0,
                parent: None,
                children: Vec::new(),
            }],
        }
    }

    pub(super) fn add(
        &mut self,
        index: &mut HashMap<(usize, String), usize>,
        frames: Vec<String>,
        ns: u64,
        at_ns: u64,
    ) {
        let mut at = 0;
        self.bump(0, ns, at_ns);
        for f in frames {
            let next = match index.get(&(at, f.clone())) {
                Some(&i) => i,
                None => {
                    let i = self.nodes.len();
                    self.nodes.push(FlameNode {
                        name: f.clone(),
                        total_ns: 0,
                        count: 0,
                        first_ns: u64::MAX,
                        depth: self.nodes[at].depth + 1,
                        parent: Some(at),
                        children: Vec::new(),
                    });
                    self.nodes[at].children.push(i);
                    index.insert((at, f), i);
                    i
                }
            };
            self.bump(next, ns, at_ns);
            at = next;
        }
    }

    fn bump(&mut self, i: usize, ns: u64, at_ns: u64) {
        let n = &mut self.nodes[i];
        n.total_ns = n.total_ns.saturating_add(ns);
        n.count += 1;
        n.first_ns = n.first_ns.min(at_ns);
    }

    pub(super) fn order(&mut self, order: FlameOrder) {
        for i in 0..self.nodes.len() {
            let mut c = std::mem::take(&mut self.nodes[i].children);
            match order {
                FlameOrder::LeftHeavy => c.sort_by(|&a, &b| {
                    let (a, b) = (&self.nodes[a], &self.nodes[b]);
                    b.total_ns.cmp(&a.total_ns).then(a.name.cmp(&b.name))
                }),
                FlameOrder::TimeOrder => c.sort_by_key(|&a| self.nodes[a].first_ns),
            }
            self.nodes[i].children = c;
        }
    }

    /// The root's weight.
    pub fn total_ns(&self) -> u64 {
        self.nodes[0].total_ns
    }

    /// The deepest depth.
    pub fn max_depth(&self) -> usize {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// The frames whose name contains `needle` (lowercase; case is ignored), and the share of
    /// all the weight under them, as speedscope's search shows: a match nested in another
    /// match is not counted twice.
    pub fn search(&self, needle: &str) -> (usize, u64) {
        if needle.is_empty() {
            return (0, 0);
        }
        let hit: Vec<bool> = (self.nodes.iter())
            .map(|n| n.name.to_lowercase().contains(needle))
            .collect();
        let count = hit.iter().skip(1).filter(|&&h| h).count();
        let mut weight = 0u64;
        let mut todo = vec![0usize];
        while let Some(i) = todo.pop() {
            if i != 0 && hit[i] {
                weight = weight.saturating_add(self.nodes[i].total_ns);
                continue;
            }
            todo.extend(self.nodes[i].children.iter().copied());
        }
        (count, weight)
    }

    /// Node `i` and its ancestors, root first.
    pub fn path(&self, i: usize) -> Vec<usize> {
        let mut p: Vec<usize> =
            std::iter::successors(Some(i), |&j| self.nodes.get(j).and_then(|n| n.parent)).collect();
        p.reverse();
        p
    }
}

impl Model {
    /// The flame tree of `kind`: wait time by the waiter's stack, or hold time by the
    /// holder's site, each with the lock as the leaf.
    pub fn flame_tree(&self, kind: FlameKind, order: FlameOrder) -> FlameTree {
        self.flame_tree_with(kind, order, false)
    }

    /// [`Model::flame_tree`], or `inverted` (pprof's and speedscope's reverse view): the lock
    /// at the root, then the frame that waited (or the site that held), out to the callers,
    /// so each lock's cost splits by who reached it.
    pub fn flame_tree_with(&self, kind: FlameKind, order: FlameOrder, inverted: bool) -> FlameTree {
        let mut t = FlameTree::new();
        let mut index = HashMap::new();
        self.each_weighted_stack(kind, |mut frames, ns, at| {
            if inverted {
                frames.reverse();
            }
            t.add(&mut index, frames, ns, at);
        });
        t.order(order);
        t
    }

    /// Every wait (or hold) of `kind` that weighs something: its frames (root first, the lock
    /// last), its weight and when it began. The one walk every flame view is built from.
    pub(super) fn each_weighted_stack(
        &self,
        kind: FlameKind,
        mut f: impl FnMut(Vec<String>, u64, u64),
    ) {
        match kind {
            FlameKind::Wait => {
                for w in &self.waits {
                    if let Some(ns) = self.waited_ns(&w).filter(|&ns| ns > 0) {
                        f(self.wait_frames(&w), ns, w.begin_ns);
                    }
                }
            }
            FlameKind::Hold => {
                for h in &self.holds {
                    let ns = self.held_ns(&h);
                    if ns > 0 {
                        f(self.hold_frames(&h), ns, h.start_ns());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::{begin, definitions, end, model, two_locks};

    #[test]
    fn leaves_are_locks_and_weights_add_up() {
        let (m, _, _) = two_locks();
        let t = m.flame_tree(FlameKind::Wait, FlameOrder::LeftHeavy);
        assert_eq!(t.total_ns(), 150 + 200);
        let leaves: Vec<(&str, u64)> = (t.nodes.iter())
            .filter(|n| n.children.is_empty())
            .map(|n| (n.name.as_str(), n.total_ns))
            .collect();
        assert!(leaves.contains(&("alpha", 150)) && leaves.contains(&("beta", 200)));
    }

    #[test]
    fn left_heavy_puts_the_heaviest_first_and_time_order_the_earliest() {
        let mut r = definitions();
        r.push(begin(10, 1, 11, &[2]));
        r.push(end(20, 1, 11));
        r.push(begin(30, 1, 21, &[2]));
        r.push(end(130, 1, 21));
        let m = model(r);
        let names = |order| {
            let t = m.flame_tree(FlameKind::Wait, order);
            let site = t.nodes[0].children[0];
            (t.nodes[site].children.iter())
                .map(|&c| t.nodes[c].name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(FlameOrder::LeftHeavy), ["beta", "alpha"]);
        assert_eq!(names(FlameOrder::TimeOrder), ["alpha", "beta"]);
    }

    #[test]
    fn search_counts_matching_frames_and_their_weight_once() {
        // Leaves alpha (150) and beta (200) under one site frame.
        let (m, _, _) = two_locks();
        let t = m.flame_tree(FlameKind::Wait, FlameOrder::LeftHeavy);
        assert_eq!(t.search("alpha"), (1, 150));
        assert_eq!(t.search("a"), (2, 350), "both locks");
        // "unknown site" and beta below it: beta's weight is not counted a second time.
        assert_eq!(t.search("t"), (2, 350));
        assert_eq!(t.search("nothing"), (0, 0));
        // Where a lock leaf is in the source: where it was created, when it has a name.
        let mut m = m;
        m.classes
            .values_mut()
            .for_each(|c| c.site = "src/lib.rs:3:9".into());
        assert_eq!(m.location_of("alpha").as_deref(), Some("src/lib.rs:3:9"));
        assert_eq!(m.location_of("no such frame"), None);
    }

    #[test]
    fn the_inverted_tree_puts_each_lock_at_the_root_with_the_same_weights() {
        let (m, _, _) = two_locks();
        let t = m.flame_tree_with(FlameKind::Wait, FlameOrder::LeftHeavy, true);
        assert_eq!(t.total_ns(), 350);
        let roots: Vec<(&str, u64)> = (t.nodes[0].children.iter())
            .map(|&c| (t.nodes[c].name.as_str(), t.nodes[c].total_ns))
            .collect();
        assert_eq!(roots, [("beta", 200), ("alpha", 150)]);
        let beta = t.nodes[0].children[0];
        let caller = t.nodes[beta].children[0];
        assert_eq!(t.nodes[caller].name, "unknown site", "then where it waited");
    }
}
