//! `std::sync::Mutex`'s signatures, poisoning included, over lockscope's mutex.

use super::poison::{Flag, Guard, map_result};
use std::fmt;
use std::sync::{LockResult, TryLockError, TryLockResult};

/// `std::sync::Mutex`'s interface over [`crate::Mutex`].
pub struct Mutex<T: ?Sized> {
    poison: Flag,
    inner: crate::Mutex<T>,
}

/// `std::sync::MutexGuard`'s counterpart.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) inner: crate::MutexGuard<'a, T>,
    pub(crate) poison: &'a Flag,
    pub(crate) guard: Guard,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex whose class is the caller's location.
    #[track_caller]
    pub const fn new(t: T) -> Mutex<T> {
        Mutex {
            poison: Flag::new(),
            inner: crate::Mutex::new(t),
        }
    }

    /// A new unlocked mutex in the class `name` (a lockscope addition).
    #[track_caller]
    pub fn named(name: impl AsRef<str>, t: T) -> Mutex<T> {
        Mutex {
            poison: Flag::new(),
            inner: crate::Mutex::named(name, t),
        }
    }

    /// Consumes the mutex, returning the value (`Err` if poisoned, value inside).
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        map_result(poisoned, self.inner.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex; `Err` (guard inside) if a holder panicked.
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let inner = self.inner.lock();
        self.wrap(inner)
    }

    /// Acquires the mutex if free now.
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        match self.inner.try_lock() {
            Some(inner) => self.wrap(inner).map_err(TryLockError::Poisoned),
            None => Err(TryLockError::WouldBlock),
        }
    }

    fn wrap<'a>(&'a self, inner: crate::MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let g = MutexGuard {
            inner,
            poison: &self.poison,
            guard: self.poison.guard(),
        };
        map_result(self.poison.get(), g)
    }

    /// Whether a holder panicked.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// Mutable access without locking (`Err` if poisoned, reference inside).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        map_result(poisoned, self.inner.get_mut())
    }

    /// This instance's figures (a lockscope addition).
    pub fn stats(&self) -> crate::LockStats {
        self.inner.stats()
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.poison.done(&self.guard);
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("inner", &&self.inner)
            .field("poisoned", &self.poison.get())
            .finish()
    }
}

crate::lock::guard::guard_impls!(MutexGuard, mut);
