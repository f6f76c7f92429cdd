//! Drop-in replacements for `std::sync::{Mutex, RwLock, Condvar}`: the same signatures,
//! poisoning included, with lockscope's recording underneath. Swap one `use` line:
//!
//! ```
//! // use std::sync::{Mutex, Condvar};
//! use lockscope::stdsync::{Condvar, Mutex};
//!
//! let m = Mutex::new(5);
//! *m.lock().unwrap() += 1;
//! assert_eq!(*m.lock().unwrap(), 6);
//! let _unused = Condvar::new();
//! ```
//!
//! The error types are std's own ([`PoisonError`], [`TryLockError`]), so existing `match`es
//! keep compiling. One difference: `Condvar::wait_timeout` returns lockscope's
//! [`WaitTimeoutResult`] (std's cannot be constructed outside std); it has the same
//! `timed_out()` method.

mod condvar;
mod mutex;
mod poison;
mod rwlock;

pub use crate::lock::WaitTimeoutResult;
pub use condvar::Condvar;
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};
