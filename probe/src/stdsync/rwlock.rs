//! `std::sync::RwLock`'s signatures, poisoning included, over lockscope's rwlock.

use super::poison::{Flag, Guard, map_result};
use std::fmt;
use std::sync::{LockResult, TryLockError, TryLockResult};

/// `std::sync::RwLock`'s interface over [`crate::RwLock`].
pub struct RwLock<T: ?Sized> {
    poison: Flag,
    inner: crate::RwLock<T>,
}

/// `std::sync::RwLockReadGuard`'s counterpart.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    inner: crate::RwLockReadGuard<'a, T>,
}

/// `std::sync::RwLockWriteGuard`'s counterpart.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    inner: crate::RwLockWriteGuard<'a, T>,
    poison: &'a Flag,
    guard: Guard,
}

impl<T> RwLock<T> {
    /// A new unlocked lock whose class is the caller's location.
    #[track_caller]
    pub const fn new(t: T) -> RwLock<T> {
        RwLock {
            poison: Flag::new(),
            inner: crate::RwLock::new(t),
        }
    }

    /// A new unlocked lock in the class `name` (a lockscope addition).
    #[track_caller]
    pub fn named(name: impl AsRef<str>, t: T) -> RwLock<T> {
        RwLock {
            poison: Flag::new(),
            inner: crate::RwLock::named(name, t),
        }
    }

    /// Consumes the lock, returning the value (`Err` if poisoned, value inside).
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        map_result(poisoned, self.inner.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access; `Err` (guard inside) if a writer panicked.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let inner = self.inner.read();
        map_result(self.poison.get(), RwLockReadGuard { inner })
    }

    /// Exclusive access; `Err` (guard inside) if a writer panicked.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let inner = self.inner.write();
        self.wrap_write(inner)
    }

    /// Shared access if available now.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        match self.inner.try_read() {
            Some(inner) => map_result(self.poison.get(), RwLockReadGuard { inner })
                .map_err(TryLockError::Poisoned),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Exclusive access if available now.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        match self.inner.try_write() {
            Some(inner) => self.wrap_write(inner).map_err(TryLockError::Poisoned),
            None => Err(TryLockError::WouldBlock),
        }
    }

    fn wrap_write<'a>(
        &'a self,
        inner: crate::RwLockWriteGuard<'a, T>,
    ) -> LockResult<RwLockWriteGuard<'a, T>> {
        let g = RwLockWriteGuard {
            inner,
            poison: &self.poison,
            guard: self.poison.guard(),
        };
        map_result(self.poison.get(), g)
    }

    /// Whether a writer panicked.
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
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.poison.done(&self.guard);
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock")
            .field("inner", &&self.inner)
            .field("poisoned", &self.poison.get())
            .finish()
    }
}

crate::lock::guard::guard_impls!(RwLockReadGuard);
crate::lock::guard::guard_impls!(RwLockWriteGuard, mut);
