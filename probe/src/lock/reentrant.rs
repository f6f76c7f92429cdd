//! `ReentrantMutex`: a mutex the holding thread may lock again, over lock_api's raw reentrant
//! mutex (parking_lot's raw mutex plus an owner and a count). Only the outermost acquisition
//! is recorded: re-entry by the holder never waits, so it is never a deadlock, while a thread
//! that waits for another's reentrant mutex waits like on any mutex (ABBA between two of them
//! is reported).

use super::exclusive::RawGuard;
use super::reentrant_core::{MappedReentrantMutexGuard, ReentrantCore};
use crate::LockStats;
use crate::format::LockKind;
use crate::lock_core::{LockMeta, Token};
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A mutex that the thread holding it may lock again (parking_lot's `ReentrantMutex`); it
/// unlocks when the last guard drops. Its guards give `&T` only, since several may exist at
/// once on one thread: pair it with a `Cell` or `RefCell` to mutate.
///
/// ```
/// use std::cell::RefCell;
/// let log = lockscope::ReentrantMutex::named("log", RefCell::new(Vec::new()));
/// let outer = log.lock();
/// outer.borrow_mut().push("outer");
/// log.lock().borrow_mut().push("inner"); // same thread: no deadlock
/// drop(outer);
/// assert_eq!(*log.lock().borrow(), ["outer", "inner"]);
/// ```
///
/// Locking it more than `usize::MAX` times at once panics, as parking_lot's does.
#[repr(C)]
pub struct ReentrantMutex<T: ?Sized> {
    pub(super) core: ReentrantCore,
    data: UnsafeCell<T>,
}

// SAFETY: guards on one thread share `&T`, and the lock passes between threads, so `T: Send`;
// guards never leave the locking thread (`!Send`), so `T: Sync` is not needed.
unsafe impl<T: ?Sized + Send> Sync for ReentrantMutex<T> {}
// SAFETY: owning the mutex owns the `T`.
unsafe impl<T: ?Sized + Send> Send for ReentrantMutex<T> {}

/// Holds a [`ReentrantMutex`] locked (one level of it); unlocks the level on drop.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ReentrantMutexGuard<'a, T: ?Sized> {
    lock: &'a ReentrantMutex<T>,
    /// Tracked for the outermost level only.
    tok: Token,
    _marker: PhantomData<RawGuard>,
}

// SAFETY: a shared guard hands out `&T`, which other threads may read if `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for ReentrantMutexGuard<'_, T> {}

impl<T> ReentrantMutex<T> {
    /// A new unlocked reentrant mutex whose class is the caller's location.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        ReentrantMutex {
            core: ReentrantCore::new(LockMeta::new(LockKind::Mutex, Location::caller(), 1)),
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked reentrant mutex in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        ReentrantMutex {
            core: ReentrantCore::new(LockMeta::named(
                LockKind::Mutex,
                Location::caller(),
                1,
                name.as_ref(),
            )),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Locks, blocking while another thread holds the mutex; immediate when this thread
    /// already does.
    #[track_caller]
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        let tok = self.core.acquire(Location::caller());
        ReentrantMutexGuard::new(self, tok)
    }

    /// Locks if free right now, or held by this thread.
    #[track_caller]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        let tok = self.core.try_acquire(Location::caller())?;
        Some(ReentrantMutexGuard::new(self, tok))
    }

    /// Locks, waiting at most `timeout` for another thread to unlock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        let deadline = super::spin::deadline(timeout);
        let tok = self.core.try_acquire_until(deadline, Location::caller())?;
        Some(ReentrantMutexGuard::new(self, tok))
    }

    /// Locks, waiting until `deadline` at the latest for another thread to unlock.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire_until(Some(deadline), Location::caller())?;
        Some(ReentrantMutexGuard::new(self, tok))
    }

    /// Whether any thread holds the mutex right now.
    pub fn is_locked(&self) -> bool {
        self.core.raw.is_locked()
    }

    /// Whether the calling thread holds the mutex.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.core.raw.is_owned_by_current_thread()
    }

    /// A mutable reference to the value; no locking needed since `self` is exclusive.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// A raw pointer to the value; synchronising its use is the caller's.
    pub fn data_ptr(&self) -> *mut T {
        self.data.get()
    }

    /// Unlocks one level whose guard was leaked or forgotten.
    ///
    /// # Safety
    /// The calling thread holds a level of the mutex through a guard that will never unlock it.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: as this function's.
        unsafe { self.core.force_release(false) };
    }

    /// [`ReentrantMutex::force_unlock`] with a fair hand-off to a waiting thread, if any.
    ///
    /// # Safety
    /// As [`ReentrantMutex::force_unlock`].
    pub unsafe fn force_unlock_fair(&self) {
        // SAFETY: as this function's.
        unsafe { self.core.force_release(true) };
    }

    /// This instance's figures (re-entries are not acquisitions).
    pub fn stats(&self) -> LockStats {
        self.core.meta.stats()
    }
}

impl<'a, T: ?Sized + 'a> ReentrantMutexGuard<'a, T> {
    fn new(lock: &'a ReentrantMutex<T>, tok: Token) -> Self {
        ReentrantMutexGuard {
            lock,
            tok,
            _marker: PhantomData,
        }
    }

    /// The mutex this guard holds.
    pub fn remutex(s: &Self) -> &'a ReentrantMutex<T> {
        s.lock
    }

    crate::lock::guard::map_fns!(
        MappedReentrantMutexGuard,
        " A guard for a part of the value; this level stays locked until it drops.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedReentrantMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let lock = s.lock;
        // SAFETY: the guard holds a level for `'a`; guards give `&T` only. Should `f` panic, `s`
        // drops and unlocks; on `Err` it comes back untouched; otherwise its hold passes whole
        // to the mapped guard.
        match f(unsafe { &*lock.data.get() }) {
            Ok(part) => {
                let s = ManuallyDrop::new(s);
                Ok(MappedReentrantMutexGuard::new(&lock.core, part, s.tok))
            }
            Err(e) => Err((s, e)),
        }
    }

    /// Unlocks this level while `f` runs and locks it again before returning, on unwind too.
    /// (Outer levels held by the same thread stay locked.)
    pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: the guard holds this level and is borrowed for the whole call.
        unsafe { s.lock.core.unlocked(&mut s.tok, false, f) }
    }

    /// Like [`ReentrantMutexGuard::unlocked`], with a fair hand-off.
    pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: as in `unlocked`.
        unsafe { s.lock.core.unlocked(&mut s.tok, true, f) }
    }

    /// Unlocks this level with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds this level and is never dropped: released once.
        unsafe { s.lock.core.release(&s.tok, true) };
    }

    /// Lets a waiting thread have the mutex, if one waits and this is the only level held,
    /// and takes it back.
    pub fn bump(s: &mut Self) {
        // SAFETY: the guard holds this level and is borrowed for the whole call.
        unsafe { s.lock.core.bump(&mut s.tok) };
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds this level and is gone after this.
        unsafe { self.lock.core.release(&self.tok, false) };
    }
}

impl<T: ?Sized> std::ops::Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex on this thread; other guards give `&T` only.
        unsafe { &*self.lock.data.get() }
    }
}

crate::lock::guard::fmt_impls!(ReentrantMutexGuard);

impl<T: Default> Default for ReentrantMutex<T> {
    #[track_caller]
    fn default() -> Self {
        ReentrantMutex::new(T::default())
    }
}

impl<T> From<T> for ReentrantMutex<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        ReentrantMutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f
                .debug_struct("ReentrantMutex")
                .field("data", &&*g)
                .finish(),
            None => f
                .debug_struct("ReentrantMutex")
                .field("data", &format_args!("<locked>"))
                .finish(),
        }
    }
}
