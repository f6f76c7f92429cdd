//! The contended path of `LockMeta`: a wait's start (counters, the waiter's published wait,
//! its wait-for edges, a stack when it may deadlock or a trace records, the `WaitBegin`
//! record), the deadlock check, and its end; and the perturbations' turn before an acquisition.

use super::meta::{LockMeta, MAX_HOLDERS, Token};
use crate::actor::{self, ActorShared, NO_ORDER, TIMED, WAITING, class_mode};
use crate::format::{LockKind, Mode, Outcome, Record};
use crate::settings::enabled;
use crate::{clock, raw, sink};
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;

/// A wait in progress.
pub(crate) struct Wait {
    pub(crate) lock: u64,
    pub(super) actor: &'static ActorShared,
    pub(super) actor_id: u64,
    pub(super) t0: u64,
    pub(super) lock_wait: bool,
    /// The recording session its begin went into (0: none). Its end is recorded only into the
    /// same one: a wait that began before a recording started has no begin in that trace.
    pub(super) session: u32,
    /// What an open profile window needs at its end (`None`: no window was open).
    pub(super) profile: Option<Box<crate::profile::Pending>>,
}

impl LockMeta {
    /// Chaos mode's and the causal experiments' turn before a blocking acquisition, which may
    /// end in a wait (called when the state read at the top of the acquisition has either bit).
    #[cold]
    #[inline(never)]
    pub(crate) fn perturb_before(&self) {
        let state = crate::settings::state();
        if state & crate::settings::ON == 0 {
            return;
        }
        if state & crate::settings::CAUSAL != 0 {
            crate::causal::catch_up();
        }
        if state & crate::settings::CHAOS != 0 {
            crate::detect::chaos::before_acquire(self.class().id);
        }
    }

    /// Chaos mode's and the causal experiments' turn at a blocking lock's release, on its
    /// slow path (sampled or contended; every hold is sampled while experiments run).
    #[inline]
    pub(super) fn perturb_release(&self, tok: &Token, contended: bool) {
        let state = crate::settings::state();
        if state & crate::settings::CHAOS != 0 {
            crate::detect::chaos::before_release(contended);
        }
        if state & crate::settings::CAUSAL != 0 && tok.since_ns() != 0 {
            let held = clock::now_ns().saturating_sub(tok.since_ns());
            crate::causal::released(tok.lock, self.class_id(), held);
        }
    }

    /// The contended path: records the wait (with the holders at its start as wait-for edges),
    /// runs `block` (the real blocking acquisition, `None` on timeout), then records the
    /// outcome and, on success, the acquisition.
    #[cold]
    #[inline(never)]
    pub(crate) fn wait<G>(
        &self,
        mode: Mode,
        site: &'static Location<'static>,
        timed: bool,
        block: impl FnOnce() -> Option<G>,
    ) -> (Option<G>, Token) {
        self.wait_flagged(mode, 0, site, timed, block)
    }

    /// [`LockMeta::wait`] with `flags` (like [`crate::actor::UPGRADABLE`]) on the published
    /// wait and the held entry it ends in.
    #[cold]
    #[inline(never)]
    pub(crate) fn wait_flagged<G>(
        &self,
        mode: Mode,
        flags: u64,
        site: &'static Location<'static>,
        timed: bool,
        block: impl FnOnce() -> Option<G>,
    ) -> (Option<G>, Token) {
        if !enabled() {
            return (block(), Token::untracked(site));
        }
        let w = self.begin_wait_flagged(mode, flags, site, timed);
        let got = block();
        let t1 = self.end_wait(&w, got.is_some());
        if crate::settings::state() & crate::settings::CAUSAL != 0 {
            crate::causal::woke(w.lock);
        }
        if got.is_none() {
            return (None, Token::untracked(site));
        }
        let n = self.count(mode);
        // Already on the slow path: bring the class total up to date, so a live lock never
        // shows more contentions than acquisitions.
        self.publish(n + 1);
        if mode == Mode::Exclusive {
            // Whoever still waits now waits on us.
            let still = if self.cold().waiters.load(Relaxed) != 0 {
                t1
            } else {
                0
            };
            self.contended_since_ns.store(still, Relaxed);
        }
        let order = if timed { NO_ORDER } else { 0 };
        (
            got,
            self.after_acquire(w.lock, n, mode, site, t1, flags | order),
        )
    }

    /// Records the start of a wait: counts the waiter, publishes what this actor waits for,
    /// and writes a `WaitBegin` with the current holders as wait-for edges.
    pub(crate) fn begin_wait(
        &self,
        mode: Mode,
        site: &'static Location<'static>,
        timed: bool,
    ) -> Wait {
        self.begin_wait_flagged(mode, 0, site, timed)
    }

    fn begin_wait_flagged(
        &self,
        mode: Mode,
        flags: u64,
        site: &'static Location<'static>,
        timed: bool,
    ) -> Wait {
        let id = self.id();
        let actor = actor::current();
        let actor_id = actor.id.load(Relaxed);
        let t0 = clock::now_ns();
        // Edges and the contention mark come first: only once `waiters` counts us may a
        // holder see a waiter and release, so the holders read here are the real ones.
        let recording = sink::recording();
        let holders = if recording {
            self.holders(mode)
        } else {
            ([0; MAX_HOLDERS], 0)
        };
        let lock_wait = mode != Mode::Condvar;
        if lock_wait {
            let _ = self
                .contended_since_ns
                .compare_exchange(0, t0, Relaxed, Relaxed);
        }
        // Only a thread that holds something while it waits can close a wait-for cycle: only
        // such waits pay for a stack (unless a trace records) and a deadlock check.
        let may_deadlock = lock_wait && actor.depth() > 0;
        if !lock_wait && actor.depth() > 0 {
            // Asleep on a condition variable while holding a lock: what no wait-for edge shows.
            crate::detect::stuck::arm();
        }
        let profiling = crate::profile::active();
        let stack = (recording || may_deadlock || profiling).then(|| raw::capture(3));
        let cm = class_mode(self.class_id(), mode) | flags | if timed { TIMED } else { 0 };
        actor.set_waiting(id, cm, site, t0, stack.as_ref());
        if lock_wait {
            WAITING.fetch_add(1, Relaxed);
        }
        if lock_wait {
            crate::detect::stampede::on_lock_wait(id, self.holder.load(Relaxed), actor_id, || {
                self.class().label.clone()
            });
        }
        let w = self.cold().waiters.fetch_add(1, Relaxed) + 1;
        // Counted when the wait starts: a wait that never ends (a deadlock) is contention too.
        self.cold().contentions.fetch_add(1, Relaxed);
        self.class().counters.contentions.fetch_add(1, Relaxed);
        self.cold().max_waiters.fetch_max(w, Relaxed);
        self.class()
            .counters
            .max_waiters
            .fetch_max(u64::from(w), Relaxed);
        if recording {
            self.announce(id);
            let (holders, n) = holders;
            let stack = stack.as_ref().map_or(0, |st| actor.sink.queue_stack(st));
            let site_id = self.site_id(site);
            let span = crate::span::current();
            actor.sink.emit(|b| {
                crate::format::encode_wait_begin_record(
                    b,
                    t0,
                    actor_id,
                    id,
                    mode,
                    site_id,
                    stack,
                    &holders[..n],
                    span,
                )
            });
        }
        if may_deadlock {
            crate::detect::on_wait(actor_id, id, self.holder.load(Relaxed), self.kind());
        }
        let profile = if profiling {
            crate::profile::wait_begins(id, stack.as_ref())
        } else {
            None
        };
        Wait {
            lock: id,
            actor,
            actor_id,
            t0,
            lock_wait,
            session: if recording {
                sink::recording_session()
            } else {
                0
            },
            profile,
        }
    }

    /// Records the end of a wait begun with [`LockMeta::begin_wait`]; returns the time.
    pub(crate) fn end_wait(&self, w: &Wait, acquired: bool) -> u64 {
        w.actor.set_waiting(0, 0, self.site(), 0, None);
        if w.lock_wait {
            WAITING.fetch_sub(1, Relaxed);
        }
        self.cold().waiters.fetch_sub(1, Relaxed);
        let t1 = clock::now_ns();
        let class = self.class();
        class.counters.wait.record(t1.saturating_sub(w.t0));
        if let Some(p) = &w.profile {
            let delay = t1.saturating_sub(w.t0);
            crate::profile::wait_ends(p, class.id, w.actor_id, w.lock_wait, delay);
        }
        if sink::still_recording(w.session) {
            let outcome = if acquired {
                Outcome::Acquired
            } else {
                Outcome::TimedOut
            };
            let (actor_id, lock) = (w.actor_id, w.lock);
            w.actor.sink.emit(|b| {
                Record::WaitEnd {
                    ts_ns: t1,
                    actor: actor_id,
                    lock,
                    outcome,
                }
                .encode(b)
            });
        }
        t1
    }

    /// Whether a contention past the brief spin may first yield, timed but unpublished
    /// (`lock::spin::yield_phase`): recording on with no perturbation, and nothing that needs
    /// every wait's stack and records (a trace recording, a profile window).
    pub(crate) fn may_wait_unpublished() -> bool {
        crate::settings::state() == crate::settings::ON
            && !sink::recording()
            && !crate::profile::active()
    }

    /// The bookkeeping of a contended acquisition that got the lock within the yield phase
    /// begun at `t0`: a contention, its wait time into the class's wait histogram, and the
    /// acquisition (a timed hold, as after any wait).
    #[cold]
    #[inline(never)]
    pub(crate) fn waited_unpublished(
        &self,
        mode: Mode,
        flags: u64,
        site: &'static Location<'static>,
        t0: u64,
    ) -> Token {
        let t1 = clock::now_ns();
        let class = self.class();
        class.counters.wait.record(t1.saturating_sub(t0));
        self.cold().contentions.fetch_add(1, Relaxed);
        class.counters.contentions.fetch_add(1, Relaxed);
        let id = self.id();
        let n = self.count(mode);
        // Already on the slow path: bring the class total up to date, as after a wait.
        self.publish(n + 1);
        self.after_acquire(id, n, mode, site, t1, flags)
    }

    /// Counts one condvar wait as an acquisition of the condvar (its "lock" figures are waits).
    pub(crate) fn count_wait(&self) {
        let n = self.acquisitions.fetch_add(1, Relaxed);
        self.publish(n + 1);
    }

    /// The actors holding this lock right now (the wait-for edges of a new waiter).
    fn holders(&self, mode: Mode) -> ([u64; MAX_HOLDERS], usize) {
        let mut out = [0u64; MAX_HOLDERS];
        let mut n = 0;
        let mut h = self.holder.load(Relaxed);
        if h == 0 && self.kind() == LockKind::Mutex {
            // The mutex is held (our try failed) but its holder is between its CAS and its
            // holder store, or between its release bookkeeping and its unlock: a few spins
            // usually show who it is.
            for _ in 0..128 {
                std::hint::spin_loop();
                h = self.holder.load(Relaxed);
                if h != 0 {
                    break;
                }
            }
        }
        if h != 0 {
            out[0] = h; // may be `me`: a thread re-locking its own lock waits for itself
            n = 1;
        }
        let scan =
            matches!(self.kind(), LockKind::RwLock | LockKind::Semaphore) && mode != Mode::Condvar;
        if scan && h == 0 {
            let id = self.id.load(Relaxed);
            actor::holders_of(id, |a| {
                if n < MAX_HOLDERS {
                    out[n] = a;
                    n += 1;
                }
            });
        }
        (out, n)
    }
}
