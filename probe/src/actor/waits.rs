//! The async wait registry: every contended async acquisition from the moment it starts
//! waiting until it acquires or its future is dropped (a parking_lot mutex over a slab; waits
//! are the slow path), and the snapshots that add async holds and waits to the threads'.

use super::held::{Held, Snapshot, WAITING};
use super::holds::TABLES;
use super::task::{UNLISTED, is_task, name_of_task, span_name};
use super::thread::name_of_thread;
use crate::format::{ActorKind, Mode};
use crate::{raw, sink};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

struct AsyncWaitEntry {
    actor: u64,
    held: Held,
    stack: Vec<usize>,
    /// The task's name from its span, when it has one and no given name.
    span_name: Option<String>,
}

#[derive(Default)]
struct Waits {
    slots: Vec<Option<AsyncWaitEntry>>,
    free: Vec<usize>,
}

static WAITS: Mutex<Waits> = Mutex::new(Waits {
    slots: Vec::new(),
    free: Vec::new(),
});

/// Stacks of async waits captured per window while nothing records (a stack walk costs
/// microseconds; under heavy contention most waits go without one).
const STACKS_PER_WINDOW: u64 = 64;
const STACK_WINDOW_NS: u64 = 100_000_000;
static STACK_WINDOW: AtomicU64 = AtomicU64::new(0);
static STACKS_TAKEN: AtomicU64 = AtomicU64::new(0);

/// Whether this wait may walk its stack.
pub(crate) fn stack_budget() -> bool {
    if sink::recording() {
        return true;
    }
    let window = crate::clock::now_ns() / STACK_WINDOW_NS;
    if STACK_WINDOW.swap(window, Relaxed) != window {
        STACKS_TAKEN.store(0, Relaxed);
    }
    STACKS_TAKEN.fetch_add(1, Relaxed) < STACKS_PER_WINDOW
}

pub(crate) fn publish_wait(actor: u64, held: Held, stack: Option<&raw::RawStack>) -> usize {
    let e_is_lock_wait = held.mode != crate::format::Mode::Condvar;
    let e = AsyncWaitEntry {
        actor,
        held,
        stack: stack.map_or_else(Vec::new, |st| st.frames().to_vec()),
        span_name: span_name(actor),
    };
    let key = {
        let mut w = WAITS.lock();
        match w.free.pop() {
            Some(k) => {
                w.slots[k] = Some(e);
                k
            }
            None => {
                w.slots.push(Some(e));
                w.slots.len() - 1
            }
        }
    };
    // Actors waiting for a lock: a condition wait (a `Notify`) is not one.
    if e_is_lock_wait {
        WAITING.fetch_add(1, Relaxed);
    }
    key
}

pub(crate) fn withdraw_wait(key: usize) {
    let mut w = WAITS.lock();
    if let Some(slot) = w.slots.get_mut(key)
        && let Some(e) = slot.take()
    {
        w.free.push(key);
        if e.held.mode != crate::format::Mode::Condvar {
            WAITING.fetch_sub(1, Relaxed);
        }
    }
}

/// The single async wait of `actor` right now; `None` when it has none, or several at once (a
/// task awaiting two locks in `join!`/`select!` is not blocked by either alone).
pub(crate) fn wait_of(actor: u64) -> Option<Held> {
    let w = WAITS.lock();
    let mut it = w.slots.iter().flatten().filter(|e| e.actor == actor);
    let first = it.next()?;
    it.next().is_none().then_some(first.held)
}

/// Adds the async holds and waits to the threads' snapshots: into the thread's own snapshot
/// for a thread, into a new one per task.
pub(crate) fn extend_snapshots(snaps: &mut Vec<Snapshot>) {
    let mut index: HashMap<u64, usize> = snaps.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut entry = |snaps: &mut Vec<Snapshot>, a: u64| -> usize {
        *index.entry(a).or_insert_with(|| {
            snaps.push(Snapshot {
                id: a,
                name: name_of_task(a).unwrap_or_else(|| name_of_thread(a)),
                held: Vec::new(),
                waiting: None,
                wait_stack: Vec::new(),
                kind: if is_task(a) {
                    ActorKind::Task
                } else {
                    ActorKind::Thread
                },
            });
            snaps.len() - 1
        })
    };
    let tables = TABLES.read().clone();
    for t in tables {
        t.read(|a, h| {
            let i = entry(snaps, a);
            snaps[i].held.push(h);
        });
        // Holders beyond the table are unknown: one stand-in that never waits holds for them,
        // so a semaphore whose listed holders all wait is not taken for a deadlock.
        let lock = t.lock.load(Relaxed);
        if lock != 0 && t.unlisted.load(Relaxed) != 0 {
            let i = entry(snaps, UNLISTED);
            snaps[i].held.push(Held {
                lock,
                class: 0,
                mode: Mode::Permits(0),
                site: Location::caller(),
                since_ns: 0,
                timed: false,
                movable: true,
                upgradable: false,
            });
        }
    }
    let mut count: HashMap<u64, usize> = HashMap::new();
    let waits = WAITS.lock();
    for e in waits.slots.iter().flatten() {
        *count.entry(e.actor).or_default() += 1;
    }
    for e in waits.slots.iter().flatten() {
        let i = entry(snaps, e.actor);
        let s = &mut snaps[i];
        if s.waiting.is_some() && !is_task(e.actor) {
            continue; // a thread blocked in a sync wait is not in this one
        }
        if count[&e.actor] > 1 {
            s.waiting = None;
            s.wait_stack.clear();
            continue;
        }
        s.waiting = Some(e.held);
        s.wait_stack = e.stack.clone();
        if let Some(n) = &e.span_name {
            s.name.clone_from(n);
        }
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&WAITS]
}
