//! A single-writer double buffer: the owning thread writes into the active half without ever
//! waiting; the collector flips halves and waits (on its own time) for the owner to leave the
//! old half before reading it.

use std::cell::UnsafeCell;
use std::sync::atomic::Ordering::{Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};

pub(crate) struct DoubleBuf<T> {
    halves: [UnsafeCell<T>; 2],
    active: AtomicUsize,
    writing: AtomicBool,
}

// SAFETY: each half is touched by at most one thread at a time: the writer only inside
// `write` (on the half that is active when it starts), the collector only inside `collect`
// (on the half it just deactivated, after the writer left it). `T: Send` lets the halves'
// contents move between those threads.
unsafe impl<T: Send> Sync for DoubleBuf<T> {}

impl<T> DoubleBuf<T> {
    pub(crate) fn new(a: T, b: T) -> Self {
        DoubleBuf {
            halves: [UnsafeCell::new(a), UnsafeCell::new(b)],
            active: AtomicUsize::new(0),
            writing: AtomicBool::new(false),
        }
    }

    /// Runs `f` on the active half. Only the owning thread may call this, and not re-entrantly.
    #[inline]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.writing.store(true, SeqCst);
        let i = self.active.load(SeqCst);
        // SAFETY: we are the only writer (caller contract) and `writing` is set before we read
        // `active` (both SeqCst). A collector that flips `active` after our load sees
        // `writing == true` and waits until we clear it, so it never reads half `i` while we
        // hold this reference; one that flipped before our load made `i` the half it is not
        // reading.
        let r = f(unsafe { &mut *self.halves[i].get() });
        self.writing.store(false, Release);
        r
    }

    /// Flips halves, waits for the writer to leave the old one, then runs `f` on it. Only one
    /// collector may call this at a time.
    pub(crate) fn collect<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let old = self.active.fetch_xor(1, SeqCst);
        let mut spins = 0u32;
        while self.writing.load(SeqCst) {
            spins += 1;
            if spins < 100 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // SAFETY: after the flip, a writer that starts reads the new active half; a writer
        // that started before has finished (`writing` went false after our flip, SeqCst), and
        // a writer that set `writing` after our flip uses the other half. So no `&mut` to
        // half `old` exists but ours, and the single-collector contract excludes others.
        f(unsafe { &mut *self.halves[old].get() })
    }
}
