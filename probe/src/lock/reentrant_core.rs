//! `ReentrantCore`, the raw layer under [`crate::ReentrantMutex`]: lock_api's raw reentrant
//! mutex (parking_lot's raw mutex plus an owner and a count) and the lock's recorded state,
//! with every path that takes or releases a level; and [`MappedReentrantMutexGuard`], the
//! guard of a part of the value, which needs nothing else. Only the outermost level is
//! recorded: re-entry by the holder never waits, so it is never a deadlock.

use super::exclusive::RawGuard;
use crate::format::Mode;
use crate::lock_core::{LockMeta, Token};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::time::Instant;

type Raw = lock_api::RawReentrantMutex<parking_lot::RawMutex, parking_lot::RawThreadId>;

/// The part of a [`crate::ReentrantMutex`] that does not depend on its value: the raw lock and its
/// recorded state, with every path that takes or releases a level, so that a guard of a part
/// of the value (or of the mutex's `Arc`) releases through it.
#[repr(C)]
pub(super) struct ReentrantCore {
    pub(super) meta: LockMeta,
    pub(super) raw: Raw,
}

impl ReentrantCore {
    pub(super) const fn new(meta: LockMeta) -> Self {
        ReentrantCore {
            meta,
            raw: Raw::INIT,
        }
    }

    /// Takes one level: recorded for the outermost, a bare count for a re-entry.
    pub(super) fn acquire(&self, site: &'static Location<'static>) -> Token {
        let state = crate::settings::state();
        if state & crate::settings::ON == 0 || self.raw.is_owned_by_current_thread() {
            self.raw.lock(); // a re-entry: one more level, never a wait
            return Token::untracked(site);
        }
        if state & (crate::settings::CHAOS | crate::settings::CAUSAL) != 0 {
            self.meta.perturb_before();
        }
        if self.raw.try_lock() {
            return self.meta.acquired(Mode::Exclusive, site, true);
        }
        if super::spin::brief_spin(|| self.raw.try_lock().then_some(())).is_some() {
            self.meta.count_brief();
            return self.meta.acquired(Mode::Exclusive, site, true);
        }
        let yielded = super::spin::yield_phase(&self.meta, Mode::Exclusive, 0, site, || {
            self.raw.try_lock().then_some(())
        });
        if let Some(((), tok)) = yielded {
            return tok;
        }
        let (_, tok) = self.meta.wait(Mode::Exclusive, site, false, || {
            self.raw.lock();
            Some(())
        });
        tok
    }

    /// Takes one level if the mutex is free right now, or held by this thread.
    pub(super) fn try_acquire(&self, site: &'static Location<'static>) -> Option<Token> {
        let outermost = !self.raw.is_owned_by_current_thread();
        if !self.raw.try_lock() {
            return None;
        }
        Some(if outermost {
            self.meta.acquired(Mode::Exclusive, site, false)
        } else {
            Token::untracked(site)
        })
    }

    /// Takes one level, waiting until `deadline` at the latest (`None`: as long as it takes).
    pub(super) fn try_acquire_until(
        &self,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Option<Token> {
        let Some(deadline) = deadline else {
            return Some(self.acquire(site));
        };
        if let Some(tok) = self.try_acquire(site) {
            return Some(tok);
        }
        let (got, tok) = self.meta.wait(Mode::Exclusive, site, true, || {
            self.raw.try_lock_until(deadline).then_some(())
        });
        got.map(|()| tok)
    }

    /// Ends one level: the recorded hold with the outermost, then the raw unlock.
    ///
    /// # Safety
    /// The calling thread holds this level through `tok`.
    pub(super) unsafe fn release(&self, tok: &Token, fair: bool) {
        self.meta.released(tok, Mode::Exclusive);
        if fair {
            // SAFETY: the caller holds this level.
            unsafe { self.raw.unlock_fair() };
        } else {
            // SAFETY: as above.
            unsafe { self.raw.unlock() };
        }
    }

    /// Unlocks one level whose guard is gone (`force_unlock`).
    ///
    /// # Safety
    /// The calling thread holds a level through a guard that will never unlock it.
    pub(super) unsafe fn force_release(&self, fair: bool) {
        if self.raw.is_owned_by_current_thread() {
            self.meta.force_released();
        }
        if fair {
            // SAFETY: the caller guarantees the level is held and orphaned.
            unsafe { self.raw.unlock_fair() };
        } else {
            // SAFETY: as above.
            unsafe { self.raw.unlock() };
        }
    }

    /// Unlocks the level `tok` while `f` runs and takes it again before returning, on unwind
    /// too; `tok` becomes the new hold. (Outer levels held by the same thread stay locked.)
    ///
    /// # Safety
    /// The calling thread holds this level through `tok` and touches nothing it guards while
    /// `f` runs.
    pub(super) unsafe fn unlocked<U>(
        &self,
        tok: &mut Token,
        fair: bool,
        f: impl FnOnce() -> U,
    ) -> U {
        struct Relock<'a> {
            core: &'a ReentrantCore,
            tok: &'a mut Token,
        }
        impl Drop for Relock<'_> {
            fn drop(&mut self) {
                *self.tok = self.core.acquire(self.tok.site);
            }
        }
        // SAFETY: the caller holds this level; `Relock` takes it again before `tok` is used.
        unsafe { self.release(tok, fair) };
        let _relock = Relock { core: self, tok };
        f()
    }

    /// Lets a waiting thread have the mutex, if one waits and `tok` is the only level held,
    /// and takes it back.
    ///
    /// # Safety
    /// As [`ReentrantCore::unlocked`].
    pub(super) unsafe fn bump(&self, tok: &mut Token) {
        if tok.lock != 0 && self.meta.waiters() == 0 {
            return;
        }
        // SAFETY: as this function's.
        unsafe { self.unlocked(tok, true, || ()) };
    }
}

/// Holds one level of a [`crate::ReentrantMutex`] and gives `&` access to a part of its value;
/// unlocks the level on drop. Like the mutex's own guard it cannot be unlocked temporarily
/// (the part may not outlive a re-lock), as in parking_lot.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct MappedReentrantMutexGuard<'a, T: ?Sized> {
    core: &'a ReentrantCore,
    data: *const T,
    tok: Token,
    _marker: PhantomData<(&'a T, RawGuard)>,
}

// SAFETY: a shared guard only hands out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedReentrantMutexGuard<'_, T> {}

impl<'a, T: ?Sized + 'a> MappedReentrantMutexGuard<'a, T> {
    /// A guard over `data`, a part of the value `core`'s mutex guards, holding a level through
    /// `tok`.
    pub(super) fn new(core: &'a ReentrantCore, data: &'a T, tok: Token) -> Self {
        MappedReentrantMutexGuard {
            core,
            data,
            tok,
            _marker: PhantomData,
        }
    }

    crate::lock::guard::map_fns!(
        MappedReentrantMutexGuard,
        " A guard for a part of this part.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedReentrantMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let (core, data) = (s.core, s.data);
        // SAFETY: the guard holds a level for `'a` and `data` points into the value (`&` only).
        // Should `f` panic, `s` drops and unlocks; on `Err` it comes back untouched; otherwise
        // its hold passes whole to the new guard.
        match f(unsafe { &*data }) {
            Ok(part) => {
                let s = ManuallyDrop::new(s);
                Ok(MappedReentrantMutexGuard::new(core, part, s.tok))
            }
            Err(e) => Err((s, e)),
        }
    }

    /// Unlocks this level with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds this level and is never dropped: released once.
        unsafe { s.core.release(&s.tok, true) };
    }
}

impl<T: ?Sized> Drop for MappedReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds this level and is gone after this.
        unsafe { self.core.release(&self.tok, false) };
    }
}

impl<T: ?Sized> std::ops::Deref for MappedReentrantMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a level; `data` points into the value for the guard's life.
        unsafe { &*self.data }
    }
}

crate::lock::guard::fmt_impls!(MappedReentrantMutexGuard);
