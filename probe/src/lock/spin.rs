//! How the sync primitives wait before they record a wait: a brief spin, and deadlines that
//! never overflow.

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

/// `now + timeout`, or `None` for a timeout too large to represent: such a wait is untimed,
/// as in std and parking_lot.
pub(crate) fn deadline(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}
