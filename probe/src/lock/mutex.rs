//! `Mutex` and `MutexGuard`: the value in an `UnsafeCell` over the raw layer
//! ([`super::exclusive::Exclusive`]), with parking_lot 0.12's whole mutex API.

use super::exclusive::{Exclusive, RawGuard};
use super::mapped::MappedMutexGuard;
use crate::LockStats;
use crate::lock_core::Token;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A mutual-exclusion lock that records who holds it, who waits for it and for how long.
///
/// It behaves like [`parking_lot::Mutex`] and carries its whole API: no poisoning, `lock()`
/// returns the guard directly, timed waits ([`Mutex::try_lock_for`]), [`MutexGuard::map`],
/// [`MutexGuard::unlocked`], [`MutexGuard::unlock_fair`], [`MutexGuard::bump`],
/// [`Mutex::lock_arc`] and [`Mutex::force_unlock`]. (For `std::sync::Mutex`'s poisoning
/// signatures use [`crate::stdsync::Mutex`].)
///
/// # Fairness
///
/// None by default, as parking_lot 0.13's `Mutex`, which it is built on: an unlock leaves the
/// lock free, and the unlocking thread (or any thread that is spinning or calls `try_lock`) may
/// take it again before a parked waiter wakes, so a thread that relocks in a loop can starve
/// the others. parking_lot 0.12 forced a fair hand-off about every 0.5 ms and after any hold
/// over 1 ms ("eventual fairness"); 0.13 removed that, and so lockscope has none. For a fair
/// hand-off ask for it: [`MutexGuard::unlock_fair`], [`MutexGuard::unlocked_fair`] and
/// [`MutexGuard::bump`] hand the lock to a parked waiter if there is one, and a
/// [`crate::FairMutex`] does so on every unlock. A starved waiter shows in the lock's figures
/// (its wait `max`, [`LockStats`]'s and [`crate::ClassStats`]'s `max_waiters`).
///
/// Its class is its creation site, or the name given to [`Mutex::named`]; figures per class
/// come from [`crate::class_stats`], figures of this instance from [`Mutex::stats`].
///
/// ```
/// let accounts = lockscope::Mutex::named("accounts", vec![100, 50]);
/// accounts.lock()[0] -= 10;
/// assert_eq!(*accounts.lock(), vec![90, 50]);
/// assert_eq!(accounts.stats().acquisitions, 2);
/// ```
///
/// Cost (measured, README's performance section, 2026-12-04 on a 2-core machine): an
/// uncontended `lock()` + unlock takes 7.8 ns with recording on and 4.9 ns off, against
/// parking_lot's 5.2 ns: parking_lot's CAS, then only relaxed loads and stores; one
/// acquisition in [`crate::hold_sample_period`] also reads the clock twice (0.8 ns of the
/// 7.8 on average). Two threads on one lock with an empty critical section take 21.3 ns per
/// operation on and 11.0 ns off against parking_lot's 11.2 ns; with a ~50 ns section,
/// 57.2 ns and 47.8 ns against 47.6 ns.
#[repr(C)] // the value after the lock word, as in parking_lot
pub struct Mutex<T: ?Sized> {
    pub(crate) core: Exclusive,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands `&mut T` to one thread at a time, so sharing the mutex moves `T`
// between threads (hence `T: Send`) but never shares it.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: owning the mutex owns the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Holds a [`Mutex`] locked; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
    pub(crate) tok: Token,
    /// `!Send`, as parking_lot's guard: the lock is released by the thread that took it.
    _marker: PhantomData<RawGuard>,
}

// SAFETY: a shared guard only hands out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex whose class is the caller's location. `const`, so it can
    /// initialise a `static`.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            core: Exclusive::new(Location::caller(), false),
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked mutex in the class `name`: every mutex with this name (created at the
    /// same site) shares one line of the report.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        Mutex {
            core: Exclusive::named(Location::caller(), false, name.as_ref()),
            data: UnsafeCell::new(value),
        }
    }

    /// A mutex over `core` (the fair mutex's constructors).
    pub(crate) const fn with_core(core: Exclusive, value: T) -> Self {
        Mutex {
            core,
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex, blocking until it is free.
    #[inline(always)]
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let tok = self.core.acquire(Location::caller());
        self.guard(tok)
    }

    #[inline(always)]
    fn guard(&self, tok: Token) -> MutexGuard<'_, T> {
        MutexGuard {
            mutex: self,
            tok,
            _marker: PhantomData,
        }
    }

    /// Acquires the mutex if it is free right now.
    #[inline]
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let tok = self.core.try_acquire(Location::caller())?;
        Some(self.guard(tok))
    }

    /// Acquires the mutex, waiting at most `timeout`. A timeout is recorded as a wait that
    /// ended without the lock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        let tok = self.core.try_acquire_for(timeout, Location::caller())?;
        Some(self.guard(tok))
    }

    /// Acquires the mutex, waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        let tok = self.core.try_acquire_until(deadline, Location::caller())?;
        Some(self.guard(tok))
    }

    /// Whether the mutex is locked right now.
    pub fn is_locked(&self) -> bool {
        self.core.is_locked()
    }

    /// A mutable reference to the value; no locking needed since `self` is exclusive.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// A raw pointer to the value. Reading or writing through it is the caller's to
    /// synchronise, as with parking_lot's `data_ptr`.
    pub fn data_ptr(&self) -> *mut T {
        self.data.get()
    }

    /// Unlocks a mutex whose guard was leaked ([`MutexGuard::leak`], `mem::forget`). The
    /// calling thread's recorded hold of this mutex, if any, ends unrecorded.
    ///
    /// # Safety
    /// The mutex must be locked, by a guard that will never unlock it (parking_lot's contract).
    pub unsafe fn force_unlock(&self) {
        // SAFETY: the caller guarantees the lock is held by no live guard.
        unsafe { self.core.force_release(false) };
    }

    /// Like [`Mutex::force_unlock`], but hands the lock to the next waiter, if any.
    ///
    /// # Safety
    /// As [`Mutex::force_unlock`].
    pub unsafe fn force_unlock_fair(&self) {
        // SAFETY: as in `force_unlock`.
        unsafe { self.core.force_release(true) };
    }

    /// This instance's figures.
    pub fn stats(&self) -> LockStats {
        self.core.meta.stats()
    }
}

impl<'a, T: ?Sized + 'a> MutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub fn mutex(s: &Self) -> &'a Mutex<T> {
        s.mutex
    }

    crate::lock::guard::map_fns!(
        MappedMutexGuard,
        mut,
        " A guard for a part of the value (a field, an element); the whole mutex stays locked",
        " until it drops.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let mutex = s.mutex;
        // SAFETY: the guard holds the lock for `'a`. Should `f` panic, `s` drops and unlocks; on
        // `Err` it comes back untouched; otherwise it is never dropped, so the hold passes
        // whole to the mapped guard.
        match f(unsafe { &mut *mutex.data.get() }) {
            Ok(part) => {
                let s = ManuallyDrop::new(s);
                Ok(MappedMutexGuard::new(&mutex.core, part, s.tok))
            }
            Err(e) => Err((s, e)),
        }
    }

    /// Unlocks the mutex while `f` runs and locks it again (recorded as a new acquisition)
    /// before returning, on unwind too.
    #[track_caller]
    pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: the guard holds the lock, and `s` is borrowed for the whole call, so nothing
        // reaches the value while it is unlocked.
        unsafe { s.mutex.core.unlocked(&mut s.tok, false, f) }
    }

    /// Like [`MutexGuard::unlocked`], but the unlock hands the mutex to a waiter, if any.
    #[track_caller]
    pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
        // SAFETY: as in `unlocked`.
        unsafe { s.mutex.core.unlocked(&mut s.tok, true, f) }
    }

    /// Unlocks with a fair hand-off: a waiting thread gets the mutex next, even if this
    /// thread locks again at once.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds the lock and is never dropped, so it is released once.
        unsafe { s.mutex.core.release_fair(&s.tok) };
    }

    /// Lets a waiting thread have the mutex, if one waits, and takes it back.
    pub fn bump(s: &mut Self) {
        // SAFETY: the guard holds the lock; `tok` becomes the new hold.
        unsafe { s.mutex.core.bump(&mut s.tok) };
    }

    /// Keeps the mutex locked for good and returns the value's reference. The hold stays
    /// recorded (a thread that waits for the mutex waits for this one);
    /// [`Mutex::force_unlock`] undoes it.
    pub fn leak(s: Self) -> &'a mut T {
        let s = ManuallyDrop::new(s);
        // SAFETY: the lock is never released through this guard again, so the reference is
        // exclusive for `'a`.
        unsafe { &mut *s.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the guard holds the lock and is gone after this.
        unsafe { self.mutex.core.release(&self.tok) };
    }
}

impl<T: ?Sized> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> std::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this reference unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

crate::lock::guard::fmt_impls!(MutexGuard);

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f
                .debug_struct("Mutex")
                .field("data", &format_args!("<locked>"))
                .finish(),
        }
    }
}
