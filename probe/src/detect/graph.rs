//! The wait-for analysis: from per-actor snapshots, which actors can never proceed.
//!
//! Each waiting actor has *blockers* and a rule, by the lock's semantics:
//! - Mutex, or RwLock asked for writing: every holder must leave. The waiter is stuck forever
//!   if **any** blocker is.
//! - RwLock asked for reading: the writer holding it, or else the writers queued on it
//!   (parking_lot is task-fair: a queued writer blocks new readers). Stuck if **any** is.
//! - Semaphore (a counted resource): any holder giving a permit back may free the waiter. Stuck
//!   only if **all** holders are stuck — otherwise it is starvation, not deadlock.
//!
//! "Stuck forever" is the greatest fixed point: start from every waiting actor, drop those
//! whose rule fails, repeat. What is left is deadlocked; cycles are read off the blockers.

use crate::actor::Snapshot;
use crate::class;
use crate::format::{LockKind, Mode};
use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rule {
    Any,
    All,
}

/// A cycle of actors (indexes into the snapshots), each blocked by the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) cycle: Vec<usize>,
    /// True: nobody in it can ever proceed. False: a counted resource in the cycle has a
    /// holder outside it, so the waiters starve rather than deadlock.
    pub(crate) deadlock: bool,
    /// Some wait in the cycle has a timeout: the deadlock resolves when it expires.
    pub(crate) timed: bool,
}

/// The kind of each class id, looked up once per analysis.
fn kind_of(cache: &mut HashMap<u32, Option<LockKind>>, class: u32) -> Option<LockKind> {
    *cache
        .entry(class)
        .or_insert_with(|| class::by_id(class).map(|c| c.kind))
}

/// Every deadlock cycle, and every starvation cycle through a semaphore, among `snaps`.
pub(crate) fn analyse(snaps: &[Snapshot]) -> Vec<Found> {
    let mut kinds = HashMap::new();
    // Per lock: (actor index, mode, movable, upgradable read).
    let mut holders: HashMap<u64, Vec<(usize, Mode, bool, bool)>> = HashMap::new();
    let mut queued_writers: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, s) in snaps.iter().enumerate() {
        for h in &s.held {
            holders
                .entry(h.lock)
                .or_default()
                .push((i, h.mode, h.movable, h.upgradable));
        }
        if let Some(w) = &s.waiting
            && w.mode == Mode::Exclusive
        {
            queued_writers.entry(w.lock).or_default().push(i);
        }
    }
    let none = Vec::new();
    let edges: Vec<Option<(Vec<usize>, Rule, bool)>> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let w = s.waiting.as_ref()?;
            // An async hold listed as the waiter's own may be another branch of the same task
            // (`join!`) or a guard sent elsewhere since: it proves nothing, so it is no edge.
            let hs: Vec<(usize, Mode, bool)> = holders
                .get(&w.lock)
                .unwrap_or(&none)
                .iter()
                .filter(|&&(a, _, movable, _)| !(movable && a == i))
                .map(|&(a, m, _, up)| (a, m, up))
                .collect();
            let all_holders = || hs.iter().map(|&(a, _, _)| a).collect::<Vec<_>>();
            let (blockers, rule) = match (kind_of(&mut kinds, w.class)?, w.mode) {
                (_, Mode::Condvar) => return None,
                (LockKind::Semaphore, _) => (all_holders(), Rule::All),
                (LockKind::RwLock, Mode::Shared) => {
                    // A reader waits for writers; an upgradable reader for other upgradable
                    // readers too. Neither waits for plain readers.
                    let writers: Vec<usize> = hs
                        .iter()
                        .filter(|&&(_, m, up)| m == Mode::Exclusive || (w.upgradable && up))
                        .map(|&(a, _, _)| a)
                        .collect();
                    if writers.is_empty() {
                        let q = queued_writers.get(&w.lock).map_or(&[][..], Vec::as_slice);
                        (q.iter().copied().filter(|&a| a != i).collect(), Rule::Any)
                    } else {
                        (writers, Rule::Any)
                    }
                }
                _ => (all_holders(), Rule::Any),
            };
            (!blockers.is_empty()).then_some((blockers, rule, w.timed))
        })
        .collect();

    let deadlocked = fixed_point(&edges, false);
    let cyclic = fixed_point(&edges, true);
    let mut out = Vec::new();
    let mut taken = vec![false; snaps.len()];
    for (set, deadlock) in [(&deadlocked, true), (&cyclic, false)] {
        for start in 0..snaps.len() {
            if !set[start] || taken[start] {
                continue;
            }
            if let Some(cycle) = walk(&edges, set, start)
                && !cycle.iter().any(|&a| taken[a])
            {
                // Starvation only where a semaphore is in the cycle (else it is a deadlock
                // already reported, or a chain that ends outside).
                let through_semaphore = cycle
                    .iter()
                    .any(|&a| matches!(edges[a], Some((_, Rule::All, _))));
                if deadlock || through_semaphore {
                    cycle.iter().for_each(|&a| taken[a] = true);
                    let timed = cycle
                        .iter()
                        .any(|&a| edges[a].as_ref().is_some_and(|e| e.2));
                    out.push(Found {
                        cycle,
                        deadlock,
                        timed,
                    });
                }
            }
        }
    }
    out
}

/// Which actors are stuck forever; with `any_only`, counted resources use the "any" rule too
/// (a plain cycle check, used to find starvation).
fn fixed_point(edges: &[Option<(Vec<usize>, Rule, bool)>], any_only: bool) -> Vec<bool> {
    let mut stuck: Vec<bool> = edges.iter().map(Option::is_some).collect();
    loop {
        let mut changed = false;
        for i in 0..edges.len() {
            let Some((blockers, rule, _)) = &edges[i] else {
                continue;
            };
            if !stuck[i] {
                continue;
            }
            let holds = if *rule == Rule::All && !any_only {
                blockers.iter().all(|&b| stuck[b])
            } else {
                blockers.iter().any(|&b| stuck[b])
            };
            if !holds {
                stuck[i] = false;
                changed = true;
            }
        }
        if !changed {
            return stuck;
        }
    }
}

/// Follows stuck blockers from `start` until an actor repeats; returns that cycle.
fn walk(
    edges: &[Option<(Vec<usize>, Rule, bool)>],
    stuck: &[bool],
    start: usize,
) -> Option<Vec<usize>> {
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let (blockers, _, _) = edges[cur].as_ref()?;
        // Another actor's edge first: a thread that also blocks itself (a reader asking to
        // write) is reported with the others it deadlocks with.
        let next = *blockers
            .iter()
            .find(|&&b| stuck[b] && b != cur)
            .or_else(|| blockers.iter().find(|&&b| stuck[b]))?;
        if let Some(pos) = path.iter().position(|&p| p == next) {
            return Some(path.split_off(pos));
        }
        path.push(next);
        cur = next;
    }
}
