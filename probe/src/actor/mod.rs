//! Actors: whoever holds and waits for locks. Threads ([`thread`]) and, with the `tokio`
//! feature, tokio tasks ([`task`]) alike, with ids from one space (a task's id has
//! [`task::TASK_ACTOR`] set).
//!
//! A thread's holds live in its own held list; an async hold lives in its lock's hold table
//! ([`holds`]) and an async wait in one registry ([`waits`]), because a task migrates between
//! threads and its guard may be sent anywhere. The functions here answer for both kinds, so
//! the detectors read one graph of threads and tasks.
//!
//! This layer calls nothing above it: what must happen when a thread exits is registered with
//! [`on_thread_exit`], and the lock-order check is run by the lock core when
//! [`ActorShared::push_held`] says a chain of held classes is new.

mod fork;
mod held;
mod held_list;
#[cfg(feature = "tokio")]
pub(crate) mod holds;
mod query;
#[cfg(feature = "tokio")]
pub(crate) mod task;
#[cfg(feature = "tokio")]
pub(crate) mod task_held;
mod thread;
#[cfg(feature = "tokio")]
pub(crate) mod waits;

pub(crate) use held::{Held, NO_ORDER, Snapshot, TIMED, UPGRADABLE, WAITING, class_mode};
pub(crate) use query::{holders_of, holds_of, is_waiting, name_of, snapshots, wait_of};
pub(crate) use thread::{
    ActorShared, Defined, all, any_waits_for, current, define_foreign, forget_foreign, holds_any,
    live_tids, on_thread_exit, reclaimable, recycle,
};

/// The actor layer's internal locks, for the fork hooks (outer ones first). Every actor's name
/// lock is taken after these, with [`fork_acquire_names`].
pub(crate) fn fork_locks() -> Vec<&'static dyn crate::raw::ForkLock> {
    let mut v = Vec::with_capacity(8);
    #[cfg(feature = "tokio")]
    {
        v.extend(task::fork_locks());
        v.extend(waits::fork_locks());
        v.extend(holds::fork_locks());
    }
    v.extend(fork::fork_locks());
    v
}

pub(crate) use fork::{fork_acquire_names, fork_release_names, orphan_others_after_fork};
