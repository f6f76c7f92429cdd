//! A pool's gauge, shared by the sync and async semaphores and the bounded channels: a `Pool`
//! record for every acquisition, release, wait, timeout and resize (so the trace has the pool's
//! exact use over time), feeding the pool detectors (`detect::pool`: saturation on the wait
//! path, leaks when watched).
//!
//! Only the semaphore and channel paths call in here; the Mutex and RwLock fast paths never
//! do. Without a recorder, an uncontended acquisition costs nothing extra: the starvation
//! bookkeeping runs on the wait path only.

use super::meta::LockMeta;
use crate::detect::pool::{self as detector, Starvation};
use crate::format::{PoolEvent, Record};
use crate::{actor, clock, settings, sink};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU32};

/// One semaphore's pool bookkeeping.
#[derive(Debug)]
pub(crate) struct PoolGauge {
    starvation: parking_lot::Mutex<Starvation>,
    /// Capacity now less the capacity the semaphore was made with, as last counted into its
    /// class's `pool_capacity` (the instance's registration counts the original).
    resized_by: AtomicI64,
    /// The class that count went to (0: none yet).
    class: AtomicU32,
    /// A bounded channel's room side (its alerts speak of a full channel and its receiver).
    channel: bool,
}

/// The pool's numbers right after an event, read by the semaphore.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolState {
    pub(crate) in_use: u64,
    pub(crate) capacity: u64,
}

impl PoolGauge {
    pub(crate) const fn new() -> Self {
        let mut g = PoolGauge::for_channel();
        g.channel = false;
        g
    }

    /// The gauge of a bounded channel's room: its permits are the channel's free slots, so
    /// in use is what is queued (or reserved) and a waiter is a sender.
    pub(crate) const fn for_channel() -> Self {
        PoolGauge {
            starvation: parking_lot::Mutex::new(Starvation::new()),
            resized_by: AtomicI64::new(0),
            class: AtomicU32::new(0),
            channel: true,
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
        let starved = {
            let mut st = self.starvation.lock();
            let before = st.starved_total();
            st.wait_began(now);
            st.starved_total() - before
        };
        Self::count_starved(meta, starved);
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
        let (alert, starved) = {
            let mut st = self.starvation.lock();
            let before = st.starved_total();
            let alert = st.wait_ended(now, s.capacity);
            (alert, st.starved_total() - before)
        };
        Self::count_starved(meta, starved);
        if !acquired && sink::recording() {
            self.emit(meta, now, actor, PoolEvent::Timeout, permits, s, 0);
        }
        if let Some(a) = alert {
            let mut holders = Vec::new();
            actor::holders_of(meta.id(), |h| holders.push(h));
            detector::raise_saturation(&meta.class().label, &holders, &a, self.channel);
        }
        now
    }

    /// Adds starved time to the class's total (the wait path only).
    fn count_starved(meta: &LockMeta, ns: u64) {
        if ns > 0 {
            meta.class().counters.pool_starved_ns.fetch_add(ns, Relaxed);
        }
    }

    /// The capacity changed (permits added or forgotten) or the pool was closed.
    pub(crate) fn resized(&self, meta: &LockMeta, actor: u64, s: PoolState) {
        let class = meta.class();
        let by = i64::try_from(s.capacity).unwrap_or(i64::MAX) - meta.capacity_i64();
        let was = self.resized_by.swap(by, Relaxed);
        class.counters.pool_capacity.fetch_add(by - was, Relaxed);
        self.class.store(class.id, Relaxed);
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
impl Drop for PoolGauge {
    fn drop(&mut self) {
        // The class's capacity loses what this pool's resizes added (its registration's
        // count goes with the lock instance).
        let by = *self.resized_by.get_mut();
        if by != 0
            && let Some(class) = crate::class::by_id(*self.class.get_mut())
        {
            class.counters.pool_capacity.fetch_sub(by, Relaxed);
        }
    }
}
