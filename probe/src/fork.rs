//! Fork safety: `pthread_atfork` hooks that make a child forked at any moment able to take new
//! locks, create threads and exit.
//!
//! Just before a fork the forking thread takes every one of the probe's internal locks
//! (outer ones first; an attempt that cannot get one within [`ATTEMPT`] lets all go and starts
//! again, so a lock order this list gets wrong costs time, never a deadlock), and just after
//! it both processes let them go. The child so inherits no lock held by a thread that does not
//! exist in it, and no table a thread was half-way through changing. Should the locks not all
//! be had within [`BUDGET`] (a fork from inside one of lockscope's own callbacks, which holds
//! one of them), the fork goes ahead and the child switches lockscope off instead of risking a
//! lock nobody can release. Either way the child records nothing (its parent's recorder thread
//! does not exist in it), and the actor slots of the parent's other threads are never reused
//! in it (one may have been half-way through writing its buffer).

use crate::raw::{self, ForkLock};
use crate::{actor, class, detect, profile, recorder, sampler, settings, sink, symbols};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// How long one attempt waits for any one lock.
const ATTEMPT: Duration = Duration::from_millis(50);
/// How long a fork may be held up in all.
const BUDGET: Duration = Duration::from_secs(2);

/// Locks of layers above this one (the tracing layer's span table), registered by them.
static EXTRA: [OnceLock<&'static dyn ForkLock>; 2] = [OnceLock::new(), OnceLock::new()];
/// Whether the last prepare took every lock (then both sides release them).
static TAKEN: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the hooks, once per process (at the first lock).
pub(crate) fn install() {
    INSTALL.call_once(|| raw::register_fork_handlers(prepare, parent, child));
}

/// Adds a lock of a layer above this one to what the hooks hold across a fork.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn guard(lock: &'static dyn ForkLock) {
    for slot in &EXTRA {
        if slot.set(lock).is_ok() {
            return;
        }
    }
    debug_assert!(false, "more fork-guarded locks than EXTRA slots");
}

/// Every internal lock, outer ones first (the order they nest in when one is taken under
/// another).
fn locks() -> Vec<&'static dyn ForkLock> {
    let mut v: Vec<&'static dyn ForkLock> = Vec::with_capacity(32);
    v.extend(EXTRA.iter().filter_map(|s| s.get().copied()));
    v.extend(recorder::fork_locks());
    v.push(sampler::fork_lock());
    v.extend(detect::fork_locks());
    v.extend(crate::causal::fork_locks());
    v.push(symbols::fork_lock());
    v.push(class::fork_lock());
    v.extend(actor::fork_locks());
    v.extend(sink::fork_locks());
    v.push(profile::fork_lock());
    v
}

/// Takes every lock in `all`, or none: `true` when all were taken.
fn take_all(all: &[&'static dyn ForkLock], until: Instant) -> bool {
    for (i, l) in all.iter().enumerate() {
        if !l.acquire(until) {
            // SAFETY: the first `i` were taken just above and not released.
            all[..i].iter().rev().for_each(|l| unsafe { l.release() });
            return false;
        }
    }
    if actor::fork_acquire_names(until) {
        return true;
    }
    // SAFETY: every lock of `all` was taken above and not released.
    all.iter().rev().for_each(|l| unsafe { l.release() });
    false
}

/// Lets go of every lock `prepare` took: released in the parent, made new in the child.
fn release_all(in_child: bool) {
    if !TAKEN.swap(false, Relaxed) {
        return;
    }
    let all = locks();
    // SAFETY: `prepare` took every lock of `all` and every name lock (TAKEN says so), with the
    // registry's write lock among them, and nothing has released them since; `in_child` only
    // from the child hook.
    unsafe { actor::fork_release_names(in_child) };
    for l in all.iter().rev() {
        // SAFETY: as above.
        unsafe {
            if in_child {
                l.reset_in_child();
            } else {
                l.release();
            }
        }
    }
}

extern "C" fn prepare() {
    let _ = std::panic::catch_unwind(|| {
        let all = locks();
        let end = Instant::now() + BUDGET;
        loop {
            let now = Instant::now();
            if take_all(&all, (now + ATTEMPT).min(end)) {
                TAKEN.store(true, Relaxed);
                return;
            }
            if now >= end {
                TAKEN.store(false, Relaxed);
                return;
            }
            std::thread::yield_now();
        }
    });
}

extern "C" fn parent() {
    let _ = std::panic::catch_unwind(|| release_all(false));
}

extern "C" fn child() {
    let _ = std::panic::catch_unwind(|| {
        let complete = TAKEN.load(Relaxed);
        if complete {
            // SAFETY: `prepare` took the registry's write lock (TAKEN says so); it is released
            // just below.
            unsafe { actor::orphan_others_after_fork() };
        }
        release_all(true);
        sink::close_after_fork();
        if !complete {
            settings::set_enabled(false);
        }
    });
}
