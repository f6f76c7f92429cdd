//! The instrumented primitives.

mod condvar;
pub(crate) mod guard;
mod mutex;
mod rwlock;
mod semaphore;
pub(crate) mod spin;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
