//! What each task holds of the async locks, for the lock-order checks.
//!
//! A thread's held list is its own; a task moves between threads and its guards may be
//! dropped by other tasks, so its holds sit in a shared table instead: buckets chosen by the
//! task's number, each a few entries claimed by compare-exchange and tagged with the task that
//! claimed them. Only the owning task writes an entry (it runs on one thread at a time);
//! whoever drops the guard frees it, by its index, which the guard (for a mutex, the mutex)
//! keeps. A task reads only the entries tagged with its own id, so tasks sharing a bucket
//! never see each other's holds.
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

/// A bucket's task tags, on one cache line: the task that holds each entry (0: free). A
/// push reads the line once to learn both a free entry and whether the task holds others.
#[repr(align(64))]
struct Tags([AtomicU64; ENTRIES]);

/// What an entry lists, beside its tag.
struct Entry {
    lock: AtomicU64,
    class_mode: AtomicU64,
    site: AtomicUsize,
}

/// Zero until used (64 KiB and 192 KiB of `.bss`), and no lazy initialisation on the lock
/// path.
static TAGS: [Tags; BUCKETS] = [const { Tags([const { AtomicU64::new(0) }; ENTRIES]) }; BUCKETS];
static ENTRY: [Entry; BUCKETS * ENTRIES] = [const {
    Entry {
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

/// The bucket of `task`: task numbers count up, so consecutive tasks land in consecutive
/// buckets.
fn bucket(task: u64) -> usize {
    (task as usize) % BUCKETS
}

/// The tag of entry `at` (a bucket's entries are numbered after the buckets before it).
fn tag(at: usize) -> &'static AtomicU64 {
    &TAGS[at / ENTRIES].0[at % ENTRIES]
}

/// Lists a hold of `lock` by `task`: returns its entry ([`NO_ENTRY`] when the bucket is full)
/// and whether the task holds others listed there.
#[inline]
pub(crate) fn push(task: u64, lock: u64, cm: u64, site: &'static Location<'static>) -> (u32, bool) {
    let b = bucket(task);
    let tags = &TAGS[b].0;
    // One read of the tag line: the task's other holds and the first free entry. An empty
    // bucket, the usual case, is told by one test.
    let owners: [u64; ENTRIES] = std::array::from_fn(|i| tags[i].load(Relaxed));
    let (free, others) = if owners.iter().fold(0, |all, &o| all | o) == 0 {
        (0, false)
    } else {
        (
            owners.iter().position(|&o| o == 0).unwrap_or(ENTRIES),
            owners.contains(&task),
        )
    };
    let claimed = (free < ENTRIES
        && tags[free]
            .compare_exchange(0, task, Acquire, Relaxed)
            .is_ok())
    .then_some(free)
    .or_else(|| claim_after_race(tags, task));
    let Some(i) = claimed else {
        UNLISTED.fetch_add(1, Relaxed);
        return (NO_ENTRY, others);
    };
    let at = b * ENTRIES + i;
    let e = &ENTRY[at];
    e.lock.store(lock, Relaxed);
    e.class_mode.store(cm, Relaxed);
    e.site.store(std::ptr::from_ref(site) as usize, Release);
    (at as u32, others)
}

/// A free entry of the bucket when the one the first read found was taken meanwhile by a task
/// sharing the bucket (or there was none): any entry free now.
#[cold]
fn claim_after_race(tags: &[AtomicU64; ENTRIES], task: u64) -> Option<usize> {
    tags.iter()
        .position(|t| t.load(Relaxed) == 0 && t.compare_exchange(0, task, Acquire, Relaxed).is_ok())
}

/// Frees entry `at` (listed by `task` for `lock`), from any thread. Only the guard that
/// listed an entry frees it, and nobody else writes a taken entry, so a store does.
#[inline]
pub(crate) fn pop(task: u64, lock: u64, at: u32) {
    let Some(e) = ENTRY.get(at as usize) else {
        return;
    };
    let t = tag(at as usize);
    if e.lock.load(Relaxed) == lock && t.load(Relaxed) == task {
        t.store(0, Release);
    }
}

/// The other holds of `task` (every entry it listed but `except`), as the order check reads
/// them; called by the task itself.
pub(crate) fn others(task: u64, except: u32, mut f: impl FnMut(Held)) {
    let b = bucket(task);
    for (i, t) in TAGS[b].0.iter().enumerate() {
        let at = b * ENTRIES + i;
        if at as u32 == except || t.load(Acquire) != task {
            continue;
        }
        let e = &ENTRY[at];
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
        let start = bucket(a) * ENTRIES;
        let ea = (ENTRY[start..start + ENTRIES]
            .iter()
            .position(|e| e.lock.load(Relaxed) == 100))
        .unwrap()
            + start;
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
    fn a_push_takes_the_first_free_entry_and_a_lost_race_takes_the_next() {
        // Tasks 9, 9 + BUCKETS and 9 + 2 * BUCKETS share a bucket.
        let (a, b, c) = (9, 9 + BUCKETS as u64, 9 + 2 * BUCKETS as u64);
        let cm = crate::actor::class_mode(4, crate::format::Mode::Exclusive);
        let start = (bucket(a) * ENTRIES) as u32;
        let ea = push(a, 300, cm, here());
        let eb = push(b, 301, cm, here());
        assert_eq!((ea, eb), ((start, false), (start + 1, false)));
        pop(a, 300, ea.0);
        // Entry 0 is free again and comes first, though entry 1 is taken.
        let ec = push(c, 302, cm, here());
        assert_eq!(ec, (start, false));
        // As after a lost compare-exchange: the claim goes to the next entry free now.
        let tags = &TAGS[bucket(a)].0;
        assert_eq!(claim_after_race(tags, a), Some(2));
        assert_eq!(tag(start as usize + 2).load(Relaxed), a);
        tags[2].store(0, Relaxed);
        pop(b, 301, eb.0);
        pop(c, 302, ec.0);
        assert!(tags.iter().all(|t| t.load(Relaxed) == 0));
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
