//! [`Notify`]: tokio's `Notify`, with every wait for a notification recorded — the task, where
//! it waited and for how long — as a wait on a condition variable: a wait no holder explains,
//! shown in the lock table, the timelines and `dump()` like a `Condvar` wait.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Tracked, Waiting};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Notifies a task, as [`tokio::sync::Notify`] does, with its waits recorded. A wait is
/// recorded only when `notified().await` has to wait: a notification already stored is taken
/// at once and counted, with no wait.
///
/// ```
/// use lockscope::tokio::Notify;
/// use std::sync::Arc;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ready = Arc::new(Notify::named("config-loaded"));
/// let r = ready.clone();
/// let waiter = tokio::spawn(async move { r.notified().await });
/// ready.notify_one();
/// waiter.await.unwrap();
/// # }
/// ```
pub struct Notify {
    inner: ::tokio::sync::Notify,
    tracked: Tracked,
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl Notify {
    /// A `Notify` with no stored notification, named after its creation site.
    #[track_caller]
    pub fn new() -> Notify {
        Notify {
            inner: ::tokio::sync::Notify::new(),
            tracked: Tracked::new(LockMeta::new(LockKind::Condvar, Location::caller(), 1), 1),
        }
    }

    /// A `Notify` that reports and traces call `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>) -> Notify {
        let meta = LockMeta::named(LockKind::Condvar, Location::caller(), 1, name.as_ref());
        Notify {
            inner: ::tokio::sync::Notify::new(),
            tracked: Tracked::new(meta, 1),
        }
    }

    /// Waits for a notification, as tokio's `notified().await`. Dropped while it waits, its
    /// wait is recorded as given up.
    #[inline]
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            inner: self.inner.notified(),
            tracked: &self.tracked,
            waiting: None,
            site: Location::caller(),
        }
    }

    /// Wakes one waiting task, or stores a notification for the next `notified()`.
    #[inline]
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every task waiting now; stores nothing.
    pub fn notify_waiters(&self) {
        self.inner.notify_waiters();
    }

    /// This instance's figures: notifications taken (acquisitions), waits (contentions) and
    /// tasks waiting now (waiters).
    pub fn stats(&self) -> LockStats {
        self.tracked.meta.stats()
    }
}

impl std::fmt::Debug for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notify").finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Notify::notified`], as tokio's `Notified`: it waits for a notification,
    /// and [`Notified::enable`] registers it before its first poll.
    //
    // `repr(C)` with tokio's future first: it is built by tokio's `notified()` and then moved
    // into the caller's future, in 16-byte pieces counted from the start of this struct.
    // With tokio's future at offset 0 those pieces line up with the stores that built it, as
    // they do for tokio's own `Notified`; at the offset field reordering gave it (40), half of
    // the loads straddled two stores and stalled, which cost ~8 ns per `notified().await`.
    #[must_use = "futures do nothing unless polled"]
    #[repr(C)]
    pub struct Notified<'a> {
        #[pin]
        inner: ::tokio::sync::futures::Notified<'a>,
        tracked: &'a Tracked,
        waiting: Option<Waiting<'a>>,
        site: &'static Location<'static>,
    }
}

impl Notified<'_> {
    /// Registers this future to receive a `notify_waiters()` wakeup before it is first
    /// polled, as tokio's `enable`; returns whether it was already notified.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.project().inner.enable()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let me = self.project();
        match me.inner.poll(cx) {
            Poll::Ready(()) => {
                match me.waiting.take() {
                    Some(w) => w.woken(),
                    None => me.tracked.counted_without_wait(),
                }
                Poll::Ready(())
            }
            Poll::Pending => {
                if me.waiting.is_none() {
                    *me.waiting = Some(me.tracked.begin_wait(Mode::Condvar, me.site));
                    // A task asleep here may hold a lock its notifier needs: the `stuck`
                    // detector watches for that (a task's holds are not known cheaply, so
                    // every notification wait arms it; arming is once per process).
                    crate::detect::stuck::arm();
                }
                Poll::Pending
            }
        }
    }
}

impl std::fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notified").finish_non_exhaustive()
    }
}
