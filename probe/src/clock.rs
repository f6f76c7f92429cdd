//! The trace clock: monotonic nanoseconds since a process-wide epoch, plus the wall-clock time
//! of that epoch for the trace header. Read only off the fast path.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

struct Epoch {
    instant: Instant,
    unix_ns: u64,
}

static EPOCH: OnceLock<Epoch> = OnceLock::new();

fn epoch() -> &'static Epoch {
    EPOCH.get_or_init(|| Epoch {
        instant: Instant::now(),
        unix_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    })
}

/// Nanoseconds since the epoch; never 0, so 0 can mean "not timed".
#[inline]
pub(crate) fn now_ns() -> u64 {
    (epoch().instant.elapsed().as_nanos() as u64).max(1)
}

/// Wall-clock time of the epoch, Unix nanoseconds.
pub(crate) fn epoch_unix_ns() -> u64 {
    epoch().unix_ns
}
