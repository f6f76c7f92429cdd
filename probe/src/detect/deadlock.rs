//! Actual deadlocks: the wait-for graph, analysed when a wait that may close a cycle begins
//! and by the watchdog, confirmed by a second look, then delivered to the trace, the
//! callbacks and the deadlock policy.

use super::alert::{self, Alert};
use super::graph;
use super::report::{ChannelSide, DeadlockReport};
use super::watchdog;
use crate::actor::{self, WAITING};
use crate::format::LockKind;
use crate::settings::{self, DEADLOCK_EXIT_CODE, Policy};
use crate::{clock, recorder};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::fence;

type Callback = Arc<dyn Fn(&DeadlockReport) + Send + Sync>;
static CALLBACKS: RwLock<Vec<Callback>> = RwLock::new(Vec::new());
/// A cycle's identity: (actor, lock, wait start) of each participant, sorted.
type CycleKey = Vec<(u64, u64, u64)>;
static SEEN: Mutex<Option<HashSet<CycleKey>>> = Mutex::new(None);
/// Cycles [`poll`] has returned.
static POLLED: Mutex<Option<HashSet<CycleKey>>> = Mutex::new(None);
/// Locks whose waits can end without any holder releasing anything: the two sides of a
/// channel (a receive makes room for a sender that stays listed as waiting until it runs, and
/// meanwhile the receiver may wait for the next item). A cycle through one is reported only
/// once every wait in it has lasted [`STARVATION_NS`], by the watchdog.
static SETTLING: Mutex<Option<HashMap<u64, ChannelSide>>> = Mutex::new(None);

/// Marks `lock`'s waits as ones a cycle must outlast (see [`SETTLING`]).
#[cfg(feature = "tokio")]
pub(crate) fn settling(lock: u64, side: ChannelSide) {
    SETTLING
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(lock, side);
}

/// `lock` is gone: forgets [`settling`].
#[cfg(feature = "tokio")]
pub(crate) fn forget_settling(lock: u64) {
    if let Some(s) = SETTLING.lock().as_mut() {
        s.remove(&lock);
    }
}

/// Every lock marked with [`settling`] (the channels' sides).
pub(crate) fn settling_locks() -> HashMap<u64, ChannelSide> {
    SETTLING.lock().clone().unwrap_or_default()
}

fn through_settling(snaps: &[actor::Snapshot], cycle: &[usize]) -> bool {
    let set = SETTLING.lock();
    let Some(set) = set.as_ref() else {
        return false;
    };
    cycle.iter().any(|&i| {
        snaps[i]
            .waiting
            .as_ref()
            .is_some_and(|w| set.contains_key(&w.lock))
    })
}

/// Calls `f` with every deadlock report, from the thread that found it (the thread whose wait
/// closed the cycle, or the `lockscope-watchdog` thread). Keeps reporting after the first one;
/// each distinct cycle is reported once. With a callback registered and no
/// `LOCKSCOPE_ON_DEADLOCK`, reports are not also printed.
///
/// The callback runs inside lockscope's wait path: it must not wait for locks the deadlocked
/// threads hold.
pub fn on_deadlock(f: impl Fn(&DeadlockReport) + Send + Sync + 'static) {
    CALLBACKS.write().push(Arc::new(f));
}

/// Called when a thread that holds locks starts waiting for `lock` (held exclusively by
/// `holder`, 0 if by readers or permit holders).
#[cold]
pub(crate) fn on_wait(me: u64, lock: u64, holder: u64, kind: LockKind) {
    watchdog::start(watch);
    if holder != me {
        // Another waiting actor is needed for a cycle through someone else; for a mutex
        // (one holder), that holder must itself be waiting.
        if WAITING.load(Relaxed) < 2 {
            return;
        }
        if kind == LockKind::Mutex && holder != 0 && !actor::is_waiting(holder) {
            return;
        }
    }
    // Pairs with the other waiters' fences: of two threads closing a cycle at once, at least
    // one sees the other's published wait. The watchdog catches anything else.
    fence(std::sync::atomic::Ordering::SeqCst);
    check(Some((me, lock)), "wait");
}

/// Makes sure the watchdog looks at the waits (for waits that are not checked when they
/// begin: see [`SETTLING`]).
#[cfg(feature = "tokio")]
pub(crate) fn watch_waits() {
    static WATCHING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WATCHING.load(Relaxed) && !WATCHING.swap(true, Relaxed) {
        watchdog::start(watch);
    }
}

/// Runs the analysis; reports every validated, new cycle (only those containing `me`'s wait,
/// when given).
fn check(me: Option<(u64, u64)>, by: &str) {
    let snaps = actor::snapshots();
    for found in graph::analyse(&snaps) {
        // Starvation needs time to show, and so does a cycle in which every wait is timed:
        // each participant gives up by itself, as a back-off loop (`try_lock_for`, then
        // retry) does many times a second. The watchdog reports either once every wait in it
        // has lasted a second. (A cycle with an untimed wait is reported at once, with
        // `resolves_by_timeout` when one of its waits will give up.)
        let all_timed = found
            .cycle
            .iter()
            .all(|&i| snaps[i].waiting.as_ref().is_some_and(|w| w.timed));
        let needs_time = !found.deadlock || all_timed || through_settling(&snaps, &found.cycle);
        if needs_time && (by == "wait" || !waited_long(&snaps, &found.cycle)) {
            continue;
        }
        if let Some((me, lock)) = me
            && !found.cycle.iter().any(|&i| {
                snaps[i].id == me && snaps[i].waiting.as_ref().is_some_and(|w| w.lock == lock)
            })
        {
            continue;
        }
        if !still_waiting(&snaps, &found.cycle) {
            continue;
        }
        let key = key(&snaps, &found.cycle);
        if !SEEN.lock().get_or_insert_with(HashSet::new).insert(key) {
            continue;
        }
        let report = DeadlockReport::build(
            &snaps,
            &found.cycle,
            found.deadlock,
            found.timed,
            by,
            clock::now_ns(),
            &settling_locks(),
        );
        deliver(&report, me.is_some());
    }
}

/// Deadlocks standing right now that no earlier call returned (parking_lot's
/// `check_deadlock`): each cycle is validated by a second look, as alerts are.
pub(crate) fn poll() -> Vec<DeadlockReport> {
    let snaps = actor::snapshots();
    let mut out = Vec::new();
    for found in graph::analyse(&snaps) {
        if !found.deadlock || !still_waiting(&snaps, &found.cycle) {
            continue;
        }
        if !POLLED
            .lock()
            .get_or_insert_with(HashSet::new)
            .insert(key(&snaps, &found.cycle))
        {
            continue;
        }
        out.push(DeadlockReport::build(
            &snaps,
            &found.cycle,
            found.deadlock,
            found.timed,
            "check_deadlock",
            clock::now_ns(),
            &settling_locks(),
        ));
    }
    out
}

/// The second look: every participant is still in the very wait the first snapshot saw.
/// Threads blocked in a wait release nothing, so a cycle seen twice is real.
fn still_waiting(snaps: &[actor::Snapshot], cycle: &[usize]) -> bool {
    cycle.iter().all(|&i| {
        let s = &snaps[i];
        let Some(w) = &s.waiting else { return false };
        actor::wait_of(s.id).is_some_and(|now| now.lock == w.lock && now.since_ns == w.since_ns)
    })
}

/// Starvation, and a cycle through a timed wait, is reported once every wait in the cycle
/// has lasted this long.
const STARVATION_NS: u64 = 1_000_000_000;

fn waited_long(snaps: &[actor::Snapshot], cycle: &[usize]) -> bool {
    let now = clock::now_ns();
    cycle.iter().all(|&i| {
        snaps[i]
            .waiting
            .as_ref()
            .is_some_and(|w| now.saturating_sub(w.since_ns) >= STARVATION_NS)
    })
}

fn key(snaps: &[actor::Snapshot], cycle: &[usize]) -> Vec<(u64, u64, u64)> {
    let mut k: Vec<(u64, u64, u64)> = cycle
        .iter()
        .filter_map(|&i| {
            snaps[i]
                .waiting
                .as_ref()
                .map(|w| (snaps[i].id, w.lock, w.since_ns))
        })
        .collect();
    k.sort_unstable();
    k
}

/// Sends a report everywhere it should go: the trace, the callbacks, then the policy.
fn deliver(report: &DeadlockReport, in_participant: bool) {
    alert::raise(&Alert::from_report(
        &report.kind,
        report.to_string(),
        report.locks.clone(),
        report.actors.clone(),
        report.to_json(),
    ));
    let callbacks = CALLBACKS.read().clone();
    for cb in &callbacks {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(report)));
    }
    let policy = match settings::deadlock_policy() {
        Some(p) => p,
        None if !callbacks.is_empty() => return,
        None => Policy::Log,
    };
    eprintln!("{report}");
    match policy {
        Policy::Log => {}
        Policy::Exit => {
            recorder::finish_active();
            std::process::exit(DEADLOCK_EXIT_CODE);
        }
        Policy::Panic if in_participant && report.kind == "deadlock" => {
            recorder::flush();
            panic!("lockscope: deadlock detected (report above)");
        }
        Policy::Panic => {}
    }
}

/// The watchdog's periodic check: cycles no wait start caught (two waits closing one at once)
/// and starvation, which needs time to show.
fn watch() {
    if WAITING.load(Relaxed) > 0 {
        check(None, "watchdog");
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 4] {
    [&CALLBACKS, &SEEN, &POLLED, &SETTLING]
}
