//! The recording gate: whether a recording runs, its session number, and how to wake the
//! recorder. Writers check it before buffering anything.

use parking_lot::RwLock;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::thread::Thread;

static RECORDING: AtomicBool = AtomicBool::new(false);
static SESSION: AtomicU32 = AtomicU32::new(0);
/// Set in a forked child: the recorder thread did not survive the fork, so nothing waits
/// for it and nothing more is recorded.
static FORKED: AtomicBool = AtomicBool::new(false);
/// The recorder thread, for waking it early.
static WAKER: RwLock<Option<Thread>> = RwLock::new(None);
/// Recorders that may still collect threads' buffers: the gate closes before a recorder's
/// last pass, and an exited thread's events must wait for that pass, not be thrown away by a
/// thread that registers meanwhile.
static COLLECTORS: AtomicU32 = AtomicU32::new(0);

/// Is a recording running? Events are only buffered while one is.
#[inline]
pub(crate) fn recording() -> bool {
    RECORDING.load(Relaxed)
}

/// The running recording's session number, 0 when none runs.
#[inline]
pub(crate) fn session() -> u32 {
    SESSION.load(Relaxed)
}

/// The session an event written now goes into: the running recording's, 0 when none runs.
/// A wait keeps it, and records its end only while [`still_recording`] that session.
#[inline]
pub(crate) fn recording_session() -> u32 {
    if recording() { session() } else { 0 }
}

/// Whether recording `session` (from [`recording_session`]) is still the one running.
#[inline]
pub(crate) fn still_recording(session: u32) -> bool {
    session != 0 && recording() && self::session() == session
}

/// Whether this process is a forked child of a recording process.
pub(crate) fn forked() -> bool {
    FORKED.load(Relaxed)
}

/// Whether a recorder may still collect threads' buffers (one runs, or is finishing).
pub(crate) fn may_collect() -> bool {
    COLLECTORS.load(Acquire) != 0
}

/// A recorder finished its last collection (each [`open`] is followed by one of these).
pub(crate) fn collector_done() {
    COLLECTORS.fetch_sub(1, Release);
}

/// Opens the gate for recording `session`, whose recorder thread is `recorder` (which calls
/// [`collector_done`] after its last collection).
pub(crate) fn open(session: u32, recorder: Thread) {
    COLLECTORS.fetch_add(1, Release);
    SESSION.store(session, Relaxed);
    RECORDING.store(true, Release);
    *WAKER.write() = Some(recorder);
}

/// Closes the gate: nothing more is buffered until the next [`open`].
pub(crate) fn close() {
    RECORDING.store(false, Release);
    SESSION.store(0, Relaxed);
    *WAKER.write() = None;
}

/// In a forked child: the gate closes for good. Touches atomics only (async-signal-safe).
pub(crate) fn close_after_fork() {
    FORKED.store(true, Relaxed);
    // The recorder thread did not survive the fork: nothing will collect here.
    COLLECTORS.store(0, Relaxed);
    RECORDING.store(false, Relaxed);
    SESSION.store(0, Relaxed);
}

/// Wakes the recorder early (a buffer is half full, or an alert is waiting).
pub(crate) fn wake() {
    if let Some(t) = WAKER.try_read().as_deref().and_then(Option::as_ref) {
        t.unpark();
    }
}

/// Queues an alert record for the trace (never dropped) and wakes the recorder. Without a
/// recording it is not kept.
pub(crate) fn alert(r: &crate::format::Record) {
    if !recording() {
        return;
    }
    super::defs::define_with(|d| d.alert(r));
    wake();
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&WAKER]
}
