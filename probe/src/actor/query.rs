//! Questions about any actor, thread or task: who holds a lock, what one waits for, its name,
//! and a consistent snapshot of them all for the detectors.

use super::held::{Held, Snapshot};
use super::thread::{self, by_id};
#[cfg(feature = "tokio")]
use super::{holds, task, waits};
use std::panic::Location;

/// Calls `f` with the id of every live actor (thread or task) that holds `lock` right now.
pub(crate) fn holders_of(lock: u64, mut f: impl FnMut(u64)) {
    holds_of(lock, |a, _| f(a));
}

/// Calls `f` with every live actor (thread or task) that holds `lock` right now and the site
/// where it took the lock.
pub(crate) fn holds_of(
    lock: u64,
    #[allow(unused_mut)] mut f: impl FnMut(u64, &'static Location<'static>),
) {
    thread::holders_of(lock, &mut f);
    #[cfg(feature = "tokio")]
    holds::holders_of(lock, f);
}

/// Consistent snapshots of every live actor (threads, and tokio tasks) that holds or waits
/// for something.
pub(crate) fn snapshots() -> Vec<Snapshot> {
    #[allow(unused_mut)]
    let mut snaps = thread::snapshots();
    #[cfg(feature = "tokio")]
    waits::extend_snapshots(&mut snaps);
    snaps.retain(|s| s.waiting.is_some() || !s.held.is_empty());
    snaps
}

/// What actor `id` (a thread or a task) waits for right now, if anything.
pub(crate) fn wait_of(id: u64) -> Option<Held> {
    #[cfg(feature = "tokio")]
    if task::is_task(id) {
        return waits::wait_of(id);
    }
    let sync = by_id(id).and_then(|a| a.snapshot()).and_then(|s| s.waiting);
    #[cfg(feature = "tokio")]
    let sync = sync.or_else(|| waits::wait_of(id));
    sync
}

/// Whether actor `id` (a thread or a task) waits for a lock right now; a racy read.
pub(crate) fn is_waiting(id: u64) -> bool {
    #[cfg(feature = "tokio")]
    if task::is_task(id) {
        return waits::wait_of(id).is_some();
    }
    by_id(id).is_some_and(|a| a.waiting_for() != 0) || {
        #[cfg(feature = "tokio")]
        let async_wait = waits::wait_of(id).is_some();
        #[cfg(not(feature = "tokio"))]
        let async_wait = false;
        async_wait
    }
}

/// The name of actor `id`: a thread's name, or a tokio task's (given, or `task-<tokio id>`);
/// `actor-<id>` for an actor that is gone. (For every alert that names actors.)
pub(crate) fn name_of(id: u64) -> String {
    #[cfg(feature = "tokio")]
    if let Some(name) = task::name_of_task(id) {
        return name;
    }
    thread::name_of_thread(id)
}
