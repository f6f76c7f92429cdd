//! [`Barrier`]: tokio's `Barrier`, with every wait for the other parties recorded as a wait on
//! a condition — the task, where it waited and for how long — so a task that holds a lock
//! while it waits for a party that needs that lock is a `stuck` alert, like a `Condvar` sleeper.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Tracked};
use std::future::Future;
use std::panic::Location;

pub use ::tokio::sync::BarrierWaitResult;

/// A barrier for `n` tasks, as [`tokio::sync::Barrier`], with its waits recorded. The last
/// party to arrive does not wait (it is counted, with no wait).
///
/// ```
/// use lockscope::tokio::Barrier;
/// use std::sync::Arc;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = Arc::new(Barrier::named("start-line", 2));
/// let b = start.clone();
/// let runner = tokio::spawn(async move { b.wait().await.is_leader() });
/// let leader_here = start.wait().await.is_leader();
/// assert!(leader_here != runner.await.unwrap());
/// # }
/// ```
pub struct Barrier {
    inner: ::tokio::sync::Barrier,
    tracked: Tracked,
}

impl Barrier {
    /// A barrier for `n` parties, named after its creation site.
    #[track_caller]
    pub fn new(n: usize) -> Barrier {
        Barrier {
            inner: ::tokio::sync::Barrier::new(n),
            tracked: Tracked::new(LockMeta::new(LockKind::Condvar, Location::caller(), 1), 1),
        }
    }

    /// A barrier for `n` parties that reports and traces call `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, n: usize) -> Barrier {
        let meta = LockMeta::named(LockKind::Condvar, Location::caller(), 1, name.as_ref());
        Barrier {
            inner: ::tokio::sync::Barrier::new(n),
            tracked: Tracked::new(meta, 1),
        }
    }

    /// Waits until every party has called `wait`, as tokio's; one of them is the leader.
    /// Dropped while it waits, its wait is recorded as given up.
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = BarrierWaitResult> + Send + '_ {
        let site = Location::caller();
        async move {
            let mut arrival = std::pin::pin!(self.inner.wait());
            let mut waiting = None;
            let result = std::future::poll_fn(|cx| {
                let polled = arrival.as_mut().poll(cx);
                if waiting.is_none() && crate::lock_core::waits(&polled) {
                    waiting = Some(self.tracked.begin_wait(Mode::Condvar, site));
                    // A party asleep here may hold a lock a missing party needs.
                    crate::detect::stuck::arm();
                }
                polled
            })
            .await;
            match waiting {
                Some(w) => w.woken(),
                None => self.tracked.counted_without_wait(),
            }
            result
        }
    }

    /// This instance's figures: arrivals (acquisitions), arrivals that waited (contentions)
    /// and parties waiting now (waiters).
    pub fn stats(&self) -> LockStats {
        self.tracked.meta.stats()
    }
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}
