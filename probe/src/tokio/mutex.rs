//! `tokio::Mutex`: tokio's async mutex plus lockscope's recording.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::LockMeta;
use crate::lock_core::{HasTracked, Hold, OneHolder, OwnedRelease, ReleaseHere, Tracked};
use ::tokio::sync::{self as tk, TryLockError};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

/// An async mutex with [`tokio::sync::Mutex`](::tokio::sync::Mutex)'s signatures that records
/// who holds it, who waits for it and for how long. The actor is the tokio task that locks
/// (or, outside a task, the thread), and a guard may be held across `.await`, moved and sent
/// like tokio's: a borrowing guard's hold is kept in the mutex, an owned guard carries its own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use lockscope::tokio::Mutex;
/// use std::sync::Arc;
///
/// let sessions = Arc::new(Mutex::named("sessions", Vec::<u32>::new()));
/// let s = sessions.clone();
/// tokio::spawn(async move { s.lock().await.push(7) }).await.unwrap();
/// assert_eq!(*sessions.lock().await, vec![7]);
/// assert_eq!(sessions.stats().acquisitions, 2);
/// # }
/// ```
///
/// Differences from tokio's: no `const_new` (the value sits behind an `Arc`, which is what
/// lets [`Mutex::lock_owned`] work); `lock` is a `fn` returning a future rather than an
/// `async fn` (so the caller's location is known), which awaits the same way.
///
/// Cost: the README's performance section measures an uncontended `lock().await` + drop
/// against tokio's (`cargo bench -p lockscope --features tokio --bench tokio`). With recording
/// off it tries `try_lock` before building tokio's lock future.
pub struct Mutex<T: ?Sized> {
    core: OneHolder,
    inner: Arc<tk::Mutex<T>>,
}

/// Holds a [`Mutex`] locked; unlocks on drop (on any thread).
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Declared first: the bookkeeping drops right before the real unlock. The hold itself is
    // kept in the mutex, so the guard is two words, as cheap to return as tokio's.
    release: ReleaseHere<'a>,
    inner: tk::MutexGuard<'a, T>,
}

/// A guard of an `Arc<Mutex<T>>` that owns its reference: `'static`, for moving into tasks.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    release: OwnedRelease<Mutex<T>>,
    inner: tk::OwnedMutexGuard<T>,
}

/// A [`MutexGuard`] narrowed to part of the value by [`MutexGuard::map`].
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    _release: ReleaseHere<'a>,
    inner: tk::MappedMutexGuard<'a, T>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex whose class is the caller's location.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            core: OneHolder::new(Tracked::ordered(
                LockMeta::new(LockKind::Mutex, Location::caller(), 1),
                1,
            )),
            inner: Arc::new(tk::Mutex::new(value)),
        }
    }

    /// A new unlocked mutex in the class `name`: every mutex with this name shares one line of
    /// the report.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        let meta = LockMeta::named(LockKind::Mutex, Location::caller(), 1, name.as_ref());
        Mutex {
            core: OneHolder::new(Tracked::ordered(meta, 1)),
            inner: Arc::new(tk::Mutex::new(value)),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        match Arc::try_unwrap(self.inner) {
            Ok(m) => m.into_inner(),
            // Owned guards hold the outer `Arc`, so with `self` owned none exists.
            Err(_) => unreachable!("no owned guard outlives its mutex"),
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    fn guard<'a>(&'a self, inner: tk::MutexGuard<'a, T>, hold: Hold) -> MutexGuard<'a, T> {
        MutexGuard {
            release: self.core.keep(hold),
            inner,
        }
    }

    fn owned(this: Arc<Self>, inner: tk::OwnedMutexGuard<T>, hold: Hold) -> OwnedMutexGuard<T> {
        OwnedMutexGuard {
            release: OwnedRelease {
                lock: this,
                hold,
                mode: Mode::Exclusive,
            },
            inner,
        }
    }

    /// Locks the mutex, waiting (asynchronously) until it is free.
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            // A try first, even unrecorded: it is cheaper than tokio's lock future, and as
            // fair (tokio hands released permits to queued waiters first).
            if let Ok(g) = self.inner.try_lock() {
                return self.guard(g, self.core.tracked.acquired(Mode::Exclusive, site));
            }
            let waiting = self.core.tracked.begin_wait(Mode::Exclusive, site);
            let g = self.inner.lock().await;
            self.guard(g, waiting.acquired())
        }
    }

    /// Locks the mutex from synchronous code, blocking the thread. Like tokio's, it panics in
    /// an async context when it has to wait.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        if let Ok(g) = self.inner.try_lock() {
            return self.guard(g, self.core.tracked.acquired(Mode::Exclusive, site));
        }
        let waiting = self.core.tracked.begin_wait(Mode::Exclusive, site);
        let g = self.inner.blocking_lock();
        self.guard(g, waiting.acquired())
    }

    /// Locks the mutex if it is free right now.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.try_lock()?;
        Ok(self.guard(g, self.core.tracked.acquired_by_try(Mode::Exclusive, site)))
    }

    /// Locks an `Arc`'d mutex, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            let inner = self.inner.clone();
            if let Ok(g) = inner.clone().try_lock_owned() {
                let hold = self.core.tracked.acquired(Mode::Exclusive, site);
                return Self::owned(self, g, hold);
            }
            let waiting = self.core.tracked.begin_wait(Mode::Exclusive, site);
            let g = inner.lock_owned().await;
            let hold = waiting.acquired();
            Self::owned(self, g, hold)
        }
    }

    /// [`Mutex::blocking_lock`] returning an owned guard.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let site = Location::caller();
        let inner = self.inner.clone();
        if let Ok(g) = inner.clone().try_lock_owned() {
            let hold = self.core.tracked.acquired(Mode::Exclusive, site);
            return Self::owned(self, g, hold);
        }
        let waiting = self.core.tracked.begin_wait(Mode::Exclusive, site);
        let g = inner.blocking_lock_owned();
        let hold = waiting.acquired();
        Self::owned(self, g, hold)
    }

    /// [`Mutex::try_lock`] returning an owned guard.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.clone().try_lock_owned()?;
        let hold = self.core.tracked.acquired_by_try(Mode::Exclusive, site);
        Ok(Self::owned(self, g, hold))
    }

    /// A mutable reference to the value; no locking needed since `self` is exclusive.
    pub fn get_mut(&mut self) -> &mut T {
        match Arc::get_mut(&mut self.inner) {
            Some(m) => m.get_mut(),
            None => unreachable!("no owned guard outlives its mutex"),
        }
    }

    /// This instance's figures.
    pub fn stats(&self) -> LockStats {
        self.core.tracked.meta.stats()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value; the lock stays held (and recorded) until the
    /// mapped guard drops.
    pub fn map<U: ?Sized, F: FnOnce(&mut T) -> &mut U>(
        this: Self,
        f: F,
    ) -> MappedMutexGuard<'a, U> {
        let MutexGuard { release, inner } = this;
        MappedMutexGuard {
            _release: release,
            inner: tk::MutexGuard::map(inner, f),
        }
    }

    /// [`MutexGuard::map`] that may fail, giving the guard back.
    pub fn try_map<U: ?Sized, F: FnOnce(&mut T) -> Option<&mut U>>(
        this: Self,
        f: F,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let MutexGuard { release, inner } = this;
        match tk::MutexGuard::try_map(inner, f) {
            Ok(inner) => Ok(MappedMutexGuard {
                _release: release,
                inner,
            }),
            Err(inner) => Err(MutexGuard { release, inner }),
        }
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.release.lock
    }
}

impl<T: ?Sized> HasTracked for Mutex<T> {
    fn tracked(&self) -> &Tracked {
        &self.core.tracked
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

crate::lock::guard::guard_impls!(MutexGuard, mut);
crate::lock::guard::guard_impls!(MappedMutexGuard, mut);
crate::lock::guard::owned_guard_impls!(OwnedMutexGuard, mut);
