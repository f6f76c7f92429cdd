//! The `lockscope-watchdog` thread: runs the detectors' periodic checks every 100 ms. A
//! detector registers its check when it first needs one (the deadlock check at the first wait
//! that may close a cycle, the leak check at the first watched permit); the thread starts then.

use crate::diag::warn;
use parking_lot::Mutex;
use std::time::Duration;

static CHECKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());
static STARTED: std::sync::Once = std::sync::Once::new();

/// Makes sure `check` runs every 100 ms from now on, starting the thread on first use.
pub(super) fn start(check: fn()) {
    {
        let mut checks = CHECKS.lock();
        if !checks.iter().any(|&c| std::ptr::fn_addr_eq(c, check)) {
            checks.push(check);
        }
    }
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("lockscope-watchdog".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let checks = CHECKS.lock().clone();
                    checks.iter().for_each(|c| c());
                }
            });
        if let Err(e) = spawned {
            warn(&format!(
                "cannot start the lockscope-watchdog thread ({e}); deadlocks are still checked when waits begin"
            ));
        }
    });
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&CHECKS]
}
