//! What an async semaphore's permit keeps to account for its return.

use crate::actor::holds::NO_SLOT;
use crate::lock_core::PackedHold;

/// What a permit needs to account for its return: seven words, with the semaphore eight (a
/// permit that carried a [`Hold`](crate::lock_core::Hold) and tokio's permit was eleven, and moving it out of the
/// acquire future stalled on the copy of what had just been written).
#[derive(Debug)]
pub(super) struct Account {
    pub(super) hold: PackedHold,
    /// Its slot in the semaphore's hold table.
    pub(super) slot: u32,
    /// The pool counted these permits as taken.
    pub(super) pooled: bool,
    /// Permits held. tokio's permit is forgotten as it is taken, and these go back with
    /// `add_permits`, which is all that dropping it does; an owned permit then needs no
    /// second `Arc` of tokio's semaphore.
    pub(super) permits: usize,
    /// When the pool's record of the acquisition was written (0: not recorded).
    pub(super) pool_since: u64,
    /// Its leak-detection ticket (0: not watched).
    pub(super) ticket: u64,
}

impl Account {
    /// `permits` as the records count them (a `u32`, as tokio's `acquire_many` takes; a
    /// merged permit past that counts as `u32::MAX`).
    pub(super) fn count_of(permits: usize) -> u32 {
        u32::try_from(permits).unwrap_or(u32::MAX)
    }

    /// This permit's count, as the records count it.
    pub(super) fn count(&self) -> u32 {
        Account::count_of(self.permits)
    }

    /// The account of `permits` of another permit's, split off: the pool's view of them stays,
    /// and they have no hold (the permit they came from keeps it).
    pub(super) fn part(&self, permits: usize) -> Account {
        Account {
            hold: PackedHold::untracked(self.hold.site()),
            slot: NO_SLOT,
            pooled: self.pooled,
            permits,
            pool_since: self.pool_since,
            ticket: 0,
        }
    }

    /// Ends the hold and the leak watch for good; the permits stay as they are.
    pub(super) fn disown(&mut self) {
        self.hold = PackedHold::untracked(self.hold.site());
        self.pooled = false;
        self.ticket = 0;
    }
}
