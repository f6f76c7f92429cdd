//! Hangs no wait-for edge shows: an actor asleep on a condition variable while it holds a lock
//! that another actor has waited for longer than `LOCKSCOPE_STUCK_MS` (default 1 s).
//!
//! A task waiting on a channel while it holds such a lock is checked the same way when the
//! actor waiting for that lock is not one the channel's wait points at.
//!
//! The sleeper waits for a notification, not for a lock, so it has no holder to point at and no
//! cycle forms; yet if the notifier is the actor blocked on the sleeper's lock, nothing will ever
//! wake either. Reported once per (sleeper, condition wait, lock) as a `stuck` alert naming the
//! sleeper, what it holds since when and where, and who waits for it. The producer/consumer
//! twin, whose consumer holds nothing while it waits, is never reported.
//!
//! Also a task awaiting a lock it appears to hold itself past the threshold (see
//! [`self_waits`]).
//!
//! Checked by the watchdog (every 100 ms), armed by the first condition wait begun while its
//! thread holds a lock (or the first such self-wait); nothing here runs on a lock path.

use super::alert::{Alert, raise};
use super::watchdog;
use crate::actor::{self, Held, Snapshot, WAITING};
use crate::format::Mode;
use crate::{class, clock, settings};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;

static ARMED: AtomicBool = AtomicBool::new(false);
/// (sleeper, when its condition wait began, lock) already reported.
static SEEN: Mutex<Option<HashSet<(u64, u64, u64)>>> = Mutex::new(None);
/// Reported hangs remembered, at most (then the memory starts again).
const SEEN_MAX: usize = 4096;

/// A condition wait began while its thread holds a lock: start watching for hangs.
pub(crate) fn arm() {
    if !ARMED.load(Relaxed) && !ARMED.swap(true, Relaxed) {
        watchdog::start(watch);
    }
}

fn watch() {
    let threshold = settings::stuck_threshold_ns();
    if threshold == 0 || WAITING.load(Relaxed) == 0 {
        return;
    }
    let snaps = actor::snapshots();
    let now = clock::now_ns();
    let channels = super::deadlock::settling_locks();
    self_waits(&snaps, &channels, threshold, now);
    for sleeper in &snaps {
        let Some(sleep) = sleeper
            .waiting
            .filter(|w| w.mode == Mode::Condvar || channels.contains_key(&w.lock))
        else {
            continue;
        };
        // A channel wait points at the other end's owners: a cycle through them is the
        // deadlock detector's. Only a waiter the channel does not point at is a hang no
        // edge shows (a sender handle moved into a task that has not sent with it yet).
        let listed: Vec<u64> = if sleep.mode == Mode::Condvar {
            Vec::new()
        } else {
            snaps
                .iter()
                .filter(|o| o.held.iter().any(|h| h.lock == sleep.lock))
                .map(|o| o.id)
                .collect()
        };
        for held in sleeper
            .held
            .iter()
            .filter(|h| !channels.contains_key(&h.lock))
        {
            let waiters: Vec<&Snapshot> = snaps
                .iter()
                .filter(|o| o.id != sleeper.id && !listed.contains(&o.id))
                .filter(|o| {
                    o.waiting.is_some_and(|w| {
                        w.lock == held.lock
                            && w.mode != Mode::Condvar
                            && now.saturating_sub(w.since_ns) >= threshold
                    })
                })
                .collect();
            if waiters.is_empty() || !still_asleep(sleeper.id, &sleep) {
                continue;
            }
            if !first_time((sleeper.id, sleep.since_ns, held.lock)) {
                continue;
            }
            report(sleeper, &sleep, held, &waiters, now);
        }
    }
}

/// Tasks awaiting a lock they appear to hold themselves, for longer than the threshold. The
/// deadlock graph cannot take it for a cycle: another branch of the same task (`join!`,
/// `select!`) or a task the guard was moved to may hold it. After the threshold it is most
/// likely `let g = m.lock().await; .. m.lock().await`, so it is reported, saying both.
fn self_waits(
    snaps: &[Snapshot],
    channels: &std::collections::HashMap<u64, super::report::ChannelSide>,
    threshold: u64,
    now: u64,
) {
    for s in snaps {
        let Some(w) = s.waiting.filter(|w| {
            w.mode != Mode::Condvar
                && !channels.contains_key(&w.lock)
                && now.saturating_sub(w.since_ns) >= threshold
        }) else {
            continue;
        };
        let Some(held) = s.held.iter().find(|h| h.lock == w.lock && h.movable) else {
            continue;
        };
        if !still_asleep(s.id, &w) || !first_time((s.id, w.since_ns, w.lock)) {
            continue;
        }
        report_self_wait(s, &w, held, now);
    }
}

/// Whether `key` was not reported yet (and now is remembered).
fn first_time(key: (u64, u64, u64)) -> bool {
    let mut seen = SEEN.lock();
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.len() >= SEEN_MAX {
        seen.clear();
    }
    seen.insert(key)
}

fn report_self_wait(s: &Snapshot, w: &Held, held: &Held, now: u64) {
    let name = actor::name_of(s.id);
    let lock = lock_name(w);
    let text = format!(
        "lockscope: STUCK: {name} awaits {lock:?} (for {:.1} ms, at {}) which it holds itself (taken at {}, {:.1} ms ago): a self-deadlock, unless another branch of the same task (join!, select!) or a task its guard was moved to holds it and will let go\n  fix: drop the guard before locking {lock:?} again, or pass the guard down instead of locking twice\n",
        ms(now.saturating_sub(w.since_ns)),
        site(w),
        site(held),
        ms(now.saturating_sub(held.since_ns)),
    );
    let details = serde_json::json!({
        "self_wait": true,
        "actor": name,
        "lock": lock,
        "waiting_ns": now.saturating_sub(w.since_ns),
        "wait_site": site(w),
        "held_site": site(held),
    });
    eprint!("{text}");
    raise(&Alert::with_details(
        "stuck",
        text,
        vec![lock],
        vec![name],
        details,
    ));
}

/// The second look: the sleeper is still in the condition wait the snapshot saw.
fn still_asleep(id: u64, sleep: &Held) -> bool {
    actor::wait_of(id).is_some_and(|w| w.lock == sleep.lock && w.since_ns == sleep.since_ns)
}

fn lock_name(h: &Held) -> String {
    class::by_id(h.class).map_or_else(|| format!("lock#{}", h.lock), |c| c.label.clone())
}

fn site(h: &Held) -> String {
    format!("{}:{}:{}", h.site.file(), h.site.line(), h.site.column())
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn report(sleeper: &Snapshot, sleep: &Held, held: &Held, waiters: &[&Snapshot], now: u64) {
    let sleeper_name = actor::name_of(sleeper.id);
    let (lock, condvar) = (lock_name(held), lock_name(sleep));
    let waiter_names: Vec<String> = waiters.iter().map(|w| actor::name_of(w.id)).collect();
    let longest = waiters
        .iter()
        .filter_map(|w| w.waiting.map(|x| now.saturating_sub(x.since_ns)))
        .max()
        .unwrap_or(0);
    let on = if sleep.mode == Mode::Condvar {
        "sleeps on condition variable"
    } else {
        "waits on channel"
    };
    let text = format!(
        "lockscope: STUCK: {sleeper_name} {on} {condvar:?} (for {:.1} ms, at {}) while it holds {lock:?} (since {:.1} ms ago, taken at {}); {} waits for {lock:?} (for {:.1} ms at longest) and cannot have it until {sleeper_name} is woken\n  waiting for {lock:?}: {}\n  fix: let go of {lock:?} before waiting (a condition wait should hold only its own mutex), or make sure the notifier never needs {lock:?}\n",
        ms(now.saturating_sub(sleep.since_ns)),
        site(sleep),
        ms(now.saturating_sub(held.since_ns)),
        site(held),
        if waiters.len() == 1 {
            "1 actor".to_owned()
        } else {
            format!("{} actors", waiters.len())
        },
        ms(longest),
        waiter_names.join(", "),
    );
    let details = serde_json::json!({
        "sleeper": sleeper_name,
        "condvar": condvar,
        "asleep_ns": now.saturating_sub(sleep.since_ns),
        "condvar_site": site(sleep),
        "lock": lock,
        "held_ns": now.saturating_sub(held.since_ns),
        "held_site": site(held),
        "waiters": waiter_names,
        "longest_wait_ns": longest,
    });
    eprint!("{text}");
    let mut actors = vec![sleeper_name];
    actors.extend(waiter_names);
    raise(&Alert::with_details(
        "stuck",
        text,
        vec![lock, condvar],
        actors,
        details,
    ));
}

/// This module's internal locks, for the fork hooks.
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&SEEN]
}
