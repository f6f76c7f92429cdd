//! `ReentrantMutex`: a mutex the holding thread may lock again, over lock_api's raw reentrant
//! mutex (parking_lot's raw mutex plus an owner and a count). Only the outermost acquisition
//! is recorded: re-entry by the holder never waits, so it is never a deadlock, while a thread
//! that waits for another's reentrant mutex waits like on any mutex (ABBA between two of them
//! is reported).

use super::exclusive::RawGuard;
use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token};
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::time::{Duration, Instant};

type Raw = lock_api::RawReentrantMutex<parking_lot::RawMutex, parking_lot::RawThreadId>;

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
    meta: LockMeta,
    raw: Raw,
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
            meta: LockMeta::new(LockKind::Mutex, Location::caller(), 1),
            raw: Raw::INIT,
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked reentrant mutex in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        ReentrantMutex {
            meta: LockMeta::named(LockKind::Mutex, Location::caller(), 1, name.as_ref()),
            raw: Raw::INIT,
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
        let tok = self.acquire(Location::caller());
        self.guard(tok)
    }

    fn guard(&self, tok: Token) -> ReentrantMutexGuard<'_, T> {
        ReentrantMutexGuard {
            lock: self,
            tok,
            _marker: PhantomData,
        }
    }

    fn acquire(&self, site: &'static Location<'static>) -> Token {
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
        let (_, tok) = self.meta.wait(Mode::Exclusive, site, false, || {
            self.raw.lock();
            Some(())
        });
        tok
    }

    /// Locks if free right now, or held by this thread.
    #[track_caller]
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        let site = Location::caller();
        let outermost = !self.raw.is_owned_by_current_thread();
        if !self.raw.try_lock() {
            return None;
        }
        let tok = if outermost {
            self.meta.acquired(Mode::Exclusive, site, false)
        } else {
            Token::untracked(site)
        };
        Some(self.guard(tok))
    }

    /// Locks, waiting at most `timeout` for another thread to unlock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        match super::spin::deadline(timeout) {
            Some(d) => self.try_lock_until_at(d, Location::caller()),
            None => Some(self.lock()),
        }
    }

    /// Locks, waiting until `deadline` at the latest for another thread to unlock.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_lock_until_at(deadline, Location::caller())
    }

    fn try_lock_until_at(
        &self,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> Option<ReentrantMutexGuard<'_, T>> {
        if let Some(g) = self.try_lock() {
            return Some(g);
        }
        let (got, tok) = self.meta.wait(Mode::Exclusive, site, true, || {
            self.raw.try_lock_until(deadline).then_some(())
        });
        got.map(|()| self.guard(tok))
    }

    /// Whether any thread holds the mutex right now.
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Whether the calling thread holds the mutex.
    pub fn is_owned_by_current_thread(&self) -> bool {
        self.raw.is_owned_by_current_thread()
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
        if self.raw.is_owned_by_current_thread() {
            self.meta.force_released();
        }
        // SAFETY: the caller guarantees the level is held and orphaned.
        unsafe { self.raw.unlock() };
    }

    /// This instance's figures (re-entries are not acquisitions).
    pub fn stats(&self) -> LockStats {
        self.meta.stats()
    }

    /// Ends one level: the recorded hold with the outermost, then the raw unlock.
    ///
    /// # Safety
    /// The calling thread holds this level through `tok`.
    unsafe fn release(&self, tok: &Token, fair: bool) {
        self.meta.released(tok, Mode::Exclusive);
        if fair {
            // SAFETY: the caller holds this level.
            unsafe { self.raw.unlock_fair() };
        } else {
            // SAFETY: as above.
            unsafe { self.raw.unlock() };
        }
    }
}

impl<'a, T: ?Sized + 'a> ReentrantMutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub fn remutex(s: &Self) -> &'a ReentrantMutex<T> {
        s.lock
    }

    /// Unlocks this level while `f` runs and locks it again before returning, on unwind too.
    /// (Outer levels held by the same thread stay locked.)
    #[track_caller]
    pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        Self::unlocked_with(s, false, f)
    }

    /// Like [`ReentrantMutexGuard::unlocked`], with a fair hand-off.
    #[track_caller]
    pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        Self::unlocked_with(s, true, f)
    }

    fn unlocked_with<F: FnOnce() -> U, U>(s: &mut Self, fair: bool, f: F) -> U {
        struct Relock<'g, 'a, T: ?Sized>(&'g mut ReentrantMutexGuard<'a, T>);
        impl<T: ?Sized> Drop for Relock<'_, '_, T> {
            fn drop(&mut self) {
                let g = &mut *self.0;
                g.tok = g.lock.acquire(g.tok.site);
            }
        }
        // SAFETY: the guard holds this level; `Relock` takes it again before the guard is
        // used.
        unsafe { s.lock.release(&s.tok, fair) };
        let _relock = Relock(s);
        f()
    }

    /// Unlocks this level with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds this level and is never dropped: released once.
        unsafe { s.lock.release(&s.tok, true) };
    }

    /// Lets a waiting thread have the mutex, if one waits and this is the only level held,
    /// and takes it back.
    pub fn bump(s: &mut Self) {
        if s.tok.lock != 0 && s.lock.meta.waiters() == 0 {
            return;
        }
        Self::unlocked_with(s, true, || ());
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds this level and is gone after this.
        unsafe { self.lock.release(&self.tok, false) };
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
