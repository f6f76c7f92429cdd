//! Locks held across `fork()`: the probe's own internal locks are taken by the forking thread
//! just before the fork and let go on both sides just after, so a child never inherits one
//! held by a thread that does not exist in it (it would block on its first new lock class or
//! thread), nor data a thread was half-way through changing.

use std::sync::LazyLock;
use std::time::Instant;

/// One of the probe's internal locks, as the fork hooks see it.
pub(crate) trait ForkLock: Sync {
    /// Takes the lock exclusively, giving up at `until`; `true` when taken. The lock stays
    /// taken, without a guard, until [`ForkLock::release`].
    fn acquire(&self, until: Instant) -> bool;
    /// Lets go of a lock [`ForkLock::acquire`] took (in the parent, after the fork), waking
    /// the threads parked on it.
    ///
    /// # Safety
    /// The lock must have been taken by `acquire` and not released since.
    unsafe fn release(&self);
    /// In the child: makes the lock new again, unlocked with nobody parked on it. The threads
    /// that were parked do not exist here, and waking them would take parking_lot's bucket
    /// locks, which a thread of the parent may have held at the fork.
    ///
    /// # Safety
    /// Only in a forked child, while it has one thread, on a lock `acquire` took before the
    /// fork.
    unsafe fn reset_in_child(&self);
}

impl<T: Send> ForkLock for parking_lot::Mutex<T> {
    fn acquire(&self, until: Instant) -> bool {
        self.try_lock_until(until).map(std::mem::forget).is_some()
    }

    unsafe fn release(&self) {
        // SAFETY: the caller guarantees `acquire` took the lock and forgot its guard, and that
        // nothing released it since; a mutex has no owning thread, so either process may.
        unsafe { self.force_unlock(Default::default()) }
    }

    unsafe fn reset_in_child(&self) {
        // SAFETY: `raw` is only read for its address. The raw mutex is a single atomic (all of
        // its bytes are inside an `UnsafeCell`), so writing a fresh one over it through a
        // shared reference is a plain interior-mutable store; the child has no other thread,
        // and the lock's only holder (the forking thread, through `acquire`) lets it go here.
        unsafe {
            let raw = self.raw() as *const parking_lot::RawMutex as *mut parking_lot::RawMutex;
            raw.write(<parking_lot::RawMutex as lock_api::RawMutex>::INIT);
        }
    }
}

impl<T: Send + Sync> ForkLock for parking_lot::RwLock<T> {
    fn acquire(&self, until: Instant) -> bool {
        self.try_write_until(until).map(std::mem::forget).is_some()
    }

    unsafe fn release(&self) {
        // SAFETY: as for the mutex: `acquire` took the write lock and forgot its guard, and
        // nothing released it since.
        unsafe { self.force_unlock_write(Default::default()) }
    }

    unsafe fn reset_in_child(&self) {
        // SAFETY: as for the mutex: the raw lock is a single atomic, the child has one thread,
        // and the write lock `acquire` took is what is let go.
        unsafe {
            let raw = self.raw() as *const parking_lot::RawRwLock as *mut parking_lot::RawRwLock;
            raw.write(<parking_lot::RawRwLock as lock_api::RawRwLock>::INIT);
        }
    }
}

impl<L: ForkLock + Send + Sync> ForkLock for LazyLock<L> {
    fn acquire(&self, until: Instant) -> bool {
        L::acquire(self, until)
    }

    unsafe fn release(&self) {
        // SAFETY: forwarded; `acquire` forced the value, so the lock is the one it took.
        unsafe { L::release(self) }
    }

    unsafe fn reset_in_child(&self) {
        // SAFETY: forwarded, as for `release`.
        unsafe { L::reset_in_child(self) }
    }
}
