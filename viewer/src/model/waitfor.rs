//! Wait-for graph snapshots: at one instant, who waits for which lock and who holds it.

use std::collections::{BTreeMap, BTreeSet};

use super::hash::IdMap;
use super::{Model, Wait, WaitState};

/// One open wait at the snapshot's instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitEdge {
    /// The waiting actor.
    pub waiter: u64,
    /// The lock instance it waits for.
    pub lock: u64,
    /// That lock's class.
    pub class: u64,
    /// Who held the lock at that instant (recorded holds), else when the wait began.
    pub holders: Vec<u64>,
    /// Who held it when the wait began and had released it by this instant (the lock was
    /// free, its waiters not yet running).
    pub released_by: Vec<u64>,
    /// When the wait began.
    pub since_ns: u64,
    /// Waiter and a holder wait for each other, directly or through others.
    pub in_cycle: bool,
    /// The wait ended later (so if it is on a cycle, the cycle broke: the holders known
    /// for it were stale, or a timeout ended it).
    pub ended: bool,
}

/// The wait-for graph at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaitForGraph {
    /// The instant.
    pub at_ns: u64,
    /// Open waits, by waiter.
    pub edges: Vec<WaitEdge>,
    /// Actors on a cycle.
    pub cycle_actors: BTreeSet<u64>,
    /// Actors on a cycle of waits that never ended: a deadlock.
    pub deadlocked: BTreeSet<u64>,
}

impl WaitForGraph {
    /// Every actor in the graph, waiting or holding.
    pub fn actors(&self) -> BTreeSet<u64> {
        (self.edges.iter())
            .flat_map(|e| std::iter::once(e.waiter).chain(e.holders.iter().copied()))
            .collect()
    }

    /// Every lock instance waited for, with its class.
    pub fn locks(&self) -> BTreeMap<u64, u64> {
        self.edges.iter().map(|e| (e.lock, e.class)).collect()
    }
}

impl Model {
    /// The waits open at `at_ns`, their holders, and the cycles among them.
    pub fn wait_for_at(&self, at_ns: u64) -> WaitForGraph {
        let open: Vec<Wait<'_>> = (self.waits.iter())
            .filter(|w| {
                w.begin_ns <= at_ns
                    && match w.state {
                        WaitState::Ended { end_ns, .. } => end_ns > at_ns,
                        WaitState::StillWaiting => true,
                        WaitState::Lost => false,
                    }
            })
            .collect();
        // Who held each of those locks at that instant, in one pass over the holds.
        let mut held: IdMap<u64, Vec<u64>> = open.iter().map(|w| (w.lock, Vec::new())).collect();
        if !held.is_empty() {
            for h in self.holds.ending_after(at_ns) {
                if h.start_ns() <= at_ns
                    && let Some(actors) = held.get_mut(&h.lock)
                {
                    actors.push(h.actor);
                }
            }
        }
        let mut edges: Vec<WaitEdge> = (open.into_iter())
            .map(|w| {
                // Holds are sampled, so the recorded holds at this instant may name only some
                // holders: add who held the lock when the wait began, unless their recorded
                // hold had ended by now (as the timeline names them).
                let mut holders = held.get(&w.lock).cloned().unwrap_or_default();
                let ended = |&h: &u64| {
                    self.holder_hold(&w, h)
                        .is_some_and(|hold| hold.end_ns <= at_ns)
                };
                let (mut released_by, still): (Vec<u64>, Vec<u64>) =
                    w.holders.iter().copied().partition(ended);
                holders.extend(still);
                holders.sort_unstable();
                holders.dedup();
                released_by.retain(|a| !holders.contains(a));
                WaitEdge {
                    waiter: w.actor,
                    lock: w.lock,
                    class: w.class,
                    holders,
                    released_by,
                    since_ns: w.begin_ns,
                    in_cycle: false,
                    ended: matches!(w.state, WaitState::Ended { .. }),
                }
            })
            .collect();
        edges.sort_by_key(|e| (e.waiter, e.since_ns));
        let cycle_actors = mark_cycles(&mut edges, false);
        let deadlocked = mark_cycles(&mut edges.clone(), true);
        WaitForGraph {
            at_ns,
            edges,
            cycle_actors,
            deadlocked,
        }
    }

    /// The instant worth looking at first: the trace's end when someone never stopped
    /// waiting (a deadlock shows there), else the middle of the longest stretch with the most
    /// waits open at once (not its first nanosecond, where the lock may just be changing
    /// hands).
    pub fn busiest_instant(&self) -> u64 {
        if self.still_waiting().next().is_some() {
            return self.end_ns;
        }
        let mut edges: Vec<(u64, i64)> = Vec::new();
        for w in &self.waits {
            if let WaitState::Ended { end_ns, .. } = w.state {
                edges.push((w.begin_ns, 1));
                edges.push((end_ns, -1));
            }
        }
        edges.sort_unstable();
        // (count, length, start) of the best stretch so far, and the start of the current one.
        let (mut now, mut best, mut since) = (0i64, (0i64, 0u64, self.end_ns), 0u64);
        for (ts, d) in edges {
            let stretch = (now, ts - since, since);
            if now > 0 && (stretch.0, stretch.1) > (best.0, best.1) {
                best = stretch;
            }
            now += d;
            since = ts;
        }
        if best.0 == 0 {
            return self.end_ns;
        }
        best.2 + best.1 / 2
    }
}

/// Marks the edges on a wait-for cycle (among open-ended waits only, with `open_only`) and
/// returns the waiters on one.
fn mark_cycles(edges: &mut [WaitEdge], open_only: bool) -> BTreeSet<u64> {
    let next: BTreeMap<u64, Vec<u64>> = (edges.iter())
        .filter(|e| !(open_only && e.ended))
        .map(|e| (e.waiter, e.holders.clone()))
        .collect();
    let reaches = |from: u64, to: u64| -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(a) = todo.pop() {
            if a == to {
                return true;
            }
            if seen.insert(a) {
                todo.extend(next.get(&a).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut on_cycle = BTreeSet::new();
    for e in edges.iter_mut().filter(|e| !(open_only && e.ended)) {
        e.in_cycle = e.holders.iter().any(|&h| reaches(h, e.waiter));
        if e.in_cycle {
            on_cycle.insert(e.waiter);
        }
    }
    on_cycle
}

#[cfg(test)]
mod tests {
    use lockscope_format::Record;

    use crate::model::tests_support::{begin, definitions, end, hold, model, two_locks};

    #[test]
    fn an_open_wait_points_at_the_holder_of_that_instant() {
        let (m, a, _) = two_locks();
        let g = m.wait_for_at(200);
        assert_eq!(g.edges.len(), 1);
        assert_eq!((g.edges[0].waiter, g.edges[0].class), (1, a));
        assert_eq!(g.edges[0].holders, [2]);
        assert!(g.cycle_actors.is_empty());
        assert!(m.wait_for_at(350).edges.is_empty());
    }

    #[test]
    fn two_actors_waiting_for_each_other_form_a_cycle() {
        let mut r = definitions();
        r.push(begin(200, 2, 11, &[1]));
        r.push(begin(210, 1, 21, &[2]));
        r.push(begin(220, 3, 11, &[1]));
        r.push(Record::End { ts_ns: 1_000 });
        let m = model(r);
        assert_eq!(m.busiest_instant(), 1_000);
        let g = m.wait_for_at(1_000);
        assert_eq!(g.cycle_actors.iter().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(g.deadlocked, g.cycle_actors, "the waits never ended");
        let t3 = g.edges.iter().find(|e| e.waiter == 3).unwrap();
        assert!(!t3.in_cycle, "t3 waits on the cycle but is not part of it");
    }

    #[test]
    fn a_cycle_of_waits_that_ended_is_not_called_a_deadlock() {
        let mut r = definitions();
        r.push(begin(200, 2, 11, &[1]));
        r.push(begin(210, 1, 21, &[2]));
        r.push(end(300, 2, 11));
        r.push(end(310, 1, 21));
        let g = model(r).wait_for_at(250);
        assert_eq!(g.cycle_actors.len(), 2);
        assert!(g.deadlocked.is_empty());
    }

    #[test]
    fn a_holder_whose_recorded_hold_ended_no_longer_holds() {
        let mut r = definitions();
        r.push(hold(100, 150, 180, 2, 11));
        r.push(begin(150, 1, 11, &[2]));
        r.push(Record::End { ts_ns: 1_000 });
        let g = model(r).wait_for_at(500);
        assert_eq!(g.edges.len(), 1);
        assert!(g.edges[0].holders.is_empty());
        assert_eq!(g.edges[0].released_by, [2]);
    }

    #[test]
    fn the_busiest_instant_is_inside_the_busiest_stretch_not_on_its_edge() {
        // Two waits overlap from 300 to 500 (t2's begins at 300, the moment the lock changed
        // hands); a lone one runs from 600 to 900.
        let mut r = definitions();
        r.push(begin(100, 1, 11, &[3]));
        r.push(begin(300, 2, 11, &[3]));
        r.push(end(500, 1, 11));
        r.push(end(550, 2, 11));
        r.push(begin(600, 1, 21, &[3]));
        r.push(end(900, 1, 21));
        r.push(Record::End { ts_ns: 1_000 });
        let m = model(r);
        assert_eq!(m.busiest_instant(), 400);
        assert_eq!(m.wait_for_at(400).edges.len(), 2);
    }

    #[test]
    fn every_holder_the_wait_names_is_shown_when_only_one_hold_was_recorded() {
        // A pool of 2 held by t2 (hold recorded) and t3 (hold not sampled); t1 waits for
        // both from 200.
        let mut r = definitions();
        r.push(begin(200, 1, 11, &[2, 3]));
        r.push(hold(100, 200, 500, 2, 11));
        r.push(end(500, 1, 11));
        r.push(Record::End { ts_ns: 1_000 });
        let g = model(r).wait_for_at(300);
        assert_eq!(g.edges.len(), 1);
        assert_eq!(g.edges[0].holders, [2, 3]);
        assert!(g.edges[0].released_by.is_empty());
    }
}
