//! Potential deadlocks: the lock-order graph by class.
//!
//! Every nested acquisition adds an edge from each held class to the new one. Each thread
//! validates each distinct chain of held classes once (a hash probe afterwards), so the steady
//! state costs a few instructions. A new edge that closes a cycle is an inversion, reported
//! unless one thread walked the whole cycle, a common gate lock was held on every edge, or a
//! class in it is suppressed.

use crate::actor::{ActorShared, Held};
use crate::{class, settings};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::LazyLock;

/// Witnesses kept per edge (distinct threads or gate sets).
const WITNESSES: usize = 4;

#[derive(Clone, Debug)]
struct Witness {
    actor: u64,
    /// A tokio task rather than a thread.
    task: bool,
    thread: String,
    from_site: String,
    to_site: String,
    gates: Vec<u32>,
}

#[derive(Default)]
struct Graph {
    edges: HashMap<(u32, u32), Vec<Witness>>,
    next: HashMap<u32, Vec<u32>>,
    reported: HashSet<Vec<u32>>,
    reports: Vec<LockOrderReport>,
    suppressed: HashSet<String>,
}

static GRAPH: LazyLock<Mutex<Graph>> = LazyLock::new(Default::default);

/// Never report lock-order inversions that involve the lock class `name` (a user-given name,
/// or a creation site `file:line`). Also `LOCKSCOPE_SUPPRESS_LOCK_ORDER=name,name`.
pub fn suppress_lock_order(name: &str) {
    GRAPH.lock().suppressed.insert(name.to_owned());
}

/// Every lock-order inversion reported so far.
pub fn lock_order_reports() -> Vec<LockOrderReport> {
    GRAPH.lock().reports.clone()
}

/// One step of an inversion: a thread took `to` while holding `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderEdge {
    /// The lock held.
    pub from: String,
    /// The lock taken while holding it.
    pub to: String,
    /// The thread that did it (or the task, when `task` is set).
    pub thread: String,
    /// The edge was taken by a tokio task (its async locks), named in `thread`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub task: bool,
    /// Where `from` was taken.
    pub from_site: String,
    /// Where `to` was taken.
    pub to_site: String,
}

/// Locks taken in an order that can deadlock: each edge's thread holds `from` and takes `to`,
/// and the edges form a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockOrderReport {
    /// Always `lock_order_inversion`.
    pub kind: String,
    /// The cycle of orders.
    pub edges: Vec<OrderEdge>,
    /// Names of the locks in the cycle.
    pub locks: Vec<String>,
    /// Names of the threads that took them.
    pub actors: Vec<String>,
}

impl OrderEdge {
    /// `thread` or `task`.
    fn kind(&self) -> &'static str {
        if self.task { "task" } else { "thread" }
    }
}

impl LockOrderReport {
    /// The report as a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl fmt::Display for LockOrderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = if self.edges.iter().any(|e| e.task) {
            "these threads and tasks"
        } else {
            "these threads"
        };
        writeln!(
            f,
            "lockscope: LOCK ORDER INVERSION: {} are taken in conflicting orders; no deadlock yet, but {who} can deadlock",
            self.locks.join(", ")
        )?;
        for e in &self.edges {
            writeln!(
                f,
                "  {} {:?} takes {} (at {}) then {} (at {})",
                e.kind(),
                e.thread,
                e.from,
                e.from_site,
                e.to,
                e.to_site
            )?;
        }
        writeln!(f, "\npossible unsafe scenario:")?;
        let width = 44;
        let head: Vec<String> = self
            .edges
            .iter()
            .map(|e| format!("{} {:?}", e.kind(), e.thread))
            .collect();
        writeln!(
            f,
            "  {}",
            head.iter()
                .map(|h| format!("{h:<width$}"))
                .collect::<String>()
        )?;
        let row = |col: usize, text: String| format!("  {}{text}", " ".repeat(col * width));
        for (i, e) in self.edges.iter().enumerate() {
            writeln!(
                f,
                "{}",
                row(i, format!("lock({})  {}", e.from, e.from_site))
            )?;
        }
        for (i, e) in self.edges.iter().enumerate() {
            let last = i + 1 == self.edges.len();
            let note = if last {
                "<- waits: deadlock"
            } else {
                "<- waits"
            };
            writeln!(
                f,
                "{}",
                row(i, format!("lock({})  {}  {note}", e.to, e.to_site))
            )?;
        }
        Ok(())
    }
}

fn site(h: &Held) -> String {
    crate::class::site_text(h.site, h.class)
}

/// Validates the chain of locks `actor` holds now (its last held entry is the new one).
#[cold]
#[inline(never)]
pub(crate) fn validate(actor: &ActorShared) {
    if !settings::lock_order_checks() || !settings::enabled() {
        return;
    }
    let Some(snap) = actor.snapshot() else { return };
    let Some((new, held)) = snap.held.split_last() else {
        return;
    };
    validate_chain((snap.id, false), &snap.name, held, new);
}

/// Chains of held classes a task has had checked (a direct-mapped cache of their keys): a
/// task's steady state costs one load, as a thread's does with its own cache.
#[cfg(feature = "tokio")]
static TASK_CHAINS: [std::sync::atomic::AtomicU64; 4096] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 4096];

/// Chains whose every edge has all the witnesses it keeps: another task's walk adds nothing,
/// so a service that spawns a task per request takes the graph's lock a few times per chain,
/// not once per request.
#[cfg(feature = "tokio")]
static SATURATED_CHAINS: [std::sync::atomic::AtomicU64; 1024] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 1024];

/// Validates task `task`'s new async hold `new` (listed as `entry`) against the async locks it
/// holds besides.
#[cfg(feature = "tokio")]
#[cold]
#[inline(never)]
pub(crate) fn validate_task(task: u64, entry: u32, new: Held) {
    use crate::actor::task_held;
    use std::sync::atomic::Ordering::Relaxed;
    if !settings::lock_order_checks() || !settings::enabled() {
        return;
    }
    // The chain's key: the held classes in any order, then the new one; read without
    // allocating, so a chain seen before costs two passes over the bucket and a load.
    let mix = |x: u64| (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let (mut held_key, mut any) = (0u64, false);
    task_held::others(task, entry, |h| {
        held_key ^= mix(u64::from(h.class) + 1);
        any = true;
    });
    if !any {
        return;
    }
    let chain = mix(held_key ^ mix(u64::from(new.class) << 32)) | 1;
    let saturated = &SATURATED_CHAINS[(chain >> 54) as usize];
    if saturated.load(Relaxed) == chain {
        return;
    }
    // With the task in the key, a second task's walk of a chain is a witness of its own.
    let key = mix(chain ^ mix(task)) | 1;
    let seen = &TASK_CHAINS[(key >> 52) as usize];
    if seen.load(Relaxed) == key {
        return;
    }
    seen.store(key, Relaxed);
    let mut held = Vec::new();
    task_held::others(task, entry, |h| held.push(h));
    let name = crate::actor::task::name_of_task(task)
        .unwrap_or_else(|| format!("task-{}", task & !crate::actor::task::TASK_ACTOR));
    if !validate_chain((task, true), &name, &held, &new) {
        saturated.store(chain, Relaxed);
    }
}

/// Adds the edges from each of `held` to `new`, taken by actor `id` (a task when `task`)
/// called `name`, and reports the inversions they close. False when it added nothing (every
/// edge already had its witnesses, or this actor's).
fn validate_chain((id, task): (u64, bool), name: &str, held: &[Held], new: &Held) -> bool {
    let mut reports = Vec::new();
    let mut added = false;
    {
        let mut g = GRAPH.lock();
        for (i, h) in held.iter().enumerate() {
            if h.class == new.class || h.class == 0 || new.class == 0 {
                continue; // nesting within one class is not ordered by class
            }
            let gates: Vec<u32> = held
                .iter()
                .enumerate()
                .filter(|&(j, o)| j != i && o.class != new.class)
                .map(|(_, o)| o.class)
                .collect();
            let w = Witness {
                actor: id,
                task,
                thread: name.to_owned(),
                from_site: site(h),
                to_site: site(new),
                gates,
            };
            if g.add(h.class, new.class, w) {
                added = true;
                if let Some(r) = g.find_cycle(h.class, new.class) {
                    reports.push(r);
                }
            }
        }
        g.reports.extend(reports.iter().cloned());
    }
    for r in reports {
        super::alert::raise(&super::Alert::from_report(
            &r.kind,
            r.to_string(),
            r.locks.clone(),
            r.actors.clone(),
            r.to_json(),
        ));
        eprintln!("{r}");
    }
    added
}

impl Graph {
    /// Adds a witness of `from -> to`; true if the edge is new or the witness adds something.
    fn add(&mut self, from: u32, to: u32, w: Witness) -> bool {
        let ws = self.edges.entry((from, to)).or_default();
        if ws.is_empty() {
            self.next.entry(from).or_default().push(to);
        } else if ws.len() >= WITNESSES
            || ws.iter().any(|o| o.actor == w.actor && o.gates == w.gates)
        {
            return false;
        }
        ws.push(w);
        true
    }

    /// A reportable, not yet reported cycle through the edge `from -> to`.
    fn find_cycle(&mut self, from: u32, to: u32) -> Option<LockOrderReport> {
        // `path` runs to ... from; with the new edge from -> to it closes the cycle.
        let path = self.path(to, from)?;
        let classes: Vec<u32> = std::iter::once(from)
            .chain(path[..path.len() - 1].iter().copied())
            .collect();
        let labels: Vec<String> = classes
            .iter()
            .map(|&c| class::by_id(c).map_or_else(|| format!("class#{c}"), |c| c.label.clone()))
            .collect();
        if labels.iter().any(|l| self.suppressed.contains(l)) {
            return None;
        }
        let edges: Vec<(u32, u32)> = (0..classes.len())
            .map(|i| (classes[i], classes[(i + 1) % classes.len()]))
            .collect();
        let choice = self.pick_witnesses(&edges)?;
        let mut key = classes.clone();
        key.sort_unstable();
        if !self.reported.insert(key) {
            return None;
        }
        let edges: Vec<OrderEdge> = edges
            .iter()
            .zip(&choice)
            .enumerate()
            .map(|(i, (_, w))| OrderEdge {
                from: labels[i].clone(),
                to: labels[(i + 1) % labels.len()].clone(),
                thread: w.thread.clone(),
                task: w.task,
                from_site: w.from_site.clone(),
                to_site: w.to_site.clone(),
            })
            .collect();
        let mut actors: Vec<String> = edges.iter().map(|e| e.thread.clone()).collect();
        actors.dedup();
        Some(LockOrderReport {
            kind: "lock_order_inversion".to_owned(),
            edges,
            locks: labels,
            actors,
        })
    }

    /// One witness per edge such that at least two threads are involved and no gate lock was
    /// held on every edge; `None` when no such choice exists.
    fn pick_witnesses(&self, edges: &[(u32, u32)]) -> Option<Vec<Witness>> {
        let lists: Vec<&Vec<Witness>> = edges
            .iter()
            .map(|e| self.edges.get(e))
            .collect::<Option<_>>()?;
        let total: usize = lists.iter().map(|l| l.len()).product();
        for n in 0..total.min(4096) {
            let mut k = n;
            let pick: Vec<&Witness> = lists
                .iter()
                .map(|l| {
                    let w = &l[k % l.len()];
                    k /= l.len();
                    w
                })
                .collect();
            let threads: HashSet<u64> = pick.iter().map(|w| w.actor).collect();
            let common_gate = pick[0]
                .gates
                .iter()
                .any(|g| pick.iter().all(|w| w.gates.contains(g)));
            if threads.len() >= 2 && !common_gate {
                return Some(pick.into_iter().cloned().collect());
            }
        }
        None
    }

    /// Shortest path of classes from `start` to `goal`, both included, by BFS.
    fn path(&self, start: u32, goal: u32) -> Option<Vec<u32>> {
        let mut prev: HashMap<u32, u32> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(c) = queue.pop_front() {
            if c == goal {
                let mut path = vec![goal];
                let mut cur = goal;
                while cur != start {
                    cur = prev[&cur];
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            for &n in self.next.get(&c).into_iter().flatten() {
                if n != start && !prev.contains_key(&n) {
                    prev.insert(n, c);
                    queue.push_back(n);
                }
            }
        }
        None
    }
}

/// What taking class `new` while holding the classes `held` would be to the lock-order graph:
/// chaos mode's cue for how long to make the thread sit on what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nesting {
    /// It would close a cycle: an order some actor took before, reversed.
    ClosesCycle,
    /// No actor has taken `new` under any of `held` yet: an order the graph has never seen.
    Novel,
    /// An order seen before.
    Known,
}

/// See [`Nesting`]; nesting within one class, or in unregistered classes, is `Known`.
pub(crate) fn nesting(held: &[u32], new: u32) -> Nesting {
    let held = || held.iter().copied().filter(move |&h| h != 0 && h != new);
    if new == 0 || held().next().is_none() {
        return Nesting::Known;
    }
    let g = GRAPH.lock();
    if held().any(|h| g.path(new, h).is_some()) {
        Nesting::ClosesCycle
    } else if held().all(|h| !g.edges.contains_key(&(h, new))) {
        Nesting::Novel
    } else {
        Nesting::Known
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&GRAPH]
}
