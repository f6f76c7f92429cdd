//! Tabular analyses: the lock table, the most contended sites and per-actor wait totals.

use std::collections::BTreeMap;

use lockscope_format::{ActorKind, Histogram, LockKind, Summary};

use super::hash::IdMap;
use super::{Model, WaitState};

/// Where a lock row's figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FiguresFrom {
    /// The class's last `ClassStats` snapshot (exact counters, full histograms).
    ClassStats,
    /// No snapshot was written (the process died first): derived from wait and hold events,
    /// so acquisitions are a lower bound and hold figures cover recorded holds only.
    Events,
}

impl FiguresFrom {
    /// `class_stats` or `events`.
    pub fn as_str(self) -> &'static str {
        match self {
            FiguresFrom::ClassStats => "class_stats",
            FiguresFrom::Events => "events",
        }
    }
}

/// One lock class in the lock table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRow {
    /// Class id.
    pub class: u64,
    /// Display name.
    pub name: String,
    /// Primitive kind (`None` when its definition was lost).
    pub kind: Option<LockKind>,
    /// Creation site.
    pub site: String,
    /// Instances of the class.
    pub instances: u64,
    /// Acquisitions.
    pub acquisitions: u64,
    /// Acquisitions that waited.
    pub contentions: u64,
    /// Most actors waiting at once on one instance.
    pub max_waiters: u64,
    /// 1 in this many holds was timed.
    pub hold_sample_period: u64,
    /// Wait times of contended acquisitions; a wait still going when the trace ended counts up
    /// to that end.
    pub wait: Histogram,
    /// Timed hold times (a sample: see `hold_sample_period`).
    pub hold: Histogram,
    /// Waits on the class that had not ended when the trace did.
    pub still_waiting: u64,
    /// Waits that ended without the lock: timed out, or the semaphore was closed.
    pub gave_up: u64,
    /// Where the figures come from.
    pub figures_from: FiguresFrom,
}

impl LockRow {
    /// Acquisitions that had to wait first: the contentions less the waits that never got
    /// the lock (still waiting at the end, timed out, closed), which are no acquisitions.
    pub fn contended_acquisitions(&self) -> u64 {
        (self.contentions)
            .saturating_sub(self.still_waiting + self.gave_up)
            .min(self.acquisitions)
    }

    /// Contended acquisitions as a percentage of acquisitions: at most 100 %, however many
    /// waiters never got the lock (they are counted in `still_waiting` and `gave_up`).
    pub fn contention_pct(&self) -> f64 {
        if self.acquisitions == 0 {
            0.0
        } else {
            self.contended_acquisitions() as f64 * 100.0 / self.acquisitions as f64
        }
    }

    /// Wait percentiles, max and total.
    pub fn wait_summary(&self) -> Summary {
        self.wait.summary()
    }

    /// Hold percentiles and max from the timed sample; the total is estimated for every
    /// acquisition (sampled total × sampling period).
    pub fn hold_summary(&self) -> Summary {
        let mut s = self.hold.summary();
        s.total = s.total.saturating_mul(self.hold_sample_period);
        s
    }
}

/// A (lock class, wait site) pair and who made it wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRow {
    /// Class id.
    pub class: u64,
    /// Call site of the waits (string id).
    pub site: u64,
    /// Waits at this site.
    pub waits: u64,
    /// Summed time of the waits (a wait still going when the trace ended counts up to that end).
    pub wait_total_ns: u64,
    /// Longest wait (the same way).
    pub wait_max_ns: u64,
    /// Of them, still waiting at the end of the trace.
    pub still_waiting: u64,
    /// Who held the lock when these waits began, most frequent first.
    pub holders: Vec<HolderCount>,
}

/// How often one actor, having taken the lock at one site, made waiters wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCount {
    /// The holding actor.
    pub actor: u64,
    /// Where it took the lock (string id), when its hold was recorded.
    pub site: Option<u64>,
    /// Waits it caused.
    pub waits: u64,
}

/// One actor's waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorRow {
    /// Actor id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Thread or task (`None` when its definition was lost).
    pub kind: Option<ActorKind>,
    /// OS thread id or task id (0 when unknown).
    pub os_id: u64,
    /// Where a task was spawned (`file:line:column`), empty when unknown.
    pub spawn_site: String,
    /// Contended acquisitions.
    pub waits: u64,
    /// Summed time of the waits (a wait still going when the trace ended counts up to that end).
    pub wait_total_ns: u64,
    /// Longest wait (the same way).
    pub wait_max_ns: u64,
    /// Waits not ended when the trace did.
    pub still_waiting: u64,
}

impl ActorRow {
    /// Who the actor is, in words, as [`Model::actor_identity`] says it (`task 13, spawned at
    /// src/bin/x.rs:42:5`); `None` when its definition was lost.
    pub fn identity(&self) -> Option<String> {
        (self.kind).map(|k| super::trace::identity_text(k, self.os_id, &self.spawn_site))
    }
}

#[derive(Default)]
struct EventFigures {
    waits: u64,
    wait: Histogram,
    hold: Histogram,
    holds: u64,
    still_waiting: u64,
    gave_up: u64,
    /// How long the waits still going at the end had waited by then.
    still_wait: Histogram,
    max_waiters: u64,
    instances: u64,
}

impl Model {
    /// One row per lock class, most total wait first.
    pub fn lock_rows(&self) -> Vec<LockRow> {
        let mut ev = self.event_figures();
        let mut rows: Vec<LockRow> = (self.classes.values())
            .map(|c| {
                let e = ev.remove(&c.id).unwrap_or_default();
                let mut row = LockRow {
                    class: c.id,
                    name: c.name.clone(),
                    kind: c.kind,
                    site: c.site.clone(),
                    instances: e.instances,
                    acquisitions: e.waits.max(e.holds),
                    contentions: e.waits,
                    max_waiters: e.max_waiters,
                    hold_sample_period: 1,
                    wait: e.wait,
                    hold: e.hold,
                    still_waiting: e.still_waiting,
                    gave_up: e.gave_up,
                    figures_from: FiguresFrom::Events,
                };
                if let Some(s) = self.class_stats.get(&c.id) {
                    row.instances = s.instances;
                    row.acquisitions = s.acquisitions;
                    row.contentions = s.contentions;
                    row.max_waiters = s.max_waiters;
                    row.hold_sample_period = s.hold_sample_period;
                    row.wait = s.wait.clone();
                    row.hold = s.hold.clone();
                    row.figures_from = FiguresFrom::ClassStats;
                }
                // Neither a snapshot nor the ended waits have the waits still going at the
                // end: they count up to that end.
                row.wait.merge(&e.still_wait);
                row
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.wait.total().cmp(&a.wait.total()))
                .then(b.contentions.cmp(&a.contentions))
                .then(a.name.cmp(&b.name))
        });
        rows
    }

    fn event_figures(&self) -> IdMap<u64, EventFigures> {
        let mut ev: IdMap<u64, EventFigures> = IdMap::default();
        for l in self.locks.values() {
            ev.entry(l.class).or_default().instances += 1;
        }
        // A class with a snapshot takes every figure but `still_waiting` from it: the
        // histograms and the sweep are for the others only.
        let snapshot: IdMap<u64, ()> = self.class_stats.keys().map(|&c| (c, ())).collect();
        let no_snapshot = |class: u64| !snapshot.contains_key(&class);
        for (class, still, gave_up) in self.waits.class_outcomes() {
            let e = ev.entry(class).or_default();
            e.waits += 1;
            e.gave_up += u64::from(gave_up);
            if let Some(begin_ns) = still {
                e.still_waiting += 1;
                e.still_wait
                    .record(self.clipped_ns(begin_ns, self.end_ns.max(begin_ns)));
            }
        }
        // Only the classes of the table's rows are read back: when each has its snapshot, the
        // passes below would count for none of them (a whole trace's usual case).
        if self.classes.keys().all(|c| snapshot.contains_key(c)) {
            return ev;
        }
        // (lock, ts, +1/-1) for the sweep that finds the most simultaneous waiters.
        let mut edges: Vec<(u64, u64, i64)> = Vec::new();
        let (from, to) = self.window.unwrap_or((0, u64::MAX));
        for w in self.waits.with_class(no_snapshot) {
            let e = ev.entry(w.class).or_default();
            match w.state {
                WaitState::Ended { end_ns, .. } => {
                    e.wait.record(self.clipped_ns(w.begin_ns, end_ns));
                    edges.push((w.lock, w.begin_ns.max(from), 1));
                    edges.push((w.lock, end_ns.min(to), -1));
                }
                WaitState::StillWaiting => edges.push((w.lock, w.begin_ns.max(from), 1)),
                WaitState::Lost => {}
            }
        }
        for h in self.holds.with_class(no_snapshot) {
            let e = ev.entry(h.class).or_default();
            e.holds += 1;
            if let Some(ns) = self.timed_hold_ns(&h) {
                e.hold.record(ns);
            }
        }
        edges.sort_unstable();
        let mut per_lock: IdMap<u64, (i64, i64)> = IdMap::default();
        for (lock, _, d) in edges {
            let (now, max) = per_lock.entry(lock).or_default();
            *now += d;
            *max = (*max).max(*now);
        }
        for (lock, (_, max)) in per_lock {
            let class = self.locks.get(&lock).map_or(u64::MAX - lock, |l| l.class);
            let e = ev.entry(class).or_default();
            e.max_waiters = e.max_waiters.max(max as u64);
        }
        ev
    }

    /// (lock class, wait site) pairs, most total wait first.
    pub fn site_rows(&self) -> Vec<SiteRow> {
        // (class, site) → the row, and waits per (holder actor, holder's site).
        type Holders = IdMap<(u64, Option<u64>), u64>;
        let mut by_site: IdMap<(u64, u64), (SiteRow, Holders)> = IdMap::default();
        for w in &self.waits {
            let (row, holders) = by_site.entry((w.class, w.site)).or_insert_with(|| {
                let row = SiteRow {
                    class: w.class,
                    site: w.site,
                    waits: 0,
                    wait_total_ns: 0,
                    wait_max_ns: 0,
                    still_waiting: 0,
                    holders: Vec::new(),
                };
                (row, IdMap::default())
            });
            row.waits += 1;
            if let Some(d) = self.waited_ns(&w) {
                row.wait_total_ns = row.wait_total_ns.saturating_add(d);
                row.wait_max_ns = row.wait_max_ns.max(d);
            }
            if w.state == WaitState::StillWaiting {
                row.still_waiting += 1;
            }
            for &h in w.holders {
                let site = self.holder_hold(&w, h).map(|hold| hold.site);
                *holders.entry((h, site)).or_default() += 1;
            }
        }
        let mut rows: Vec<SiteRow> = (by_site.into_values())
            .map(|(mut row, holders)| {
                row.holders = (holders.into_iter())
                    .map(|((actor, site), waits)| HolderCount { actor, site, waits })
                    .collect();
                row.holders.sort_by(|a, b| {
                    b.waits
                        .cmp(&a.waits)
                        .then(a.actor.cmp(&b.actor))
                        .then(a.site.cmp(&b.site))
                });
                row
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.wait_total_ns.cmp(&a.wait_total_ns))
                .then(b.waits.cmp(&a.waits))
                .then((a.class, a.site).cmp(&(b.class, b.site)))
        });
        rows
    }

    /// Every actor that was defined or waited, most total wait first.
    pub fn actor_rows(&self) -> Vec<ActorRow> {
        let mut rows: BTreeMap<u64, ActorRow> = (self.actors.values())
            .map(|a| {
                let row = ActorRow {
                    id: a.id,
                    name: a.name.clone(),
                    kind: Some(a.kind),
                    os_id: a.os_id,
                    spawn_site: a.spawn_site.clone(),
                    waits: 0,
                    wait_total_ns: 0,
                    wait_max_ns: 0,
                    still_waiting: 0,
                };
                (a.id, row)
            })
            .collect();
        for w in &self.waits {
            let row = rows.entry(w.actor).or_insert_with(|| ActorRow {
                id: w.actor,
                name: self.actor_name(w.actor),
                kind: None,
                os_id: 0,
                spawn_site: String::new(),
                waits: 0,
                wait_total_ns: 0,
                wait_max_ns: 0,
                still_waiting: 0,
            });
            row.waits += 1;
            if let Some(d) = self.waited_ns(&w) {
                row.wait_total_ns = row.wait_total_ns.saturating_add(d);
                row.wait_max_ns = row.wait_max_ns.max(d);
            }
            if w.state == WaitState::StillWaiting {
                row.still_waiting += 1;
            }
        }
        let mut rows: Vec<ActorRow> = rows.into_values().collect();
        rows.sort_by(|a, b| b.wait_total_ns.cmp(&a.wait_total_ns).then(a.id.cmp(&b.id)));
        rows
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
