//! Matching wait ends to wait begins while a trace is read.
//!
//! Records reach the file buffer by buffer, one buffer per thread, so an actor's records are
//! in time order only while it stays on one thread. A task moves between worker threads: its
//! wait can begin on one and end on another, whose buffer is written first, and one of its
//! ends can be read while an older wait of the same lock is still open. Ends are therefore
//! matched by time, not by arrival: an end closes the newest open wait of its lock that began
//! by then; an end read before its begin waits for it; and a begin read after an end that an
//! older wait took (the two waits would overlap, which one actor's waits on one lock cannot)
//! takes that end back, reopening the older wait for its own end.

use lockscope_format::Outcome;

use super::WaitState;
use super::hash::IdMap;
use super::store::WaitStore;

/// Closed waits an actor remembers, to give an end back to a begin read late. A task's
/// records are out of order by at most what one worker buffered before it moved.
const REMEMBERED: usize = 16;

/// One actor's waits while the trace is read.
#[derive(Clone, Debug, Default)]
struct ActorWaits {
    /// Open waits, by begin time (oldest first). An actor waits for one thing at a time, but
    /// a wait may nest in another (re-taking a mutex inside a condvar wait).
    open: Vec<usize>,
    /// The waits it closed last, newest last.
    closed: Vec<usize>,
    /// The latest end among them: a begin after it took no one's end (the common case, an
    /// actor whose records are in order, costs this one comparison).
    latest_end: u64,
}

impl ActorWaits {
    fn closed_now(&mut self, i: usize, end_ns: u64) {
        if self.closed.len() == REMEMBERED {
            self.closed.remove(0);
        }
        self.closed.push(i);
        self.latest_end = self.latest_end.max(end_ns);
    }

    fn reopen(&mut self, waits: &WaitStore, i: usize) {
        let begin = waits.begin_ns(i);
        let at = self.open.partition_point(|&j| waits.begin_ns(j) <= begin);
        self.open.insert(at, i);
    }
}

/// The waits not closed yet, and the ends read before their begin.
#[derive(Clone, Debug, Default)]
pub(super) struct OpenWaits {
    actors: IdMap<u64, ActorWaits>,
    /// Wait ends read before their begin: (lock, end, outcome) per actor.
    early_ends: IdMap<u64, Vec<(u64, u64, Outcome)>>,
}

impl OpenWaits {
    /// Wait `i` (just added: `actor` waits for `lock` from `ts_ns`) began.
    pub(super) fn begin(
        &mut self,
        waits: &mut WaitStore,
        i: usize,
        (actor, lock, ts_ns): (u64, u64, u64),
    ) {
        let aw = self.actors.entry(actor).or_default();
        if let Some((end_ns, outcome)) = take_early(&mut self.early_ends, actor, lock, ts_ns) {
            waits.set_state(i, WaitState::Ended { end_ns, outcome });
            aw.closed_now(i, end_ns);
            return;
        }
        if ts_ns > aw.latest_end {
            aw.reopen(waits, i);
            return;
        }
        let took = aw.closed.iter().rposition(|&c| {
            waits.lock(c) == lock
                && waits.begin_ns(c) < ts_ns
                && waits.ending(c).is_some_and(|(end, _)| end >= ts_ns)
        });
        let Some(at) = took else {
            aw.reopen(waits, i);
            return;
        };
        // An older wait took this one's end: give it back, and let the older one find its own.
        let older = aw.closed[at];
        let (end_ns, outcome) = waits.ending(older).unwrap_or((ts_ns, Outcome::Acquired));
        waits.set_state(i, WaitState::Ended { end_ns, outcome });
        aw.closed[at] = i;
        waits.set_state(older, WaitState::StillWaiting);
        let older_begin = waits.begin_ns(older);
        match take_early(&mut self.early_ends, actor, lock, older_begin) {
            Some((end_ns, outcome)) => {
                waits.set_state(older, WaitState::Ended { end_ns, outcome });
            }
            None => aw.reopen(waits, older),
        }
    }

    /// `actor`'s wait for `lock` ended at `ts_ns`.
    pub(super) fn end(
        &mut self,
        waits: &mut WaitStore,
        (actor, lock, ts_ns): (u64, u64, u64),
        outcome: Outcome,
    ) {
        let aw = self.actors.entry(actor).or_default();
        let newest =
            (aw.open.iter()).rposition(|&i| waits.lock(i) == lock && waits.begin_ns(i) <= ts_ns);
        match newest {
            Some(at) => {
                let i = aw.open.remove(at);
                waits.set_state(
                    i,
                    WaitState::Ended {
                        end_ns: ts_ns,
                        outcome,
                    },
                );
                aw.closed_now(i, ts_ns);
            }
            None => (self.early_ends.entry(actor).or_default()).push((lock, ts_ns, outcome)),
        }
    }

    /// Settles what is left once every record was read, and returns the ends whose begin
    /// never came. A wait left open is still waiting at the end of the trace, unless the
    /// same actor later began a wait that ended: it was running again then, and this wait's
    /// end was lost (to damage or dropped events).
    pub(super) fn finish(mut self, waits: &mut WaitStore) -> u64 {
        // An end still unmatched while its actor has a wait on that lock open: the wait began
        // after the end, which a sound trace never says; they are paired (a zero-length wait)
        // rather than the end lost and the wait left waiting.
        let mut orphans = 0;
        for (actor, ends) in std::mem::take(&mut self.early_ends) {
            for (lock, end_ns, outcome) in ends {
                let aw = self.actors.entry(actor).or_default();
                match aw.open.iter().position(|&i| waits.lock(i) == lock) {
                    Some(at) => {
                        let i = aw.open.remove(at);
                        waits.set_state(i, WaitState::Ended { end_ns, outcome });
                    }
                    None => orphans += 1,
                }
            }
        }
        if self.actors.values().all(|a| a.open.is_empty()) {
            return orphans;
        }
        let mut last_begun: IdMap<u64, u64> = IdMap::default();
        for i in 0..waits.len() {
            if waits.ended(i) {
                let b = last_begun.entry(waits.actor(i)).or_default();
                *b = (*b).max(waits.begin_ns(i));
            }
        }
        for (actor, aw) in self.actors {
            for i in aw.open {
                if last_begun
                    .get(&actor)
                    .is_some_and(|&b| b > waits.begin_ns(i))
                {
                    waits.set_state(i, WaitState::Lost);
                }
            }
        }
        orphans
    }
}

/// Takes `actor`'s earliest early end of `lock` at or after `from_ns`.
fn take_early(
    early: &mut IdMap<u64, Vec<(u64, u64, Outcome)>>,
    actor: u64,
    lock: u64,
    from_ns: u64,
) -> Option<(u64, Outcome)> {
    if early.is_empty() {
        return None; // the common case: every end so far came after its begin
    }
    let e = early.get_mut(&actor)?;
    let at = (e.iter().enumerate())
        .filter(|(_, (l, end, _))| *l == lock && *end >= from_ns)
        .min_by_key(|(_, (_, end, _))| *end)?
        .0;
    let (_, end, outcome) = e.remove(at);
    if e.is_empty() {
        early.remove(&actor);
    }
    Some((end, outcome))
}
