//! The guards of [`crate::RwLock`]: read, write and upgradable read, with parking_lot 0.12's
//! guard API (mapping, temporary unlocking, fair unlocking, bumping, upgrades and downgrades).

use super::rw::{Access, ExclusiveMarker, RwCore, SharedMarker};
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
    crate::lock::guard::map_fns!(
        MappedRwLockReadGuard,
        " A guard for a part of the value; the whole lock stays read-locked until it drops.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockReadGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let lock = s.lock;
        // SAFETY: the guard holds a read for `'a`. Should `f` panic, `s` drops and unlocks; on
        // `Err` it comes back untouched; otherwise its hold passes whole to the mapped guard.
        match f(unsafe { &*lock.data_ptr() }) {
            Ok(part) => {
                let (_, tok) = Self::into_parts(s);
                Ok(MappedRwLockReadGuard::new(&lock.core, part, tok))
            }
            Err(e) => Err((s, e)),
        }
    }
}

impl<'a, T: ?Sized + 'a> RwLockWriteGuard<'a, T> {
    crate::lock::guard::map_fns!(
        MappedRwLockWriteGuard,
        mut,
        " A guard for a part of the value; the whole lock stays write-locked until it drops.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockWriteGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let lock = s.lock;
        // SAFETY: the guard holds the write lock for `'a`. Should `f` panic, `s` drops and
        // unlocks; on `Err` it comes back untouched; otherwise its hold passes whole to the
        // mapped guard.
        match f(unsafe { &mut *lock.data_ptr() }) {
            Ok(part) => {
                let (_, tok) = Self::into_parts(s);
                Ok(MappedRwLockWriteGuard::new(&lock.core, part, tok))
            }
            Err(e) => Err((s, e)),
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

    with_upgraded_fns!();
}

/// `with_upgraded`, `try_with_upgraded` and their timed forms, for an upgradable guard (borrowing
/// or `Arc`) whose `lock` field derefs to the [`RwLock`] and whose `tok` is its hold.
macro_rules! with_upgraded_fns {
    () => {
        /// Upgrades for the length of `f`, then downgrades back to an upgradable read.
        pub fn with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Ret {
            self.with_upgraded_as(super::rwlock_guards::Upgrade::Wait, f)
                .expect("an untimed upgrade always succeeds")
        }

        /// `with_upgraded` if no other reader holds the lock right now; `None` (and no call
        /// to `f`) otherwise.
        pub fn try_with_upgraded<Ret, F: FnOnce(&mut T) -> Ret>(&mut self, f: F) -> Option<Ret> {
            self.with_upgraded_as(super::rwlock_guards::Upgrade::Now, f)
        }

        /// `with_upgraded`, waiting at most `timeout` for the upgrade; `None` (and no call to
        /// `f`) if it timed out.
        pub fn try_with_upgraded_for<Ret, F: FnOnce(&mut T) -> Ret>(
            &mut self,
            timeout: Duration,
            f: F,
        ) -> Option<Ret> {
            let deadline = super::spin::deadline(timeout);
            self.with_upgraded_as(super::rwlock_guards::Upgrade::Until(deadline), f)
        }

        /// `with_upgraded`, waiting until `deadline` at the latest for the upgrade; `None`
        /// (and no call to `f`) if it timed out.
        pub fn try_with_upgraded_until<Ret, F: FnOnce(&mut T) -> Ret>(
            &mut self,
            deadline: Instant,
            f: F,
        ) -> Option<Ret> {
            self.with_upgraded_as(super::rwlock_guards::Upgrade::Until(Some(deadline)), f)
        }

        fn with_upgraded_as<Ret, F: FnOnce(&mut T) -> Ret>(
            &mut self,
            how: super::rwlock_guards::Upgrade,
            f: F,
        ) -> Option<Ret> {
            let lock = &*self.lock;
            // SAFETY: this guard holds the upgradable read of `lock` through `tok`.
            unsafe {
                super::rwlock_guards::with_upgraded(
                    &lock.core,
                    &mut self.tok,
                    lock.data_ptr(),
                    how,
                    f,
                )
            }
        }
    };
}
pub(super) use with_upgraded_fns;

/// How a `with_upgraded` upgrades: waiting as long as it takes, only if it can right now, or
/// waiting until a deadline (`None`: a timeout too large to represent, so as long as it takes).
#[derive(Clone, Copy)]
pub(super) enum Upgrade {
    Wait,
    Now,
    Until(Option<Instant>),
}

/// The `with_upgraded` family of both upgradable guards: upgrades the hold `tok` of `core` as
/// `how` says and, if it did, runs `f` on the value and downgrades back to the upgradable read
/// (on unwind too). `None`, with `f` not called and the upgradable read kept, if the upgrade
/// did not happen.
///
/// # Safety
/// `tok` is the caller's upgradable hold of `core`, and `data` points to the value `core`
/// guards.
pub(super) unsafe fn with_upgraded<T: ?Sized, Ret>(
    core: &RwCore,
    tok: &mut Token,
    data: *mut T,
    how: Upgrade,
    f: impl FnOnce(&mut T) -> Ret,
) -> Option<Ret> {
    // SAFETY: `tok` is an upgradable hold of `core` (this function's contract); on success it
    // is the write hold, and on failure it stays the upgradable read.
    let upgraded = unsafe {
        match how {
            Upgrade::Wait => {
                core.upgrade(tok);
                true
            }
            Upgrade::Now => core.try_upgrade(tok),
            Upgrade::Until(deadline) => core.upgrade_until(tok, deadline),
        }
    };
    if !upgraded {
        return None;
    }
    let back = Downgrade { core, tok };
    // SAFETY: the write hold is ours until `back` drops, and `data` is the value it guards.
    let ret = f(unsafe { &mut *data });
    drop(back);
    Some(ret)
}

/// Turns a `with_upgraded` write hold back into the upgradable read, on unwind too.
struct Downgrade<'c, 't> {
    core: &'c RwCore,
    tok: &'t mut Token,
}

impl Drop for Downgrade<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: `with_upgraded` upgraded this hold to a write hold of `core`.
        unsafe { self.core.downgrade_to_upgradable(self.tok) };
    }
}
