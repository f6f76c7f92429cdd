//! The atomics, cell and spin hint that lockscope's own lock-free structures use, through
//! one path: the model-checking tests (`probe/tests/model.rs`) compile the same source files
//! (the double buffer, the held list) against loom's versions of these, which explore every
//! interleaving of them.

pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};

/// A spin-wait hint (loom: a point where another thread may run).
#[inline]
pub(crate) fn spin_loop() {
    std::hint::spin_loop();
}

/// Gives the CPU away for a moment.
#[inline]
pub(crate) fn yield_now() {
    std::thread::yield_now();
}

/// `std::cell::UnsafeCell` with loom's access API (`with_mut`), so the model checker can
/// see every access to the cell and report two at once.
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    pub(crate) const fn new(v: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(v))
    }

    /// Runs `f` with a pointer to the contents; the caller upholds exclusive access.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
