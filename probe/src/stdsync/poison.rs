//! Poisoning as std does it: a flag per lock, set when a panic starts while the lock is
//! held, and the `LockResult` every acquisition returns.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{LockResult, PoisonError};

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
