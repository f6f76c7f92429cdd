//! The running recording as the rest of the process sees it: one at a time ([`ACTIVE`]), with
//! bounded flushes and a bounded finish, so neither a stuck disk nor a stalled viewer can hang
//! the host.

use super::live;
use crate::sink;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::thread::Thread;
use std::time::{Duration, Instant};

pub(super) static ACTIVE: Mutex<Option<Arc<Shared>>> = Mutex::new(None);

/// How long a flush requested on panic, exit or deadlock may take before lockscope gives up
/// waiting (the host must never hang on our account).
pub(super) const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// How long finishing a recording waits for the live stream's last bytes to leave.
const LIVE_CLOSE_WAIT: Duration = Duration::from_millis(600);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(super) thread: Thread,
    pub(super) stop: AtomicBool,
    pub(super) flush_req: AtomicU64,
    pub(super) flush_done: Mutex<u64>,
    pub(super) flushed: Condvar,
    pub(super) finished: AtomicBool,
    pub(super) live: Option<Arc<live::Hub>>,
}

impl Shared {
    /// Asks the writer for a flush and waits (bounded) until it is done.
    pub(super) fn flush(&self, wait: Duration) -> bool {
        if self.finished.load(Acquire) || sink::forked() {
            return true;
        }
        let ticket = self.flush_req.fetch_add(1, Relaxed) + 1;
        self.thread.unpark();
        let deadline = Instant::now() + wait;
        let mut done = self.flush_done.lock();
        while *done < ticket && !self.finished.load(Acquire) {
            if self.flushed.wait_until(&mut done, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    /// Stops this recording (once), writes the end marker and waits (bounded) for the writer
    /// to finish. Recording stops globally only if this is the active recording: an old
    /// guard dropped late does not switch off its successor.
    pub(super) fn finish(self: &Arc<Self>) {
        if !self.stop.load(Acquire) {
            crate::sampler::final_round();
        }
        if self.stop.swap(true, Release) {
            self.flush(FLUSH_WAIT);
            return;
        }
        {
            let mut active = ACTIVE.lock();
            if active.as_ref().is_some_and(|a| Arc::ptr_eq(a, self)) {
                *active = None;
                sink::close();
            }
        }
        self.thread.unpark();
        self.flush(FLUSH_WAIT);
        if let Some(h) = &self.live {
            // Viewers get the end of the trace (and the alert that may have caused it) before
            // an exit; bounded, so a stalled viewer cannot hold the process.
            h.wait_closed(LIVE_CLOSE_WAIT);
        }
    }
}

/// Writes everything recorded so far by the running recorder, waiting up to 2 s. Returns
/// `false` if no recorder runs or the flush did not complete in time. lockscope calls this
/// itself on panic, on exit and before a deadlock policy exits the process.
pub fn flush() -> bool {
    let active = ACTIVE
        .try_lock_for(Duration::from_millis(100))
        .and_then(|a| a.clone());
    active.is_some_and(|s| s.flush(FLUSH_WAIT))
}

/// Finishes the running recording (end marker included), waiting at most 2 s: the deadlock
/// exit policy calls this right before `exit`, which skips the recording guard's drop.
pub(crate) fn finish_active() {
    let active = ACTIVE
        .try_lock_for(Duration::from_millis(100))
        .and_then(|a| a.clone());
    if let Some(s) = active {
        s.finish();
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&ACTIVE]
}
