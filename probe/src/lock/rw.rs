//! `RwCore`, the raw layer under [`crate::RwLock`]: parking_lot's raw reader-writer lock and
//! the lock's recorded state, with every path — read, recursive read, upgradable read, write,
//! their timed and fair variants, upgrades and downgrades — in one place. Every `unsafe` call
//! on the raw lock is here, each with the hold it relies on.
//!
//! Reads are recorded in mode `Shared`, writes in `Exclusive`; an upgradable read is a shared
//! hold marked upgradable, which the deadlock detector knows blocks writers and other
//! upgradable readers but not readers. An upgrade or a downgrade ends one hold and begins the
//! next, so each mode's hold time is its own.

use crate::actor::UPGRADABLE;
use crate::format::{LockKind, Mode};
use crate::lock_core::{LockMeta, Token};
use lock_api::{
    RawRwLock as _, RawRwLockDowngrade as _, RawRwLockFair as _, RawRwLockTimed as _,
    RawRwLockUpgrade as _, RawRwLockUpgradeDowngrade as _, RawRwLockUpgradeFair as _,
    RawRwLockUpgradeTimed as _,
};
use std::panic::Location;
use std::time::Instant;

type Raw = parking_lot::RawRwLock;
pub(crate) type SharedMarker = <Raw as lock_api::RawRwLock>::SharedGuard;
pub(crate) type ExclusiveMarker = <Raw as lock_api::RawRwLock>::ExclusiveGuard;
type UpgradableMarker = <Raw as lock_api::RawRwLockUpgrade>::UpgradableGuard;

/// The three ways to hold the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Upgradable,
    Write,
}

impl Access {
    #[inline(always)]
    fn mode(self) -> Mode {
        match self {
            Access::Read | Access::Upgradable => Mode::Shared,
            Access::Write => Mode::Exclusive,
        }
    }

    #[inline(always)]
    fn flags(self) -> u64 {
        if self == Access::Upgradable {
            UPGRADABLE
        } else {
            0
        }
    }
}

// A recursive read runs parking_lot's recursive reader path on this lock's state word. That is
// sound only if the two instantiations share one layout: one `AtomicUsize`, at offset 0 since it
// is all of the struct's size.
const _: () = {
    assert!(size_of::<Raw>() == size_of::<std::sync::atomic::AtomicUsize>());
    assert!(size_of::<parking_lot::RawRwLockRecursive>() == size_of::<Raw>());
    assert!(align_of::<parking_lot::RawRwLockRecursive>() == align_of::<Raw>());
};

/// A raw reader-writer lock plus its recorded state. `repr(C)`: the lock word comes right after
/// `LockMeta`'s hot fields, on their cache line.
#[repr(C)]
pub(crate) struct RwCore {
    pub(crate) meta: LockMeta,
    raw: Raw,
}

impl RwCore {
    pub(crate) const fn new(site: &'static Location<'static>) -> Self {
        RwCore {
            meta: LockMeta::new(LockKind::RwLock, site, 1),
            raw: Raw::INIT,
        }
    }

    pub(crate) fn named(site: &'static Location<'static>, name: &str) -> Self {
        RwCore {
            meta: LockMeta::named(LockKind::RwLock, site, 1, name),
            raw: Raw::INIT,
        }
    }

    /// The same state word seen through parking_lot's recursive-read lock type.
    fn recursive(&self) -> &parking_lot::RawRwLockRecursive {
        // SAFETY: both are `RawRwLock<_>`, whose only field is the `AtomicUsize` state (the
        // const assertions above pin the layout); the parameter picks code paths, not layout.
        // A recursive read followed by a normal unlock is parking_lot 0.12's `read_recursive`.
        unsafe { &*std::ptr::from_ref(&self.raw).cast::<parking_lot::RawRwLockRecursive>() }
    }

    #[inline(always)]
    fn try_raw(&self, access: Access, recursive: bool) -> bool {
        match access {
            Access::Read if recursive => self.recursive().try_lock_shared().is_some(),
            Access::Read => self.raw.try_lock_shared().is_some(),
            Access::Upgradable => self.raw.try_lock_upgradable().is_some(),
            Access::Write => self.raw.try_lock_exclusive().is_some(),
        }
    }

    #[inline(always)]
    fn lock_raw(&self, access: Access, recursive: bool, deadline: Option<Instant>) -> bool {
        match (access, deadline) {
            (Access::Read, None) if recursive => drop(self.recursive().lock_shared()),
            (Access::Read, None) => drop(self.raw.lock_shared()),
            (Access::Upgradable, None) => drop(self.raw.lock_upgradable()),
            (Access::Write, None) => drop(self.raw.lock_exclusive()),
            (Access::Read, Some(d)) if recursive => {
                return self.recursive().try_lock_shared_until(d).is_some();
            }
            (Access::Read, Some(d)) => return self.raw.try_lock_shared_until(d).is_some(),
            (Access::Upgradable, Some(d)) => {
                return self.raw.try_lock_upgradable_until(d).is_some();
            }
            (Access::Write, Some(d)) => return self.raw.try_lock_exclusive_until(d).is_some(),
        }
        true
    }

    /// Takes the lock as `access`, blocking until it may.
    #[inline(always)]
    pub(crate) fn acquire(
        &self,
        access: Access,
        recursive: bool,
        site: &'static Location<'static>,
    ) -> Token {
        let state = crate::settings::state();
        // One compare on the recording path: anything but "on, no chaos" branches off here.
        if state != crate::settings::ON {
            if state & crate::settings::ON == 0 {
                self.lock_raw(access, recursive, None);
                return Token::untracked(site);
            }
            self.meta.perturb_before();
        }
        if self.try_raw(access, recursive) {
            // Recording is on: the state was read above.
            return self
                .meta
                .acquired_on(access.mode(), access.flags(), site, true);
        }
        self.acquire_contended(access, recursive, site)
    }

    #[cold]
    #[inline(never)]
    fn acquire_contended(
        &self,
        access: Access,
        recursive: bool,
        site: &'static Location<'static>,
    ) -> Token {
        let spun = super::spin::brief_spin(|| self.try_raw(access, recursive).then_some(()));
        if spun.is_some() {
            self.meta.count_brief();
            return self
                .meta
                .acquired_flagged(access.mode(), access.flags(), site, true);
        }
        let (mode, flags) = (access.mode(), access.flags());
        let yielded = super::spin::yield_phase(&self.meta, mode, flags, site, || {
            self.try_raw(access, recursive).then_some(())
        });
        if let Some(((), tok)) = yielded {
            return tok;
        }
        let (_, tok) = self
            .meta
            .wait_flagged(access.mode(), access.flags(), site, false, || {
                Some(self.lock_raw(access, recursive, None))
            });
        tok
    }

    /// Takes the lock as `access` if it may right now.
    pub(crate) fn try_acquire(
        &self,
        access: Access,
        recursive: bool,
        site: &'static Location<'static>,
    ) -> Option<Token> {
        self.try_raw(access, recursive).then(|| {
            self.meta
                .acquired_flagged(access.mode(), access.flags(), site, false)
        })
    }

    /// Takes the lock as `access`, waiting until `deadline` at the latest (`None`: untimed).
    pub(crate) fn try_acquire_until(
        &self,
        access: Access,
        recursive: bool,
        deadline: Option<Instant>,
        site: &'static Location<'static>,
    ) -> Option<Token> {
        let Some(deadline) = deadline else {
            return Some(self.acquire(access, recursive, site));
        };
        if let Some(tok) = self.try_acquire(access, recursive, site) {
            return Some(tok);
        }
        let (got, tok) = self
            .meta
            .wait_flagged(access.mode(), access.flags(), site, true, || {
                self.lock_raw(access, recursive, Some(deadline))
                    .then_some(())
            });
        got.map(|()| tok)
    }

    /// Ends the hold `tok` describes and unlocks.
    ///
    /// # Safety
    /// The caller holds the lock as `access` through `tok` and never uses that hold again.
    #[inline(always)]
    pub(crate) unsafe fn release(&self, access: Access, tok: &Token, fair: bool) {
        if tok.lock != 0 {
            // The token's words, not the token: passed by reference it would have to sit in
            // memory, and the call would read it back from there.
            // SAFETY: as this function's.
            unsafe { self.release_tracked(access, tok.lock, tok.stamp_word(), tok.site, fair) };
            return;
        }
        // An untracked hold (recording was off): parking_lot's inlined unlock and nothing
        // else, so recording off costs what parking_lot does.
        // SAFETY: the caller holds the lock as `access` (this function's contract).
        unsafe { self.unlock_raw(access, fair) };
    }

    /// [`RwCore::release`] of a tracked hold: the bookkeeping, the unlock, then what a
    /// sampled or traced hold records, with the lock already free. Out of line, so that the
    /// untracked path stays small enough to inline.
    ///
    /// # Safety
    /// As [`RwCore::release`].
    #[inline(never)]
    unsafe fn release_tracked(
        &self,
        access: Access,
        lock: u64,
        stamp: u64,
        site: &'static Location<'static>,
        fair: bool,
    ) {
        let tail = self.meta.released_parts(lock, stamp, site, access.mode());
        // SAFETY: the caller holds the lock as `access` (this function's contract).
        unsafe { self.unlock_raw(access, fair) };
        // Reads nothing of the lock: its next holder may be freeing it already.
        tail.finish(lock, stamp, access.mode());
    }

    /// The raw unlock of a hold as `access`.
    ///
    /// # Safety
    /// The caller holds the lock as `access`, and its bookkeeping is done.
    #[inline(always)]
    unsafe fn unlock_raw(&self, access: Access, fair: bool) {
        // SAFETY: the caller holds the lock as `access` (this function's contract).
        unsafe {
            match (access, fair) {
                (Access::Read, false) => self.raw.unlock_shared(SharedMarker::new()),
                (Access::Read, true) => self.raw.unlock_shared_fair(SharedMarker::new()),
                (Access::Upgradable, false) => self.raw.unlock_upgradable(UpgradableMarker::new()),
                (Access::Upgradable, true) => {
                    self.raw.unlock_upgradable_fair(UpgradableMarker::new());
                }
                (Access::Write, false) => self.raw.unlock_exclusive(ExclusiveMarker::new()),
                (Access::Write, true) => self.raw.unlock_exclusive_fair(ExclusiveMarker::new()),
            }
        }
    }

    /// Unlocks without a guard (`force_unlock_*`): the calling thread's hold, if any, ends
    /// unrecorded.
    ///
    /// # Safety
    /// The lock is held as `access`, by a guard that was leaked or forgotten.
    pub(crate) unsafe fn force_release(&self, access: Access, fair: bool) {
        self.meta.force_released();
        let tok = Token::untracked(self.meta.site());
        // SAFETY: the caller guarantees the hold; an untracked token records nothing.
        unsafe { self.release(access, &tok, fair) };
    }

    /// Lets a waiting thread have the lock, if one waits, and takes it back as `access`.
    ///
    /// # Safety
    /// The caller holds the lock as `access` through `tok`.
    pub(crate) unsafe fn bump(&self, access: Access, tok: &mut Token) {
        if tok.lock != 0 && self.meta.waiters() == 0 {
            return;
        }
        let site = tok.site;
        // SAFETY: the caller holds the lock; `tok` is replaced by the new hold.
        unsafe { self.release(access, tok, true) };
        *tok = self.acquire(access, false, site);
    }

    /// Releases the lock for the length of `f` and takes it again, as `access`, before
    /// returning, on unwind too; `tok` becomes the new hold.
    ///
    /// # Safety
    /// The caller holds the lock as `access` through `tok`, and touches nothing it guards
    /// while `f` runs.
    pub(crate) unsafe fn unlocked<U>(
        &self,
        access: Access,
        tok: &mut Token,
        fair: bool,
        f: impl FnOnce() -> U,
    ) -> U {
        struct Relock<'a> {
            lock: &'a RwCore,
            access: Access,
            tok: &'a mut Token,
        }
        impl Drop for Relock<'_> {
            fn drop(&mut self) {
                *self.tok = self.lock.acquire(self.access, false, self.tok.site);
            }
        }
        // SAFETY: the caller holds the lock; `Relock` takes it again before `tok` is used.
        unsafe { self.release(access, tok, fair) };
        let _relock = Relock {
            lock: self,
            access,
            tok,
        };
        f()
    }

    /// Write → read, atomically: no writer gets in between.
    ///
    /// # Safety
    /// The caller holds the lock for writing through `tok`.
    pub(crate) unsafe fn downgrade(&self, tok: &mut Token) {
        self.meta.released(tok, Mode::Exclusive);
        // SAFETY: the caller holds the write lock.
        let _ = unsafe { self.raw.downgrade(ExclusiveMarker::new()) };
        *tok = self.after_switch(Access::Read, tok.site);
    }

    /// Write → upgradable read, atomically.
    ///
    /// # Safety
    /// The caller holds the lock for writing through `tok`.
    pub(crate) unsafe fn downgrade_to_upgradable(&self, tok: &mut Token) {
        self.meta.released(tok, Mode::Exclusive);
        // SAFETY: the caller holds the write lock.
        let _ = unsafe { self.raw.downgrade_to_upgradable(ExclusiveMarker::new()) };
        *tok = self.after_switch(Access::Upgradable, tok.site);
    }

    /// Upgradable read → read, atomically.
    ///
    /// # Safety
    /// The caller holds an upgradable read through `tok`.
    pub(crate) unsafe fn downgrade_upgradable(&self, tok: &mut Token) {
        self.meta.released(tok, Mode::Shared);
        // SAFETY: the caller holds the upgradable read.
        let _ = unsafe { self.raw.downgrade_upgradable(UpgradableMarker::new()) };
        *tok = self.after_switch(Access::Read, tok.site);
    }

    /// The hold that begins where an atomic switch of mode ended another.
    fn after_switch(&self, access: Access, site: &'static Location<'static>) -> Token {
        if !crate::settings::enabled() {
            return Token::untracked(site);
        }
        self.meta
            .acquired_flagged(access.mode(), access.flags(), site, true)
    }

    /// Upgradable read → write, waiting (recorded) for the readers to leave.
    ///
    /// # Safety
    /// The caller holds an upgradable read through `tok`; on return it holds the write lock
    /// through `tok`.
    pub(crate) unsafe fn upgrade(&self, tok: &mut Token) {
        // SAFETY: the caller holds the upgradable read; `tok` is replaced as documented.
        let done = unsafe { self.upgrade_until(tok, None) };
        debug_assert!(done, "an untimed upgrade always succeeds");
    }

    /// Upgradable read → write if no reader is left right now, else nothing changes.
    ///
    /// # Safety
    /// The caller holds an upgradable read through `tok`.
    pub(crate) unsafe fn try_upgrade(&self, tok: &mut Token) -> bool {
        // SAFETY: the caller holds the upgradable read.
        if unsafe { self.raw.try_upgrade(UpgradableMarker::new()) }.is_err() {
            return false;
        }
        self.meta.released(tok, Mode::Shared);
        *tok = self.after_switch(Access::Write, tok.site);
        true
    }

    /// Upgradable read → write, waiting until `deadline` at the latest (`None`: untimed); on
    /// timeout the upgradable read is kept, and `tok` still describes it.
    ///
    /// # Safety
    /// The caller holds an upgradable read through `tok`.
    pub(crate) unsafe fn upgrade_until(&self, tok: &mut Token, deadline: Option<Instant>) -> bool {
        // SAFETY: the caller holds the upgradable read.
        if unsafe { self.try_upgrade(tok) } {
            return true;
        }
        let site = tok.site;
        // The upgradable hold ends while the upgrade waits: a waiter is not its own holder.
        self.meta.released(tok, Mode::Shared);
        let raw_upgrade = || match deadline {
            // SAFETY: the upgradable read is held (the caller's contract) until this succeeds.
            None => unsafe {
                let _ = self.raw.upgrade(UpgradableMarker::new());
                Some(())
            },
            // SAFETY: as above; on timeout parking_lot hands the upgradable read back.
            Some(d) => unsafe { self.raw.try_upgrade_until(UpgradableMarker::new(), d) }
                .ok()
                .map(drop),
        };
        let (got, new) =
            self.meta
                .wait_flagged(Mode::Exclusive, 0, site, deadline.is_some(), raw_upgrade);
        *tok = match got {
            Some(()) => new,
            None => self.after_switch(Access::Upgradable, site),
        };
        got.is_some()
    }

    pub(crate) fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    pub(crate) fn is_locked_exclusive(&self) -> bool {
        self.raw.is_locked_exclusive()
    }
}
