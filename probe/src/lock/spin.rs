//! How the sync primitives wait before they record a wait: a brief spin, then a few yields
//! timed but not published; and deadlines that never overflow.

use crate::format::Mode;
use crate::lock_core::{LockMeta, Token};
use std::panic::Location;

/// Retries `try_acquire` over a brief spin (2, 4, then 8 pauses, as parking_lot's SpinWait)
/// before a contended acquisition is recorded as a wait: most contention on a short critical
/// section ends within it, and then costs no clock reads.
#[inline]
pub(crate) fn brief_spin<G>(mut try_acquire: impl FnMut() -> Option<G>) -> Option<G> {
    for round in 1..=3 {
        for _ in 0..1 << round {
            std::hint::spin_loop();
        }
        if let Some(g) = try_acquire() {
            return Some(g);
        }
    }
    None
}

/// parking_lot's yields between its spin and its park (its `SpinWait`: three rounds of spinning,
/// which [`brief_spin`] mirrors, then seven yields).
const YIELDS: u32 = 7;

/// After [`brief_spin`] failed: retries `try_acquire` after each of up to seven yields of the
/// thread, parking_lot's own budget before it parks, timed from the first yield. A contention
/// that ends here is counted and its wait timed into the class's wait histogram, but it is not
/// published as a wait (no wait-for edges, no `dump()` entry, no wait records): it lasts
/// microseconds, and a thread that would deadlock goes on to park, recorded. Publishing it cost
/// more than the wait itself under heavy contention: two threads on one lock with an empty
/// section took 17.4 ns per acquisition with every such wait published and 11.9 ns without,
/// against parking_lot's 11.1–11.6 (the README's performance section has the rest).
///
/// Only while recording is on with no perturbation, no trace records and no profile window is
/// open (their waits carry stacks and records); otherwise, and on `None`, the caller waits
/// recorded. `flags` go on the held entry, as in [`LockMeta::wait_flagged`].
#[inline]
pub(crate) fn yield_phase<G>(
    meta: &LockMeta,
    mode: Mode,
    flags: u64,
    site: &'static Location<'static>,
    try_acquire: impl FnMut() -> Option<G>,
) -> Option<(G, Token)> {
    if !LockMeta::may_wait_unpublished() {
        return None;
    }
    yields(meta, mode, flags, site, try_acquire)
}

/// [`yield_phase`] once it may run.
fn yields<G>(
    meta: &LockMeta,
    mode: Mode,
    flags: u64,
    site: &'static Location<'static>,
    mut try_acquire: impl FnMut() -> Option<G>,
) -> Option<(G, Token)> {
    let t0 = crate::clock::now_ns();
    for _ in 0..YIELDS {
        std::thread::yield_now();
        if let Some(g) = try_acquire() {
            return Some((g, meta.waited_unpublished(mode, flags, site, t0)));
        }
    }
    None
}

/// `now + timeout`, or `None` for a timeout too large to represent: such a wait is untimed,
/// as in std and parking_lot.
pub(crate) fn deadline(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::LockKind;

    fn waits_of(meta: &LockMeta) -> u64 {
        meta.class().counters.wait.snapshot().count()
    }

    #[test]
    fn a_lock_had_within_the_yields_is_a_timed_contention_and_a_hold() {
        let meta = LockMeta::named(LockKind::Mutex, Location::caller(), 1, "spin-yields-got");
        let mut tries = 0;
        let got = yields(&meta, Mode::Exclusive, 0, Location::caller(), || {
            tries += 1;
            (tries == 3).then_some(())
        });
        let ((), tok) = got.expect("the third try gets the lock");
        assert_eq!(tries, 3, "no try after the one that succeeded");
        let stats = meta.stats();
        assert_eq!((stats.contentions, stats.acquisitions), (1, 1));
        assert_eq!(waits_of(&meta), 1, "the wait is in the class's histogram");
        assert_ne!(
            stats.holder, 0,
            "the acquisition made this thread the holder"
        );
        assert_eq!(meta.waiters(), 0, "never published as a waiter");
        meta.released(&tok, Mode::Exclusive);
        assert_eq!(meta.stats().holder, 0);
    }

    #[test]
    fn yields_give_up_after_parking_lot_s_budget_having_counted_nothing() {
        let meta = LockMeta::named(LockKind::Mutex, Location::caller(), 1, "spin-yields-none");
        let mut tries = 0;
        let got = yields(&meta, Mode::Exclusive, 0, Location::caller(), || {
            tries += 1;
            None::<()>
        });
        assert!(got.is_none());
        assert_eq!(tries, YIELDS);
        let stats = meta.stats();
        assert_eq!((stats.contentions, stats.acquisitions), (0, 0));
        assert_eq!(
            waits_of(&meta),
            0,
            "the recorded wait that follows times it"
        );
    }
}
