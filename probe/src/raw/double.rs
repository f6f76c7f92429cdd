//! A single-writer double buffer: the owning thread writes into the active half without ever
//! waiting; the collector flips halves and waits (on its own time) for the owner to leave the
//! old half before reading it.
//!
//! Model-checked: `probe/tests/model.rs` compiles this file over loom's atomics and cell.

use crate::raw::shim::Ordering::{Acquire, Relaxed, Release, SeqCst};
use crate::raw::shim::{AtomicBool, AtomicUsize, UnsafeCell, fence, spin_loop, yield_now};

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
        self.writing.store(true, Relaxed);
        // Between our store of `writing` and our load of `active`, as the collector has one
        // between its flip and its load of `writing` (the store-load pattern needs a total
        // order: of the two fences, one comes first).
        fence(SeqCst);
        let i = self.active.load(Relaxed);
        // SAFETY: we are the only writer (caller contract). If our fence came before the
        // collector's, the collector's load of `writing` sees our `true` (or a later `false`
        // released after we were done), so it never reads half `i` while we hold this
        // reference; if the collector's came first, our load sees its flip and `i` is the
        // half it is not reading.
        let r = self.halves[i].with_mut(|half| f(unsafe { &mut *half }));
        self.writing.store(false, Release);
        r
    }

    /// Flips halves, waits for the writer to leave the old one, then runs `f` on it. Only one
    /// collector may call this at a time.
    pub(crate) fn collect<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let old = self.active.fetch_xor(1, Relaxed);
        fence(SeqCst);
        let mut spins = 0u32;
        while self.writing.load(Acquire) {
            spins += 1;
            if spins < 100 {
                spin_loop();
            } else {
                yield_now();
            }
        }
        // SAFETY: a writer whose fence came after ours reads the new active half; one whose
        // fence came before has set `writing`, which we saw cleared (acquire: its writes to
        // the half happen before our read). So no `&mut` to half `old` exists but ours, and
        // the single-collector contract excludes other collectors.
        self.halves[old].with_mut(|half| f(unsafe { &mut *half }))
    }
}
