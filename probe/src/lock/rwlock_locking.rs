//! The ways to lock an [`RwLock`]: read, recursive read, upgradable read and write, each
//! blocking, at once (`try_`), or with a timeout (`_for`, `_until`).

use super::rw::Access;
use super::rwlock_guards::{RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
use crate::RwLock;
use std::panic::Location;
use std::time::{Duration, Instant};

impl<T: ?Sized> RwLock<T> {
    /// Shared access, blocking while a writer holds or waits for the lock.
    #[inline(always)]
    #[track_caller]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard::new(
            self,
            self.core.acquire(Access::Read, false, Location::caller()),
        )
    }

    /// Shared access if available right now.
    #[inline]
    #[track_caller]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire(Access::Read, false, Location::caller())?;
        Some(RwLockReadGuard::new(self, tok))
    }

    /// Shared access, waiting at most `timeout`.
    #[track_caller]
    pub fn try_read_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_until_at(Access::Read, false, deadline(timeout), Location::caller())
    }

    /// Shared access, waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_read_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_until_at(Access::Read, false, Some(deadline), Location::caller())
    }

    /// Shared access even while a writer waits, as long as other readers hold the lock: the
    /// way for a thread that already reads to read again without deadlocking behind a queued
    /// writer (parking_lot's `read_recursive`). It can starve writers; with no reader inside it
    /// waits like [`RwLock::read`].
    #[track_caller]
    pub fn read_recursive(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard::new(
            self,
            self.core.acquire(Access::Read, true, Location::caller()),
        )
    }

    /// [`RwLock::read_recursive`] if available right now.
    #[track_caller]
    pub fn try_read_recursive(&self) -> Option<RwLockReadGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire(Access::Read, true, Location::caller())?;
        Some(RwLockReadGuard::new(self, tok))
    }

    /// [`RwLock::read_recursive`], waiting at most `timeout`.
    #[track_caller]
    pub fn try_read_recursive_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_until_at(Access::Read, true, deadline(timeout), Location::caller())
    }

    /// [`RwLock::read_recursive`], waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_read_recursive_until(&self, deadline: Instant) -> Option<RwLockReadGuard<'_, T>> {
        self.try_read_until_at(Access::Read, true, Some(deadline), Location::caller())
    }

    fn try_read_until_at(
        &self,
        access: Access,
        recursive: bool,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Option<RwLockReadGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire_until(access, recursive, deadline, site)?;
        Some(RwLockReadGuard::new(self, tok))
    }

    /// Exclusive access, blocking while anyone holds the lock.
    #[inline(always)]
    #[track_caller]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard::new(
            self,
            self.core.acquire(Access::Write, false, Location::caller()),
        )
    }

    /// Exclusive access if available right now.
    #[inline]
    #[track_caller]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire(Access::Write, false, Location::caller())?;
        Some(RwLockWriteGuard::new(self, tok))
    }

    /// Exclusive access, waiting at most `timeout`.
    #[track_caller]
    pub fn try_write_for(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        let tok = self.core.try_acquire_until(
            Access::Write,
            false,
            deadline(timeout),
            Location::caller(),
        )?;
        Some(RwLockWriteGuard::new(self, tok))
    }

    /// Exclusive access, waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_write_until(&self, deadline: Instant) -> Option<RwLockWriteGuard<'_, T>> {
        let tok = self.core.try_acquire_until(
            Access::Write,
            false,
            Some(deadline),
            Location::caller(),
        )?;
        Some(RwLockWriteGuard::new(self, tok))
    }

    /// Upgradable shared access: it reads alongside other readers, but excludes writers and
    /// other upgradable readers, so it can later become a write lock without letting a writer
    /// in between ([`RwLockUpgradableReadGuard::upgrade`]).
    #[track_caller]
    pub fn upgradable_read(&self) -> RwLockUpgradableReadGuard<'_, T> {
        let tok = self
            .core
            .acquire(Access::Upgradable, false, Location::caller());
        RwLockUpgradableReadGuard::new(self, tok)
    }

    /// Upgradable shared access if available right now.
    #[track_caller]
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        let tok = self
            .core
            .try_acquire(Access::Upgradable, false, Location::caller())?;
        Some(RwLockUpgradableReadGuard::new(self, tok))
    }

    /// Upgradable shared access, waiting at most `timeout`.
    #[track_caller]
    pub fn try_upgradable_read_for(
        &self,
        timeout: Duration,
    ) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        let tok = self.core.try_acquire_until(
            Access::Upgradable,
            false,
            deadline(timeout),
            Location::caller(),
        )?;
        Some(RwLockUpgradableReadGuard::new(self, tok))
    }

    /// Upgradable shared access, waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_upgradable_read_until(
        &self,
        deadline: Instant,
    ) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        let tok = self.core.try_acquire_until(
            Access::Upgradable,
            false,
            Some(deadline),
            Location::caller(),
        )?;
        Some(RwLockUpgradableReadGuard::new(self, tok))
    }
}

/// `now + timeout`, or `None` (an untimed wait) for a timeout too large to represent.
fn deadline(timeout: Duration) -> Option<Instant> {
    super::spin::deadline(timeout)
}
