//! The current tracing span of each thread, which waits and holds are attributed to.
//!
//! The `tracing` layer (feature `tracing`) sets it on span enter and exit; without the layer it
//! stays 0 and costs one thread-local read on the slow paths that write `WaitBegin` and `Hold`
//! records (never on the uncontended fast path).

use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// The trace id of the span this thread is in (0 when none).
pub(crate) fn current() -> u64 {
    CURRENT.try_with(Cell::get).unwrap_or(0)
}

/// Makes `span` this thread's current span and returns the previous one.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))] // used by the tracing layer
pub(crate) fn replace(span: u64) -> u64 {
    CURRENT.try_with(|c| c.replace(span)).unwrap_or(0)
}
