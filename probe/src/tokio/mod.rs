//! Tokio's async primitives, recorded: `lockscope::tokio::{Mutex, RwLock, Semaphore}` have the
//! signatures of [`tokio::sync`]'s, return types and error types included, so a tokio user
//! swaps one `use` line ([`Notify`] and its [`Notified`] future, [`Barrier`] and [`OnceCell`],
//! too):
//!
//! ```
//! // use tokio::sync::{Mutex, RwLock, Semaphore};
//! use lockscope::tokio::{Mutex, RwLock, Semaphore};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let db = Semaphore::named("db-pool", 4);
//! let cache = RwLock::named("cache", std::collections::HashMap::<u32, String>::new());
//! let hits = Mutex::new(0u64);
//! let _conn = db.acquire().await.unwrap();
//! cache.write().await.insert(1, "one".into());
//! if cache.read().await.contains_key(&1) {
//!     *hits.lock().await += 1;
//! }
//! # }
//! ```
//!
//! **Actors are tasks.** A lock operation inside a tokio task is the task's (its actor id is the
//! tokio task id with bit 56 set); outside a task (`blocking_lock` on a plain thread, or
//! `block_on`) it is the thread's. A task is named by [`spawn_named`] or [`name_task`]; else,
//! with the `tracing` feature and a subscriber, after the span it runs in when it waits
//! (`POST /transfer #42`); else `task-<tokio id>`. Waits, holds, wait-for edges and per-lock figures are
//! recorded as for the sync types, and the deadlock detector sees tasks and threads in one
//! wait-for graph: a cycle of tasks (A holds M1 and awaits M2, B holds M2 and awaits M1) is
//! reported like a cycle of threads, each task with its wait site and stack.
//!
//! **Guards are tracked on the guard.** A task moves between worker threads and a guard may be
//! held across `.await`, moved into another task or sent to a thread, so a hold is kept in the
//! lock's hold table and the guard, never in thread state; whoever drops the guard releases it.
//! A future dropped while it waits (cancelled by `select!`, a timeout, an aborted task) ends
//! its wait (recorded as a wait that ended without the lock) and leaves no wait-for edge.
//!
//! Limits: a task that awaits a `Mutex` it appears to hold itself is not a deadlock in the
//! graph (another branch of the same task, in `join!` or `select!`, may hold it, or the guard
//! may have been moved); once it has waited past the stuck threshold it is a `stuck` alert
//! that says so. A task with several lock waits pending at once (`join!`) is not counted as
//! blocked by any one of them.
//!
//! **Lock order across tasks.** `Mutex` and `RwLock` holds are listed per task (in a fixed
//! table, by task id), so a task that takes A then B and another that takes B then A are a
//! lock-order inversion even if they never overlapped, with lockdep's exceptions: try-locks,
//! a common gate lock, one class nested in itself, one task walking both orders.

mod barrier;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
mod permit_account;
mod rwlock;
mod semaphore;

pub use ::tokio::sync::{AcquireError, TryAcquireError, TryLockError};
pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::actor::task;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A future that names the tokio task it runs in, for lockscope's reports and traces, while it
/// runs. Made by [`name_task`].
#[must_use = "futures do nothing unless polled"]
pub struct NamedTask<F> {
    name: Arc<str>,
    /// Where [`name_task`] (or [`spawn_named`]) was called: the task's spawn site.
    spawn_site: &'static std::panic::Location<'static>,
    /// The task actor this named, once polled inside a task.
    named: Option<u64>,
    fut: Pin<Box<F>>,
}

/// Names the task that runs `fut` (`tokio::spawn(name_task("teller-a", async { .. }))`): the
/// task appears under this name in deadlock reports, `dump()` and traces instead of
/// `task-<id>`. The trace also gets the task's spawn site, where `name_task` was called
/// (`file:line:column`, as a lock's creation site), which the viewer shows with the task.
#[track_caller]
pub fn name_task<F: Future>(name: impl Into<String>, fut: F) -> NamedTask<F> {
    NamedTask {
        name: Arc::from(name.into()),
        spawn_site: std::panic::Location::caller(),
        named: None,
        fut: Box::pin(fut),
    }
}

/// `tokio::spawn` of a task named `name` (see [`name_task`]); its spawn site is the caller of
/// `spawn_named`. Must be called inside a tokio runtime, like `tokio::spawn`.
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, fut: F) -> ::tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    ::tokio::spawn(name_task(name, fut))
}

impl<F: Future> Future for NamedTask<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if self.named.is_none()
            && let Some(id) = ::tokio::task::try_id()
        {
            let actor = task::TASK_ACTOR | task::task_number(id);
            task::set_name(actor, self.name.clone(), self.spawn_site);
            self.named = Some(actor);
        }
        self.fut.as_mut().poll(cx)
    }
}

impl<F> Drop for NamedTask<F> {
    fn drop(&mut self) {
        if let Some(actor) = self.named {
            task::clear_name(actor);
        }
    }
}

impl<F> std::fmt::Debug for NamedTask<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedTask")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
