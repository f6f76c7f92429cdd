//! parking_lot 0.12's complete public API over lockscope's recorded locks.
//!
//! This crate is named `parking_lot` and versioned 0.12 so that one `[patch.crates-io]` entry
//! swaps it in for the real crate across a whole dependency tree:
//!
//! ```toml
//! [patch.crates-io]
//! parking_lot = { path = "path/to/lockscope/probe/compat/parking_lot" }
//! ```
//!
//! Every `parking_lot::Mutex`, `RwLock`, `ReentrantMutex`, `FairMutex`, `Condvar` and `Once`
//! in every crate of the build is then one of lockscope's: recorded into traces, seen by the
//! deadlock and lock-order detectors, and named. The types are lock_api 0.4 aliases over
//! [`lockscope::lockapi`]'s raw locks, exactly as parking_lot's are over its own.
//!
//! lock_api gives no creation site: a lock is named by the first frame of its first user's
//! stack outside lockscope, lock_api, parking_lot and the standard library
//! (`r2d2-0.8.10/src/lib.rs:<line>`), found once per lock by a stack walk; a `Condvar` or `Once`
//! by its creation site, as lockscope's own.
//!
//! With `deadlock_detection`, [`deadlock::check_deadlock`] answers from lockscope's wait-for
//! graph. Unlike parking_lot, `send_guard` and `deadlock_detection` may be used together.

#![warn(missing_docs)]

pub use ::lock_api;
pub use lockscope::lockapi::{Condvar, RawFairMutex, RawMutex, RawRwLock, RawThreadId};
pub use lockscope::{Once, OnceState, WaitTimeoutResult};

/// A mutual exclusion primitive (parking_lot's `Mutex`), recorded.
pub type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// A guard of a [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawMutex, T>;
/// A [`MutexGuard`] mapped to a part of the value.
pub type MappedMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawMutex, T>;

/// A [`Mutex`] in a `const` context.
pub const fn const_mutex<T>(val: T) -> Mutex<T> {
    Mutex::const_new(<RawMutex as lock_api::RawMutex>::INIT, val)
}

/// A mutex whose every unlock hands it to the next waiter.
pub type FairMutex<T> = lock_api::Mutex<RawFairMutex, T>;
/// A guard of a [`FairMutex`].
pub type FairMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawFairMutex, T>;
/// A [`FairMutexGuard`] mapped to a part of the value.
pub type MappedFairMutexGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawFairMutex, T>;

/// A [`FairMutex`] in a `const` context.
pub const fn const_fair_mutex<T>(val: T) -> FairMutex<T> {
    FairMutex::const_new(<RawFairMutex as lock_api::RawMutex>::INIT, val)
}

/// A reader-writer lock (parking_lot's `RwLock`), recorded: reads, writes and upgradable
/// reads are told apart by the detectors.
pub type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
/// A read guard of an [`RwLock`].
pub type RwLockReadGuard<'a, T> = lock_api::RwLockReadGuard<'a, RawRwLock, T>;
/// A write guard of an [`RwLock`].
pub type RwLockWriteGuard<'a, T> = lock_api::RwLockWriteGuard<'a, RawRwLock, T>;
/// An upgradable read guard of an [`RwLock`].
pub type RwLockUpgradableReadGuard<'a, T> = lock_api::RwLockUpgradableReadGuard<'a, RawRwLock, T>;
/// A mapped read guard.
pub type MappedRwLockReadGuard<'a, T> = lock_api::MappedRwLockReadGuard<'a, RawRwLock, T>;
/// A mapped write guard.
pub type MappedRwLockWriteGuard<'a, T> = lock_api::MappedRwLockWriteGuard<'a, RawRwLock, T>;

/// An [`RwLock`] in a `const` context.
pub const fn const_rwlock<T>(val: T) -> RwLock<T> {
    RwLock::const_new(<RawRwLock as lock_api::RawRwLock>::INIT, val)
}

/// A mutex its holder may lock again (parking_lot's `ReentrantMutex`): re-entry is never a
/// wait; two threads taking two of them in opposite orders is a deadlock, and reported.
pub type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;
/// A guard of a [`ReentrantMutex`].
pub type ReentrantMutexGuard<'a, T> = lock_api::ReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;
/// A [`ReentrantMutexGuard`] mapped to a part of the value.
pub type MappedReentrantMutexGuard<'a, T> =
    lock_api::MappedReentrantMutexGuard<'a, RawMutex, RawThreadId, T>;

/// A [`ReentrantMutex`] in a `const` context.
pub const fn const_reentrant_mutex<T>(val: T) -> ReentrantMutex<T> {
    ReentrantMutex::const_new(
        <RawMutex as lock_api::RawMutex>::INIT,
        <RawThreadId as lock_api::GetThreadId>::INIT,
        val,
    )
}

#[cfg(feature = "arc_lock")]
pub use lock_api::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard,
};

/// Deadlock detection (parking_lot's `deadlock` module), by lockscope's detector: it sees
/// every lock of this crate and of lockscope, and also reports each deadlock by itself the
/// moment it forms (`lockscope::on_deadlock`).
#[cfg(feature = "deadlock_detection")]
pub mod deadlock {
    pub use lockscope::lockapi::{DeadlockedThread, check_deadlock};
}
