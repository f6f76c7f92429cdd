//! The release half of [`LockMeta`]'s fast paths: the bookkeeping before the real unlock (the
//! held list, the exclusive holder, the end of a contention episode, a timed hold's end time),
//! and what a sampled or traced release records once the lock is free ([`Tail`]); a release
//! without a guard.

use super::meta::{LockMeta, Token};
use crate::actor;
use crate::class::ClassInfo;
use crate::format::{Mode, Record};
use crate::{clock, sink};
use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;

/// What a sampled release, or any timed one while a trace records, still has to do once the
/// lock is free: record the hold time and write the `Hold` record. `true` when there is
/// something: its details (the end time too) are kept in the thread's [`TAIL`], taken before
/// the unlock, so nothing after the unlock reads the lock (whose next holder may already be
/// freeing it), and the fast path passes only this flag, in a register.
#[derive(Clone, Copy)]
#[must_use]
pub(crate) struct Tail(bool);

/// The details of the calling thread's release in progress, between [`LockMeta::release_tail`]
/// before the unlock and [`Tail::finish`] after it (nothing runs between them that releases
/// another lock).
#[derive(Clone, Copy)]
struct Details {
    class: Option<&'static ClassInfo>,
    /// The actor whose hold ends.
    actor: u64,
    /// The start of the contention episode this release ends (0: none).
    contended_ns: u64,
    /// The trace's id of the hold's site, when a trace records (else `None`).
    site: Option<u64>,
    /// When the hold ended: read right before the unlock, where the hold ends.
    end_ns: u64,
}

thread_local! {
    static TAIL: Cell<Details> = const {
        Cell::new(Details {
            class: None,
            actor: 0,
            contended_ns: 0,
            site: None,
            end_ns: 0,
        })
    };
}

impl Tail {
    /// Finishes the release of the hold `lock`/`stamp`/`mode` after the real unlock.
    #[inline(always)]
    pub(crate) fn finish(self, lock: u64, stamp: u64, mode: Mode) {
        if self.0 {
            Tail::finish_slow(lock, stamp, mode);
        }
    }

    /// The sampled hold time into the class's histogram and the `Hold` record: written after
    /// the unlock, so no waiter waits for them.
    #[cold]
    #[inline(never)]
    fn finish_slow(lock: u64, stamp: u64, mode: Mode) {
        let Ok(d) = TAIL.try_with(Cell::get) else {
            return;
        };
        let Some(class) = d.class else {
            return;
        };
        let sampled = Token::stamp_sampled(stamp);
        let end = d.end_ns;
        let begin_ns = Token::stamp_since(stamp);
        if sampled {
            class.counters.hold.record(end.saturating_sub(begin_ns));
        }
        if let Some(site) = d.site {
            let span = crate::span::current();
            actor::current().sink.emit(|b| {
                Record::Hold {
                    begin_ns,
                    contended_ns: d.contended_ns,
                    end_ns: end,
                    actor: d.actor,
                    lock,
                    mode,
                    site,
                    span,
                }
                .encode(b)
            });
        }
    }
}

impl LockMeta {
    /// The whole release bookkeeping, the timed part too, before the real unlock: for the
    /// release paths other than a guard's plain unlock (a fair unlock, a downgrade, a
    /// condvar's wait, a reentrant or a semaphore release). Untracked guards (taken while
    /// recording was off) cost one compare.
    #[inline(always)]
    pub(crate) fn released(&self, tok: &Token, mode: Mode) {
        if tok.lock != 0 {
            self.released_parts(tok.lock, tok.stamp, tok.site, mode)
                .finish(tok.lock, tok.stamp, mode);
        }
    }

    /// The bookkeeping before the real unlock of a tracked hold, given its token's words
    /// (`lock` is not 0): the held list, the end of a contention episode, the exclusive
    /// holder. Returns what is left for after the unlock ([`Tail::finish`]). Nothing here
    /// takes the token's address, so a caller that passes the words in registers never
    /// writes the token to memory.
    #[inline(always)]
    pub(crate) fn released_parts(
        &self,
        lock: u64,
        stamp: u64,
        site: &'static Location<'static>,
        mode: Mode,
    ) -> Tail {
        // Once per contention episode, not on every release while someone waits: the first
        // release clears `contended_since`, and a holder that barges back in (parking_lot is
        // unfair in the short term) releases cheaply again. Only the holder clears the mark
        // and a waiter sets it only from 0, so a load and a plain store take it: no locked
        // instruction.
        let contended_ns = if mode == Mode::Exclusive {
            self.contended_since_ns.load(Relaxed)
        } else {
            0
        };
        let actor = actor::current();
        actor.pop_held(lock);
        let tail = if stamp != 0 || contended_ns != 0 {
            self.release_tail(actor.id.load(Relaxed), lock, stamp, site, contended_ns)
        } else {
            Tail(false)
        };
        // Last, right before the real unlock: a waiter that reads the holder while we are
        // still inside must find us, or its wait-for edge is lost.
        if mode == Mode::Exclusive {
            self.holder.store(0, Relaxed);
        }
        tail
    }

    /// The part of a timed or contended release that comes before the unlock: the end of the
    /// contention episode, chaos mode's and the causal experiments' turn, and for a sampled
    /// hold or a trace the hold's end time (where the hold ends: a clock read after the
    /// unlock measured slower contended throughput, the releaser's delay letting waiters in
    /// more often), the lock's definition and the site's id. What [`Tail::finish`] needs is
    /// left in the thread's [`TAIL`].
    #[cold]
    #[inline(never)]
    pub(super) fn release_tail(
        &self,
        actor_id: u64,
        lock: u64,
        stamp: u64,
        site: &'static Location<'static>,
        contended_ns: u64,
    ) -> Tail {
        if contended_ns != 0 {
            self.contended_since_ns.store(0, Relaxed);
        }
        let tok = Token { lock, stamp, site };
        self.perturb_release(&tok, contended_ns != 0);
        let recording = sink::recording();
        if !Token::stamp_sampled(stamp) && !recording {
            // Only the end of a contention episode: nothing is timed or written after the
            // unlock (under contention most releases come here).
            return Tail(false);
        }
        let site = recording.then(|| {
            self.announce(lock);
            self.site_id(site)
        });
        let details = Details {
            class: Some(self.class()),
            actor: actor_id,
            contended_ns,
            site,
            end_ns: clock::now_ns(),
        };
        // Gone only while the thread exits: its release then records no hold time.
        Tail(TAIL.try_with(|t| t.set(details)).is_ok())
    }

    /// Bookkeeping for a release without a guard (`force_unlock`): the calling thread's hold
    /// of this lock, if it has one, ends unrecorded, and the lock has no exclusive holder.
    pub(crate) fn force_released(&self) {
        let id = self.id.load(Relaxed);
        if id != 0 {
            actor::current().pop_held(id);
        }
        self.holder.store(0, Relaxed);
    }
}
