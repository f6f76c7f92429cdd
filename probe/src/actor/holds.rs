//! Hold tables: the current holds of one async lock, readable by the detector.
//!
//! An async guard may be released by another task on another thread, so its hold cannot sit
//! in a thread's held list. It sits in its lock's table instead (a few atomic slots claimed by
//! compare-exchange; a mutex has one), and the guard (for a mutex, the mutex) keeps its slot,
//! so whoever drops the guard, wherever, releases the right hold. Tables are reused, never
//! freed.

use super::held::{Held, decode_class_mode};
use crate::raw;
use parking_lot::{Mutex, RwLock};
use std::panic::Location;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed};
use std::sync::atomic::{AtomicU64, AtomicUsize, fence};

/// Release ordering, for the slots' sequence-lock protocol.
const PUBLISH: Ordering = Ordering::Release;

/// A hold in a hold table; `actor` is 0 when free and `CLAIMING` while being written.
#[derive(Default)]
struct HoldSlot {
    actor: AtomicU64,
    class_mode: AtomicU64,
    site: AtomicUsize,
    since_ns: AtomicU64,
}

const CLAIMING: u64 = u64::MAX;
/// The guard's slot when the hold table was full (the hold is counted, not listed).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// The current holds of one async lock, readable by the detector.
pub(crate) struct HoldTable {
    /// The lock's id; 0 while the table is free.
    pub(super) lock: AtomicU64,
    slots: Box<[HoldSlot]>,
    /// Holds not listed because every slot was taken.
    pub(super) unlisted: AtomicU64,
}

/// Every hold table ever made (tables are reused, never freed).
pub(super) static TABLES: RwLock<Vec<&'static HoldTable>> = RwLock::new(Vec::new());
/// Free tables by width (1 slot, or `WIDE` slots).
static FREE: Mutex<(Vec<&'static HoldTable>, Vec<&'static HoldTable>)> =
    Mutex::new((Vec::new(), Vec::new()));
/// Holders listed per shared lock or semaphore; more are counted but not listed.
pub(crate) const WIDE: usize = 32;

pub(crate) fn table_for(lock: u64, width: usize) -> &'static HoldTable {
    let reused = {
        let mut free = FREE.lock();
        if width == 1 {
            free.0.pop()
        } else {
            free.1.pop()
        }
    };
    let t = reused.unwrap_or_else(|| {
        let t: &'static HoldTable = Box::leak(Box::new(HoldTable {
            lock: AtomicU64::new(0),
            slots: (0..width).map(|_| HoldSlot::default()).collect(),
            unlisted: AtomicU64::new(0),
        }));
        TABLES.write().push(t);
        t
    });
    t.lock.store(lock, PUBLISH);
    t
}

impl HoldTable {
    /// Lists a hold; returns its slot, or `NO_SLOT` when every slot is taken.
    #[inline]
    pub(crate) fn claim(
        &self,
        actor: u64,
        cm: u64,
        site: &'static Location<'static>,
        since_ns: u64,
    ) -> u32 {
        if let [s] = &self.slots[..] {
            // A mutex's single slot is free whenever the mutex is ours: the last holder's
            // release happened before our acquisition.
            s.actor.store(CLAIMING, Relaxed);
            // As a sequence lock's writer: the mark is visible before any field changes.
            fence(PUBLISH);
            s.class_mode.store(cm, Relaxed);
            s.site
                .store(site as *const Location<'static> as usize, Relaxed);
            s.since_ns.store(since_ns, Relaxed);
            s.actor.store(actor, PUBLISH);
            return 0;
        }
        self.claim_shared(actor, cm, site, since_ns)
    }

    fn claim_shared(
        &self,
        actor: u64,
        cm: u64,
        site: &'static Location<'static>,
        since_ns: u64,
    ) -> u32 {
        for (i, s) in self.slots.iter().enumerate() {
            let free = s.actor.load(Relaxed) == 0
                && s.actor
                    .compare_exchange(0, CLAIMING, Acquire, Relaxed)
                    .is_ok();
            if free {
                fence(PUBLISH);
                s.class_mode.store(cm, Relaxed);
                s.site
                    .store(site as *const Location<'static> as usize, Relaxed);
                s.since_ns.store(since_ns, Relaxed);
                s.actor.store(actor, PUBLISH);
                return i as u32;
            }
        }
        self.unlisted.fetch_add(1, Relaxed);
        NO_SLOT
    }

    pub(crate) fn release(&self, slot: u32) {
        match self.slots.get(slot as usize) {
            Some(s) => s.actor.store(0, PUBLISH),
            None => {
                self.unlisted.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Calls `f(actor, held)` for every listed hold.
    pub(crate) fn read(&self, mut f: impl FnMut(u64, Held)) {
        let lock = self.lock.load(Acquire);
        if lock == 0 {
            return;
        }
        for s in self.slots.iter() {
            let a = s.actor.load(Acquire);
            if a == 0 || a == CLAIMING {
                continue;
            }
            let cm = s.class_mode.load(Relaxed);
            let site = s.site.load(Relaxed);
            let since = s.since_ns.load(Relaxed);
            // As a sequence lock's reader: the fields were read before the check.
            fence(Acquire);
            if s.actor.load(Relaxed) != a || site == 0 {
                continue;
            }
            let (class, mode) = decode_class_mode(cm);
            f(
                a,
                Held {
                    lock,
                    class,
                    mode,
                    site: raw::location_from_addr(site),
                    since_ns: since,
                    timed: false,
                    movable: true,
                    upgradable: false,
                },
            );
        }
    }
}

impl HoldTable {
    /// Frees this table for reuse (its lock is gone).
    pub(crate) fn retire(&'static self) {
        self.lock.store(0, PUBLISH);
        for s in self.slots.iter() {
            s.actor.store(0, Relaxed);
        }
        self.unlisted.store(0, Relaxed);
        let mut free = FREE.lock();
        if self.slots.len() == 1 {
            free.0.push(self);
        } else {
            free.1.push(self);
        }
    }
}

/// Calls `f` with the actor of every listed async hold of `lock`.
pub(crate) fn holders_of(lock: u64, mut f: impl FnMut(u64, &'static Location<'static>)) {
    for t in TABLES.read().iter() {
        if t.lock.load(Relaxed) == lock {
            t.read(|a, h| f(a, h.site));
        }
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 2] {
    [&TABLES, &FREE]
}
