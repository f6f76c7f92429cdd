//! The instrumented primitives.

mod arc;
mod condvar;
mod exclusive;
mod fair;
pub(crate) mod guard;
mod mapped;
mod mutex;
mod once;
mod reentrant;
mod reentrant_arc;
mod reentrant_core;
mod rw;
mod rwlock;
mod rwlock_arc;
mod rwlock_guards;
mod rwlock_locking;
mod rwlock_mapped;
mod semaphore;
pub(crate) mod spin;

pub(crate) use condvar::wait_while_with;
pub(crate) use exclusive::Exclusive;
pub(crate) use rw::{Access, RwCore};

pub use arc::ArcMutexGuard;
pub use condvar::{Condvar, WaitTimeoutResult};
pub use fair::{FairMutex, FairMutexGuard, MappedFairMutexGuard};
pub use mapped::MappedMutexGuard;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use reentrant_arc::ArcReentrantMutexGuard;
pub use reentrant_core::MappedReentrantMutexGuard;
pub use rwlock::RwLock;
pub use rwlock_arc::{ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard, ArcRwLockWriteGuard};
pub use rwlock_guards::{RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
pub use rwlock_mapped::{MappedRwLockReadGuard, MappedRwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};

/// A new [`Mutex`] in a `const` context (parking_lot's `const_mutex`; [`Mutex::new`] is
/// `const` too). Its class is the caller's location.
#[track_caller]
pub const fn const_mutex<T>(value: T) -> Mutex<T> {
    Mutex::new(value)
}

/// A new [`FairMutex`] in a `const` context (parking_lot's `const_fair_mutex`).
#[track_caller]
pub const fn const_fair_mutex<T>(value: T) -> FairMutex<T> {
    FairMutex::new(value)
}

/// A new [`RwLock`] in a `const` context (parking_lot's `const_rwlock`).
#[track_caller]
pub const fn const_rwlock<T>(value: T) -> RwLock<T> {
    RwLock::new(value)
}

/// A new [`ReentrantMutex`] in a `const` context (parking_lot's `const_reentrant_mutex`).
#[track_caller]
pub const fn const_reentrant_mutex<T>(value: T) -> ReentrantMutex<T> {
    ReentrantMutex::new(value)
}
