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

use super::meta::{LockMeta, Token};
use super::tracked::{Hold, Tracked};
use crate::format::Mode;
use crate::raw;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// The current holder's [`Hold`], while the lock is held by a borrowing guard. The token is
/// packed as the drop-in's raw locks pack theirs ([`Token::pack`]): the lock id is the lock's
/// own, so it is not kept.
pub(crate) struct HeldHere {
    /// [`Token::NONE`] for a hold taken while recording was off; the rest is then not written.
    tok: AtomicU64,
    site: AtomicU64,
    actor: AtomicU64,
    /// The hold table slot (low half) and the task's held-locks entry (high half).
    slot_entry: AtomicU64,
}

impl HeldHere {
    pub(crate) const fn new() -> Self {
        HeldHere {
            tok: AtomicU64::new(Token::NONE),
            site: AtomicU64::new(0),
            actor: AtomicU64::new(0),
            slot_entry: AtomicU64::new(0),
        }
    }

    /// Keeps `h`, the hold just taken. Call only while holding the lock.
    #[inline]
    pub(crate) fn put(&self, h: &Hold) {
        let word = h.tok.pack();
        self.tok.store(word, Relaxed);
        if word != Token::NONE {
            let site = h.tok.site as *const Location<'static> as usize;
            self.site.store(site as u64, Relaxed);
            self.actor.store(h.actor, Relaxed);
            self.slot_entry
                .store(u64::from(h.slot) | (u64::from(h.entry) << 32), Relaxed);
        }
    }

    /// The hold kept by [`HeldHere::put`] in the lock whose figures are `meta`, for the
    /// holder's release; `None` when it was taken untracked.
    #[inline]
    pub(crate) fn get(&self, meta: &LockMeta) -> Option<Hold> {
        let word = self.tok.load(Relaxed);
        if word == Token::NONE {
            return None;
        }
        let site = raw::location_from_addr(self.site.load(Relaxed) as usize);
        let slot_entry = self.slot_entry.load(Relaxed);
        let actor = self.actor.load(Relaxed);
        Some(unpacked(
            meta,
            word,
            site,
            actor,
            slot_entry as u32,
            (slot_entry >> 32) as u32,
        ))
    }
}

/// A tracked hold of the lock whose figures are `meta`, kept packed (`word`: its token as
/// [`Token::pack`] gives it) and given back whole for its release.
#[inline(always)]
fn unpacked(
    meta: &LockMeta,
    word: u64,
    site: &'static Location<'static>,
    actor: u64,
    slot: u32,
    entry: u32,
) -> Hold {
    Hold {
        // The id is set: the hold was tracked, so its acquisition registered the lock.
        tok: Token::unpack(word, meta.id.load(Relaxed), site),
        actor,
        slot,
        entry,
    }
}

/// An async lock's recording when it has one holder at a time (a mutex): its [`Tracked`] and
/// the hold of whichever borrowing guard holds it.
pub(crate) struct OneHolder {
    pub(crate) tracked: Tracked,
    held: HeldHere,
}

impl OneHolder {
    pub(crate) const fn new(tracked: Tracked) -> Self {
        OneHolder {
            tracked,
            held: HeldHere::new(),
        }
    }

    /// Keeps `hold`, just taken, in the lock; the returned piece of the guard releases it.
    #[inline]
    pub(crate) fn keep(&self, hold: Hold) -> ReleaseHere<'_> {
        self.held.put(&hold);
        ReleaseHere { core: self }
    }
}

/// Releases the hold kept in a [`OneHolder`] lock when dropped. A guard lists it before the
/// real guard, so (fields drop in order) the bookkeeping runs right before the real unlock.
pub(crate) struct ReleaseHere<'a> {
    core: &'a OneHolder,
}

impl Drop for ReleaseHere<'_> {
    #[inline]
    fn drop(&mut self) {
        let tracked = &self.core.tracked;
        if let Some(hold) = self.core.held.get(&tracked.meta) {
            tracked.released(&hold, Mode::Exclusive);
        }
    }
}

/// A hold of a lock outside the lock-order checks (a semaphore), kept by its permit in four
/// words instead of [`Hold`]'s six: the token packed as [`HeldHere`] packs it (the lock id is
/// the lock's own), and no held-locks entry (such a lock has none). The permit's other fields
/// share the slot's word, so the whole permit is what a tokio permit plus three words would
/// be, and moving it out of the acquire future copies less that was just written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PackedHold {
    /// [`Token::NONE`] for a hold taken while recording was off.
    tok: u64,
    site: &'static Location<'static>,
    actor: u64,
}

impl PackedHold {
    /// An untracked hold taken at `site`.
    pub(crate) const fn untracked(site: &'static Location<'static>) -> Self {
        PackedHold {
            tok: Token::NONE,
            site,
            actor: 0,
        }
    }

    /// `h`, a hold of a lock outside the lock-order checks, packed; its slot is returned
    /// beside it for the caller to keep.
    #[inline]
    pub(crate) fn pack(h: &Hold) -> (Self, u32) {
        debug_assert_eq!(h.entry, crate::actor::task_held::NO_ENTRY);
        let held = PackedHold {
            tok: h.tok.pack(),
            site: h.tok.site,
            actor: h.actor,
        };
        (held, h.slot)
    }

    /// Whether the hold was tracked (recording was on when it was taken).
    pub(crate) fn tracked(&self) -> bool {
        self.tok != Token::NONE
    }

    pub(crate) fn actor(&self) -> u64 {
        self.actor
    }

    pub(crate) fn site(&self) -> &'static Location<'static> {
        self.site
    }
}

impl Tracked {
    /// [`Tracked::released`] for a hold kept packed, listed in slot `slot`.
    #[inline]
    pub(crate) fn released_packed(&self, h: &PackedHold, slot: u32, mode: Mode) {
        if !h.tracked() {
            return;
        }
        let entry = crate::actor::task_held::NO_ENTRY;
        let hold = unpacked(&self.meta, h.tok, h.site, h.actor, slot, entry);
        self.released(&hold, mode);
    }
}
