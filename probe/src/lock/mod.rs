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
mod rw;
mod rwlock;
mod rwlock_guards;
mod rwlock_locking;
mod rwlock_mapped;
mod semaphore;
pub(crate) mod spin;

pub(crate) use exclusive::Exclusive;
pub(crate) use rw::{Access, RwCore};

pub use arc::ArcMutexGuard;
pub use condvar::{Condvar, WaitTimeoutResult};
pub use fair::{FairMutex, FairMutexGuard, MappedFairMutexGuard};
pub use mapped::MappedMutexGuard;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::RwLock;
pub use rwlock_guards::{RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard};
pub use rwlock_mapped::{MappedRwLockReadGuard, MappedRwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
