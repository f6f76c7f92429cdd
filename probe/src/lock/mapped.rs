//! `MappedMutexGuard`: a guard for part of a [`crate::Mutex`]'s value, from
//! [`crate::MutexGuard::map`]. It holds the whole mutex, so it cannot be unlocked temporarily
//! (the part may not outlive a re-lock), as in parking_lot.

use super::exclusive::{Exclusive, RawGuard};
use crate::lock_core::Token;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// Holds a [`crate::Mutex`] locked and gives access to part of its value; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    core: &'a Exclusive,
    data: *mut T,
    tok: Token,
    _marker: PhantomData<(&'a mut T, RawGuard)>,
}

// SAFETY: a shared guard only hands out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized + 'a> MappedMutexGuard<'a, T> {
    /// A guard over `data`, a part of the value `core` guards, holding the lock through `tok`.
    pub(crate) fn new(core: &'a Exclusive, data: &'a mut T, tok: Token) -> Self {
        MappedMutexGuard {
            core,
            data,
            tok,
            _marker: PhantomData,
        }
    }

    crate::lock::guard::map_fns!(MappedMutexGuard, mut, " A guard for a part of this part.",);

    /// Like `try_map`, but `f` says why it declines: the guard comes back with the reason.
    pub fn try_map_or_err<U: ?Sized, F, E>(
        s: Self,
        f: F,
    ) -> Result<MappedMutexGuard<'a, U>, (Self, E)>
    where
        F: FnOnce(&mut T) -> Result<&mut U, E>,
    {
        let (core, data) = (s.core, s.data);
        // SAFETY: the guard holds the lock for `'a` and `data` points into the value. Should `f`
        // panic, `s` drops and unlocks; on `Err` it comes back untouched; otherwise its hold
        // passes whole to the new guard.
        match f(unsafe { &mut *data }) {
            Ok(part) => {
                let s = ManuallyDrop::new(s);
                Ok(MappedMutexGuard::new(core, part, s.tok))
            }
            Err(e) => Err((s, e)),
        }
    }

    /// Unlocks with a fair hand-off to a waiting thread, if any.
    pub fn unlock_fair(s: Self) {
        let s = ManuallyDrop::new(s);
        // SAFETY: the guard holds the lock and is never dropped, so it is released once.
        unsafe { s.core.release_fair(&s.tok) };
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds the lock and is gone after this.
        unsafe { self.core.release(&self.tok) };
    }
}

impl<T: ?Sized> std::ops::Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock; `data` points into the value for the guard's life.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> std::ops::DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}

crate::lock::guard::fmt_impls!(MappedMutexGuard);
