//! `ArcMutexGuard`: a [`crate::Mutex`] guard that keeps the mutex's `Arc` instead of borrowing
//! it (parking_lot's `lock_arc`, there behind the `arc_lock` feature; always here), so it may
//! be stored or returned without a lifetime.

use super::exclusive::RawGuard;
use crate::Mutex;
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Holds a [`Mutex`] locked through its `Arc`; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct ArcMutexGuard<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
    tok: Token,
    _marker: PhantomData<RawGuard>,
}

// SAFETY: a shared guard only hands out `&T`.
unsafe impl<T: ?Sized + Sync + Send> Sync for ArcMutexGuard<T> {}

impl<T: ?Sized> Mutex<T> {
    /// Like [`Mutex::lock`], for a mutex in an `Arc`: the guard keeps a clone of the `Arc`.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcMutexGuard<T> {
        let tok = self.core.acquire(Location::caller());
        ArcMutexGuard::new(self.clone(), tok)
    }

    /// Like [`Mutex::try_lock`], returning an [`ArcMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<ArcMutexGuard<T>> {
        let tok = self.core.try_acquire(Location::caller())?;
        Some(ArcMutexGuard::new(self.clone(), tok))
    }

    /// Like [`Mutex::try_lock_for`], returning an [`ArcMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc_for(self: &Arc<Self>, timeout: Duration) -> Option<ArcMutexGuard<T>> {
        let tok = self.core.try_acquire_for(timeout, Location::caller())?;
        Some(ArcMutexGuard::new(self.clone(), tok))
    }

    /// Like [`Mutex::try_lock_until`], returning an [`ArcMutexGuard`].
    #[track_caller]
    pub fn try_lock_arc_until(self: &Arc<Self>, deadline: Instant) -> Option<ArcMutexGuard<T>> {
        let tok = self.core.try_acquire_until(deadline, Location::caller())?;
        Some(ArcMutexGuard::new(self.clone(), tok))
    }
}

impl<T: ?Sized> ArcMutexGuard<T> {
    fn new(mutex: Arc<Mutex<T>>, tok: Token) -> Self {
        ArcMutexGuard {
            mutex,
            tok,
            _marker: PhantomData,
        }
    }

    /// The mutex this guard holds.
    pub fn mutex(s: &Self) -> &Arc<Mutex<T>> {
        &s.mutex
    }

    /// Unlocks and returns the mutex's `Arc`.
    pub fn into_arc(s: Self) -> Arc<Mutex<T>> {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds the lock and is never dropped, so it is released once.
        unsafe { s.mutex.core.release(&s.tok) };
        // SAFETY: `s` is never dropped, so the `Arc` is moved out exactly once.
        unsafe { std::ptr::read(&s.mutex) }
    }

    /// Unlocks while `f` runs and locks again before returning, on unwind too.
    pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: the guard holds the lock and is borrowed for the whole call.
        unsafe { s.mutex.core.unlocked(&mut s.tok, false, f) }
    }

    /// Like [`ArcMutexGuard::unlocked`], with a fair hand-off.
    pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: as in `unlocked`.
        unsafe { s.mutex.core.unlocked(&mut s.tok, true, f) }
    }

    /// Unlocks with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds the lock and is never dropped, so it is released once.
        unsafe { s.mutex.core.release_fair(&s.tok) };
        // SAFETY: `s` is never dropped, so the `Arc` is dropped exactly once.
        drop(unsafe { std::ptr::read(&s.mutex) });
    }

    /// Lets a waiting thread have the mutex, if one waits, and takes it back.
    pub fn bump(s: &mut Self) {
        // SAFETY: the guard holds the lock; `tok` becomes the new hold.
        unsafe { s.mutex.core.bump(&mut s.tok) };
    }
}

impl<T: ?Sized> Drop for ArcMutexGuard<T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds the lock and is gone after this.
        unsafe { self.mutex.core.release(&self.tok) };
    }
}

impl<T: ?Sized> std::ops::Deref for ArcMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.data_ptr() }
    }
}

impl<T: ?Sized> std::ops::DerefMut for ArcMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this reference unique.
        unsafe { &mut *self.mutex.data_ptr() }
    }
}

crate::lock::guard::owned_fmt_impls!(ArcMutexGuard);
