//! What an actor holds and waits for, as other threads read it: the snapshot types the
//! detectors and `dump()` work on, and the words a held-list slot packs (the slots and their
//! sequence lock are `held_list`).

use crate::format::{ActorKind, Mode};
use crate::raw;
use std::panic::Location;
use std::sync::atomic::AtomicUsize;

/// One entry of an actor's held list, or its current wait, as read by another thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Held {
    pub(crate) lock: u64,
    pub(crate) class: u32,
    pub(crate) mode: Mode,
    pub(crate) site: &'static Location<'static>,
    pub(crate) since_ns: u64,
    /// A timed wait (`try_lock_for`, `acquire_timeout`): it gives up by itself.
    pub(crate) timed: bool,
    /// An async hold: its guard may have been moved to another task or thread since.
    pub(crate) movable: bool,
    /// An upgradable read (mode `Shared`).
    pub(crate) upgradable: bool,
}

/// A consistent read of one actor.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) held: Vec<Held>,
    pub(crate) waiting: Option<Held>,
    /// The stack of the current wait, when one was captured (instruction pointers).
    pub(crate) wait_stack: Vec<usize>,
    /// A thread, or a tokio task.
    pub(crate) kind: ActorKind,
}

/// Actors waiting for a lock right now (not counting condvar waits).
pub(crate) static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Marks a timed wait in a class-mode word.
pub(crate) const TIMED: u64 = 1 << 7;
/// Marks an acquisition that could not block (`try_lock`) or gave up by itself (timed): it
/// adds no lock-order edges, like lockdep's trylock.
pub(crate) const NO_ORDER: u64 = 1 << 6;

/// Marks a shared hold or wait as an upgradable read (mode code 1 becomes 5): it blocks
/// writers and other upgradable readers, not readers.
pub(crate) const UPGRADABLE: u64 = 1 << 2;

// Bit 5 is the held list's `STAMPED` (`held_list`), which its reads strip.

/// Encodes class, mode and permit count in one word.
#[inline]
pub(crate) fn class_mode(class: u32, mode: Mode) -> u64 {
    let (code, n) = match mode {
        Mode::Exclusive => (0u64, 0u64),
        Mode::Shared => (1, 0),
        Mode::Condvar => (2, 0),
        Mode::Permits(n) => (3, u64::from(n) & 0xff_ffff),
    };
    (u64::from(class) << 32) | (n << 8) | code
}

pub(crate) fn decode_class_mode(w: u64) -> (u32, Mode) {
    let n = ((w >> 8) & 0xff_ffff) as u32;
    let mode = match w & 0x3f {
        0 => Mode::Exclusive,
        1 | 5 => Mode::Shared,
        2 => Mode::Condvar,
        _ => Mode::Permits(n),
    };
    ((w >> 32) as u32, mode)
}

pub(super) fn to_held(w: [u64; 4]) -> Held {
    let (class, mode) = decode_class_mode(w[1]);
    Held {
        lock: w[0],
        class,
        mode,
        site: raw::location_from_addr(w[2] as usize),
        since_ns: w[3],
        timed: w[1] & TIMED != 0,
        upgradable: (w[1] & 0x3f) == (1 | UPGRADABLE),
        movable: false,
    }
}
