//! A semaphore's pool gauge, shared by the sync and async semaphores: a `Pool` record for
//! every acquisition, release, wait, timeout and resize (so the trace has the pool's exact use
//! over time), feeding the pool detectors (`detect::pool`: saturation on the wait path, leaks
//! when watched).
//!
//! Only the semaphore paths call in here; the Mutex and RwLock fast paths never do. Without a
//! recorder, an uncontended acquisition costs nothing extra: the starvation bookkeeping runs
//! on the wait path only.

use super::meta::LockMeta;
use crate::detect::pool::{self as detector, Starvation};
use crate::format::{PoolEvent, Record};
use crate::{actor, clock, settings, sink};
use std::sync::atomic::Ordering::Relaxed;

/// One semaphore's pool bookkeeping.
#[derive(Debug)]
pub(crate) struct PoolGauge {
    starvation: parking_lot::Mutex<Starvation>,
}

/// The pool's numbers right after an event, read by the semaphore.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolState {
    pub(crate) in_use: u64,
    pub(crate) capacity: u64,
}

impl PoolGauge {
    pub(crate) const fn new() -> Self {
        PoolGauge {
            starvation: parking_lot::Mutex::new(Starvation::new()),
        }
    }

    /// Permits were taken after waiting `waited_ns` (0: one was free). Returns the time the
    /// hold began when the pool is being recorded (the permit keeps it for `released`), else 0.
    pub(crate) fn acquired(
        &self,
        meta: &LockMeta,
        actor: u64,
        permits: u32,
        s: PoolState,
        waited_ns: u64,
    ) -> u64 {
        if !sink::recording() {
            return 0;
        }
        let now = clock::now_ns();
        self.emit(meta, now, actor, PoolEvent::Acquire, permits, s, waited_ns);
        now
    }

    /// Permits came back; `since_ns` is what `acquired` returned.
    pub(crate) fn released(
        &self,
        meta: &LockMeta,
        actor: u64,
        permits: u32,
        s: PoolState,
        since_ns: u64,
    ) {
        if !sink::recording() {
            return;
        }
        let now = clock::now_ns();
        let held = if since_ns == 0 {
            0
        } else {
            now.saturating_sub(since_ns)
        };
        self.emit(meta, now, actor, PoolEvent::Release, permits, s, held);
    }

    /// A caller found too few permits and starts waiting. Returns the time.
    pub(crate) fn wait_began(
        &self,
        meta: &LockMeta,
        actor: u64,
        permits: u32,
        s: PoolState,
    ) -> u64 {
        let now = clock::now_ns();
        self.starvation.lock().wait_began(now);
        if sink::recording() {
            self.emit(meta, now, actor, PoolEvent::Wait, permits, s, 0);
        }
        now
    }

    /// A wait ended: with the permits (then `acquired` records the acquisition) or without
    /// (a timeout or a closed pool). Returns the time.
    pub(crate) fn wait_ended(
        &self,
        meta: &LockMeta,
        actor: u64,
        permits: u32,
        s: PoolState,
        acquired: bool,
    ) -> u64 {
        let now = clock::now_ns();
        let alert = self.starvation.lock().wait_ended(now, s.capacity);
        if !acquired && sink::recording() {
            self.emit(meta, now, actor, PoolEvent::Timeout, permits, s, 0);
        }
        if let Some(a) = alert {
            let mut holders = Vec::new();
            actor::holders_of(meta.id(), |h| holders.push(h));
            detector::raise_saturation(&meta.class().label, &holders, &a);
        }
        now
    }

    /// The capacity changed (permits added or forgotten) or the pool was closed.
    pub(crate) fn resized(&self, meta: &LockMeta, actor: u64, s: PoolState) {
        if sink::recording() {
            self.emit(meta, clock::now_ns(), actor, PoolEvent::Resize, 0, s, 0);
        }
    }

    /// Writes the pool's record; `waiters` is read here, after the event updated it.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        meta: &LockMeta,
        now: u64,
        actor: u64,
        event: PoolEvent,
        permits: u32,
        s: PoolState,
        duration_ns: u64,
    ) {
        let waiters = u64::from(self.starvation.lock().waiters());
        let lock = meta.announced_id();
        let me = actor::current();
        // 0 stands for the calling thread; the async semaphore passes its task's actor.
        let actor = if actor == 0 {
            me.id.load(Relaxed)
        } else {
            actor
        };
        me.sink.emit(|b| {
            Record::Pool {
                ts_ns: now,
                lock,
                actor,
                event,
                permits: u64::from(permits),
                in_use: s.in_use,
                waiters,
                capacity: s.capacity,
                duration_ns,
            }
            .encode(b)
        });
    }

    /// Starts watching a permit for leaks when leak detection is on; returns its ticket
    /// (0: not watched) for `returned`. Off (the default), one relaxed load.
    #[inline]
    pub(crate) fn watch(
        &self,
        meta: &LockMeta,
        actor: u64,
        site: &'static std::panic::Location<'static>,
    ) -> u64 {
        if settings::pool_leak_ns() == 0 {
            return 0;
        }
        Self::watch_slow(meta, actor, site)
    }

    #[cold]
    #[inline(never)]
    fn watch_slow(
        meta: &LockMeta,
        actor: u64,
        site: &'static std::panic::Location<'static>,
    ) -> u64 {
        // Captured here, so the stack's innermost lockscope frame is the semaphore's own.
        let stack = crate::raw::capture(3);
        let actor = if actor == 0 {
            actor::current().id.load(Relaxed)
        } else {
            actor
        };
        detector::watch(meta.id(), &meta.class().label, actor, site, stack)
    }

    /// A watched permit came back.
    #[inline]
    pub(crate) fn returned(&self, ticket: u64) {
        if ticket != 0 {
            detector::returned(ticket);
        }
    }
}
