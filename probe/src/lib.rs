#![doc = include_str!("../README.md")]
//! # Reading the probe
//!
//! The probe is a stack: read it bottom-up. Each module uses only the modules on its own
//! line or below (`python3 .ci/layers.py` checks it, in CI), and nothing below calls up;
//! where a lower layer must act on an event of a higher one, the higher one registers a hook.
//!
//! ```text
//!  lib.rs       the public surface: re-exports, cache_fill, class_stats
//!  primitives   lock (Mutex, RwLock, Semaphore, Condvar)  lockapi (lock_api's raw locks)
//!               stdsync  tokio  tracing
//!  lock core    lock_core: LockMeta (acquire, release, wait), PoolGauge, Tracked (async holds)
//!  boot         reads LOCKSCOPE_* once, starts the env recording (at the first lock)
//!               fork (the hooks that hold every internal lock across a fork)
//!  detectors    detect (wait-for, lock order, stampede, pool, chaos mode)  causal
//!               (virtual-speedup experiments, progress points)  recorder  sampler  dump
//!               http (the /metrics, pprof and dump endpoint)  profile (pprof windows)
//!               symbols (the one symbolizer)
//!  actors       actor (threads and tasks: held lists, hold tables, waits)  class  stats
//!  sink         every byte bound for the recorder: thread buffers, definitions, alerts,
//!               the recording gate; one reader that keeps definitions before events
//!  settings     every runtime setting, plain atomics
//!  ground       format (the lockscope-format crate)  raw (all unsafe code)  clock  span  diag
//! ```
//!
//! The data flow: a primitive's slow path writes events into its thread's buffer in the
//! sink, and definitions (strings, classes, lock instances) and alerts into the sink's log;
//! the recorder thread is the sink's only reader and writes the file and the live stream from
//! the same chunks. The detectors read the actors' published holds and waits; their alerts
//! are typed values, raised once, that reach the callbacks and the trace.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod raw;
/// The trace format (the lockscope-format crate), re-exported.
pub use lockscope_format as format;
mod clock;
mod diag;
mod span;

mod settings;

mod sink;

mod actor;
mod class;
mod stats;

pub mod causal;
mod detect;
mod dump;
pub mod http;
mod profile;
mod recorder;
mod sampler;
mod symbols;

mod boot;
mod fork;

mod lock_core;

mod lock;
pub mod lockapi;
pub mod stdsync;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tracing")]
pub mod tracing;

pub use causal::progress;
pub use detect::chaos;
pub use detect::stampede::FillGuard;
pub use detect::{
    Alert, DeadlockReport, LockOrderReport, LockRef, OrderEdge, Participant, lock_order_reports,
    on_alert, on_deadlock, suppress_lock_order,
};
pub use dump::{ActorDump, Dump, HeldLock, dump};
pub use lock::{
    ArcMutexGuard, ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard,
    ArcRwLockWriteGuard, Condvar, FairMutex, FairMutexGuard, MappedFairMutexGuard,
    MappedMutexGuard, MappedReentrantMutexGuard, MappedRwLockReadGuard, MappedRwLockWriteGuard,
    Mutex, MutexGuard, Once, OnceState, ReentrantMutex, ReentrantMutexGuard, RwLock,
    RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit,
    WaitTimeoutResult, const_fair_mutex, const_mutex, const_reentrant_mutex, const_rwlock,
};
/// The live server's parser of what a viewer sends, for the fuzz targets.
#[doc(hidden)]
pub use recorder::{ClientFrame as LiveClientFrame, ClientFrames as LiveClientFrames};
pub use recorder::{LiveViewer, RecordError, Recorder, Recording, flush};
#[doc(hidden)]
pub use sampler::{
    Tracker as SamplerTracker, bench_full_read as sampler_bench_full_read,
    bench_round as sampler_bench_round,
};
pub use settings::{
    DEADLOCK_EXIT_CODE, DEFAULT_HOLD_SAMPLE, DEFAULT_POOL_STARVED_MS, DEFAULT_SAMPLE_HZ,
    DEFAULT_STAMPEDE_MIN, DEFAULT_STUCK_MS, POOL_WINDOW_MS, Policy, hold_sample_period, is_enabled,
    set_deadlock_policy, set_enabled, set_hold_sample_period, set_lock_order_checks,
    set_pool_leak_threshold, set_pool_starved_threshold, set_sample_hz, set_stampede_min_actors,
    set_stuck_threshold,
};
pub use stats::{ClassStats, LockStats};

/// Marks the caller as filling cache key `key` until the guard drops, for the stampede
/// detector: several actors refilling one warm key at once, or a herd waiting for a lock held
/// through a refill, is reported as a `stampede` alert (rules and defaults in the README).
/// Alerts and the viewer name the key by its `Debug` text (formatted once per key, not per
/// fill); for a key type without `Debug`, [`cache_fill_hashed`] names it by its hash.
///
/// ```
/// let key = ("user", 42);
/// let value = {
///     let _fill = lockscope::cache_fill(&key); // alerts say `("user", 42)`
///     "loaded from the database"
/// };
/// # let _ = value;
/// ```
#[track_caller]
pub fn cache_fill<K: std::hash::Hash + std::fmt::Debug + ?Sized>(key: &K) -> FillGuard {
    boot::init();
    detect::stampede::begin(key, Some(&key), std::panic::Location::caller())
}

/// [`cache_fill`] for a key type without `Debug`: alerts name the key `key#<hash>`.
#[track_caller]
pub fn cache_fill_hashed<K: std::hash::Hash + ?Sized>(key: &K) -> FillGuard {
    boot::init();
    detect::stampede::begin(key, None, std::panic::Location::caller())
}

/// The same as [`cache_fill`] (which names keys by their `Debug` text too); kept for programs
/// written before it did.
#[track_caller]
pub fn cache_fill_debug<K: std::hash::Hash + std::fmt::Debug + ?Sized>(key: &K) -> FillGuard {
    cache_fill(key)
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
