//! [`RawRwLock`]: lockscope's reader-writer lock for lock_api 0.4, with every trait parking_lot
//! 0.12's raw rwlock implements (fair, timed, recursive, upgradable, downgradable).
//!
//! The write hold and the upgradable read (one of each at a time) keep their tokens in the
//! lock. A read hold, of which there can be many, needs its token at release only when it is
//! timed (one in [`crate::hold_sample_period`]): a timed read keeps its token on the reading
//! thread, in a short stack keyed by the lock's address, and the release of any other read
//! makes its token from the lock's id (what an untimed token is). A timed read that stack
//! cannot find (over 16 timed read holds on one thread, or a guard released on another thread
//! under `send_guard`) ends untimed. A thread that holds one lock for reading twice, the outer
//! hold timed and the inner not, times the outer hold up to the inner's release (the stack
//! cannot tell the two apart), and the outer's release ends untimed.

use super::hold::{GuardMarker, HoldSlot, SITE};
use crate::lock::spin::deadline;
use crate::lock::{Access, RwCore};
use crate::lock_core::Token;
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// Timed read holds' tokens kept per thread.
const READ_SLOTS: usize = 16;

thread_local! {
    /// `(lock address, packed token)` of this thread's timed read holds, oldest first.
    static READS: RefCell<([(usize, u64); READ_SLOTS], usize)> =
        const { RefCell::new(([(0, 0); READ_SLOTS], 0)) };
    /// How many entries `READS` has: a release on a thread with none (the usual case) looks
    /// no further.
    static TIMED_READS: Cell<usize> = const { Cell::new(0) };
}

/// A raw reader-writer lock for lock_api 0.4: parking_lot's raw rwlock plus lockscope's
/// recorded state. `lock_api::RwLock<RawRwLock, T>` is parking_lot 0.12's `RwLock<T>`,
/// recorded, with reads, writes and upgradable reads told apart by the detectors.
pub struct RawRwLock {
    core: RwCore,
    write: HoldSlot,
    upgradable: HoldSlot,
}

impl std::fmt::Debug for RawRwLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRwLock")
            .field("locked", &self.core.is_locked())
            .finish_non_exhaustive()
    }
}

impl RawRwLock {
    /// A raw rwlock in the class `name` (for `lock_api::RwLock::from_raw`).
    #[track_caller]
    pub fn named(name: &str) -> Self {
        RawRwLock {
            core: RwCore::named(std::panic::Location::caller(), name),
            write: HoldSlot::new(),
            upgradable: HoldSlot::new(),
        }
    }

    /// This instance's figures.
    pub fn stats(&self) -> crate::LockStats {
        self.core.meta.stats()
    }

    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Keeps a timed read hold's token until its release (an untimed one is made again from
    /// the lock's id).
    #[inline(always)]
    fn push_read(&self, tok: &Token) {
        if tok.lock == 0 || tok.stamp_word() == 0 {
            return; // untracked, or untimed: nothing the release cannot make again
        }
        self.push_timed_read(tok.pack());
    }

    #[cold]
    #[inline(never)]
    fn push_timed_read(&self, word: u64) {
        let key = self.key();
        let _ = READS.try_with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                let (slots, len) = &mut *r;
                if *len < READ_SLOTS {
                    slots[*len] = (key, word);
                    *len += 1;
                    TIMED_READS.set(*len);
                }
            }
        });
    }

    /// The token of this thread's latest read hold of this lock: the timed one it kept, else
    /// an untimed token of the lock (or an untracked one, for a lock never registered).
    #[inline(always)]
    fn pop_read(&self) -> Token {
        if TIMED_READS.get() != 0
            && let Some(word) = self.pop_timed_read()
        {
            return Token::unpack(word, self.core.meta.id(), SITE);
        }
        // With recording off, a thread that lists nothing took this read untracked, and its
        // release has nothing to end: parking_lot's unlock alone. (A read taken while
        // recording was on is still listed, and its release ends it.)
        if !crate::settings::enabled() && !crate::actor::holds_any() {
            return Token::untracked(SITE);
        }
        Token::unpack(0, self.core.meta.registered_id(), SITE)
    }

    #[cold]
    #[inline(never)]
    fn pop_timed_read(&self) -> Option<u64> {
        let key = self.key();
        READS
            .try_with(|r| {
                let mut r = r.try_borrow_mut().ok()?;
                let (slots, len) = &mut *r;
                let at = slots[..*len].iter().rposition(|s| s.0 == key)?;
                let word = slots[at].1;
                slots.copy_within(at + 1..*len, at);
                *len -= 1;
                TIMED_READS.set(*len);
                Some(word)
            })
            .ok()
            .flatten()
    }

    #[inline(always)]
    fn read_if(&self, tok: Option<Token>) -> bool {
        tok.map(|t| self.push_read(&t)).is_some()
    }

    #[inline(always)]
    fn slot_if(slot: &HoldSlot, tok: Option<Token>) -> bool {
        tok.map(|t| slot.put(&t)).is_some()
    }
}

// SAFETY: `RwCore` is parking_lot's raw rwlock underneath: shared holds exclude exclusive
// ones, and every unlock releases only a hold the caller has (lock_api's contract).
unsafe impl lock_api04::RawRwLock for RawRwLock {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's pattern: a fresh lock per use
    const INIT: Self = RawRwLock {
        core: RwCore::new(SITE),
        write: HoldSlot::new(),
        upgradable: HoldSlot::new(),
    };
    type GuardMarker = GuardMarker;

    #[inline]
    fn lock_shared(&self) {
        let tok = self.core.acquire(Access::Read, false, SITE);
        self.push_read(&tok);
    }

    #[inline]
    fn try_lock_shared(&self) -> bool {
        self.read_if(self.core.try_acquire(Access::Read, false, SITE))
    }

    #[inline]
    unsafe fn unlock_shared(&self) {
        let tok = self.pop_read();
        // SAFETY: the caller holds a read (lock_api's contract).
        unsafe { self.core.release(Access::Read, &tok, false) };
    }

    #[inline]
    fn lock_exclusive(&self) {
        let tok = self.core.acquire(Access::Write, false, SITE);
        self.write.put(&tok);
    }

    #[inline]
    fn try_lock_exclusive(&self) -> bool {
        Self::slot_if(
            &self.write,
            self.core.try_acquire(Access::Write, false, SITE),
        )
    }

    #[inline]
    unsafe fn unlock_exclusive(&self) {
        let tok = self.write.take(&self.core.meta);
        // SAFETY: the caller holds the write lock (lock_api's contract).
        unsafe { self.core.release(Access::Write, &tok, false) };
    }

    fn is_locked(&self) -> bool {
        self.core.is_locked()
    }

    fn is_locked_exclusive(&self) -> bool {
        self.core.is_locked_exclusive()
    }
}

// SAFETY: as above; the fair paths hand the lock to parked waiters.
unsafe impl lock_api04::RawRwLockFair for RawRwLock {
    unsafe fn unlock_shared_fair(&self) {
        let tok = self.pop_read();
        // SAFETY: the caller holds a read.
        unsafe { self.core.release(Access::Read, &tok, true) };
    }

    unsafe fn unlock_exclusive_fair(&self) {
        let tok = self.write.take(&self.core.meta);
        // SAFETY: the caller holds the write lock.
        unsafe { self.core.release(Access::Write, &tok, true) };
    }

    unsafe fn bump_shared(&self) {
        let mut tok = self.pop_read();
        // SAFETY: the caller holds a read; `tok` becomes the new read hold.
        unsafe { self.core.bump(Access::Read, &mut tok) };
        self.push_read(&tok);
    }

    unsafe fn bump_exclusive(&self) {
        let mut tok = self.write.take(&self.core.meta);
        // SAFETY: the caller holds the write lock; `tok` becomes the new hold.
        unsafe { self.core.bump(Access::Write, &mut tok) };
        self.write.put(&tok);
    }
}

// SAFETY: write → read, atomically, through parking_lot's downgrade.
unsafe impl lock_api04::RawRwLockDowngrade for RawRwLock {
    unsafe fn downgrade(&self) {
        let mut tok = self.write.take(&self.core.meta);
        // SAFETY: the caller holds the write lock; `tok` becomes the read hold.
        unsafe { self.core.downgrade(&mut tok) };
        self.push_read(&tok);
    }
}

// SAFETY: a timed acquisition that fails holds nothing.
unsafe impl lock_api04::RawRwLockTimed for RawRwLock {
    type Duration = Duration;
    type Instant = Instant;

    fn try_lock_shared_for(&self, timeout: Duration) -> bool {
        let d = deadline(timeout);
        self.read_if(self.core.try_acquire_until(Access::Read, false, d, SITE))
    }

    fn try_lock_shared_until(&self, timeout: Instant) -> bool {
        let d = Some(timeout);
        self.read_if(self.core.try_acquire_until(Access::Read, false, d, SITE))
    }

    fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        let d = deadline(timeout);
        let tok = self.core.try_acquire_until(Access::Write, false, d, SITE);
        Self::slot_if(&self.write, tok)
    }

    fn try_lock_exclusive_until(&self, timeout: Instant) -> bool {
        let tok = self
            .core
            .try_acquire_until(Access::Write, false, Some(timeout), SITE);
        Self::slot_if(&self.write, tok)
    }
}

// SAFETY: a recursive read is parking_lot's, on the same state word (see `RwCore`).
unsafe impl lock_api04::RawRwLockRecursive for RawRwLock {
    fn lock_shared_recursive(&self) {
        let tok = self.core.acquire(Access::Read, true, SITE);
        self.push_read(&tok);
    }

    fn try_lock_shared_recursive(&self) -> bool {
        self.read_if(self.core.try_acquire(Access::Read, true, SITE))
    }
}

// SAFETY: as above.
unsafe impl lock_api04::RawRwLockRecursiveTimed for RawRwLock {
    fn try_lock_shared_recursive_for(&self, timeout: Duration) -> bool {
        let d = deadline(timeout);
        self.read_if(self.core.try_acquire_until(Access::Read, true, d, SITE))
    }

    fn try_lock_shared_recursive_until(&self, timeout: Instant) -> bool {
        let d = Some(timeout);
        self.read_if(self.core.try_acquire_until(Access::Read, true, d, SITE))
    }
}

// SAFETY: one upgradable read at a time (parking_lot's), excluding writers, not readers.
unsafe impl lock_api04::RawRwLockUpgrade for RawRwLock {
    fn lock_upgradable(&self) {
        let tok = self.core.acquire(Access::Upgradable, false, SITE);
        self.upgradable.put(&tok);
    }

    fn try_lock_upgradable(&self) -> bool {
        let tok = self.core.try_acquire(Access::Upgradable, false, SITE);
        Self::slot_if(&self.upgradable, tok)
    }

    unsafe fn unlock_upgradable(&self) {
        let tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read.
        unsafe { self.core.release(Access::Upgradable, &tok, false) };
    }

    unsafe fn upgrade(&self) {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read; `tok` becomes the write hold.
        unsafe { self.core.upgrade(&mut tok) };
        self.write.put(&tok);
    }

    unsafe fn try_upgrade(&self) -> bool {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read; on success `tok` is the write hold.
        let done = unsafe { self.core.try_upgrade(&mut tok) };
        self.upgraded(tok, done)
    }
}

impl RawRwLock {
    /// Stores the hold an upgrade attempt left: the write lock, or still the upgradable read.
    fn upgraded(&self, tok: Token, done: bool) -> bool {
        if done {
            self.write.put(&tok);
        } else {
            self.upgradable.put(&tok);
        }
        done
    }
}

// SAFETY: as above.
unsafe impl lock_api04::RawRwLockUpgradeFair for RawRwLock {
    unsafe fn unlock_upgradable_fair(&self) {
        let tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read.
        unsafe { self.core.release(Access::Upgradable, &tok, true) };
    }

    unsafe fn bump_upgradable(&self) {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read; `tok` becomes the new one.
        unsafe { self.core.bump(Access::Upgradable, &mut tok) };
        self.upgradable.put(&tok);
    }
}

// SAFETY: atomic mode switches through parking_lot's.
unsafe impl lock_api04::RawRwLockUpgradeDowngrade for RawRwLock {
    unsafe fn downgrade_upgradable(&self) {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read; `tok` becomes a read hold.
        unsafe { self.core.downgrade_upgradable(&mut tok) };
        self.push_read(&tok);
    }

    unsafe fn downgrade_to_upgradable(&self) {
        let mut tok = self.write.take(&self.core.meta);
        // SAFETY: the caller holds the write lock; `tok` becomes the upgradable read.
        unsafe { self.core.downgrade_to_upgradable(&mut tok) };
        self.upgradable.put(&tok);
    }
}

// SAFETY: as above; a timed upgrade that fails keeps the upgradable read.
unsafe impl lock_api04::RawRwLockUpgradeTimed for RawRwLock {
    fn try_lock_upgradable_for(&self, timeout: Duration) -> bool {
        let d = deadline(timeout);
        let tok = self
            .core
            .try_acquire_until(Access::Upgradable, false, d, SITE);
        Self::slot_if(&self.upgradable, tok)
    }

    fn try_lock_upgradable_until(&self, timeout: Instant) -> bool {
        let d = Some(timeout);
        let tok = self
            .core
            .try_acquire_until(Access::Upgradable, false, d, SITE);
        Self::slot_if(&self.upgradable, tok)
    }

    unsafe fn try_upgrade_for(&self, timeout: Duration) -> bool {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read.
        let done = unsafe { self.core.upgrade_until(&mut tok, deadline(timeout)) };
        self.upgraded(tok, done)
    }

    unsafe fn try_upgrade_until(&self, timeout: Instant) -> bool {
        let mut tok = self.upgradable.take(&self.core.meta);
        // SAFETY: the caller holds the upgradable read.
        let done = unsafe { self.core.upgrade_until(&mut tok, Some(timeout)) };
        self.upgraded(tok, done)
    }
}
