//! The detectors: actual deadlocks from the wait-for graph (`deadlock`, `graph`, `report`),
//! potential ones from the lock-order graph (`order`), cache stampedes (`stampede`), pool
//! saturation and leaks (`pool`), and the watchdog thread that runs their periodic checks.
//! Each raises typed alerts (`alert`) that reach the callbacks and the trace.

mod alert;
pub mod chaos;
mod deadlock;
mod graph;
mod order;
pub(crate) mod pool;
mod report;
pub(crate) mod stampede;
pub(crate) mod stuck;
mod watchdog;

pub(crate) use alert::raised as alerts_raised;
pub use alert::{Alert, on_alert};
pub use deadlock::on_deadlock;
#[cfg(feature = "tokio")]
pub(crate) use deadlock::{forget_settling, settling, watch_waits};
pub(crate) use deadlock::{on_wait, poll as poll_deadlocks};
pub(crate) use order::validate as validate_order;
#[cfg(feature = "tokio")]
pub(crate) use order::validate_task as validate_task_order;
pub use order::{LockOrderReport, OrderEdge, lock_order_reports, suppress_lock_order};
#[cfg(feature = "tokio")]
pub(crate) use report::ChannelSide;
pub use report::{DeadlockReport, LockRef, Participant};

/// The detectors' internal locks, for the fork hooks (outer ones first).
pub(crate) fn fork_locks() -> Vec<&'static dyn crate::raw::ForkLock> {
    let mut v = Vec::with_capacity(8);
    v.extend(watchdog::fork_locks());
    v.extend(deadlock::fork_locks());
    v.extend(alert::fork_locks());
    v.extend(order::fork_locks());
    v.extend(pool::fork_locks());
    v.extend(stampede::fork_locks());
    v.extend(stuck::fork_locks());
    v
}
