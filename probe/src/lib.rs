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
mod sampler;
mod span;
mod stats;
pub mod stdsync;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tracing")]
pub mod tracing;

pub use config::{
    DEFAULT_HOLD_SAMPLE, hold_sample_period, is_enabled, set_enabled, set_hold_sample_period,
};
pub use detect::stampede::{DEFAULT_STAMPEDE_MIN, FillGuard, set_stampede_min_actors};
pub use detect::{
    Alert, DEADLOCK_EXIT_CODE, DeadlockReport, LockOrderReport, LockRef, OrderEdge, Participant,
    Policy, lock_order_reports, on_alert, on_deadlock, set_deadlock_policy, set_lock_order_checks,
    suppress_lock_order,
};
pub use dump::{ActorDump, Dump, HeldLock, dump};
pub use lock::pool::{
    DEFAULT_POOL_STARVED_MS, POOL_WINDOW_MS, set_pool_leak_threshold, set_pool_starved_threshold,
};
pub use lock::{
    Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore,
    SemaphorePermit, WaitTimeoutResult,
};
pub use recorder::{LiveViewer, RecordError, Recorder, Recording, flush};
pub use sampler::{DEFAULT_SAMPLE_HZ, set_sample_hz};
#[doc(hidden)]
pub use sampler::{
    Tracker as SamplerTracker, bench_full_read as sampler_bench_full_read,
    bench_round as sampler_bench_round,
};
pub use stats::{ClassStats, LockStats};

/// Marks the caller as filling cache key `key` (any `K: Hash`) until the guard drops, for the
/// stampede detector: several actors refilling one warm key at once, or a herd waiting for a
/// lock held through a refill, is reported as a `stampede` alert (rules and defaults in the
/// README). The key is named by its hash; [`cache_fill_debug`] names it by its `Debug` text.
///
/// ```
/// let key = ("user", 42);
/// let value = {
///     let _fill = lockscope::cache_fill(&key);
///     "loaded from the database"
/// };
/// # let _ = value;
/// ```
#[track_caller]
pub fn cache_fill<K: std::hash::Hash + ?Sized>(key: &K) -> FillGuard {
    detect::stampede::begin(key, None, std::panic::Location::caller())
}

/// [`cache_fill`] for a key whose `Debug` text names it in alerts and the viewer.
#[track_caller]
pub fn cache_fill_debug<K: std::hash::Hash + std::fmt::Debug + ?Sized>(key: &K) -> FillGuard {
    detect::stampede::begin(
        key,
        Some(format!("{key:?}")),
        std::panic::Location::caller(),
    )
}

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
