//! [`HeldHere`]: the hold of an async lock that has one holder at a time (a mutex), kept in
//! the lock while it is held instead of in its guard.
//!
//! A guard that carries its hold is 64 bytes, returned from the lock future's poll through
//! memory and copied into the caller's frame in 16-byte pieces that straddle the 8-byte
//! stores that wrote them: a store-forwarding stall on every `lock().await`. A guard that
//! refers to the lock instead is two words, returned in registers, as tokio's own guard is
//! one. Only the holder writes the hold (after it acquired) and reads it back (in its release,
//! before the real unlock), so the lock's own hand-over orders one holder's hold before the
//! next's; the fields are atomics only so that the lock stays `Sync` without `unsafe`.

use super::meta::Token;
use super::tracked::{Hold, Tracked};
use crate::format::Mode;
use crate::raw;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// The current holder's [`Hold`], while the lock is held by a borrowing guard.
pub(crate) struct HeldHere {
    lock: AtomicU64,
    stamp: AtomicU64,
    site: AtomicU64,
    actor: AtomicU64,
    /// The hold table slot (low half) and the task's held-locks entry (high half).
    slot_entry: AtomicU64,
}

impl HeldHere {
    pub(crate) const fn new() -> Self {
        HeldHere {
            lock: AtomicU64::new(0),
            stamp: AtomicU64::new(0),
            site: AtomicU64::new(0),
            actor: AtomicU64::new(0),
            slot_entry: AtomicU64::new(0),
        }
    }

    /// Keeps `h`, the hold just taken. Call only while holding the lock.
    #[inline]
    pub(crate) fn put(&self, h: Hold) {
        self.lock.store(h.tok.lock, Relaxed);
        self.site.store(
            h.tok.site as *const Location<'static> as usize as u64,
            Relaxed,
        );
        if h.tok.lock != 0 {
            self.stamp.store(h.tok.stamp, Relaxed);
            self.actor.store(h.actor, Relaxed);
            self.slot_entry
                .store(u64::from(h.slot) | (u64::from(h.entry) << 32), Relaxed);
        }
    }

    /// The hold kept by [`HeldHere::put`], for the holder's release.
    #[inline]
    pub(crate) fn get(&self) -> Hold {
        let site = raw::location_from_addr(self.site.load(Relaxed) as usize);
        let lock = self.lock.load(Relaxed);
        if lock == 0 {
            return Hold::untracked(site);
        }
        let slot_entry = self.slot_entry.load(Relaxed);
        Hold {
            tok: Token {
                lock,
                stamp: self.stamp.load(Relaxed),
                site,
            },
            actor: self.actor.load(Relaxed),
            slot: slot_entry as u32,
            entry: (slot_entry >> 32) as u32,
        }
    }
}

/// An async lock's recording when it has one holder at a time: its [`Tracked`] and the hold
/// of whichever borrowing guard holds it.
pub(crate) struct Exclusive {
    pub(crate) tracked: Tracked,
    held: HeldHere,
}

impl Exclusive {
    pub(crate) const fn new(tracked: Tracked) -> Self {
        Exclusive {
            tracked,
            held: HeldHere::new(),
        }
    }

    /// Keeps `hold`, just taken, in the lock; the returned piece of the guard releases it.
    #[inline]
    pub(crate) fn keep(&self, hold: Hold) -> ReleaseHere<'_> {
        self.held.put(hold);
        ReleaseHere { core: self }
    }
}

/// Releases the hold kept in an [`Exclusive`] lock when dropped. A guard lists it before the
/// real guard, so (fields drop in order) the bookkeeping runs right before the real unlock.
pub(crate) struct ReleaseHere<'a> {
    core: &'a Exclusive,
}

impl Drop for ReleaseHere<'_> {
    #[inline]
    fn drop(&mut self) {
        let hold = self.core.held.get();
        self.core.tracked.released(&hold, Mode::Exclusive);
    }
}
