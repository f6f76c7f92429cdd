//! What each task holds of the async locks, for the lock-order checks.
//!
//! A thread's held list is its own; a task moves between threads and its guards may be
//! dropped by other tasks, so its holds sit in a shared table instead: buckets chosen by the
//! task's number, each a few entries claimed by compare-exchange and tagged with the task that
//! claimed them. Only the owning task writes an entry (it runs on one thread at a time);
//! whoever drops the guard frees it, by its index, which the guard carries. A task reads only
//! the entries tagged with its own id, so tasks sharing a bucket never see each other's holds.
//! A full bucket lists nothing more (the hold is counted in [`unlisted`] and adds no order
//! edges), and nothing here blocks.

use super::held::{Held, decode_class_mode};
use crate::raw;
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// Buckets (by task number) and entries per bucket.
const BUCKETS: usize = 1024;
const ENTRIES: usize = 8;
/// A guard's entry when it has none.
pub(crate) const NO_ENTRY: u32 = u32::MAX;

struct Entry {
    /// The task that holds it (0: free).
    task: AtomicU64,
    lock: AtomicU64,
    class_mode: AtomicU64,
    site: AtomicUsize,
}

/// Zero until used (256 KiB of `.bss`), and no lazy initialisation on the lock path.
static TABLE: [Entry; BUCKETS * ENTRIES] = [const {
    Entry {
        task: AtomicU64::new(0),
        lock: AtomicU64::new(0),
        class_mode: AtomicU64::new(0),
        site: AtomicUsize::new(0),
    }
}; BUCKETS * ENTRIES];
/// Holds not listed because their task's bucket was full.
static UNLISTED: AtomicU64 = AtomicU64::new(0);

/// Holds of tasks that could not be listed (their bucket was full).
pub(crate) fn unlisted() -> u64 {
    UNLISTED.load(Relaxed)
}

fn bucket(task: u64) -> std::ops::Range<usize> {
    // Task numbers count up: consecutive tasks land in consecutive buckets.
    let b = (task as usize) % BUCKETS;
    b * ENTRIES..(b + 1) * ENTRIES
}

/// Lists a hold of `lock` by `task`, in one pass over its bucket: returns its entry
/// ([`NO_ENTRY`] when the bucket is full) and whether the task holds others listed there.
#[inline]
pub(crate) fn push(task: u64, lock: u64, cm: u64, site: &'static Location<'static>) -> (u32, bool) {
    let mut entry = NO_ENTRY;
    let mut others = false;
    for i in bucket(task) {
        let e = &TABLE[i];
        let owner = e.task.load(Relaxed);
        if owner == task {
            others = true;
        } else if owner == 0
            && entry == NO_ENTRY
            && e.task.compare_exchange(0, task, Acquire, Relaxed).is_ok()
        {
            e.lock.store(lock, Relaxed);
            e.class_mode.store(cm, Relaxed);
            e.site.store(std::ptr::from_ref(site) as usize, Release);
            entry = i as u32;
        }
    }
    if entry == NO_ENTRY {
        UNLISTED.fetch_add(1, Relaxed);
    }
    (entry, others)
}

/// Frees entry `at` (listed by `task` for `lock`), from any thread. Only the guard that
/// listed an entry frees it, and nobody else writes a taken entry, so a store does.
#[inline]
pub(crate) fn pop(task: u64, lock: u64, at: u32) {
    let Some(e) = TABLE.get(at as usize) else {
        return;
    };
    if e.lock.load(Relaxed) == lock && e.task.load(Relaxed) == task {
        e.task.store(0, Release);
    }
}

/// The other holds of `task` (every entry it listed but `except`), as the order check reads
/// them; called by the task itself.
pub(crate) fn others(task: u64, except: u32, mut f: impl FnMut(Held)) {
    for i in bucket(task) {
        let e = &TABLE[i];
        if i as u32 == except || e.task.load(Acquire) != task {
            continue;
        }
        let site = e.site.load(Acquire);
        let (class, mode) = decode_class_mode(e.class_mode.load(Relaxed));
        if site == 0 || class == 0 {
            continue;
        }
        f(Held {
            lock: e.lock.load(Relaxed),
            class,
            mode,
            site: raw::location_from_addr(site),
            since_ns: 0,
            timed: false,
            movable: true,
            upgradable: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn a_task_sees_only_its_own_holds_and_a_freed_entry_is_reused() {
        // Tasks 5 and 5 + BUCKETS share a bucket.
        let (a, b) = (5, 5 + BUCKETS as u64);
        let cm = |class: u32| crate::actor::class_mode(class, crate::format::Mode::Exclusive);
        let held = |t: u64, except: u32| {
            let mut seen = Vec::new();
            others(t, except, |h| seen.push((h.lock, h.class)));
            seen
        };
        assert!(!push(a, 100, cm(7), here()).1, "a held nothing");
        let (eb, b_others) = push(b, 200, cm(8), here());
        assert!(!b_others, "a's hold is not b's");
        let (ea2, a_others) = push(a, 101, cm(9), here());
        assert!(a_others);
        assert_eq!(held(a, ea2), [(100, 7)], "b's hold is not a's");
        let ea = (TABLE[bucket(a)]
            .iter()
            .position(|e| e.lock.load(Relaxed) == 100))
        .unwrap()
            + bucket(a).start;
        pop(a, 100, ea as u32);
        assert_eq!(held(a, ea2), [], "freed by whoever dropped the guard");
        // A stale free (the entry was reused for another lock) changes nothing.
        let (again, _) = push(a, 102, cm(7), here());
        pop(a, 100, again);
        assert_eq!(held(a, ea2), [(102, 7)]);
        for (t, l, e) in [(a, 101, ea2), (a, 102, again), (b, 200, eb)] {
            pop(t, l, e);
        }
    }

    #[test]
    fn a_full_bucket_lists_nothing_more_and_counts_it() {
        let task = 77;
        let cm = crate::actor::class_mode(3, crate::format::Mode::Exclusive);
        let entries: Vec<u32> = (0..ENTRIES as u64)
            .map(|l| push(task, 1000 + l, cm, here()).0)
            .collect();
        assert!(entries.iter().all(|&e| e != NO_ENTRY));
        let before = unlisted();
        assert_eq!(push(task, 2000, cm, here()), (NO_ENTRY, true));
        assert_eq!(unlisted(), before + 1);
        for (l, e) in entries.into_iter().enumerate() {
            pop(task, 1000 + l as u64, e);
        }
    }
}
