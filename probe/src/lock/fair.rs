//! `FairMutex`: a [`Mutex`] whose every unlock hands the lock to the next waiter.

use super::exclusive::Exclusive;
use crate::Mutex;
use std::fmt;
use std::panic::Location;

/// A mutex that is always fair: each unlock hands the lock to the longest-waiting thread, so a
/// thread that unlocks and locks again at once goes to the back of the queue (parking_lot's
/// `FairMutex`). Slower under contention than [`Mutex`], which is fair only eventually.
///
/// It is a [`Mutex`] in every other way (it dereferences to one), recorded the same, and works
/// with [`crate::Condvar`]; its guards are [`crate::MutexGuard`]s.
///
/// ```
/// let queue = lockscope::FairMutex::named("queue", Vec::new());
/// queue.lock().push(1);
/// assert_eq!(queue.lock().len(), 1);
/// ```
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
