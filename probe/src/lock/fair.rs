//! `FairMutex`: a [`Mutex`] whose every unlock hands the lock to the next waiter.

use super::exclusive::Exclusive;
use crate::{ArcMutexGuard, Mutex};
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A mutex whose every unlock is fair (parking_lot's `FairMutex`): when threads are parked on
/// it, the unlock hands the lock straight to the one that parked first instead of leaving it
/// free, so a thread that unlocks and locks again at once queues behind them. It is not
/// strictly first-in first-out: a thread still in its brief spin, or calling `try_lock`, has not
/// joined the queue and takes the lock if it finds it free. A [`Mutex`] is not fair at all
/// unless asked for a fair unlock (parking_lot 0.13 has no eventual fairness; see the
/// [`Mutex`] docs).
///
/// Cost: its uncontended path is [`Mutex`]'s; under contention every unlock with a parked
/// waiter wakes it and waits for nothing else to run, which costs throughput, as parking_lot
/// documents for its own. The README's benchmarks do not measure `FairMutex` separately.
///
/// It is a [`Mutex`] in every other way (it dereferences to one), recorded the same, and works
/// with [`crate::Condvar`]; its guards are [`crate::MutexGuard`]s.
///
/// ```
/// let queue = lockscope::FairMutex::named("queue", Vec::new());
/// queue.lock().push(1);
/// assert_eq!(queue.lock().len(), 1);
/// ```
#[repr(transparent)] // so that an `Arc<FairMutex<T>>` is an `Arc<Mutex<T>>` (`FairMutex::lock_arc`)
pub struct FairMutex<T: ?Sized>(Mutex<T>);

/// The guard of a [`FairMutex`].
pub type FairMutexGuard<'a, T> = crate::MutexGuard<'a, T>;

/// A mapped guard of a [`FairMutex`].
pub type MappedFairMutexGuard<'a, T> = crate::MappedMutexGuard<'a, T>;

impl<T> FairMutex<T> {
    /// A new unlocked fair mutex whose class is the caller's location.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        FairMutex(Mutex::with_core(
            Exclusive::new(Location::caller(), true),
            value,
        ))
    }

    /// A new unlocked fair mutex in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        let core = Exclusive::named(Location::caller(), true, name.as_ref());
        FairMutex(Mutex::with_core(core, value))
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> FairMutex<T> {
    /// Like [`Mutex::lock_arc`], for a fair mutex in an `Arc`: the guard keeps a clone of the
    /// `Arc` (as the `Mutex` it dereferences to), and its unlock is fair like any other.
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> ArcMutexGuard<T> {
        self.as_mutex_arc().lock_arc()
    }

    /// Like [`Mutex::try_lock_arc`], for a fair mutex in an `Arc`.
    #[track_caller]
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<ArcMutexGuard<T>> {
        self.as_mutex_arc().try_lock_arc()
    }

    /// Like [`Mutex::try_lock_arc_for`], for a fair mutex in an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_for(self: &Arc<Self>, timeout: Duration) -> Option<ArcMutexGuard<T>> {
        self.as_mutex_arc().try_lock_arc_for(timeout)
    }

    /// Like [`Mutex::try_lock_arc_until`], for a fair mutex in an `Arc`.
    #[track_caller]
    pub fn try_lock_arc_until(self: &Arc<Self>, deadline: Instant) -> Option<ArcMutexGuard<T>> {
        self.as_mutex_arc().try_lock_arc_until(deadline)
    }

    /// A clone of this `Arc`, as the `Mutex` the fair mutex is.
    fn as_mutex_arc(self: &Arc<Self>) -> Arc<Mutex<T>> {
        let raw = Arc::into_raw(Arc::clone(self));
        // SAFETY: `FairMutex` is `repr(transparent)` over `Mutex<T>`, so the allocation holds a
        // `Mutex<T>` at the same address, with the same size, alignment and pointer metadata;
        // the pointer comes from `Arc::into_raw` and goes back into exactly one `Arc`.
        unsafe { Arc::from_raw(raw as *const Mutex<T>) }
    }
}

impl<T: ?Sized> std::ops::Deref for FairMutex<T> {
    type Target = Mutex<T>;
    fn deref(&self) -> &Mutex<T> {
        &self.0
    }
}

impl<T: ?Sized> std::ops::DerefMut for FairMutex<T> {
    fn deref_mut(&mut self) -> &mut Mutex<T> {
        &mut self.0
    }
}

impl<T: Default> Default for FairMutex<T> {
    #[track_caller]
    fn default() -> Self {
        FairMutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for FairMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_lock() {
            Some(g) => f.debug_struct("FairMutex").field("data", &&*g).finish(),
            None => f
                .debug_struct("FairMutex")
                .field("data", &format_args!("<locked>"))
                .finish(),
        }
    }
}
