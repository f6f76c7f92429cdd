//! `Mutex`: parking_lot's mutex plus lockscope's recording.

use crate::LockStats;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token};
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A mutual-exclusion lock that records who holds it, who waits for it and for how long.
///
/// It behaves like [`parking_lot::Mutex`]: no poisoning, `lock()` returns the guard directly,
/// eventual fairness, and [`try_lock_for`](Mutex::try_lock_for) for timed waits. (For
/// `std::sync::Mutex`'s poisoning signatures use [`crate::stdsync::Mutex`].)
///
/// Its class is its creation site, or the name given to [`Mutex::named`]; figures per class
/// come from [`crate::class_stats`], figures of this instance from [`Mutex::stats`].
///
/// ```
/// let accounts = lockscope::Mutex::named("accounts", vec![100, 50]);
/// accounts.lock()[0] -= 10;
/// assert_eq!(*accounts.lock(), vec![90, 50]);
/// assert_eq!(accounts.stats().acquisitions, 2);
/// ```
///
/// Cost (measured, README's performance section): an uncontended `lock()` + unlock takes about
/// 12 ns with recording on and 6.2 ns with it off, against parking_lot's 6.6 ns; only relaxed
/// loads and stores are added to parking_lot's CAS. One acquisition in
/// [`crate::hold_sample_period`] also reads the clock twice.
pub struct Mutex<T: ?Sized> {
    meta: LockMeta,
    inner: parking_lot::Mutex<T>,
}

/// Holds a [`Mutex`] locked; unlocks on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) inner: parking_lot::MutexGuard<'a, T>,
    pub(crate) meta: &'a LockMeta,
    pub(crate) tok: Token,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex whose class is the caller's location. `const`, so it can
    /// initialise a `static`.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            meta: LockMeta::new(LockKind::Mutex, Location::caller(), 1),
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// A new unlocked mutex in the class `name`: every mutex with this name (created at the
    /// same site) shares one line of the report.
    #[track_caller]
    pub fn named(name: impl AsRef<str>, value: T) -> Self {
        Mutex {
            meta: LockMeta::named(LockKind::Mutex, Location::caller(), 1, name.as_ref()),
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Acquires the mutex, blocking until it is free.
    #[inline(always)]
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let site = Location::caller();
        if !crate::settings::enabled() {
            // Off: exactly parking_lot's fast path, plus this one relaxed load.
            return MutexGuard {
                inner: self.inner.lock(),
                meta: &self.meta,
                tok: Token::untracked(site),
            };
        }
        match self.inner.try_lock() {
            Some(inner) => MutexGuard {
                tok: self.meta.acquired(Mode::Exclusive, site, true),
                inner,
                meta: &self.meta,
            },
            None => self.lock_contended(site),
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self, site: &'static Location<'static>) -> MutexGuard<'_, T> {
        if let Some(inner) = super::spin::brief_spin(|| self.inner.try_lock()) {
            self.meta.count_brief();
            let tok = self.meta.acquired(Mode::Exclusive, site, true);
            return MutexGuard {
                inner,
                meta: &self.meta,
                tok,
            };
        }
        let (g, tok) = self
            .meta
            .wait(Mode::Exclusive, site, false, || Some(self.inner.lock()));
        let inner = g.expect("an untimed lock always succeeds");
        MutexGuard {
            inner,
            meta: &self.meta,
            tok,
        }
    }

    /// Acquires the mutex if it is free right now.
    #[inline]
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let site = Location::caller();
        let inner = self.inner.try_lock()?;
        Some(MutexGuard {
            tok: self.meta.acquired(Mode::Exclusive, site, false),
            inner,
            meta: &self.meta,
        })
    }

    /// Acquires the mutex, waiting at most `timeout`. A timeout is recorded as a wait that
    /// ended without the lock.
    #[track_caller]
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        match super::spin::deadline(timeout) {
            Some(d) => self.try_lock_until_at(d, Location::caller()),
            None => Some(self.lock()),
        }
    }

    /// Acquires the mutex, waiting until `deadline` at the latest.
    #[track_caller]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        self.try_lock_until_at(deadline, Location::caller())
    }

    fn try_lock_until_at(
        &self,
        deadline: Instant,
        site: &'static Location<'static>,
    ) -> Option<MutexGuard<'_, T>> {
        if let Some(inner) = self.inner.try_lock() {
            return Some(MutexGuard {
                tok: self.meta.acquired(Mode::Exclusive, site, false),
                inner,
                meta: &self.meta,
            });
        }
        let (g, tok) = self.meta.wait(Mode::Exclusive, site, true, || {
            self.inner.try_lock_until(deadline)
        });
        g.map(|inner| MutexGuard {
            inner,
            meta: &self.meta,
            tok,
        })
    }

    /// Whether the mutex is locked right now.
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    /// A mutable reference to the value; no locking needed since `self` is exclusive.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    /// This instance's figures.
    pub fn stats(&self) -> LockStats {
        self.meta.stats()
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.meta.released(&self.tok, Mode::Exclusive);
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
        match self.inner.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f
                .debug_struct("Mutex")
                .field("data", &format_args!("<locked>"))
                .finish(),
        }
    }
}

crate::lock::guard::guard_impls!(MutexGuard, mut);
