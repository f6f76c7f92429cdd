//! `Condvar`: parking_lot's raw condition variable over the mutex's raw layer, recording each
//! wait.

use super::exclusive::Exclusive;
use super::mutex::MutexGuard;
use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token};
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// Whether a timed condvar wait returned because its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(pub(crate) bool);

impl WaitTimeoutResult {
    /// True if the wait ended because the timeout elapsed.
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// A condition variable for [`crate::Mutex`] that records how long each waiter waited.
///
/// While a thread waits, the mutex counts as released (it is not a holder in the wait-for
/// graph); waking re-acquires it and is recorded as an acquisition of the mutex. Like
/// parking_lot's, it has no spurious wake-ups but waiters must still re-check their condition.
/// Cost: a wait reads the clock twice and is recorded like a contended acquisition; a
/// notification costs what parking_lot's does.
///
/// ```
/// use std::sync::Arc;
/// let pair = Arc::new((lockscope::Mutex::new(false), lockscope::Condvar::new()));
/// let p = pair.clone();
/// let t = std::thread::spawn(move || {
///     *p.0.lock() = true;
///     p.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     pair.1.wait(&mut ready);
/// }
/// t.join().unwrap();
/// ```
pub struct Condvar {
    meta: LockMeta,
    raw: parking_lot::RawCondvar,
}

impl Condvar {
    /// A new condition variable whose class is the caller's location.
    #[track_caller]
    pub const fn new() -> Self {
        Condvar {
            meta: LockMeta::new(LockKind::Condvar, Location::caller(), 1),
            raw: <parking_lot::RawCondvar as lock_api::RawCondvar>::INIT,
        }
    }

    /// A new condition variable in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>) -> Self {
        Condvar {
            meta: LockMeta::named(LockKind::Condvar, Location::caller(), 1, name.as_ref()),
            raw: <parking_lot::RawCondvar as lock_api::RawCondvar>::INIT,
        }
    }

    /// Releases the mutex, waits for a notification, re-acquires the mutex.
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        let site = Location::caller();
        self.recorded(guard, site, None);
    }

    /// Like [`Condvar::wait`] but gives up after `timeout`.
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let site = Location::caller();
        match super::spin::deadline(timeout) {
            Some(d) => self.wait_until_at(guard, d, site),
            None => WaitTimeoutResult(self.recorded(guard, site, None)),
        }
    }

    /// Like [`Condvar::wait`] but gives up at `deadline`.
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait_until_at(guard, deadline, Location::caller())
    }

    fn wait_until_at<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(self.recorded(guard, site, Some(deadline)))
    }

    /// Waits while `condition` holds.
    #[track_caller]
    pub fn wait_while<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) {
        self.wait_while_at(guard, condition, None, Location::caller());
    }

    /// Waits while `condition` holds, giving up at `deadline`: the result tells whether it gave
    /// up (and `condition` may still hold then). `condition` is checked first, so a condition
    /// already false returns at once, not timed out.
    #[track_caller]
    pub fn wait_while_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        self.wait_while_at(guard, condition, Some(deadline), Location::caller())
    }

    /// Waits while `condition` holds, giving up after `timeout` (a timeout too large to
    /// represent waits as long as it takes).
    #[track_caller]
    pub fn wait_while_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        let deadline = super::spin::deadline(timeout);
        self.wait_while_at(guard, condition, deadline, Location::caller())
    }

    fn wait_while_at<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        condition: impl FnMut(&mut T) -> bool,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> WaitTimeoutResult {
        wait_while_with(guard, condition, |g| self.recorded(g, site, deadline))
    }

    /// Wakes one waiter; returns whether one was woken.
    pub fn notify_one(&self) -> bool {
        lock_api::RawCondvar::notify_one(&self.raw)
    }

    /// Wakes every waiter; returns how many were woken.
    pub fn notify_all(&self) -> usize {
        lock_api::RawCondvar::notify_all(&self.raw)
    }

    /// This condvar's figures: `acquisitions` counts waits.
    pub fn stats(&self) -> LockStats {
        self.meta.stats()
    }

    /// Runs one wait (until `deadline`, if given) with the mutex's hold closed before and
    /// re-opened after, and the wait itself recorded against the condvar. Returns whether it
    /// timed out.
    fn recorded<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        self.wait_core(&guard.mutex.core, &mut guard.tok, site, deadline)
    }

    /// [`Condvar::recorded`] on a mutex's core and the token of its hold, which is closed
    /// before the wait and is the new hold after it (the lock_api condvar's path too).
    pub(crate) fn wait_core(
        &self,
        core: &Exclusive,
        hold: &mut Token,
        site: &'static Location<'static>,
        deadline: Option<Instant>,
    ) -> bool {
        if hold.lock == 0 {
            // Taken while recording was off: nothing to keep up to date.
            // SAFETY: the caller's guard holds the mutex, and `&mut` keeps its value untouched
            // meanwhile.
            return unsafe { core.wait_on(&self.raw, deadline) };
        }
        // The guard gives up its hold before the wait whether or not recording is on now, so
        // the held list never claims the mutex while another thread has it.
        let mutex_site = hold.site;
        let tok = std::mem::replace(hold, Token::untracked(mutex_site));
        core.meta.released(&tok, Mode::Exclusive);
        if !crate::settings::enabled() {
            // SAFETY: as above; the hold's bookkeeping is closed.
            return unsafe { core.wait_on(&self.raw, deadline) };
        }
        self.meta.count_wait();
        let w = self.meta.begin_wait(Mode::Condvar, site, false);
        // SAFETY: as above.
        let timed_out = unsafe { core.wait_on(&self.raw, deadline) };
        self.meta.end_wait(&w, !timed_out);
        *hold = core.meta.acquired(Mode::Exclusive, mutex_site, true);
        timed_out
    }
}

/// The `wait_while` loop of both condvars (this one and the drop-in's, over lock_api's guard):
/// checks `condition` first, and waits (`wait`: one wait, `true` if it timed out) while it holds
/// and no wait has timed out.
pub(crate) fn wait_while_with<G: std::ops::DerefMut<Target = T>, T: ?Sized>(
    guard: &mut G,
    mut condition: impl FnMut(&mut T) -> bool,
    mut wait: impl FnMut(&mut G) -> bool,
) -> WaitTimeoutResult {
    let mut timed_out = false;
    while !timed_out && condition(&mut **guard) {
        timed_out = wait(guard);
    }
    WaitTimeoutResult(timed_out)
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
