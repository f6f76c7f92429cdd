//! The actor slots across a fork: the registry's and the names' locks held by the fork hooks,
//! and the parent's other threads' slots set aside in the child.

use super::thread::{CURRENT, FOREIGN, REGISTRY, RETIRED};
use crate::raw::ForkLock;
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;

/// For the fork hooks, with [`REGISTRY`] already write-locked by them: takes every actor's
/// name lock, giving up at `until` (then none is left taken).
pub(crate) fn fork_acquire_names(until: std::time::Instant) -> bool {
    // SAFETY: the fork hooks hold the registry's write lock (taken just before this call and
    // kept until `fork_release_names`), so nothing changes `all` while it is read here.
    let all = unsafe { &(*REGISTRY.data_ptr()).all };
    for (i, a) in all.iter().enumerate() {
        if !a.name.acquire(until) {
            // SAFETY: the first `i` name locks were taken just above and not released.
            all[..i].iter().for_each(|a| unsafe { a.name.release() });
            return false;
        }
    }
    true
}

/// In a forked child, with the registry still write-locked by the fork hooks: every slot but
/// the calling thread's belonged to a thread that does not exist here, and may have been left
/// half-way through a write to its buffer. They are never reused.
///
/// # Safety
/// The fork hooks hold the registry's write lock.
pub(crate) unsafe fn orphan_others_after_fork() {
    let me = CURRENT.try_with(Cell::get).ok().flatten();
    // SAFETY: the registry is write-locked by the hooks (the caller's promise).
    let all = unsafe { &(*REGISTRY.data_ptr()).all };
    for a in all {
        if !me.is_some_and(|m| std::ptr::eq(m, *a)) {
            a.orphaned.store(true, Relaxed);
        }
    }
}

/// Lets go of the name locks [`fork_acquire_names`] took: released in the parent, made new in
/// the child (`in_child`).
///
/// # Safety
/// `fork_acquire_names` returned `true` and the registry's write lock is still held; `in_child`
/// only in the forked child.
pub(crate) unsafe fn fork_release_names(in_child: bool) {
    // SAFETY: the registry is still write-locked by the hooks (the caller's promise).
    let all = unsafe { &(*REGISTRY.data_ptr()).all };
    for a in all {
        // SAFETY: every name lock was taken by `fork_acquire_names` (the caller's promise).
        unsafe {
            if in_child {
                a.name.reset_in_child();
            } else {
                a.name.release();
            }
        }
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(crate) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 3] {
    [&FOREIGN, &REGISTRY, &RETIRED]
}
