//! `Exclusive`, the raw layer under [`crate::Mutex`] and [`crate::FairMutex`]: parking_lot's raw
//! mutex and the lock's recorded state, with every acquisition and release path — plain, timed,
//! fair, bumped, forced, and the condvar hand-off — in one place. Every `unsafe` call on the raw
//! lock is here, each with the hold it relies on.
//!
//! A path that takes the lock returns the [`Token`] its guard keeps; a path that releases it takes
//! that token back. The guards above own no lock state of their own.

use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token};
use lock_api::{RawMutex as _, RawMutexFair as _, RawMutexTimed as _};
use std::panic::Location;
use std::time::Instant;

/// parking_lot's token for one acquisition: a stateless marker that keeps a guard `!Send`.
pub(crate) type RawGuard = <parking_lot::RawMutex as lock_api::RawMutex>::Guard;

/// A raw mutex plus its recorded state. `repr(C)`: the lock byte comes right after
/// `LockMeta`'s hot fields, on their cache line.
#[repr(C)]
pub(crate) struct Exclusive {
    pub(crate) meta: LockMeta,
    raw: parking_lot::RawMutex,
    /// Every release hands the lock to the next waiter (parking_lot's `FairMutex`).
    fair: bool,
}

impl Exclusive {
    pub(crate) const fn new(site: &'static Location<'static>, fair: bool) -> Self {
        Exclusive {
            meta: LockMeta::new(LockKind::Mutex, site, 1),
            raw: parking_lot::RawMutex::INIT,
            fair,
        }
    }

    pub(crate) fn named(site: &'static Location<'static>, fair: bool, name: &str) -> Self {
        Exclusive {
            meta: LockMeta::named(LockKind::Mutex, site, 1, name),
            raw: parking_lot::RawMutex::INIT,
            fair,
        }
    }

    /// Takes the lock, blocking until it is free.
    #[inline(always)]
    pub(crate) fn acquire(&self, site: &'static Location<'static>) -> Token {
        let state = crate::settings::state();
        // One compare on the recording path: anything but "on, no chaos" branches off here.
        if state != crate::settings::ON {
            if state & crate::settings::ON == 0 {
                // Off: parking_lot's fast path, plus the one relaxed load above.
                let _ = self.raw.lock();
                return Token::untracked(site);
            }
            self.meta.perturb_before();
        }
        if self.raw.try_lock().is_some() {
            // Recording is on: the state was read above.
            return self.meta.acquired_on(Mode::Exclusive, 0, site, true);
        }
        self.acquire_contended(site)
    }

    #[cold]
    #[inline(never)]
    fn acquire_contended(&self, site: &'static Location<'static>) -> Token {
        if super::spin::brief_spin(|| self.raw.try_lock()).is_some() {
            self.meta.count_brief();
            return self.meta.acquired(Mode::Exclusive, site, true);
        }
        let yielded =
            super::spin::yield_phase(&self.meta, Mode::Exclusive, 0, site, || self.raw.try_lock());
        if let Some((_, tok)) = yielded {
            return tok;
        }
        let (got, tok) = self
            .meta
            .wait(Mode::Exclusive, site, false, || Some(self.raw.lock()));
        debug_assert!(got.is_some(), "an untimed lock always succeeds");
        tok
    }

    /// Takes the lock if it is free right now.
    #[inline]
    pub(crate) fn try_acquire(&self, site: &'static Location<'static>) -> Option<Token> {
        self.raw.try_lock()?;
        Some(self.meta.acquired(Mode::Exclusive, site, false))
    }

    /// Takes the lock, waiting until `deadline` at the latest; a timeout is recorded as a wait
    /// that ended without the lock.
    pub(crate) fn try_acquire_until(
        &self,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> Option<Token> {
        if let Some(tok) = self.try_acquire(site) {
            return Some(tok);
        }
        let (got, tok) = self.meta.wait(Mode::Exclusive, site, true, || {
            self.raw.try_lock_until(deadline)
        });
        got.map(|_| tok)
    }

    /// Takes the lock, waiting at most `timeout` (an unrepresentable deadline waits untimed).
    pub(crate) fn try_acquire_for(
        &self,
        timeout: std::time::Duration,
        site: &'static Location<'static>,
    ) -> Option<Token> {
        match super::spin::deadline(timeout) {
            Some(d) => self.try_acquire_until(d, site),
            None => Some(self.acquire(site)),
        }
    }

    /// Ends the hold `tok` describes and unlocks (fairly, for a fair mutex).
    ///
    /// # Safety
    /// The calling guard holds the lock through `tok`, and nothing uses that hold afterwards.
    #[inline(always)]
    pub(crate) unsafe fn release(&self, tok: &Token) {
        if tok.lock != 0 {
            // The token's words, not the token: passed by reference it would have to sit in
            // memory, and the call would read it back from there.
            // SAFETY: as this function's.
            unsafe { self.release_tracked(tok.lock, tok.stamp_word(), tok.site) };
            return;
        }
        // An untracked hold (recording was off): parking_lot's inlined unlock and nothing
        // else, so recording off costs what parking_lot does.
        // SAFETY: the caller holds the lock (this function's contract).
        unsafe { self.unlock_raw() };
    }

    /// [`Exclusive::release`] of a tracked hold: the bookkeeping, the unlock, then what a
    /// sampled or traced hold records, with the lock already free. Out of line, so that the
    /// untracked path stays small enough to inline.
    ///
    /// # Safety
    /// As [`Exclusive::release`].
    #[inline(never)]
    unsafe fn release_tracked(&self, lock: u64, stamp: u64, site: &'static Location<'static>) {
        let tail = self.meta.released_parts(lock, stamp, site, Mode::Exclusive);
        // SAFETY: the caller holds the lock (this function's contract).
        unsafe { self.unlock_raw() };
        // Reads nothing of the lock: its next holder may be freeing it already.
        tail.finish(lock, stamp, Mode::Exclusive);
    }

    /// The raw unlock, fair for a fair mutex.
    ///
    /// # Safety
    /// The caller holds the lock, and its bookkeeping is done.
    #[inline(always)]
    unsafe fn unlock_raw(&self) {
        if self.fair {
            // SAFETY: the caller holds the lock (this function's contract).
            unsafe { self.raw.unlock_fair(RawGuard::new()) };
        } else {
            // SAFETY: as above.
            unsafe { self.raw.unlock(RawGuard::new()) };
        }
    }

    /// Like [`Exclusive::release`], but hands the lock to the next waiter, if any.
    ///
    /// # Safety
    /// As [`Exclusive::release`].
    pub(crate) unsafe fn release_fair(&self, tok: &Token) {
        self.meta.released(tok, Mode::Exclusive);
        // SAFETY: the caller holds the lock (this function's contract).
        unsafe { self.raw.unlock_fair(RawGuard::new()) };
    }

    /// Hands the lock to a waiting thread, if one waits, and takes it back; `tok` becomes the
    /// new hold.
    ///
    /// # Safety
    /// The caller holds the lock through `tok`.
    pub(crate) unsafe fn bump(&self, tok: &mut Token) {
        if tok.lock == 0 {
            // Untracked hold: parking_lot's own bump, which yields only when a thread is parked.
            // SAFETY: the caller holds the lock (this function's contract).
            unsafe { self.raw.bump(&mut RawGuard::new()) };
            return;
        }
        if self.meta.waiters() == 0 {
            return; // nobody waits: parking_lot's bump would not yield either
        }
        let site = tok.site;
        // SAFETY: the caller holds the lock; `tok` is replaced by the new hold before it is used.
        unsafe { self.release_fair(tok) };
        *tok = self.acquire(site);
    }

    /// Releases the lock for the length of `f` and takes it again before returning, on unwind
    /// too; `tok` becomes the new hold.
    ///
    /// # Safety
    /// The caller holds the lock through `tok` and touches nothing it guards while `f` runs.
    pub(crate) unsafe fn unlocked<U>(
        &self,
        tok: &mut Token,
        fair: bool,
        f: impl FnOnce() -> U,
    ) -> U {
        struct Relock<'a> {
            lock: &'a Exclusive,
            tok: &'a mut Token,
        }
        impl Drop for Relock<'_> {
            fn drop(&mut self) {
                *self.tok = self.lock.acquire(self.tok.site);
            }
        }
        if fair {
            // SAFETY: the caller holds the lock; `Relock` takes it again before `tok` is used.
            unsafe { self.release_fair(tok) };
        } else {
            // SAFETY: as above.
            unsafe { self.release(tok) };
        }
        let _relock = Relock { lock: self, tok };
        f()
    }

    /// Unlocks without a guard (`force_unlock`): the calling thread's hold, if it has one, ends
    /// unrecorded.
    ///
    /// # Safety
    /// The lock is held, by a guard that was leaked or forgotten.
    pub(crate) unsafe fn force_release(&self, fair: bool) {
        self.meta.force_released();
        if fair || self.fair {
            // SAFETY: the caller guarantees the lock is held and no guard will unlock it.
            unsafe { self.raw.unlock_fair(RawGuard::new()) };
        } else {
            // SAFETY: as above.
            unsafe { self.raw.unlock(RawGuard::new()) };
        }
    }

    /// Whether the lock is held right now.
    pub(crate) fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Waits on `cv`, with the lock released while it waits and held again when it returns;
    /// `deadline` bounds the wait. Returns whether the wait timed out.
    ///
    /// # Safety
    /// The caller holds the lock, and its hold's bookkeeping is already closed.
    pub(crate) unsafe fn wait_on(
        &self,
        cv: &parking_lot::RawCondvar,
        deadline: Option<Instant>,
    ) -> bool {
        use lock_api::{RawCondvar as _, RawCondvarTimed as _};
        let mut marker = RawGuard::new();
        match deadline {
            // SAFETY: the caller holds `self.raw`; parking_lot re-locks it before returning,
            // on unwind too.
            None => unsafe {
                cv.wait(&self.raw, &mut marker);
                false
            },
            // SAFETY: as above.
            Some(d) => unsafe { cv.wait_until(&self.raw, &mut marker, &d) },
        }
    }
}
