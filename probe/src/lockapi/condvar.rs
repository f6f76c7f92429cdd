//! [`Condvar`]: parking_lot 0.12's condition variable API over lock_api guards of lockscope's
//! [`RawMutex`], each wait recorded as [`crate::Condvar`]'s are.

use super::mutex::RawMutex;
use crate::WaitTimeoutResult;
use lock_api04::MutexGuard;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A condition variable for `lock_api::Mutex<RawMutex, T>` (parking_lot 0.12's `Condvar`):
/// the mutex counts as released while a thread waits, and each wait is recorded against the
/// condvar's class (its creation site, or the name given to [`Condvar::named`]).
///
/// ```
/// use std::sync::Arc;
/// use lockscope::lockapi::{RawMutex, lock_api};
/// type Mutex<T> = lock_api::Mutex<RawMutex, T>;
/// let pair = Arc::new((Mutex::new(false), lockscope::lockapi::Condvar::new()));
/// let p = pair.clone();
/// let t = std::thread::spawn(move || {
///     *p.0.lock() = true;
///     p.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// pair.1.wait_while(&mut ready, |ready| !*ready);
/// t.join().unwrap();
/// ```
#[derive(Debug)]
pub struct Condvar(crate::Condvar);

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl Condvar {
    /// A new condition variable whose class is the caller's location.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar(crate::Condvar::new())
    }

    /// A new condition variable in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>) -> Self {
        Condvar(crate::Condvar::named(name))
    }

    /// Wakes one waiter; returns whether one was woken.
    pub fn notify_one(&self) -> bool {
        self.0.notify_one()
    }

    /// Wakes every waiter; returns how many were woken.
    pub fn notify_all(&self) -> usize {
        self.0.notify_all()
    }

    /// Releases the mutex, waits for a notification, re-acquires the mutex.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, RawMutex, T>) {
        self.once(guard, Location::caller(), None);
    }

    /// Like [`Condvar::wait`] but gives up at `timeout`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.once(guard, Location::caller(), Some(timeout)))
    }

    /// Like [`Condvar::wait`] but gives up after `timeout` (an unrepresentable deadline
    /// waits untimed).
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = crate::lock::spin::deadline(timeout);
        WaitTimeoutResult(self.once(guard, Location::caller(), deadline))
    }

    /// Waits while `condition` holds.
    #[track_caller]
    pub fn wait_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) {
        self.while_until(guard, condition, None, Location::caller());
    }

    /// Waits while `condition` holds, giving up at `timeout`.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        condition: impl FnMut(&mut T) -> bool,
        timeout: Instant,
    ) -> WaitTimeoutResult {
        self.while_until(guard, condition, Some(timeout), Location::caller())
    }

    /// Waits while `condition` holds, giving up after `timeout`.
    #[track_caller]
    pub fn wait_while_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        condition: impl FnMut(&mut T) -> bool,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = crate::lock::spin::deadline(timeout);
        self.while_until(guard, condition, deadline, Location::caller())
    }

    fn while_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        condition: impl FnMut(&mut T) -> bool,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        crate::lock::wait_while_with(guard, condition, |g| self.once(g, site, deadline))
    }

    /// One recorded wait; returns whether it timed out.
    fn once<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, RawMutex, T>,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        // SAFETY: the raw mutex is only used to wait, which releases and re-takes the hold the
        // guard has (as parking_lot's condvar does); the guard keeps holding it on return.
        let raw = unsafe { MutexGuard::mutex(guard).raw() };
        let mut hold = raw.take_hold();
        let timed_out = self.0.wait_core(raw.core(), &mut hold, site, deadline);
        raw.put_hold(&hold);
        timed_out
    }
}
