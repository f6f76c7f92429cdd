//! `std::sync::Condvar`'s signatures over lockscope's condition variable.

use super::mutex::MutexGuard;
use super::poison::map_result;
use crate::lock::WaitTimeoutResult;
use std::sync::{LockResult, PoisonError};
use std::time::Duration;

/// `std::sync::Condvar`'s interface over [`crate::Condvar`].
#[derive(Debug, Default)]
pub struct Condvar {
    inner: crate::Condvar,
}

impl Condvar {
    /// A new condition variable whose class is the caller's location.
    #[track_caller]
    pub const fn new() -> Condvar {
        Condvar {
            inner: crate::Condvar::new(),
        }
    }

    /// Blocks until notified; returns the re-acquired guard (`Err` if the mutex is poisoned).
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
    ) -> LockResult<MutexGuard<'a, T>> {
        self.inner.wait(&mut guard.inner);
        let poisoned = guard.poison.get();
        map_result(poisoned, guard)
    }

    /// Blocks while `condition` returns true.
    #[track_caller]
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        self.inner.wait_while(&mut guard.inner, &mut condition);
        let poisoned = guard.poison.get();
        map_result(poisoned, guard)
    }

    /// Blocks until notified or `dur` passes.
    #[track_caller]
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let r = self.inner.wait_for(&mut guard.inner, dur);
        let poisoned = guard.poison.get();
        map_result(poisoned, (guard, r))
    }

    /// Blocks while `condition` holds, at most `dur` in total.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let Some(deadline) = crate::lock::spin::deadline(dur) else {
            return match self.wait_while(guard, condition) {
                Ok(g) => finish(g, WaitTimeoutResult(false)),
                Err(e) => Err(PoisonError::new((e.into_inner(), WaitTimeoutResult(false)))),
            };
        };
        loop {
            if !condition(&mut *guard) {
                return finish(guard, WaitTimeoutResult(false));
            }
            if self
                .inner
                .wait_until(&mut guard.inner, deadline)
                .timed_out()
            {
                let still = condition(&mut *guard);
                return finish(guard, WaitTimeoutResult(still));
            }
        }
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

fn finish<T: ?Sized>(
    guard: MutexGuard<'_, T>,
    r: WaitTimeoutResult,
) -> LockResult<(MutexGuard<'_, T>, WaitTimeoutResult)> {
    let poisoned = guard.poison.get();
    map_result(poisoned, (guard, r))
}
