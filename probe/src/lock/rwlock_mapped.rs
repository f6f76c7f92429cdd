//! Mapped guards of [`crate::RwLock`]: a read or write guard narrowed to part of the value by
//! `map`. They hold the whole lock, so they cannot be unlocked temporarily or downgraded (the
//! part may not outlive a re-lock), as in parking_lot.

use super::rw::{Access, ExclusiveMarker, RwCore, SharedMarker};
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// Shared access to part of an [`crate::RwLock`]'s value; releases the read on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct MappedRwLockReadGuard<'a, T: ?Sized> {
    core: &'a RwCore,
    data: *const T,
    tok: Token,
    _marker: PhantomData<(&'a T, SharedMarker)>,
}

/// Exclusive access to part of an [`crate::RwLock`]'s value; releases the write on drop.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct MappedRwLockWriteGuard<'a, T: ?Sized> {
    core: &'a RwCore,
    data: *mut T,
    tok: Token,
    _marker: PhantomData<(&'a mut T, ExclusiveMarker)>,
}

/// Construction, fair unlocking, `Drop`, `Deref`, `Sync` and formatting for both.
macro_rules! mapped_guard {
    ($guard:ident, $access:expr) => {
        impl<'a, T: ?Sized + 'a> $guard<'a, T> {
            /// Unlocks with a fair hand-off to a waiting thread, if any.
            pub fn unlock_fair(s: Self) {
                let s = ManuallyDrop::new(s);
                // SAFETY: the guard holds the lock and is never dropped: released once.
                unsafe { s.core.release($access, &s.tok, true) };
            }

            /// Takes the guard apart without unlocking: its hold passes to the caller.
            fn into_parts(s: Self) -> (&'a RwCore, Token) {
                let s = ManuallyDrop::new(s);
                (s.core, s.tok)
            }
        }

        impl<T: ?Sized> Drop for $guard<'_, T> {
            fn drop(&mut self) {
                // SAFETY: the guard holds the lock and is gone after this.
                unsafe { self.core.release($access, &self.tok, false) };
            }
        }

        impl<T: ?Sized> std::ops::Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock; `data` points into the value meanwhile.
                unsafe { &*self.data }
            }
        }

        // SAFETY: a shared guard only hands out `&T`.
        unsafe impl<T: ?Sized + Sync> Sync for $guard<'_, T> {}

        crate::lock::guard::fmt_impls!($guard);
    };
}

mapped_guard!(MappedRwLockReadGuard, Access::Read);
mapped_guard!(MappedRwLockWriteGuard, Access::Write);

impl<'a, T: ?Sized + 'a> MappedRwLockReadGuard<'a, T> {
    pub(crate) fn new(core: &'a RwCore, data: &'a T, tok: Token) -> Self {
        MappedRwLockReadGuard {
            core,
            data,
            tok,
            _marker: PhantomData,
        }
    }

    crate::lock::guard::map_fns!(MappedRwLockReadGuard, " A guard for a part of this part.",);

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockReadGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        let data = s.data;
        // SAFETY: the guard holds a read for `'a` and `data` points into the value. Should `f`
        // panic, `s` drops and unlocks; on `Err` it comes back untouched; otherwise its hold
        // passes whole to the new guard.
        match f(unsafe { &*data }) {
            Ok(part) => {
                let (core, tok) = Self::into_parts(s);
                Ok(MappedRwLockReadGuard::new(core, part, tok))
            }
            Err(e) => Err((s, e)),
        }
    }

    /// [`MappedRwLockReadGuard::try_map_or_err`] under the name lock_api 0.4 gives it on this
    /// guard.
    pub fn try_map_or_else<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockReadGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&T) -> Result<&U, E>,
    {
        Self::try_map_or_err(s, f)
    }
}

impl<'a, T: ?Sized + 'a> MappedRwLockWriteGuard<'a, T> {
    pub(crate) fn new(core: &'a RwCore, data: &'a mut T, tok: Token) -> Self {
        MappedRwLockWriteGuard {
            core,
            data,
            tok,
            _marker: PhantomData,
        }
    }

    crate::lock::guard::map_fns!(
        MappedRwLockWriteGuard,
        mut,
        " A guard for a part of this part.",
    );

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedRwLockWriteGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let data = s.data;
        // SAFETY: the guard holds the write lock for `'a` and `data` points into the value.
        // Should `f` panic, `s` drops and unlocks; on `Err` it comes back untouched; otherwise
        // its hold passes whole to the new guard.
        match f(unsafe { &mut *data }) {
            Ok(part) => {
                let (core, tok) = Self::into_parts(s);
                Ok(MappedRwLockWriteGuard::new(core, part, tok))
            }
            Err(e) => Err((s, e)),
        }
    }
}

impl<T: ?Sized> std::ops::DerefMut for MappedRwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}
