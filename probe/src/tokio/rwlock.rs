//! `tokio::RwLock`: tokio's async reader-writer lock plus lockscope's recording.

use crate::LockStats;
use crate::actor::holds::WIDE;
use crate::format::{LockKind, Mode};
use crate::lock_core::LockMeta;
use crate::lock_core::{HasTracked, Hold, OwnedRelease, Release, Tracked};
use ::tokio::sync::{self as tk, TryLockError};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

/// An async reader-writer lock with [`tokio::sync::RwLock`](::tokio::sync::RwLock)'s
/// signatures that records readers, writers and who waits on whom, per task.
///
/// Like tokio's it is fair (write-preferring): a queued writer blocks new readers, so a task
/// that reads twice can deadlock behind a waiting writer; the detector knows this case.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let config = lockscope::tokio::RwLock::named("config", String::from("v1"));
/// assert_eq!(*config.read().await, "v1");
/// config.write().await.push_str(".1");
/// assert_eq!(*config.read().await, "v1.1");
/// # }
/// ```
///
/// Differences from tokio's: no `const_new`; the mapped and owned guards have no `map`.
///
/// Cost (measured, `cargo bench -p lockscope --features tokio --bench tokio`, README's
/// performance section): an uncontended `read().await` + drop inside a task takes 321
/// instructions with recording on against tokio's 286.
pub struct RwLock<T: ?Sized> {
    tracked: Tracked,
    inner: Arc<tk::RwLock<T>>,
}

/// Shared access to an [`RwLock`]; released on drop (on any thread).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    release: Release<'a>,
    inner: tk::RwLockReadGuard<'a, T>,
}

/// Exclusive access to an [`RwLock`]; released on drop (on any thread).
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    release: Release<'a>,
    inner: tk::RwLockWriteGuard<'a, T>,
}

/// Shared access that owns an `Arc` of the lock: `'static`, for moving into tasks.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    release: OwnedRelease<RwLock<T>>,
    inner: tk::OwnedRwLockReadGuard<T>,
}

/// Exclusive access that owns an `Arc` of the lock: `'static`, for moving into tasks.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    release: OwnedRelease<RwLock<T>>,
    inner: tk::OwnedRwLockWriteGuard<T>,
}

impl<T> RwLock<T> {
    /// A new unlocked lock whose class is the caller's location.
    #[track_caller]
    pub fn new(value: T) -> Self {
        let meta = LockMeta::new(LockKind::RwLock, Location::caller(), 1);
        RwLock::with(meta, tk::RwLock::new(value))
    }

    /// A new unlocked lock in the class `name`.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        let meta = LockMeta::named(LockKind::RwLock, Location::caller(), 1, name.as_ref());
        RwLock::with(meta, tk::RwLock::new(value))
    }

    /// A new unlocked lock that admits at most `max_reads` readers at once (as tokio's).
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> Self {
        let meta = LockMeta::new(LockKind::RwLock, Location::caller(), 1);
        RwLock::with(meta, tk::RwLock::with_max_readers(value, max_reads))
    }

    fn with(meta: LockMeta, inner: tk::RwLock<T>) -> Self {
        RwLock {
            tracked: Tracked::ordered(meta, WIDE),
            inner: Arc::new(inner),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        match Arc::try_unwrap(self.inner) {
            Ok(l) => l.into_inner(),
            Err(_) => unreachable!("no owned guard outlives its lock"),
        }
    }
}

macro_rules! acquire {
    // The shared shape of every async acquisition: a try first, a recorded wait if that fails.
    // The try comes first even unrecorded: it is cheaper than tokio's future, and as fair.
    ($self:ident, $mode:expr, $site:ident, $try:expr, $wait:expr, $make:expr) => {{
        if let Ok(g) = $try {
            return $make(g, $self.tracked.acquired($mode, $site));
        }
        let waiting = $self.tracked.begin_wait($mode, $site);
        let g = $wait;
        $make(g, waiting.acquired())
    }};
}

impl<T: ?Sized> RwLock<T> {
    fn read_guard<'a>(
        &'a self,
        inner: tk::RwLockReadGuard<'a, T>,
        hold: Hold,
    ) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            release: Release {
                tracked: &self.tracked,
                hold,
                mode: Mode::Shared,
            },
            inner,
        }
    }

    fn write_guard<'a>(
        &'a self,
        inner: tk::RwLockWriteGuard<'a, T>,
        hold: Hold,
    ) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            release: Release {
                tracked: &self.tracked,
                hold,
                mode: Mode::Exclusive,
            },
            inner,
        }
    }

    /// Shared access, waiting while a writer holds or waits for the lock.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            acquire!(
                self,
                Mode::Shared,
                site,
                self.inner.try_read(),
                self.inner.read().await,
                |g, h| self.read_guard(g, h)
            )
        }
    }

    /// Exclusive access, waiting while anyone holds the lock.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let site = Location::caller();
        async move {
            acquire!(
                self,
                Mode::Exclusive,
                site,
                self.inner.try_write(),
                self.inner.write().await,
                |g, h| self.write_guard(g, h)
            )
        }
    }

    /// [`RwLock::read`] from synchronous code, blocking the thread (panics in an async
    /// context when it has to wait, as tokio's).
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let site = Location::caller();
        (|| {
            acquire!(
                self,
                Mode::Shared,
                site,
                self.inner.try_read(),
                self.inner.blocking_read(),
                |g, h| self.read_guard(g, h)
            )
        })()
    }

    /// [`RwLock::write`] from synchronous code, blocking the thread (panics in an async
    /// context when it has to wait, as tokio's).
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let site = Location::caller();
        (|| {
            acquire!(
                self,
                Mode::Exclusive,
                site,
                self.inner.try_write(),
                self.inner.blocking_write(),
                |g, h| self.write_guard(g, h)
            )
        })()
    }

    /// Shared access if available right now.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.try_read()?;
        Ok(self.read_guard(g, self.tracked.acquired_by_try(Mode::Shared, site)))
    }

    /// Exclusive access if available right now.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.try_write()?;
        Ok(self.write_guard(g, self.tracked.acquired_by_try(Mode::Exclusive, site)))
    }

    /// Shared access to an `Arc`'d lock, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let site = Location::caller();
        async move {
            let inner = self.inner.clone();
            let make = |g, hold| OwnedRwLockReadGuard {
                release: OwnedRelease {
                    lock: self.clone(),
                    hold,
                    mode: Mode::Shared,
                },
                inner: g,
            };
            acquire!(
                self,
                Mode::Shared,
                site,
                inner.clone().try_read_owned(),
                inner.read_owned().await,
                make
            )
        }
    }

    /// Exclusive access to an `Arc`'d lock, returning a guard that owns the `Arc`.
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let site = Location::caller();
        async move {
            let inner = self.inner.clone();
            let make = |g, hold| OwnedRwLockWriteGuard {
                release: OwnedRelease {
                    lock: self.clone(),
                    hold,
                    mode: Mode::Exclusive,
                },
                inner: g,
            };
            acquire!(
                self,
                Mode::Exclusive,
                site,
                inner.clone().try_write_owned(),
                inner.write_owned().await,
                make
            )
        }
    }

    /// [`RwLock::try_read`] returning an owned guard.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.clone().try_read_owned()?;
        let hold = self.tracked.acquired_by_try(Mode::Shared, site);
        Ok(OwnedRwLockReadGuard {
            release: OwnedRelease {
                lock: self,
                hold,
                mode: Mode::Shared,
            },
            inner: g,
        })
    }

    /// [`RwLock::try_write`] returning an owned guard.
    #[track_caller]
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        let site = Location::caller();
        let g = self.inner.clone().try_write_owned()?;
        let hold = self.tracked.acquired_by_try(Mode::Exclusive, site);
        Ok(OwnedRwLockWriteGuard {
            release: OwnedRelease {
                lock: self,
                hold,
                mode: Mode::Exclusive,
            },
            inner: g,
        })
    }

    /// A mutable reference to the value; no locking needed since `self` is exclusive.
    pub fn get_mut(&mut self) -> &mut T {
        match Arc::get_mut(&mut self.inner) {
            Some(l) => l.get_mut(),
            None => unreachable!("no owned guard outlives its lock"),
        }
    }

    /// This instance's figures.
    pub fn stats(&self) -> LockStats {
        self.tracked.meta.stats()
    }
}

impl<T: ?Sized> HasTracked for RwLock<T> {
    fn tracked(&self) -> &Tracked {
        &self.tracked
    }
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the value; the lock stays held until it drops.
    pub fn map<U: ?Sized, F: FnOnce(&T) -> &U>(this: Self, f: F) -> RwLockReadGuard<'a, U> {
        let RwLockReadGuard { release, inner } = this;
        RwLockReadGuard {
            release,
            inner: tk::RwLockReadGuard::map(inner, f),
        }
    }

    /// [`RwLockReadGuard::map`] that may fail, giving the guard back.
    pub fn try_map<U: ?Sized, F: FnOnce(&T) -> Option<&U>>(
        this: Self,
        f: F,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        let RwLockReadGuard { release, inner } = this;
        match tk::RwLockReadGuard::try_map(inner, f) {
            Ok(inner) => Ok(RwLockReadGuard { release, inner }),
            Err(inner) => Err(RwLockReadGuard { release, inner }),
        }
    }
}

/// A downgrade is recorded as the write's release and a read acquisition at the same site.
fn downgraded(release: &mut Release<'_>) {
    let tracked = release.tracked;
    let site = release.hold.tok.site;
    tracked.released(&release.hold, Mode::Exclusive);
    release.hold = if release.hold.tok.lock != 0 {
        tracked.acquired_by_try(Mode::Shared, site)
    } else {
        Hold::untracked(site)
    };
    release.mode = Mode::Shared;
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write access into read access without letting a writer in between.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let RwLockWriteGuard { mut release, inner } = self;
        downgraded(&mut release);
        RwLockReadGuard {
            release,
            inner: inner.downgrade(),
        }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Turns the write access into read access without letting a writer in between.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let OwnedRwLockWriteGuard { mut release, inner } = self;
        let lock = release.lock.clone();
        let tracked = &lock.tracked;
        let site = release.hold.tok.site;
        tracked.released(&release.hold, Mode::Exclusive);
        release.hold = if release.hold.tok.lock != 0 {
            tracked.acquired_by_try(Mode::Shared, site)
        } else {
            Hold::untracked(site)
        };
        release.mode = Mode::Shared;
        OwnedRwLockReadGuard {
            release,
            inner: inner.downgrade(),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.release.lock
    }
}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.release.lock
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        RwLock::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

crate::lock::guard::guard_impls!(RwLockReadGuard);
crate::lock::guard::guard_impls!(RwLockWriteGuard, mut);
crate::lock::guard::owned_guard_impls!(OwnedRwLockReadGuard);
crate::lock::guard::owned_guard_impls!(OwnedRwLockWriteGuard, mut);
