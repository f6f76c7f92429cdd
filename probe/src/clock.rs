//! The trace clock: monotonic nanoseconds since a process-wide epoch, plus the wall-clock time
//! of that epoch for the trace header. Read only off the fast path.
//!
//! It is `CLOCK_MONOTONIC`, the clock `std::time::Instant` reads on Unix, read with one
//! `clock_gettime` call and plain integer arithmetic: `Instant::elapsed` adds a `timespec`
//! subtraction and a 128-bit conversion on top of the same call, about 3 ns of a sampled
//! hold's two reads.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

struct Epoch {
    /// The monotonic clock at the epoch, in nanoseconds.
    mono_ns: u64,
    unix_ns: u64,
}

static EPOCH: OnceLock<Epoch> = OnceLock::new();

fn epoch() -> &'static Epoch {
    EPOCH.get_or_init(|| Epoch {
        mono_ns: monotonic_ns(),
        unix_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    })
}

/// The monotonic clock in nanoseconds (from an unspecified origin: the boot, on Linux).
#[cfg(unix)]
#[inline]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists on every Unix Rust
    // supports (std's `Instant` reads it the same way).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Elsewhere, `Instant` against a process-wide origin.
#[cfg(not(unix))]
#[inline]
fn monotonic_ns() -> u64 {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    ORIGIN
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// Nanoseconds since the epoch; never 0, so 0 can mean "not timed".
#[inline]
pub(crate) fn now_ns() -> u64 {
    monotonic_ns().saturating_sub(epoch().mono_ns).max(1)
}

/// Wall-clock time of the epoch, Unix nanoseconds.
pub(crate) fn epoch_unix_ns() -> u64 {
    epoch().unix_ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_starts_near_zero_and_keeps_pace_with_instant() {
        let first = now_ns();
        assert!(first >= 1);
        let start = std::time::Instant::now();
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now_ns();
        let outside = start.elapsed().as_nanos() as u64;
        assert!(b > a, "the clock went from {a} to {b}");
        // Both read the same clock: the span inside never exceeds the span around it.
        assert!(b - a <= outside, "{} ns inside, {outside} ns around", b - a);
        assert!(
            b - a >= 20_000_000,
            "slept 20 ms, the clock moved {} ns",
            b - a
        );
    }
}
