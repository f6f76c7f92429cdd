//! Every runtime setting, as plain atomics: the leaf every other layer reads.
//!
//! Setters here only store (and, for the sampler's rate, wake whoever registered to hear it);
//! they never start threads or read the environment. `boot` reads the `LOCKSCOPE_*` variables
//! once and calls these same setters, so code and environment set one value each.

use std::sync::OnceLock;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::thread::Thread;
use std::time::Duration;

// ----- recording -----

/// Recording on ([`ON`]) and chaos mode on ([`CHAOS`]), in one byte: a lock's fast path reads
/// both with the one load it makes.
static STATE: AtomicU8 = AtomicU8::new(ON);
/// [`state`] bit: recording is on.
pub(crate) const ON: u8 = 1;
/// [`state`] bit: chaos mode is on (see `crate::chaos`).
pub(crate) const CHAOS: u8 = 2;
/// [`state`] bit: causal experiments run (see `crate::causal`).
pub(crate) const CAUSAL: u8 = 4;
static SAMPLE_MASK: AtomicU64 = AtomicU64::new(DEFAULT_HOLD_SAMPLE - 1);

/// Default hold-time sampling period: one uncontended acquisition in 64 is timed.
pub const DEFAULT_HOLD_SAMPLE: u64 = 64;

/// Is recording on? One relaxed load: this is what the fast path checks first.
#[inline]
pub(crate) fn enabled() -> bool {
    STATE.load(Relaxed) & ON != 0
}

/// Recording and chaos mode at once ([`ON`], [`CHAOS`]): one relaxed load.
#[inline(always)]
pub(crate) fn state() -> u8 {
    STATE.load(Relaxed)
}

/// The hold-time sampling mask (period - 1).
#[inline]
pub(crate) fn sample_mask() -> u64 {
    SAMPLE_MASK.load(Relaxed)
}

/// Switches recording on or off at runtime. Off, every lock is a plain parking_lot lock plus
/// one relaxed load; acquisitions made while off are not counted, and guards taken while off
/// release without bookkeeping even if recording is switched on meanwhile.
pub fn set_enabled(on: bool) {
    if on {
        STATE.fetch_or(ON, Relaxed);
    } else {
        STATE.fetch_and(!ON, Relaxed);
    }
}

// ----- chaos mode -----

/// The chaos seed; 0 while chaos mode is off.
static CHAOS_SEED: AtomicU64 = AtomicU64::new(0);

/// Switches chaos mode on with `seed`, or off with 0 (the seed is stored before the bit is
/// set, so whoever sees the bit finds the seed).
pub(crate) fn set_chaos_seed(seed: u64) {
    if seed == 0 {
        STATE.fetch_and(!CHAOS, Relaxed);
        CHAOS_SEED.store(0, Relaxed);
    } else {
        CHAOS_SEED.store(seed, Relaxed);
        STATE.fetch_or(CHAOS, std::sync::atomic::Ordering::Release);
    }
}

/// The sampling mask in force before causal experiments began (they time every hold).
static MASK_BEFORE_CAUSAL: AtomicU64 = AtomicU64::new(DEFAULT_HOLD_SAMPLE - 1);

/// Switches the causal experiments' bit. On, every hold is timed (their virtual speedups need
/// each hold's length); off, the sampling period in force before comes back.
pub(crate) fn set_causal(on: bool) {
    if on {
        if STATE.fetch_or(CAUSAL, Relaxed) & CAUSAL == 0 {
            MASK_BEFORE_CAUSAL.store(SAMPLE_MASK.swap(0, Relaxed), Relaxed);
        }
    } else if STATE.fetch_and(!CAUSAL, Relaxed) & CAUSAL != 0 {
        SAMPLE_MASK.store(MASK_BEFORE_CAUSAL.load(Relaxed), Relaxed);
    }
}

/// The chaos seed, 0 while chaos mode is off.
#[inline]
pub(crate) fn chaos_seed() -> u64 {
    CHAOS_SEED.load(Relaxed)
}

/// Whether recording is on.
pub fn is_enabled() -> bool {
    enabled()
}

/// The hold-time sampling period: one acquisition in this many (per lock) has its hold timed.
/// Contended acquisitions are always timed as well.
pub fn hold_sample_period() -> u64 {
    sample_mask() + 1
}

/// Sets the hold-time sampling period (rounded up to a power of two, 1 to 65 536). 1 times
/// every hold, at the cost of two clock reads per acquisition. Also `LOCKSCOPE_HOLD_SAMPLE`.
pub fn set_hold_sample_period(period: u64) {
    let p = period.clamp(1, 1 << 16).next_power_of_two();
    SAMPLE_MASK.store(p - 1, Relaxed);
}

// ----- deadlocks and lock order -----

/// What happens when a deadlock is found (`LOCKSCOPE_ON_DEADLOCK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Print the report on stderr and carry on (the deadlocked threads stay blocked).
    Log,
    /// Print the report, then panic in the thread whose wait closed the cycle.
    Panic,
    /// Print the report, flush the trace, and exit the process with status 86.
    Exit,
}

/// The exit status of `LOCKSCOPE_ON_DEADLOCK=exit`.
pub const DEADLOCK_EXIT_CODE: i32 = 86;

/// 0 unset (log unless callbacks are registered), 1 log, 2 panic, 3 exit.
static POLICY: AtomicU8 = AtomicU8::new(0);
static LOCK_ORDER: AtomicBool = AtomicBool::new(true);

/// Sets the deadlock policy in code (same as `LOCKSCOPE_ON_DEADLOCK`).
pub fn set_deadlock_policy(p: Policy) {
    let code = match p {
        Policy::Log => 1,
        Policy::Panic => 2,
        Policy::Exit => 3,
    };
    POLICY.store(code, Relaxed);
}

/// The deadlock policy set in code or by the environment; `None` when neither set one.
pub(crate) fn deadlock_policy() -> Option<Policy> {
    match POLICY.load(Relaxed) {
        1 => Some(Policy::Log),
        2 => Some(Policy::Panic),
        3 => Some(Policy::Exit),
        _ => None,
    }
}

/// Switches the lock-order checks on or off (also `LOCKSCOPE_LOCK_ORDER=off`).
pub fn set_lock_order_checks(on: bool) {
    LOCK_ORDER.store(on, Relaxed);
}

/// Whether lock-order checks run.
#[inline]
pub(crate) fn lock_order_checks() -> bool {
    LOCK_ORDER.load(Relaxed)
}

// ----- pools -----

/// Default for `LOCKSCOPE_POOL_STARVED_MS`: a pool is reported as saturated once callers found
/// it starved (every permit taken and someone waiting) for this long within one window.
pub const DEFAULT_POOL_STARVED_MS: u64 = 100;
/// The window the starved time is summed over.
pub const POOL_WINDOW_MS: u64 = 1_000;

static STARVED_THRESHOLD_NS: AtomicU64 = AtomicU64::new(DEFAULT_POOL_STARVED_MS * 1_000_000);
static LEAK_NS: AtomicU64 = AtomicU64::new(0);

fn nanos(t: Duration) -> u64 {
    u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
}

/// Sets how much starved time within one second makes a `pool_saturation` alert (also
/// `LOCKSCOPE_POOL_STARVED_MS`). Zero switches the alert off.
pub fn set_pool_starved_threshold(t: Duration) {
    STARVED_THRESHOLD_NS.store(nanos(t), Relaxed);
}

/// The starved time per window that makes a `pool_saturation` alert (0: off).
pub(crate) fn pool_starved_threshold_ns() -> u64 {
    STARVED_THRESHOLD_NS.load(Relaxed)
}

/// Default for `LOCKSCOPE_STUCK_MS`: an actor asleep on a condition variable while it holds a
/// lock is reported as `stuck` once another actor has waited this long for that lock.
pub const DEFAULT_STUCK_MS: u64 = 1000;

static STUCK_THRESHOLD_NS: AtomicU64 = AtomicU64::new(DEFAULT_STUCK_MS * 1_000_000);

/// Sets how long an actor must have waited for a lock held by a thread asleep on a condition
/// variable before that is a `stuck` alert (also `LOCKSCOPE_STUCK_MS`). Zero switches it off.
pub fn set_stuck_threshold(t: Duration) {
    STUCK_THRESHOLD_NS.store(nanos(t), Relaxed);
}

/// The wait that makes a `stuck` alert (0: off).
pub(crate) fn stuck_threshold_ns() -> u64 {
    STUCK_THRESHOLD_NS.load(Relaxed)
}

/// Reports permits held longer than `t` as `pool_leak` alerts, with the stack that took them
/// (also `LOCKSCOPE_POOL_LEAK_MS`; zero, the default, switches it off). While on, every
/// semaphore acquisition captures its stack.
pub fn set_pool_leak_threshold(t: Duration) {
    LEAK_NS.store(nanos(t), Relaxed);
}

/// How long a permit may be held before it is reported as leaked (0: leak watching is off).
#[inline]
pub(crate) fn pool_leak_ns() -> u64 {
    LEAK_NS.load(Relaxed)
}

// ----- stampedes -----

/// Default K: distinct actors that make a stampede.
pub const DEFAULT_STAMPEDE_MIN: u64 = 3;
static MIN_ACTORS: AtomicU64 = AtomicU64::new(DEFAULT_STAMPEDE_MIN);

/// Sets K, the number of distinct actors that make a stampede (at least 2; also
/// `LOCKSCOPE_STAMPEDE_MIN`).
pub fn set_stampede_min_actors(k: u64) {
    MIN_ACTORS.store(k.max(2), Relaxed);
}

/// K, the number of distinct actors that make a stampede.
pub(crate) fn stampede_min_actors() -> usize {
    MIN_ACTORS.load(Relaxed) as usize
}

// ----- the context-switch sampler -----

/// Default sampling rate.
pub const DEFAULT_SAMPLE_HZ: u64 = 10;
static SAMPLE_HZ: AtomicU64 = AtomicU64::new(DEFAULT_SAMPLE_HZ);
/// The sampler's thread, told when the rate changes (set once it runs).
static SAMPLE_HZ_LISTENER: OnceLock<Thread> = OnceLock::new();

/// Sets the context-switch sampler's rate (1 to 1000 per second; 0 switches it off). Also
/// `LOCKSCOPE_SAMPLE_HZ`.
pub fn set_sample_hz(hz: u64) {
    SAMPLE_HZ.store(hz.min(1000), Relaxed);
    if let Some(t) = SAMPLE_HZ_LISTENER.get() {
        t.unpark();
    }
}

/// The sampler's rate (0: off).
pub(crate) fn sample_hz() -> u64 {
    SAMPLE_HZ.load(Relaxed)
}

/// Registers the thread to unpark when the sampler's rate changes.
pub(crate) fn listen_sample_hz(t: Thread) {
    let _ = SAMPLE_HZ_LISTENER.set(t);
}
