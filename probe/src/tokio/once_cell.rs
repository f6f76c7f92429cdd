//! [`OnceCell`]: tokio's `OnceCell`, whose `get_or_init` is recorded as the single-flight fill
//! it is. The caller that runs the initialiser holds the cell (a hold, as of a mutex, for as
//! long as the initialiser runs, and a cache fill for the stampede detector); every caller
//! that arrives meanwhile waits for that holder, with a wait-for edge to it. So a task whose
//! initialiser awaits a lock held by a task waiting for the cell is a deadlock like any other,
//! and the cell's figures say how many callers one fill served.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Release, Tracked, Waiting};
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

pub use ::tokio::sync::SetError;

/// A cell written once, as [`tokio::sync::OnceCell`], with its fills and the waits for them
/// recorded.
///
/// Reading a value that is there costs what tokio's does (nothing is counted). When
/// `get_or_init` finds the cell empty, its caller either runs the initialiser — the *fill*:
/// an acquisition of the cell, held until the value is stored, and a
/// [`cache_fill`](crate::cache_fill) of the cell's name — or waits for the caller that does,
/// as a wait for the cell's holder. The cell's [`stats`](OnceCell::stats) then count fills and
/// served waiters as acquisitions, and the waiters as contentions; reports show the cell as a
/// lock (kind `mutex`) under its name.
///
/// ```
/// use lockscope::tokio::OnceCell;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
/// let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
/// assert_eq!(v, "loaded");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("loaded"));
/// # }
/// ```
pub struct OnceCell<T> {
    inner: ::tokio::sync::OnceCell<T>,
    tracked: Tracked,
}

impl<T> OnceCell<T> {
    /// An empty cell, named after its creation site.
    #[track_caller]
    pub fn new() -> Self {
        Self::const_new()
    }

    /// An empty cell, named after its creation site, in a `const` context (a `static`).
    #[track_caller]
    pub const fn const_new() -> Self {
        OnceCell {
            inner: ::tokio::sync::OnceCell::const_new(),
            tracked: Tracked::new(LockMeta::new(LockKind::Mutex, Location::caller(), 1), 1),
        }
    }

    /// An empty cell that reports and traces call `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>) -> Self {
        let meta = LockMeta::named(LockKind::Mutex, Location::caller(), 1, name.as_ref());
        OnceCell {
            inner: ::tokio::sync::OnceCell::new(),
            tracked: Tracked::new(meta, 1),
        }
    }

    /// A cell holding `value` if it is `Some` (no fill is recorded for it).
    #[track_caller]
    pub fn new_with(value: Option<T>) -> Self {
        OnceCell {
            inner: ::tokio::sync::OnceCell::new_with(value),
            tracked: Tracked::new(LockMeta::new(LockKind::Mutex, Location::caller(), 1), 1),
        }
    }

    /// A cell holding `value`, in a `const` context.
    #[track_caller]
    pub const fn const_new_with(value: T) -> Self {
        OnceCell {
            inner: ::tokio::sync::OnceCell::const_new_with(value),
            tracked: Tracked::new(LockMeta::new(LockKind::Mutex, Location::caller(), 1), 1),
        }
    }

    /// Whether the value is there.
    pub fn initialized(&self) -> bool {
        self.inner.initialized()
    }

    /// The value, if it is there.
    pub fn get(&self) -> Option<&T> {
        self.inner.get()
    }

    /// The value, mutably, if it is there.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Stores `value` if the cell is empty and nobody is filling it, as tokio's.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        self.inner.set(value)
    }

    /// The value, running `f` to make it if the cell is empty: one caller fills, the others
    /// wait for it (each recorded: see [`OnceCell`]). If the filling future is dropped, the
    /// next waiter fills.
    #[track_caller]
    pub fn get_or_init<F, Fut>(&self, f: F) -> impl Future<Output = &T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let site = Location::caller();
        async move {
            if let Some(v) = self.inner.get() {
                return v;
            }
            let filling = AtomicBool::new(false);
            let fill = self.inner.get_or_init(|| {
                let fill = self.begin_fill(&filling, site);
                async move {
                    let _fill = fill;
                    f().await
                }
            });
            self.single_flight(fill, &filling, site).await
        }
    }

    /// [`OnceCell::get_or_init`] with an initialiser that may fail: on `Err` the cell stays
    /// empty, the error is returned, and the next waiter fills.
    #[track_caller]
    pub fn get_or_try_init<E, F, Fut>(&self, f: F) -> impl Future<Output = Result<&T, E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let site = Location::caller();
        async move {
            if let Some(v) = self.inner.get() {
                return Ok(v);
            }
            let filling = AtomicBool::new(false);
            let fill = self.inner.get_or_try_init(|| {
                let fill = self.begin_fill(&filling, site);
                async move {
                    let _fill = fill;
                    f().await
                }
            });
            self.single_flight(fill, &filling, site).await
        }
    }

    /// The caller runs the initialiser: it holds the cell (and fills its key) until the
    /// returned guard drops with the initialiser's future, whether it finished, failed or was
    /// cancelled.
    fn begin_fill(
        &self,
        filling: &AtomicBool,
        site: &'static Location<'static>,
    ) -> Option<Fill<'_>> {
        filling.store(true, Relaxed);
        if !crate::settings::enabled() {
            return None;
        }
        let hold = self.tracked.acquired(Mode::Exclusive, site);
        let key = self.tracked.meta.class().label.as_str();
        Some(Fill {
            _hold: Release {
                tracked: &self.tracked,
                hold,
                mode: Mode::Exclusive,
            },
            _fill: crate::detect::stampede::begin(key, Some(&key), site),
        })
    }

    /// Polls tokio's `get_or_init` future: while it is pending and this caller is not the
    /// one filling, the caller's wait for the filler is recorded.
    async fn single_flight<R>(
        &self,
        fut: impl Future<Output = R>,
        filling: &AtomicBool,
        site: &'static Location<'static>,
    ) -> R {
        let mut fut = std::pin::pin!(fut);
        let mut waiting: Option<Waiting<'_>> = None;
        let out = std::future::poll_fn(|cx| {
            let polled = fut.as_mut().poll(cx);
            if filling.load(Relaxed) {
                // Our turn to fill came (first, or after a filler gave up): the wait is over.
                if let Some(w) = waiting.take() {
                    w.handed_over();
                }
            } else if waiting.is_none() && crate::lock_core::waits(&polled) {
                waiting = Some(self.tracked.begin_wait(Mode::Exclusive, site));
            }
            polled
        })
        .await;
        if let Some(w) = waiting {
            // Served by another caller's fill.
            w.woken();
        }
        out
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }

    /// The value, if it is there.
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }

    /// This instance's figures: fills plus callers served by another's fill (acquisitions),
    /// callers that waited for a fill (contentions), callers waiting now (waiters), the task or
    /// thread filling now (holder).
    pub fn stats(&self) -> LockStats {
        self.tracked.meta.stats()
    }
}

/// What a filler keeps while its initialiser runs.
struct Fill<'a> {
    _hold: Release<'a>,
    _fill: crate::FillGuard,
}

impl<T> Default for OnceCell<T> {
    #[track_caller]
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    /// A new cell of the same class, holding a clone of the value if there is one.
    fn clone(&self) -> Self {
        OnceCell {
            inner: self.inner.clone(),
            tracked: Tracked::new(self.tracked.meta.sibling(), 1),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.inner.get())
            .finish()
    }
}
