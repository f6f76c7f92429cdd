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
mod rwlock;

pub use crate::lock::WaitTimeoutResult;
pub use condvar::Condvar;
pub use mutex::{Mutex, MutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The poison flag of one lock, as std keeps it.
#[derive(Debug, Default)]
pub(crate) struct Flag(AtomicBool);

impl Flag {
    pub(crate) const fn new() -> Flag {
        Flag(AtomicBool::new(false))
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Relaxed)
    }

    pub(crate) fn clear(&self) {
        self.0.store(false, Relaxed);
    }

    /// Taken at acquisition: was the thread already panicking?
    pub(crate) fn guard(&self) -> Guard {
        Guard {
            panicking: std::thread::panicking(),
        }
    }

    /// At release: a panic that started while the lock was held poisons it.
    pub(crate) fn done(&self, g: &Guard) {
        if !g.panicking && std::thread::panicking() {
            self.0.store(true, Relaxed);
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    panicking: bool,
}

/// `Ok(guard)` or, for a poisoned lock, `Err(PoisonError::new(guard))`, as std returns.
pub(crate) fn map_result<G>(poisoned: bool, guard: G) -> LockResult<G> {
    if poisoned {
        Err(PoisonError::new(guard))
    } else {
        Ok(guard)
    }
}
