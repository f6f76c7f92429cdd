//! Per-actor timelines: when each actor waited, held a lock others waited for, or held one.

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use super::{Model, WaitState};

/// What an actor was doing during a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// Waiting for a lock.
    Wait,
    /// Holding a lock while at least one other actor waited for it.
    HoldContended,
    /// Holding a lock, nobody waiting.
    Hold,
    /// Holding a lock that others were still waiting for when the trace ended, with no
    /// release recorded (a deadlock, a hang): from the first such waiter's arrival to the end.
    /// Its index is that wait's.
    HeldAtEnd,
}

/// One span on a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Start.
    pub from_ns: u64,
    /// End (the trace's end for a wait that never ended).
    pub to_ns: u64,
    /// Waiting or holding.
    pub kind: SpanKind,
    /// The lock class.
    pub class: u64,
    /// Index into [`Model::waits`] for a wait, [`Model::holds`] for a hold. (32 bits keep a
    /// span at 32 bytes: a large trace's lanes hold millions.)
    pub index: u32,
}

/// A lock still held when the trace ended (see [`Model::held_at_end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldAtEnd {
    /// The holder.
    pub actor: u64,
    /// The lock instance.
    pub lock: u64,
    /// Its class.
    pub class: u64,
    /// Held at least since then: when the first waiter still waiting at the end arrived.
    pub from_ns: u64,
    /// That wait (an index into [`Model::waits`]).
    pub wait: usize,
}

/// One lock class over time, as Tracy draws a lock: who held it when, and how many waited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockTrack {
    /// Recorded holds: `(from, to, holder)`, in start order (holds are sampled: a stretch
    /// with waiters and no hold shown had an unrecorded holder).
    pub holds: Vec<(u64, u64, u64)>,
    /// The number of actors waiting, as steps: `(from, count)`, each lasting until the next.
    pub waiters: Vec<(u64, u32)>,
}

/// One actor's spans, in start order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// Actor id.
    pub actor: u64,
    /// Actor name.
    pub name: String,
    /// Its spans, sorted by start.
    pub spans: Vec<Span>,
}

impl Model {
    /// One lane per actor that waited or held, by actor id. A hold splits where its first
    /// waiter arrived: plain hold before, contended hold after.
    pub fn lanes(&self) -> Vec<Lane> {
        // The spans of each wait and hold, counted first so each lane is allocated once.
        let wait_span = |index: usize, w: &super::Wait<'_>| {
            let to_ns = w.counted_end_ns(self.end_ns)?;
            Some(Span {
                from_ns: w.begin_ns,
                to_ns,
                kind: SpanKind::Wait,
                class: w.class,
                index: index as u32,
            })
        };
        let hold_spans = |index: usize, h: &super::Hold| {
            let span = |from_ns, to_ns, kind| Span {
                from_ns,
                to_ns,
                kind,
                class: h.class,
                index: index as u32,
            };
            let start = h.start_ns();
            match h.contended_ns.map(NonZeroU64::get) {
                Some(c) => (
                    (c > start).then(|| span(start, c, SpanKind::Hold)),
                    span(c.max(start), h.end_ns, SpanKind::HoldContended),
                ),
                None => (None, span(start, h.end_ns, SpanKind::Hold)),
            }
        };
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for w in &self.waits {
            if w.state != WaitState::Lost {
                *counts.entry(w.actor).or_default() += 1;
            }
        }
        for (index, h) in self.holds.iter().enumerate() {
            let (before, _) = hold_spans(index, &h);
            *counts.entry(h.actor).or_default() += 1 + usize::from(before.is_some());
        }
        let mut lanes: BTreeMap<u64, Vec<Span>> = (counts.into_iter())
            .map(|(actor, n)| (actor, Vec::with_capacity(n)))
            .collect();
        for (index, w) in self.waits.iter().enumerate() {
            if let Some(s) = wait_span(index, &w)
                && let Some(spans) = lanes.get_mut(&w.actor)
            {
                spans.push(s);
            }
        }
        for (index, h) in self.holds.iter().enumerate() {
            let (before, after) = hold_spans(index, &h);
            if let Some(spans) = lanes.get_mut(&h.actor) {
                spans.extend(before);
                spans.push(after);
            }
        }
        for s in self.held_at_end() {
            lanes.entry(s.actor).or_default().push(Span {
                from_ns: s.from_ns,
                to_ns: self.end_ns.max(s.from_ns),
                kind: SpanKind::HeldAtEnd,
                class: s.class,
                index: s.wait as u32,
            });
        }
        (lanes.into_iter())
            .map(|(actor, mut spans)| {
                spans.sort_by_key(|s| (s.from_ns, s.to_ns));
                Lane {
                    actor,
                    name: self.actor_name(actor),
                    spans,
                }
            })
            .collect()
    }

    /// Locks still held when the trace ended, as the waits still going then show them: each
    /// holder a still-going wait names, without a recorded hold of that lock that ended after
    /// the wait began (it was never released), from the earliest such wait's start. One per
    /// (holder, lock).
    pub fn held_at_end(&self) -> Vec<HeldAtEnd> {
        let mut out: BTreeMap<(u64, u64), HeldAtEnd> = BTreeMap::new();
        for (i, w) in self.waits.iter().enumerate() {
            if w.state != WaitState::StillWaiting {
                continue;
            }
            for (holder, hold) in self.wait_holders(i) {
                let released = (hold.and_then(|h| self.holds.get(h))).is_some();
                if released {
                    continue;
                }
                let e = out.entry((holder, w.lock)).or_insert(HeldAtEnd {
                    actor: holder,
                    lock: w.lock,
                    class: w.class,
                    from_ns: w.begin_ns,
                    wait: i,
                });
                if w.begin_ns < e.from_ns {
                    (e.from_ns, e.wait) = (w.begin_ns, i);
                }
            }
        }
        out.into_values().collect()
    }

    /// The track of lock class `class`: its holds and the count of its waiters over time
    /// (a wait still going at the end counts to the end).
    pub fn lock_track(&self, class: u64) -> LockTrack {
        let mut holds: Vec<(u64, u64, u64)> = (self.holds.iter())
            .filter(|h| h.class == class)
            .map(|h| (h.start_ns(), h.end_ns, h.actor))
            .collect();
        holds.extend(
            (self.held_at_end().into_iter())
                .filter(|h| h.class == class)
                .map(|h| (h.from_ns, self.end_ns.max(h.from_ns), h.actor)),
        );
        holds.sort_unstable();
        let mut edges: Vec<(u64, i64)> = Vec::new();
        for w in self.waits.iter().filter(|w| w.class == class) {
            let Some(end) = w.counted_end_ns(self.end_ns) else {
                continue;
            };
            edges.push((w.begin_ns, 1));
            edges.push((end, -1));
        }
        edges.sort_unstable();
        let mut waiters: Vec<(u64, u32)> = Vec::new();
        let mut now = 0i64;
        for (ts, d) in edges {
            now += d;
            let count = now.max(0) as u32;
            match waiters.last_mut() {
                Some(last) if last.0 == ts => last.1 = count,
                Some(last) if last.1 == count => {}
                _ => waiters.push((ts, count)),
            }
        }
        LockTrack { holds, waiters }
    }

    /// Who made wait `index` wait: each holder and, when recorded, its hold (an index into
    /// [`Model::holds`]).
    pub fn wait_holders(&self, index: usize) -> Vec<(u64, Option<usize>)> {
        let Some(w) = self.waits.get(index) else {
            return Vec::new();
        };
        (w.holders.iter())
            .map(|&h| (h, self.holder_hold_index(&w, h)))
            .collect()
    }

    /// The first and last timestamps of waits and holds: the span a timeline shows.
    pub fn time_span(&self) -> (u64, u64) {
        let first = (self.waits.iter().map(|w| w.begin_ns))
            .chain(self.holds.iter().map(|h| h.start_ns()))
            .min()
            .unwrap_or(0);
        (first, self.end_ns.max(first + 1))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests_support::two_locks;

    use super::SpanKind;

    #[test]
    fn a_hold_turns_yellow_when_its_first_waiter_arrives() {
        let (m, _, _) = two_locks();
        let lanes = m.lanes();
        let t2 = lanes.iter().find(|l| l.name == "t2").unwrap();
        let kinds: Vec<(u64, u64, SpanKind)> = t2
            .spans
            .iter()
            .map(|s| (s.from_ns, s.to_ns, s.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (100, 150, SpanKind::Hold),
                (150, 300, SpanKind::HoldContended),
                (500, 700, SpanKind::Wait)
            ]
        );
    }

    #[test]
    fn a_wait_knows_its_holder_and_the_holders_hold() {
        let (m, _, _) = two_locks();
        assert_eq!(m.wait_holders(0), [(2, Some(0))]);
    }

    #[test]
    fn locks_still_held_at_the_end_are_drawn_on_their_holders_lanes() {
        use crate::model::tests_support::{begin, definitions, end, hold, model};
        // A deadlock: t1 holds beta and waits for alpha from 150; t2 holds alpha and waits
        // for beta from 200. An earlier, released hold of alpha by t2 does not count.
        let mut r = definitions();
        r.push(hold(10, 0, 20, 2, 11));
        r.push(begin(150, 1, 11, &[2]));
        r.push(begin(200, 2, 21, &[1]));
        // t3 waited for alpha too and got it: no lock is held at the end for that wait.
        r.push(begin(30, 3, 11, &[2]));
        r.push(end(40, 3, 11));
        r.push(lockscope_format::Record::End { ts_ns: 1_000 });
        let m = model(r);
        let held = m.held_at_end();
        let got: Vec<(u64, u64, u64)> = held.iter().map(|h| (h.actor, h.lock, h.from_ns)).collect();
        assert_eq!(got, [(1, 21, 200), (2, 11, 150)]);
        let lanes = m.lanes();
        let spans = |name: &str| -> Vec<(u64, u64, SpanKind)> {
            let lane = lanes.iter().find(|l| l.name == name).unwrap();
            (lane.spans.iter())
                .filter(|s| s.kind == SpanKind::HeldAtEnd)
                .map(|s| (s.from_ns, s.to_ns, s.kind))
                .collect()
        };
        assert_eq!(spans("t1"), [(200, 1_000, SpanKind::HeldAtEnd)]);
        assert_eq!(spans("t2"), [(150, 1_000, SpanKind::HeldAtEnd)]);
        assert!(spans("t3").is_empty());
    }

    #[test]
    fn a_lock_track_has_its_holds_and_the_waiter_count_over_time() {
        use crate::model::tests_support::{begin, definitions, end, hold, model};
        // alpha (lock 11): t2 holds 100-300, t1 waits 150-300, t3 waits 200-300, then t1
        // holds 300-400.
        let mut r = definitions();
        r.push(hold(100, 150, 300, 2, 11));
        r.push(begin(150, 1, 11, &[2]));
        r.push(begin(200, 3, 11, &[2]));
        r.push(end(300, 1, 11));
        r.push(end(300, 3, 11));
        r.push(hold(300, 0, 400, 1, 11));
        r.push(lockscope_format::Record::End { ts_ns: 1_000 });
        let m = model(r);
        let t = m.lock_track(10);
        assert_eq!(t.holds, [(100, 300, 2), (300, 400, 1)]);
        assert_eq!(t.waiters, [(150, 1), (200, 2), (300, 0)]);
        assert_eq!(m.lock_track(20), super::LockTrack::default());
    }
}
