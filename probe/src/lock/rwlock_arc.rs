//! The `Arc` guards of [`crate::RwLock`]: read, write and upgradable read guards that keep the
//! lock's `Arc` instead of borrowing it (parking_lot's `read_arc`, `write_arc` and
//! `upgradable_read_arc`, there behind the `arc_lock` feature; always here), so they may be
//! stored or returned without a lifetime. They hold and record exactly as the borrowing guards
//! of [`super::rwlock_guards`] do: the same raw paths, the same token.

use super::rw::{Access, ExclusiveMarker, SharedMarker};
use crate::RwLock;
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared access to an [`RwLock`] through its `Arc` (from [`RwLock::read_arc`]); released on
/// drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct ArcRwLockReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    tok: Token,
    _marker: PhantomData<SharedMarker>,
}

/// Exclusive access to an [`RwLock`] through its `Arc` (from [`RwLock::write_arc`]); released
/// on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct ArcRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    tok: Token,
    _marker: PhantomData<ExclusiveMarker>,
}

/// Upgradable shared access to an [`RwLock`] through its `Arc` (from
/// [`RwLock::upgradable_read_arc`]); released on drop, or made a write lock by
/// [`ArcRwLockUpgradableReadGuard::upgrade`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct ArcRwLockUpgradableReadGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    tok: Token,
    _marker: PhantomData<SharedMarker>,
}

/// What each of the three has: construction, `rwlock`, `into_arc`, temporary and fair
/// unlocking, bumping, `Drop`, `Deref`, `Sync` and the formatting traits.
macro_rules! arc_rw_guard {
    ($guard:ident, $access:expr) => {
        impl<T: ?Sized> $guard<T> {
            fn new(lock: Arc<RwLock<T>>, tok: Token) -> Self {
                $guard {
                    lock,
                    tok,
                    _marker: PhantomData,
                }
            }

            /// The lock this guard holds.
            pub fn rwlock(s: &Self) -> &Arc<RwLock<T>> {
                &s.lock
            }

            /// Unlocks and returns the lock's `Arc`.
            pub fn into_arc(s: Self) -> Arc<RwLock<T>> {
                Self::release_into_arc(s, false)
            }

            /// Like `into_arc`, with a fair hand-off to a waiting thread, if any.
            pub fn into_arc_fair(s: Self) -> Arc<RwLock<T>> {
                Self::release_into_arc(s, true)
            }

            fn release_into_arc(s: Self, fair: bool) -> Arc<RwLock<T>> {
                let (lock, tok) = Self::into_parts(s);
                // SAFETY: the hold passed to us from the guard, which is gone: released once.
                unsafe { lock.core.release($access, &tok, fair) };
                lock
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
                drop(Self::into_arc_fair(s));
            }

            /// Lets a waiting thread have the lock, if one waits, and takes it back.
            pub fn bump(s: &mut Self) {
                // SAFETY: the guard holds the lock; `tok` becomes the new hold.
                unsafe { s.lock.core.bump($access, &mut s.tok) };
            }

            /// Takes the guard apart without unlocking: its hold passes to the caller.
            fn into_parts(s: Self) -> (Arc<RwLock<T>>, Token) {
                let s = ManuallyDrop::new(s);
                // SAFETY: `s` is never dropped, so the `Arc` is moved out exactly once.
                (unsafe { std::ptr::read(&s.lock) }, s.tok)
            }
        }

        impl<T: ?Sized> Drop for $guard<T> {
            fn drop(&mut self) {
                // SAFETY: the guard holds the lock and is gone after this.
                unsafe { self.lock.core.release($access, &self.tok, false) };
            }
        }

        impl<T: ?Sized> std::ops::Deref for $guard<T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock, at least for reading.
                unsafe { &*self.lock.data_ptr() }
            }
        }

        // SAFETY: a shared guard only hands out `&T`; the `Arc` it keeps is shared only as
        // `&Arc`, which `T: Send` (the lock's own `Sync` bound) covers.
        unsafe impl<T: ?Sized + Sync + Send> Sync for $guard<T> {}

        crate::lock::guard::owned_fmt_impls!($guard);
    };
}

arc_rw_guard!(ArcRwLockReadGuard, Access::Read);
arc_rw_guard!(ArcRwLockWriteGuard, Access::Write);
arc_rw_guard!(ArcRwLockUpgradableReadGuard, Access::Upgradable);

impl<T: ?Sized> std::ops::DerefMut for ArcRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock, and `&mut self` makes this reference unique.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl<T: ?Sized> ArcRwLockWriteGuard<T> {
    /// Turns the write lock into a read lock with no writer getting in between.
    pub fn downgrade(s: Self) -> ArcRwLockReadGuard<T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the write hold passed to us from the guard.
        unsafe { lock.core.downgrade(&mut tok) };
        ArcRwLockReadGuard::new(lock, tok)
    }

    /// Turns the write lock into an upgradable read with no writer getting in between.
    pub fn downgrade_to_upgradable(s: Self) -> ArcRwLockUpgradableReadGuard<T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the write hold passed to us from the guard.
        unsafe { lock.core.downgrade_to_upgradable(&mut tok) };
        ArcRwLockUpgradableReadGuard::new(lock, tok)
    }
}

impl<T: ?Sized> ArcRwLockUpgradableReadGuard<T> {
    /// Turns the upgradable read into a write lock, waiting (recorded, like any wait) for the
    /// other readers to leave.
    pub fn upgrade(s: Self) -> ArcRwLockWriteGuard<T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; it becomes the write hold.
        unsafe { lock.core.upgrade(&mut tok) };
        ArcRwLockWriteGuard::new(lock, tok)
    }

    /// [`ArcRwLockUpgradableReadGuard::upgrade`] if no other reader holds the lock right now;
    /// otherwise the guard comes back.
    pub fn try_upgrade(s: Self) -> Result<ArcRwLockWriteGuard<T>, Self> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; on failure it goes back.
        if unsafe { lock.core.try_upgrade(&mut tok) } {
            Ok(ArcRwLockWriteGuard::new(lock, tok))
        } else {
            Err(Self::new(lock, tok))
        }
    }

    /// [`ArcRwLockUpgradableReadGuard::upgrade`], waiting at most `timeout`.
    pub fn try_upgrade_for(s: Self, timeout: Duration) -> Result<ArcRwLockWriteGuard<T>, Self> {
        Self::upgrade_until(s, super::spin::deadline(timeout))
    }

    /// [`ArcRwLockUpgradableReadGuard::upgrade`], waiting until `deadline` at the latest.
    pub fn try_upgrade_until(s: Self, deadline: Instant) -> Result<ArcRwLockWriteGuard<T>, Self> {
        Self::upgrade_until(s, Some(deadline))
    }

    fn upgrade_until(s: Self, deadline: Option<Instant>) -> Result<ArcRwLockWriteGuard<T>, Self> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard; on timeout it goes back.
        if unsafe { lock.core.upgrade_until(&mut tok, deadline) } {
            Ok(ArcRwLockWriteGuard::new(lock, tok))
        } else {
            Err(Self::new(lock, tok))
        }
    }

    /// Turns the upgradable read into a plain read, letting another upgradable reader in.
    pub fn downgrade(s: Self) -> ArcRwLockReadGuard<T> {
        let (lock, mut tok) = Self::into_parts(s);
        // SAFETY: the upgradable hold passed to us from the guard.
        unsafe { lock.core.downgrade_upgradable(&mut tok) };
        ArcRwLockReadGuard::new(lock, tok)
    }

    super::rwlock_guards::with_upgraded_fns!();
}

impl<T: ?Sized> RwLock<T> {
    /// Like [`RwLock::read`], for a lock in an `Arc`: the guard keeps a clone of the `Arc`.
    #[track_caller]
    pub fn read_arc(self: &Arc<Self>) -> ArcRwLockReadGuard<T> {
        let tok = self.core.acquire(Access::Read, false, Location::caller());
        ArcRwLockReadGuard::new(self.clone(), tok)
    }

    /// Like [`RwLock::try_read`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn try_read_arc(self: &Arc<Self>) -> Option<ArcRwLockReadGuard<T>> {
        self.core
            .try_acquire(Access::Read, false, Location::caller())
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_read_for`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn try_read_arc_for(self: &Arc<Self>, timeout: Duration) -> Option<ArcRwLockReadGuard<T>> {
        self.arc_until(Access::Read, false, super::spin::deadline(timeout))
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_read_until`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn try_read_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockReadGuard<T>> {
        self.arc_until(Access::Read, false, Some(deadline))
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::read_recursive`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn read_arc_recursive(self: &Arc<Self>) -> ArcRwLockReadGuard<T> {
        let tok = self.core.acquire(Access::Read, true, Location::caller());
        ArcRwLockReadGuard::new(self.clone(), tok)
    }

    /// Like [`RwLock::try_read_recursive`], returning an [`ArcRwLockReadGuard`] (lock_api's
    /// name for it).
    #[track_caller]
    pub fn try_read_recursive_arc(self: &Arc<Self>) -> Option<ArcRwLockReadGuard<T>> {
        self.core
            .try_acquire(Access::Read, true, Location::caller())
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_read_recursive_for`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn try_read_arc_recursive_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockReadGuard<T>> {
        self.arc_until(Access::Read, true, super::spin::deadline(timeout))
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_read_recursive_until`], returning an [`ArcRwLockReadGuard`].
    #[track_caller]
    pub fn try_read_arc_recursive_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockReadGuard<T>> {
        self.arc_until(Access::Read, true, Some(deadline))
            .map(|tok| ArcRwLockReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::write`], for a lock in an `Arc`: the guard keeps a clone of the `Arc`.
    #[track_caller]
    pub fn write_arc(self: &Arc<Self>) -> ArcRwLockWriteGuard<T> {
        let tok = self.core.acquire(Access::Write, false, Location::caller());
        ArcRwLockWriteGuard::new(self.clone(), tok)
    }

    /// Like [`RwLock::try_write`], returning an [`ArcRwLockWriteGuard`].
    #[track_caller]
    pub fn try_write_arc(self: &Arc<Self>) -> Option<ArcRwLockWriteGuard<T>> {
        self.core
            .try_acquire(Access::Write, false, Location::caller())
            .map(|tok| ArcRwLockWriteGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_write_for`], returning an [`ArcRwLockWriteGuard`].
    #[track_caller]
    pub fn try_write_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockWriteGuard<T>> {
        self.arc_until(Access::Write, false, super::spin::deadline(timeout))
            .map(|tok| ArcRwLockWriteGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_write_until`], returning an [`ArcRwLockWriteGuard`].
    #[track_caller]
    pub fn try_write_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockWriteGuard<T>> {
        self.arc_until(Access::Write, false, Some(deadline))
            .map(|tok| ArcRwLockWriteGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::upgradable_read`], for a lock in an `Arc`: the guard keeps a clone of
    /// the `Arc`.
    #[track_caller]
    pub fn upgradable_read_arc(self: &Arc<Self>) -> ArcRwLockUpgradableReadGuard<T> {
        let tok = self
            .core
            .acquire(Access::Upgradable, false, Location::caller());
        ArcRwLockUpgradableReadGuard::new(self.clone(), tok)
    }

    /// Like [`RwLock::try_upgradable_read`], returning an [`ArcRwLockUpgradableReadGuard`].
    #[track_caller]
    pub fn try_upgradable_read_arc(self: &Arc<Self>) -> Option<ArcRwLockUpgradableReadGuard<T>> {
        self.core
            .try_acquire(Access::Upgradable, false, Location::caller())
            .map(|tok| ArcRwLockUpgradableReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_upgradable_read_for`], returning an
    /// [`ArcRwLockUpgradableReadGuard`].
    #[track_caller]
    pub fn try_upgradable_read_arc_for(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Option<ArcRwLockUpgradableReadGuard<T>> {
        self.arc_until(Access::Upgradable, false, super::spin::deadline(timeout))
            .map(|tok| ArcRwLockUpgradableReadGuard::new(self.clone(), tok))
    }

    /// Like [`RwLock::try_upgradable_read_until`], returning an
    /// [`ArcRwLockUpgradableReadGuard`].
    #[track_caller]
    pub fn try_upgradable_read_arc_until(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Option<ArcRwLockUpgradableReadGuard<T>> {
        self.arc_until(Access::Upgradable, false, Some(deadline))
            .map(|tok| ArcRwLockUpgradableReadGuard::new(self.clone(), tok))
    }

    /// The hold for a timed `*_arc` (`None` deadline: untimed), taken at the caller's site.
    #[track_caller]
    fn arc_until(
        &self,
        access: Access,
        recursive: bool,
        deadline: Option<Instant>,
    ) -> Option<Token> {
        self.core
            .try_acquire_until(access, recursive, deadline, Location::caller())
    }
}
