//! [`RawMutex`], [`RawFairMutex`] and [`RawThreadId`]: lockscope's mutex under lock_api 0.4's
//! `Mutex`, `FairMutex` and `ReentrantMutex`.

use super::hold::{GuardMarker, HoldSlot, SITE};
use crate::lock::Exclusive;
use crate::lock_core::Token;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A raw mutex for lock_api 0.4: parking_lot's raw mutex plus lockscope's recorded state.
/// `lock_api::Mutex<RawMutex, T>` is parking_lot 0.12's `Mutex<T>`, recorded.
pub struct RawMutex {
    core: Exclusive,
    hold: HoldSlot,
}

impl RawMutex {
    const fn with(fair: bool) -> Self {
        RawMutex {
            core: Exclusive::new(SITE, fair),
            hold: HoldSlot::new(),
        }
    }

    /// A raw mutex in the class `name` (for `lock_api::Mutex::from_raw`).
    #[track_caller]
    pub fn named(name: &str) -> Self {
        RawMutex {
            core: Exclusive::named(Location::caller(), false, name),
            hold: HoldSlot::new(),
        }
    }

    /// This instance's figures.
    pub fn stats(&self) -> crate::LockStats {
        self.core.meta.stats()
    }

    /// The exclusive core under this raw mutex (the condvar's wait).
    pub(crate) fn core(&self) -> &Exclusive {
        &self.core
    }

    /// Ends the current hold's bookkeeping and hands back its token (the condvar's wait).
    pub(crate) fn take_hold(&self) -> Token {
        self.hold.take(&self.core.meta)
    }

    /// Stores the hold a condvar's wait began again.
    pub(crate) fn put_hold(&self, tok: &Token) {
        self.hold.put(tok);
    }

    #[inline(always)]
    fn held(&self, tok: Option<Token>) -> bool {
        match tok {
            Some(t) => {
                self.hold.put(&t);
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMutex")
            .field("locked", &self.core.is_locked())
            .finish_non_exhaustive()
    }
}

// SAFETY: `Exclusive` is parking_lot's raw mutex underneath: `lock`/`try_lock` succeed for one
// holder at a time, and `unlock` releases only a lock the caller holds (lock_api's contract).
unsafe impl lock_api04::RawMutex for RawMutex {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's pattern: a fresh lock per use
    const INIT: Self = RawMutex::with(false);
    type GuardMarker = GuardMarker;

    #[inline]
    fn lock(&self) {
        let tok = self.core.acquire(SITE);
        self.hold.put(&tok);
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.held(self.core.try_acquire(SITE))
    }

    #[inline]
    unsafe fn unlock(&self) {
        let tok = self.hold.take(&self.core.meta);
        // SAFETY: the caller holds the lock (lock_api's contract); `tok` is its hold.
        unsafe { self.core.release(&tok) };
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.core.is_locked()
    }
}

// SAFETY: as for `RawMutex`; the fair paths hand the lock to a parked waiter.
unsafe impl lock_api04::RawMutexFair for RawMutex {
    unsafe fn unlock_fair(&self) {
        let tok = self.hold.take(&self.core.meta);
        // SAFETY: the caller holds the lock (lock_api's contract).
        unsafe { self.core.release_fair(&tok) };
    }

    unsafe fn bump(&self) {
        let mut tok = self.hold.take(&self.core.meta);
        // SAFETY: the caller holds the lock; `tok` is its hold and becomes the new one.
        unsafe { self.core.bump(&mut tok) };
        self.hold.put(&tok);
    }
}

// SAFETY: as for `RawMutex`; a timed acquisition that fails holds nothing.
unsafe impl lock_api04::RawMutexTimed for RawMutex {
    type Duration = Duration;
    type Instant = Instant;

    fn try_lock_for(&self, timeout: Duration) -> bool {
        self.held(self.core.try_acquire_for(timeout, SITE))
    }

    fn try_lock_until(&self, deadline: Instant) -> bool {
        self.held(self.core.try_acquire_until(deadline, SITE))
    }
}

/// A raw mutex whose every unlock hands the lock to the next waiter: parking_lot 0.12's
/// `FairMutex` is `lock_api::Mutex<RawFairMutex, T>`.
#[derive(Debug)]
pub struct RawFairMutex(RawMutex);

// SAFETY: a `RawMutex` whose core releases fairly.
unsafe impl lock_api04::RawMutex for RawFairMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawFairMutex(RawMutex::with(true));
    type GuardMarker = GuardMarker;

    fn lock(&self) {
        lock_api04::RawMutex::lock(&self.0);
    }

    fn try_lock(&self) -> bool {
        lock_api04::RawMutex::try_lock(&self.0)
    }

    unsafe fn unlock(&self) {
        // SAFETY: forwarded under the same contract.
        unsafe { lock_api04::RawMutexFair::unlock_fair(&self.0) }
    }

    fn is_locked(&self) -> bool {
        lock_api04::RawMutex::is_locked(&self.0)
    }
}

// SAFETY: forwarded to `RawMutex`.
unsafe impl lock_api04::RawMutexFair for RawFairMutex {
    unsafe fn unlock_fair(&self) {
        // SAFETY: forwarded under the same contract.
        unsafe { lock_api04::RawMutexFair::unlock_fair(&self.0) }
    }

    unsafe fn bump(&self) {
        // SAFETY: forwarded under the same contract.
        unsafe { lock_api04::RawMutexFair::bump(&self.0) }
    }
}

// SAFETY: forwarded to `RawMutex`.
unsafe impl lock_api04::RawMutexTimed for RawFairMutex {
    type Duration = Duration;
    type Instant = Instant;

    fn try_lock_for(&self, timeout: Duration) -> bool {
        lock_api04::RawMutexTimed::try_lock_for(&self.0, timeout)
    }

    fn try_lock_until(&self, deadline: Instant) -> bool {
        lock_api04::RawMutexTimed::try_lock_until(&self.0, deadline)
    }
}

/// The thread identity lock_api's `ReentrantMutex` needs: parking_lot 0.12's
/// `ReentrantMutex<T>` is `lock_api::ReentrantMutex<RawMutex, RawThreadId, T>`. Re-entry by
/// the holding thread never reaches the raw mutex, so it is never a wait, let alone a deadlock;
/// two threads taking two reentrant mutexes in opposite orders are.
#[derive(Debug)]
pub struct RawThreadId;

// SAFETY: the address of a thread-local is unique among live threads and never zero.
unsafe impl lock_api04::GetThreadId for RawThreadId {
    const INIT: Self = RawThreadId;

    fn nonzero_thread_id(&self) -> std::num::NonZeroUsize {
        thread_local!(static KEY: u8 = const { 0 });
        KEY.with(|k| {
            std::num::NonZeroUsize::new(std::ptr::from_ref(k) as usize)
                .unwrap_or(std::num::NonZeroUsize::MIN)
        })
    }
}
