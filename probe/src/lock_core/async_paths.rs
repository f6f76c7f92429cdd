//! The bookkeeping of the async primitives (`lockscope::tokio`), beside the sync paths and
//! sharing their counters, samples and records.
//!
//! The differences: the actor is given (a task, or the calling thread) instead of being the
//! calling thread's, nothing goes into a thread's held list (an async guard may be released
//! by another task on another thread; the guard and the lock's hold table carry the hold), and
//! records go into the buffer of whichever thread runs the code, with the given actor in them.

use super::meta::{LockMeta, MAX_HOLDERS, Token, in_sample};
use crate::actor;
use crate::format::{Mode, Outcome, Record};
use crate::{clock, raw, sink};
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed};

/// An async wait in progress, as the lock's figures and the trace know it.
#[derive(Debug)]
pub(crate) struct AsyncWait {
    pub(crate) lock: u64,
    pub(crate) t0: u64,
    /// The recording session its begin went into (0: none); its end goes only into that one.
    pub(crate) session: u32,
    /// What an open profile window needs at its end (`None`: no window was open).
    pub(crate) profile: Option<Box<crate::profile::Pending>>,
    /// A wait for a lock, not for a condition (a `Notify`): only those go in a mutex profile.
    pub(crate) lock_wait: bool,
}

impl LockMeta {
    /// Bookkeeping after an uncontended acquisition by `actor` (recording is on).
    #[inline(always)]
    pub(crate) fn async_acquired(
        &self,
        actor: u64,
        mode: Mode,
        site: &'static Location<'static>,
    ) -> Token {
        let n = self.count(mode);
        if mode == Mode::Exclusive {
            self.holder.store(actor, Relaxed);
        }
        let id = self.id.load(Acquire);
        // The sampled path gives back the id and stamp alone, in registers: a whole `Token`
        // from it would join the fast path's in memory, and the caller's copy of it would
        // stall on the stores that just wrote it.
        let (lock, stamp) = if !in_sample(n, id) && id != 0 {
            (id, 0)
        } else {
            self.async_acquired_sampled(n)
        };
        Token { lock, stamp, site }
    }

    /// The id and stamp of a sampled hold, or of a new lock's first (counted on its class;
    /// untimed unless sampled or a trace records, as [`LockMeta::acquired`]'s).
    #[cold]
    #[inline(never)]
    fn async_acquired_sampled(&self, n: u64) -> (u64, u64) {
        let id = self.id();
        self.publish(n + 1);
        let sampled = in_sample(n, id);
        if !sampled && !sink::recording() {
            return (id, 0);
        }
        (id, Token::stamp(clock::now_ns(), sampled))
    }

    /// Counts what a condition-like primitive took without waiting and holds nothing for (a
    /// stored notification), as cheaply as the locks' fast path: on the instance, and on the
    /// class at sampled ones.
    #[inline]
    pub(crate) fn count_unwaited(&self) {
        let n = self.count(Mode::Shared);
        let id = self.id.load(Acquire);
        if in_sample(n, id) || id == 0 {
            self.id();
            self.publish(n + 1);
        }
    }

    /// Bookkeeping before the real release of a hold `actor` took (from any thread). The
    /// guard's release runs before the real one, wherever the guard drops, so all of it,
    /// the timed part too, is done here.
    #[inline]
    pub(crate) fn async_released(&self, actor: u64, tok: &Token, mode: Mode) {
        if tok.lock == 0 {
            return;
        }
        let contended_ns = if mode == Mode::Exclusive {
            self.contended_since_ns.load(Relaxed)
        } else {
            0
        };
        if tok.stamp != 0 || contended_ns != 0 {
            self.async_released_slow(actor, tok, mode, contended_ns);
        }
        if mode == Mode::Exclusive {
            // Before the real unlock (the guard's release runs first), so still ours.
            self.holder.store(0, Relaxed);
        }
    }

    #[cold]
    #[inline(never)]
    fn async_released_slow(&self, actor_id: u64, tok: &Token, mode: Mode, contended_ns: u64) {
        if sink::recording() {
            // A task's definition may not be in the trace yet: its `Hold` names it.
            actor::task::define(actor_id);
        }
        self.release_tail(actor_id, tok.lock, tok.stamp, tok.site, contended_ns)
            .finish(tok.lock, tok.stamp, mode);
    }

    /// The start of a contended wait by `actor`: the contention mark, the counters and the
    /// `WaitBegin` record with `holders` as its wait-for edges. The caller publishes the wait
    /// for the detector.
    pub(crate) fn async_wait_begin(
        &self,
        actor_id: u64,
        mode: Mode,
        site: &'static Location<'static>,
        holders: &[u64],
        stack: Option<&raw::RawStack>,
    ) -> AsyncWait {
        let id = self.id();
        let t0 = clock::now_ns();
        let _ = self
            .contended_since_ns
            .compare_exchange(0, t0, Relaxed, Relaxed);
        let w = self.cold().waiters.fetch_add(1, Relaxed) + 1;
        self.cold().contentions.fetch_add(1, Relaxed);
        let counters = &self.class().counters;
        counters.contentions.fetch_add(1, Relaxed);
        self.cold().max_waiters.fetch_max(w, Relaxed);
        counters.max_waiters.fetch_max(u64::from(w), Relaxed);
        let session = sink::recording_session();
        if session != 0 {
            self.announce(id);
            let me = actor::current();
            let stack = stack.map_or(0, |st| me.sink.queue_stack(st));
            let site_id = sink::site_id(site);
            let span = crate::span::current();
            let holders = &holders[..holders.len().min(MAX_HOLDERS)];
            me.sink.emit(|b| {
                crate::format::encode_wait_begin_record(
                    b, t0, actor_id, id, mode, site_id, stack, holders, span,
                )
            });
        }
        AsyncWait {
            lock: id,
            t0,
            session,
            profile: crate::profile::wait_begins(id, stack),
            lock_wait: mode != Mode::Condvar,
        }
    }

    /// The end of a wait begun with [`LockMeta::async_wait_begin`]: `Some(mode)` when it
    /// acquired (then the acquisition is counted and its token returned), `None` when it gave
    /// up (cancelled, closed). The caller withdraws the wait from the detector first.
    pub(crate) fn async_wait_end(
        &self,
        actor_id: u64,
        w: &AsyncWait,
        acquired: Option<Mode>,
        outcome: Outcome,
        site: &'static Location<'static>,
    ) -> Token {
        self.cold().waiters.fetch_sub(1, Relaxed);
        let t1 = clock::now_ns();
        let class = self.class();
        class.counters.wait.record(t1.saturating_sub(w.t0));
        if let Some(p) = &w.profile {
            let delay = t1.saturating_sub(w.t0);
            crate::profile::wait_ends(p, class.id, actor_id, w.lock_wait, delay);
        }
        if sink::still_recording(w.session) {
            let lock = w.lock;
            actor::current().sink.emit(|b| {
                Record::WaitEnd {
                    ts_ns: t1,
                    actor: actor_id,
                    lock,
                    outcome,
                }
                .encode(b)
            });
        }
        let Some(mode) = acquired else {
            return Token::untracked(site);
        };
        let n = self.count(mode);
        self.publish(n + 1);
        if mode == Mode::Exclusive {
            self.holder.store(actor_id, Relaxed);
            let still = if self.cold().waiters.load(Relaxed) != 0 {
                t1
            } else {
                0
            };
            self.contended_since_ns.store(still, Relaxed);
        }
        Token::timed(w.lock, t1, in_sample(n, w.lock), site)
    }
}

impl LockMeta {
    /// The class-and-mode word of a hold of this lock in `mode` (the lock is registered).
    #[inline]
    pub(crate) fn class_mode_of(&self, mode: Mode) -> u64 {
        actor::class_mode(self.class_id(), mode)
    }
}
