#![doc = include_str!("../../README.md")]
#![deny(missing_docs)]

/// `Deref` (and with `mut`, `DerefMut`), `Debug` and `Display` for a guard that reaches its `T`
/// through `self.inner`.
macro_rules! guard_impls {
    ($guard:ident, mut) => {
        crate::guard_impls!($guard);
        impl<T: ?Sized> std::ops::DerefMut for $guard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    ($guard:ident) => {
        impl<T: ?Sized> std::ops::Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.inner
            }
        }
        impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }
        impl<T: ?Sized + std::fmt::Display> std::fmt::Display for $guard<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    };
}
pub(crate) use guard_impls;

mod actor;
mod class;
mod clock;
mod config;
mod detect;
mod dump;
pub mod format;
mod lock;
mod meta;
mod raw;
mod recorder;
mod span;
mod stats;
pub mod stdsync;

pub use config::{
    DEFAULT_HOLD_SAMPLE, hold_sample_period, is_enabled, set_enabled, set_hold_sample_period,
};
pub use detect::{
    DEADLOCK_EXIT_CODE, DeadlockReport, LockOrderReport, LockRef, OrderEdge, Participant, Policy,
    lock_order_reports, on_deadlock, set_deadlock_policy, set_lock_order_checks,
    suppress_lock_order,
};
pub use dump::{ActorDump, Dump, HeldLock, dump};
pub use lock::{
    Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore,
    SemaphorePermit, WaitTimeoutResult,
};
pub use recorder::{RecordError, Recorder, Recording, flush};
pub use stats::{ClassStats, LockStats};

/// Figures for every lock class used so far (creation site or name), most waited-on first.
///
/// ```
/// let m = lockscope::Mutex::named("class-stats-doc", 0);
/// *m.lock() += 1;
/// let all = lockscope::class_stats();
/// let row = all.iter().find(|c| c.name == "class-stats-doc").unwrap();
/// assert_eq!(row.instances, 1);
/// ```
pub fn class_stats() -> Vec<ClassStats> {
    let period = hold_sample_period();
    let mut v: Vec<ClassStats> = class::all().iter().map(|c| c.stats(period)).collect();
    v.sort_by(|a, b| {
        b.wait_ns
            .total
            .cmp(&a.wait_ns.total)
            .then_with(|| a.name.cmp(&b.name))
    });
    v
}
