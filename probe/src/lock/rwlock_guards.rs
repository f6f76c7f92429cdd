//! The guards of [`crate::RwLock`]: read, write and upgradable read, with parking_lot 0.12's
//! guard API (mapping, temporary unlocking, fair unlocking, bumping, upgrades and downgrades).

use super::rw::{Access, ExclusiveMarker, SharedMarker};
use super::rwlock_mapped::{MappedRwLockReadGuard, MappedRwLockWriteGuard};
use crate::RwLock;
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant};

/// Shared access to an [`RwLock`]; released on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    tok: Token,
    _marker: PhantomData<SharedMarker>,
}

/// Exclusive access to an [`RwLock`]; released on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    tok: Token,
    _marker: PhantomData<ExclusiveMarker>,
}

/// Upgradable shared access to an [`RwLock`] (from [`RwLock::upgradable_read`]); released on
/// drop, or turned into a write lock by [`RwLockUpgradableReadGuard::upgrade`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockUpgradableReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    tok: Token,
    _marker: PhantomData<SharedMarker>,
}

/// What every guard of the three has: construction, `rwlock`, temporary and fair unlocking,
/// bumping, `Drop`, `Deref`, `Sync` and the formatting traits.
macro_rules! rw_guard {
    ($guard:ident, $access:expr) => {
        impl<'a, T: ?Sized + 'a> $guard<'a, T> {
            pub(crate) fn new(lock: &'a RwLock<T>, tok: Token) -> Self {
                $guard {
                    lock,
                    tok,
                    _marker: PhantomData,
                }
            }

            /// The lock this guard holds.
            pub fn rwlock(s: &Self) -> &'a RwLock<T> {
                s.lock
            }

            /// Unlocks while `f` runs and locks again, the same way, before returning (on
            /// unwind too).
            pub fn unlocked<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
                // SAFETY: the guard holds the lock and is borrowed for the whole call.
                unsafe { s.lock.core.unlocked($access, &mut s.tok, false, f) }
            }

            /// Like `unlocked`, but the unlock hands the lock to a waiter, if any.
            pub fn unlocked_fair<F: FnOnce() -> U, U>(s: &mut Self, f: F) -> U {
                // SAFETY: as in `unlocked`.
                unsafe { s.lock.core.unlocked($access, &mut s.tok, true, f) }
            }

            /// Unlocks with a fair hand-off to a waiting thread, if any.
            pub fn unlock_fair(s: Self) {
                let s = ManuallyDrop::new(s);
                // SAFETY: the guard holds the lock and is never dropped: released once.
                unsafe { s.lock.core.release($access, &s.tok, true) };
            }

            /// Lets a waiting thread have the lock, if one waits, and takes it back.
            pub fn bump(s: &mut Self) {
                // SAFETY: the guard holds the lock; `tok` becomes the new hold.
                unsafe { s.lock.core.bump($access, &mut s.tok) };
            }

            /// Takes the guard apart without unlocking: its hold passes to the caller.
            fn into_parts(s: Self) -> (&'a RwLock<T>, Token) {
                let s = ManuallyDrop::new(s);
                (s.lock, s.tok)
            }
        }

        impl<T: ?Sized> Drop for $guard<'_, T> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: the guard holds the lock and is gone after this.
                unsafe { self.lock.core.release($access, &self.tok, false) };
            }
        }

        impl<T: ?Sized> std::ops::Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock, at least for reading.
                unsafe { &*self.lock.data_ptr() }
            }
        }

        // SAFETY: a shared guard only hands out `&T`.
        unsafe impl<T: ?Sized + Sync> Sync for $guard<'_, T> {}

        crate::lock::guard::fmt_impls!($guard);
    };
}

rw_guard!(RwLockReadGuard, Access::Read);
rw_guard!(RwLockWriteGuard, Access::Write);
rw_guard!(RwLockUpgradableReadGuard, Access::Upgradable);

impl<T: ?Sized> std::ops::DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock, and `&mut self` makes this reference unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<'a, T: ?Sized + 'a> RwLockReadGuard<'a, T> {
    /// A guard for a part of the value; the whole lock stays read-locked until it drops.
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> MappedRwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let lock = s.lock;
        // SAFETY: the guard holds a read for `'a`. Should `f` panic, `s` drops and unlocks.
        let part = f(unsafe { &*lock.data_ptr() });
        let (_, tok) = Self::into_parts(s);
        MappedRwLockReadGuard::new(&lock.core, part, tok)
    }

    /// Like [`RwLockReadGuard::map`], but `f` may decline; the guard comes back then.
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<MappedRwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let lock = s.lock;
        // SAFETY: as in `map`.
        match f(unsafe { &*lock.data_ptr() }) {
            Some(part) => {
                let (_, tok) = Self::into_parts(s);
                Ok(MappedRwLockReadGuard::new(&lock.core, part, tok))
            }
            None => Err(s),
        }
    }
}

impl<'a, T: ?Sized + 'a> RwLockWriteGuard<'a, T> {
    /// A guard for a part of the value; the whole lock stays write-locked until it drops.
    pub fn map<U: ?Sized, F>(s: Self, f: F) -> MappedRwLockWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let lock = s.lock;
        // SAFETY: the guard holds the write lock for `'a`. Should `f` panic, `s` drops and
        // unlocks; otherwise its hold passes whole to the mapped guard.
        let part = f(unsafe { &mut *lock.data_ptr() });
        let (_, tok) = Self::into_parts(s);
        MappedRwLockWriteGuard::new(&lock.core, part, tok)
    }

    /// Like [`RwLockWriteGuard::map`], but `f` may decline; the guard comes back then.
    pub fn try_map<U: ?Sized, F>(s: Self, f: F) -> Result<MappedRwLockWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let lock = s.lock;
        // SAFETY: as in `map`.
        match f(unsafe { &mut *lock.data_ptr() }) {
            Some(part) => {
                let (_, tok) = Self::into_parts(s);
                Ok(MappedRwLockWriteGuard::new(&lock.core, part, tok))
            }
            None => Err(s),
        }
    }

    /// Turns the write lock into a read lock with no writer getting in between.
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the write hold passed to us from the guard.
        unsafe { lock.core.downgrade(&mut tok) };
        RwLockReadGuard::new(lock, tok)
    }

    /// Turns the write lock into an upgradable read with no writer getting in between.
    pub fn downgrade_to_upgradable(s: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the write hold passed to us from the guard.
        unsafe { lock.core.downgrade_to_upgradable(&mut tok) };
        RwLockUpgradableReadGuard::new(lock, tok)
    }
}

impl<'a, T: ?Sized + 'a> RwLockUpgradableReadGuard<'a, T> {
    /// Turns the upgradable read into a write lock, waiting (recorded, like any wait) for the
    /// other readers to leave.
    pub fn upgrade(s: Self) -> RwLockWriteGuard<'a, T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; it becomes the write hold.
        unsafe { lock.core.upgrade(&mut tok) };
        RwLockWriteGuard::new(lock, tok)
    }

    /// [`RwLockUpgradableReadGuard::upgrade`] if no other reader holds the lock right now;
    /// otherwise the guard comes back.
    pub fn try_upgrade(s: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; on failure it goes back.
        if unsafe { lock.core.try_upgrade(&mut tok) } {
            Ok(RwLockWriteGuard::new(lock, tok))
        } else {
            Err(Self::new(lock, tok))
        }
    }

    /// [`RwLockUpgradableReadGuard::upgrade`], waiting at most `timeout`.
    pub fn try_upgrade_for(s: Self, timeout: Duration) -> Result<RwLockWriteGuard<'a, T>, Self> {
        Self::upgrade_until(s, super::spin::deadline(timeout))
    }

    /// [`RwLockUpgradableReadGuard::upgrade`], waiting until `deadline` at the latest.
    pub fn try_upgrade_until(s: Self, deadline: Instant) -> Result<RwLockWriteGuard<'a, T>, Self> {
        Self::upgrade_until(s, Some(deadline))
    }

    fn upgrade_until(s: Self, deadline: Option<Instant>) -> Result<RwLockWriteGuard<'a, T>, Self> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; on timeout it goes back.
        if unsafe { lock.core.upgrade_until(&mut tok, deadline) } {
            Ok(RwLockWriteGuard::new(lock, tok))
        } else {
            Err(Self::new(lock, tok))
        }
    }

    /// Turns the upgradable read into a plain read, letting another upgradable reader in.
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard.
        unsafe { lock.core.downgrade_upgradable(&mut tok) };
        RwLockReadGuard::new(lock, tok)
    }

    /// Upgrades for the length of `f`, then downgrades back to an upgradable read.
    pub fn with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Ret {
        // SAFETY: this guard holds the upgradable read; it becomes the write hold here.
        unsafe { self.lock.core.upgrade(&mut self.tok) };
        let back = Downgrade(self);
        // SAFETY: the write hold is ours until `back` drops.
        f(unsafe { &mut *back.0.lock.data_ptr() })
    }

    /// [`RwLockUpgradableReadGuard::with_upgraded`] if no other reader holds the lock right
    /// now; `None` (and no call to `f`) otherwise.
    pub fn try_with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Option<Ret> {
        // SAFETY: this guard holds the upgradable read; on success it is the write hold.
        if !unsafe { self.lock.core.try_upgrade(&mut self.tok) } {
            return None;
        }
        let back = Downgrade(self);
        // SAFETY: the write hold is ours until `back` drops.
        Some(f(unsafe { &mut *back.0.lock.data_ptr() }))
    }
}

/// Turns a `with_upgraded` write hold back into the upgradable read, on unwind too.
struct Downgrade<'g, 'a, T: ?Sized>(&'g mut RwLockUpgradableReadGuard<'a, T>);

impl<T: ?Sized> Drop for Downgrade<'_, '_, T> {
    fn drop(&mut self) {
        let g = &mut *self.0;
        // SAFETY: `with_upgraded` upgraded this guard's hold to a write hold.
        unsafe { g.lock.core.downgrade_to_upgradable(&mut g.tok) };
    }
}
