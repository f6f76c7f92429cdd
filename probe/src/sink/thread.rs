//! One thread's share of the sink: a double buffer of encoded events and raw stacks that its
//! owner fills without ever waiting and the recorder swaps out.

use crate::raw::{self, DoubleBuf, RawStack};
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// Bytes of encoded events a thread buffers per half between recorder visits.
pub(crate) const BUF_BYTES: usize = 128 * 1024;
/// Room kept for the largest single record.
const MAX_RECORD: usize = 1024;
/// Raw stacks a thread buffers between recorder visits (as u64 words).
const STACK_WORDS: usize = 16 * (raw::MAX_FRAMES + 2);

/// Events and raw stacks waiting for the recorder.
pub(super) struct Half {
    pub(super) events: Vec<u8>,
    pub(super) stacks: Vec<u64>,
    seen_stacks: [u64; 64],
    /// The recording session `seen_stacks` belongs to: a new trace needs every stack again.
    seen_session: u32,
}

impl Half {
    fn new() -> Self {
        Half {
            events: Vec::new(),
            stacks: Vec::new(),
            seen_stacks: [0; 64],
            seen_session: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        self.events.clear();
        self.stacks.clear();
        self.seen_stacks = [0; 64];
    }
}

/// Held by whoever collects threads' buffers (the recorder, or an exiting thread when none
/// runs): a double buffer allows one collector at a time.
static COLLECTOR: Mutex<()> = Mutex::new(());

/// The collector role, if nobody else has it.
pub(crate) fn try_collector() -> Option<MutexGuard<'static, ()>> {
    COLLECTOR.try_lock()
}

pub(super) fn collector() -> MutexGuard<'static, ()> {
    COLLECTOR.lock()
}

/// One thread's buffers. Written only by the owning thread.
pub(crate) struct ThreadSink {
    pub(super) buf: DoubleBuf<Half>,
    /// Events this thread dropped on a full buffer (cumulative).
    pub(crate) dropped: AtomicU64,
    wake_sent: AtomicBool,
}

impl ThreadSink {
    pub(crate) fn new() -> Self {
        ThreadSink {
            buf: DoubleBuf::new(Half::new(), Half::new()),
            dropped: AtomicU64::new(0),
            wake_sent: AtomicBool::new(false),
        }
    }

    /// Appends one record (owning thread only). Never waits and never fails but for a full
    /// buffer, which drops the event and counts it.
    pub(crate) fn emit(&self, write: impl FnOnce(&mut Vec<u8>)) {
        let half_full = self.buf.write(|b| {
            if b.events.capacity() == 0 {
                // First event into this half: one allocation per half per thread lifetime.
                b.events.reserve_exact(BUF_BYTES);
            }
            if b.events.len() + MAX_RECORD > b.events.capacity() {
                return None;
            }
            write(&mut b.events);
            Some(b.events.len() > BUF_BYTES / 2)
        });
        match half_full {
            None => {
                self.dropped.fetch_add(1, Relaxed);
                self.wake_recorder();
            }
            Some(true) => self.wake_recorder(),
            Some(false) => {}
        }
    }

    /// Queues a raw stack for symbolization unless this half already carries it; returns its
    /// id (0 when there was no room).
    pub(crate) fn queue_stack(&self, st: &RawStack) -> u64 {
        let id = st.id();
        let session = super::gate::session();
        self.buf.write(|b| {
            if b.seen_session != session {
                b.seen_stacks = [0; 64];
                b.seen_session = session;
            }
            let slot = (id % 64) as usize;
            if b.seen_stacks[slot] == id {
                return id;
            }
            if b.stacks.capacity() == 0 {
                b.stacks.reserve_exact(STACK_WORDS);
            }
            if b.stacks.len() + st.len + 2 > b.stacks.capacity() {
                return 0;
            }
            b.stacks.push(id);
            b.stacks.push(st.len as u64);
            b.stacks.extend(st.frames().iter().map(|&ip| ip as u64));
            b.seen_stacks[slot] = id;
            id
        })
    }

    fn wake_recorder(&self) {
        if !self.wake_sent.swap(true, Relaxed) {
            super::gate::wake();
        }
    }

    /// Called by the collector after it swapped the buffer out.
    pub(super) fn drained(&self) {
        self.wake_sent.store(false, Relaxed);
    }

    /// Throws away both halves (the caller holds the collector role: an exited thread's
    /// leftovers when no recording runs).
    pub(crate) fn discard(&self, _collector: &MutexGuard<'static, ()>) {
        for _ in 0..2 {
            self.buf.collect(Half::clear);
        }
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&COLLECTOR]
}
