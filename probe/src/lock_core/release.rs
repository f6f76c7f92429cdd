//! The release half of [`LockMeta`]'s fast paths: the bookkeeping before the real unlock (the
//! held list, the exclusive holder, and off the fast path the timed hold, the end of a
//! contention episode and the `Hold` record), and a release without a guard.

use super::meta::{LockMeta, Token};
use crate::actor;
use crate::format::{Mode, Record};
use crate::{clock, sink};
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;

impl LockMeta {
    /// Bookkeeping before the real unlock. Untracked guards (taken while recording was off)
    /// cost one compare.
    #[inline(always)]
    pub(crate) fn released(&self, tok: &Token, mode: Mode) {
        if tok.lock != 0 {
            self.released_parts(tok.lock, tok.stamp, tok.site, mode);
        }
    }

    /// [`LockMeta::released`] of a tracked hold, given its token's words (`lock` is not 0):
    /// nothing here takes the token's address, so a caller that passes the words in
    /// registers never writes the token to memory.
    #[inline(always)]
    pub(crate) fn released_parts(
        &self,
        lock: u64,
        stamp: u64,
        site: &'static Location<'static>,
        mode: Mode,
    ) {
        // Once per contention episode, not on every release while someone waits: the first
        // release clears `contended_since`, and a holder that barges back in (parking_lot is
        // unfair in the short term) releases cheaply again.
        let contended = mode == Mode::Exclusive && self.contended_since_ns.load(Relaxed) != 0;
        let actor = actor::current();
        actor.pop_held(lock);
        if stamp != 0 || contended {
            self.released_timed(actor.id.load(Relaxed), lock, stamp, site, mode, contended);
        }
        // Last, right before the real unlock: a waiter that reads the holder while we are
        // still inside must find us, or its wait-for edge is lost.
        if mode == Mode::Exclusive {
            self.holder.store(0, Relaxed);
        }
    }

    /// The sampled or contended part of a release, off the fast path.
    #[cold]
    #[inline(never)]
    fn released_timed(
        &self,
        actor_id: u64,
        lock: u64,
        stamp: u64,
        site: &'static Location<'static>,
        mode: Mode,
        contended: bool,
    ) {
        let tok = Token { lock, stamp, site };
        self.perturb_release(&tok, contended);
        self.released_slow(actor_id, &tok, mode, contended);
    }

    /// The timed part of a release by `actor_id` (a thread, or a task on any thread): the
    /// sampled hold time, the end of a contention episode (`contended`: the caller found the
    /// mark set), and the `Hold` record, written into the calling thread's buffer.
    #[cold]
    #[inline(never)]
    pub(super) fn released_slow(&self, actor_id: u64, tok: &Token, mode: Mode, contended: bool) {
        // The end of the contention episode (`contended`: the caller found the mark set).
        // Only the holder clears the mark and a waiter sets it only from 0, so a load and a
        // plain store take it: no locked instruction.
        let contended = if contended {
            let since = self.contended_since_ns.load(Relaxed);
            self.contended_since_ns.store(0, Relaxed);
            since
        } else {
            0
        };
        // The end time feeds the sampled hold's histogram and the `Hold` record only: a
        // release that only ends a contention episode, with no trace recording, reads no
        // clock. Under contention most releases come here, inside the critical section,
        // where a clock read makes every waiter wait longer.
        let recording = sink::recording();
        if !tok.sampled() && !recording {
            return;
        }
        let end = clock::now_ns();
        if tok.sampled() {
            self.class()
                .counters
                .hold
                .record(end.saturating_sub(tok.since_ns()));
        }
        if recording {
            self.announce(tok.lock);
            let site = self.site_id(tok.site);
            let span = crate::span::current();
            actor::current().sink.emit(|b| {
                Record::Hold {
                    begin_ns: tok.since_ns(),
                    contended_ns: contended,
                    end_ns: end,
                    actor: actor_id,
                    lock: tok.lock,
                    mode,
                    site,
                    span,
                }
                .encode(b)
            });
        }
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
