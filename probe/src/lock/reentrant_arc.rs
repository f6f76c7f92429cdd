//! [`ArcReentrantMutexGuard`]: a [`crate::ReentrantMutex`] guard that keeps the mutex's `Arc`
//! instead of borrowing it (parking_lot's `lock_arc`, there behind the `arc_lock` feature;
//! always here), so it may be stored or returned without a lifetime. It releases its level
//! through the mutex's core, as the borrowing guard does.

use super::exclusive::RawGuard;
use crate::ReentrantMutex;
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Holds one level of a [`ReentrantMutex`] through its `Arc`; unlocks the level on drop.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ArcReentrantMutexGuard<T: ?Sized> {
    lock: Arc<ReentrantMutex<T>>,
    /// Tracked for the outermost level only.
    tok: Token,
    _marker: PhantomData<RawGuard>,
}

// SAFETY: a shared guard hands out `&T`, which other threads may read if `T: Sync`; the `Arc`
// it keeps is shared only as `&Arc`, which the mutex's `Sync` (`T: Send`) covers.
unsafe impl<T: ?Sized + Sync + Send> Sync for ArcReentrantMutexGuard<T> {}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Like [`ReentrantMutex::lock`], for a mutex in an `Arc`: the guard keeps a clone of the
    /// `Arc`.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcReentrantMutexGuard<T> {
        let tok = self.core.acquire(Location::caller());
        ArcReentrantMutexGuard::new(self.clone(), tok)
    }

    /// Like [`ReentrantMutex::try_lock`], returning an [`ArcReentrantMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<ArcReentrantMutexGuard<T>> {
        let tok = self.core.try_acquire(Location::caller())?;
        Some(ArcReentrantMutexGuard::new(self.clone(), tok))
    }

    /// Like [`ReentrantMutex::try_lock_for`], returning an [`ArcReentrantMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcReentrantMutexGuard<T>> {
        let deadline = super::spin::deadline(timeout);
        let tok = self.core.try_acquire_until(deadline, Location::caller())?;
        Some(ArcReentrantMutexGuard::new(self.clone(), tok))
    }

    /// Like [`ReentrantMutex::try_lock_until`], returning an [`ArcReentrantMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcReentrantMutexGuard<T>> {
        let tok = self
            .core
            .try_acquire_until(Some(deadline), Location::caller())?;
        Some(ArcReentrantMutexGuard::new(self.clone(), tok))
    }
}

impl<T: ?Sized> ArcReentrantMutexGuard<T> {
    fn new(lock: Arc<ReentrantMutex<T>>, tok: Token) -> Self {
        ArcReentrantMutexGuard {
            lock,
            tok,
            _marker: PhantomData,
        }
    }

    /// The mutex this guard holds.
    pub fn remutex(s: &Self) -> &Arc<ReentrantMutex<T>> {
        &s.lock
    }

    /// Unlocks this level and returns the mutex's `Arc`.
    pub fn into_arc(s: Self) -> Arc<ReentrantMutex<T>> {
        Self::release_into_arc(s, false)
    }

    /// Like [`ArcReentrantMutexGuard::into_arc`], with a fair hand-off.
    pub fn into_arc_fair(s: Self) -> Arc<ReentrantMutex<T>> {
        Self::release_into_arc(s, true)
    }

    fn release_into_arc(s: Self, fair: bool) -> Arc<ReentrantMutex<T>> {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds this level and is never dropped, so it is released once.
        unsafe { s.lock.core.release(&s.tok, fair) };
        // SAFETY: `s` is never dropped, so the `Arc` is moved out exactly once.
        unsafe { std::ptr::read(&s.lock) }
    }

    /// Unlocks this level while `f` runs and locks it again before returning, on unwind too.
    pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: the guard holds this level and is borrowed for the whole call.
        unsafe { s.lock.core.unlocked(&mut s.tok, false, f) }
    }

    /// Like [`ArcReentrantMutexGuard::unlocked`], with a fair hand-off.
    pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: as in `unlocked`.
        unsafe { s.lock.core.unlocked(&mut s.tok, true, f) }
    }

    /// Unlocks this level with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        drop(Self::into_arc_fair(s));
    }

    /// Lets a waiting thread have the mutex, if one waits and this is the only level held,
    /// and takes it back.
    pub fn bump(s: &mut Self) {
        // SAFETY: the guard holds this level and is borrowed for the whole call.
        unsafe { s.lock.core.bump(&mut s.tok) };
    }
}

impl<T: ?Sized> Drop for ArcReentrantMutexGuard<T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds this level and is gone after this.
        unsafe { self.lock.core.release(&self.tok, false) };
    }
}

impl<T: ?Sized> std::ops::Deref for ArcReentrantMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex on this thread; other guards give `&T` only.
        unsafe { &*self.lock.data_ptr() }
    }
}

crate::lock::guard::owned_fmt_impls!(ArcReentrantMutexGuard);
