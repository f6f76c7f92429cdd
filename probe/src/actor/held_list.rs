//! An actor's held list and current wait as other threads read them: slots of plain atomics
//! that only the owning thread writes, published through its sequence lock, and read by the
//! detectors, `dump()` and the profiles from any thread.
//!
//! The protocol:
//! - A push writes the slot above the published depth, then publishes the new depth
//!   (release). It needs no sequence bump: a reader that sees the new depth sees the slot; a
//!   reader holding an older, larger depth read it before a pop, and every pop bumps the
//!   sequence, so that reader retries.
//! - A pop of the top entry lowers the depth and bumps the sequence by 2 (it stays even),
//!   with a release fence so that the next push's slot writes come after the bump.
//! - Anything else (a pop from the middle, the wait slot, a reset) is written between an odd
//!   and an even sequence number.
//! - A reader reads the sequence (acquire; retries while odd), the depth (acquire), the
//!   slots, an acquire fence, and the sequence again: equal means what it read was one state
//!   of the list.
//!
//! A slot's hold time is written only for a timed (sampled) hold, which sets [`STAMPED`] in
//! its class-mode word: an untimed hold leaves the old time in place (one store fewer on
//! every unsampled acquisition), and a reader takes a slot without the flag as untimed.
//!
//! Model-checked: `probe/tests/model.rs` compiles this file over loom's atomics and checks
//! that a reader only ever sees states the list was really in.

use crate::raw::shim::Ordering::{Acquire, Relaxed, Release};
use crate::raw::shim::{AtomicU32, AtomicU64, AtomicUsize, fence, spin_loop};

/// Locks tracked per actor; deeper nesting is counted, not tracked.
pub(crate) const MAX_HELD: usize = 32;

/// In a slot's class-mode word: its `since_ns` is this hold's (a timed hold). Bit 5 is
/// free in every class-mode word (`actor::held`'s layout).
pub(crate) const STAMPED: u64 = 1 << 5;

/// One held lock (or the current wait): what the other threads read.
pub(crate) struct Slot {
    pub(crate) lock: AtomicU64,
    pub(crate) class_mode: AtomicU64,
    pub(crate) site: AtomicUsize,
    pub(crate) since_ns: AtomicU64,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            lock: AtomicU64::new(0),
            class_mode: AtomicU64::new(0),
            site: AtomicUsize::new(0),
            since_ns: AtomicU64::new(0),
        }
    }

    /// Writes the four fields (owner only, inside the protocol); an untimed hold
    /// (`since_ns` 0) leaves the old time, without [`STAMPED`].
    #[inline]
    pub(crate) fn write(&self, lock: u64, cm: u64, site: usize, since_ns: u64) {
        self.lock.store(lock, Relaxed);
        self.site.store(site, Relaxed);
        if since_ns == 0 {
            self.class_mode.store(cm, Relaxed);
        } else {
            self.class_mode.store(cm | STAMPED, Relaxed);
            self.since_ns.store(since_ns, Relaxed);
        }
    }

    /// The four fields, each read once (inside [`HeldList::read_consistent`]): the
    /// class-mode word without [`STAMPED`], and a time of 0 for an untimed hold.
    #[inline]
    pub(crate) fn read(&self) -> [u64; 4] {
        let cm = self.class_mode.load(Relaxed);
        let since = self.since_ns.load(Relaxed);
        [
            self.lock.load(Relaxed),
            cm & !STAMPED,
            self.site.load(Relaxed) as u64,
            if cm & STAMPED == 0 { 0 } else { since },
        ]
    }

    fn copy_from(&self, other: &Slot) {
        self.lock.store(other.lock.load(Relaxed), Relaxed);
        self.class_mode
            .store(other.class_mode.load(Relaxed), Relaxed);
        self.site.store(other.site.load(Relaxed), Relaxed);
        self.since_ns.store(other.since_ns.load(Relaxed), Relaxed);
    }
}

/// The held locks (innermost last) and the current wait of one actor.
pub(crate) struct HeldList {
    seq: AtomicU64,
    depth: AtomicU32,
    pub(crate) held: [Slot; MAX_HELD],
    pub(crate) waiting: Slot,
}

impl HeldList {
    pub(crate) fn new() -> HeldList {
        HeldList {
            seq: AtomicU64::new(0),
            depth: AtomicU32::new(0),
            held: std::array::from_fn(|_| Slot::new()),
            waiting: Slot::new(),
        }
    }

    /// Locks held right now, tracked or not (owning thread only).
    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.depth.load(Relaxed) as usize
    }

    /// Runs `f` (owner only) as one write: readers see all of it or none.
    #[inline]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&HeldList) -> R) -> R {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        let r = f(self);
        self.seq.store(s.wrapping_add(2), Release);
        r
    }

    /// Sets the depth to 0 (inside [`HeldList::write`]).
    pub(crate) fn clear(&self) {
        self.depth.store(0, Relaxed);
    }

    /// Records a new innermost hold (owner only); returns its slot index, `None` past
    /// [`MAX_HELD`] (then it is only counted).
    #[inline]
    pub(crate) fn push(&self, lock: u64, cm: u64, site: usize, since_ns: u64) -> Option<usize> {
        let d = self.depth.load(Relaxed) as usize;
        let Some(slot) = self.held.get(d) else {
            self.depth.store(d as u32 + 1, Release);
            return None;
        };
        slot.write(lock, cm, site, since_ns);
        self.depth.store(d as u32 + 1, Release);
        Some(d)
    }

    /// Removes the topmost entry for `lock` (owner only); a lock not in the list is left
    /// alone.
    #[inline]
    pub(crate) fn pop(&self, lock: u64) {
        let d = self.depth.load(Relaxed) as usize;
        if d == 0 {
            return;
        }
        if d <= MAX_HELD && self.held[d - 1].lock.load(Relaxed) == lock {
            self.depth.store((d - 1) as u32, Relaxed);
            let s = self.seq.load(Relaxed);
            // Release: a reader that sees the new sequence sees the new depth; the fence keeps
            // the next push's slot writes after it.
            self.seq.store(s.wrapping_add(2), Release);
            fence(Release);
            return;
        }
        self.pop_below(lock, d, d.min(MAX_HELD));
    }

    #[cold]
    fn pop_below(&self, lock: u64, d: usize, top: usize) {
        let found = (0..top)
            .rev()
            .find(|&i| self.held[i].lock.load(Relaxed) == lock);
        if found.is_none() && d <= MAX_HELD {
            return; // not in our list (already gone): leave it alone
        }
        self.write(|l| {
            if let Some(i) = found {
                for j in i..top - 1 {
                    l.held[j].copy_from(&l.held[j + 1]);
                }
            }
            l.depth.store((d - 1) as u32, Relaxed);
        });
    }

    /// Runs `read` (given the published depth, at most [`MAX_HELD`]) until it saw no
    /// concurrent write, as a sequence-lock reader; `None` if the owner kept writing for 1000
    /// tries.
    pub(crate) fn read_consistent<R>(&self, mut read: impl FnMut(usize) -> R) -> Option<R> {
        for _ in 0..1000 {
            let s1 = self.seq.load(Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            let d = (self.depth.load(Acquire) as usize).min(MAX_HELD);
            let r = read(d);
            fence(Acquire);
            if self.seq.load(Relaxed) == s1 {
                return Some(r);
            }
        }
        None
    }
}
