//! Pool bookkeeping shared by the sync and async semaphores: a `Pool` record for every
//! acquisition, release, wait, timeout and resize (so the trace has the pool's exact use over
//! time), and the `pool_saturation` alert.
//!
//! Only the semaphore paths call in here; the Mutex and RwLock fast paths never do. Without a
//! recorder, an uncontended acquisition costs nothing extra: the starvation bookkeeping runs
//! on the wait path only.

use super::meta::LockMeta;
use crate::format::{PoolEvent, Record};
use crate::{actor, clock, recorder};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Default for `LOCKSCOPE_POOL_STARVED_MS`: a pool is reported as saturated once callers found
/// it starved (every permit taken and someone waiting) for this long within one window.
pub const DEFAULT_POOL_STARVED_MS: u64 = 100;
/// The window the starved time is summed over.
pub const POOL_WINDOW_MS: u64 = 1_000;

static STARVED_THRESHOLD_NS: AtomicU64 = AtomicU64::new(DEFAULT_POOL_STARVED_MS * 1_000_000);

/// Sets how much starved time within one second makes a `pool_saturation` alert (also
/// `LOCKSCOPE_POOL_STARVED_MS`). Zero switches the alert off.
pub fn set_pool_starved_threshold(t: std::time::Duration) {
    STARVED_THRESHOLD_NS.store(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX), Relaxed);
}

/// Starvation state, touched on the wait path only.
#[derive(Debug, Default)]
struct Starvation {
    /// Callers waiting for permits.
    waiters: u32,
    /// Most callers waiting at once in the current window.
    max_waiters: u32,
    /// Start of the current starved interval (someone waiting), 0 when none.
    since_ns: u64,
    /// Start of the current window.
    window_ns: u64,
    /// Starved time of finished intervals in the current window.
    starved_ns: u64,
    /// The last alert (0: never); one alert per pool per window at most.
    alerted_ns: u64,
}

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
            starvation: parking_lot::Mutex::new(Starvation {
                waiters: 0,
                max_waiters: 0,
                since_ns: 0,
                window_ns: 0,
                starved_ns: 0,
                alerted_ns: 0,
            }),
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
        if !recorder::recording() {
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
        if !recorder::recording() {
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
        {
            let mut st = self.starvation.lock();
            st.roll(now);
            st.waiters += 1;
            st.max_waiters = st.max_waiters.max(st.waiters);
            if st.since_ns == 0 {
                st.since_ns = now;
            }
        }
        if recorder::recording() {
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
        let alert = {
            let mut st = self.starvation.lock();
            st.waiters = st.waiters.saturating_sub(1);
            st.roll(now);
            if st.waiters == 0 && st.since_ns != 0 {
                st.starved_ns += now.saturating_sub(st.since_ns);
                st.since_ns = 0;
            }
            st.check(now, s.capacity)
        };
        if !acquired && recorder::recording() {
            self.emit(meta, now, actor, PoolEvent::Timeout, permits, s, 0);
        }
        if let Some(a) = alert {
            raise(meta, &a);
        }
        now
    }

    /// The capacity changed (permits added or forgotten) or the pool was closed.
    pub(crate) fn resized(&self, meta: &LockMeta, actor: u64, s: PoolState) {
        if recorder::recording() {
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
        let waiters = u64::from(self.starvation.lock().waiters);
        let lock = meta.announced_id();
        let me = actor::current();
        // 0 stands for the calling thread; the async semaphore passes its task's actor.
        let actor = if actor == 0 {
            me.id.load(Relaxed)
        } else {
            actor
        };
        me.emit(|b| {
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
}

/// What a saturation alert reports.
struct Saturation {
    starved_ns: u64,
    window_ns: u64,
    max_waiters: u32,
    capacity: u64,
}

impl Starvation {
    /// Starts a new window once the current one is over, carrying an ongoing interval over.
    fn roll(&mut self, now: u64) {
        let window = POOL_WINDOW_MS * 1_000_000;
        if self.window_ns == 0 {
            self.window_ns = now;
        } else if now.saturating_sub(self.window_ns) >= window {
            self.window_ns = now;
            self.starved_ns = 0;
            self.max_waiters = self.waiters;
            if self.since_ns != 0 {
                self.since_ns = now;
            }
        }
    }

    /// Starved time in the window so far, counting an interval still in progress.
    fn starved(&self, now: u64) -> u64 {
        let open = if self.since_ns == 0 {
            0
        } else {
            now.saturating_sub(self.since_ns)
        };
        self.starved_ns + open
    }

    fn check(&mut self, now: u64, capacity: u64) -> Option<Saturation> {
        let threshold = STARVED_THRESHOLD_NS.load(Relaxed);
        let starved = self.starved(now);
        if threshold == 0 || starved < threshold || self.alerted_ns >= self.window_ns {
            return None;
        }
        self.alerted_ns = now.max(self.window_ns);
        Some(Saturation {
            starved_ns: starved,
            window_ns: now.saturating_sub(self.window_ns),
            max_waiters: self.max_waiters,
            capacity,
        })
    }
}

fn raise(meta: &LockMeta, s: &Saturation) {
    let name = meta.class().label.clone();
    let mut holders = Vec::new();
    actor::holders_of(meta.id(), |a| holders.push(actor::name_of(a)));
    holders.sort();
    holders.dedup();
    let ms = |ns: u64| ns as f64 / 1e6;
    let mut text = format!(
        "lockscope: POOL SATURATION: pool {name:?} (capacity {}) was starved — every permit taken and callers waiting — for {:.1} ms of the last {:.1} ms; up to {} callers waited at once.\n",
        s.capacity,
        ms(s.starved_ns),
        ms(s.window_ns.max(s.starved_ns)),
        s.max_waiters,
    );
    if holders.is_empty() {
        text.push_str("  permit holders: none tracked right now\n");
    } else {
        text.push_str(&format!("  permit holders now: {}\n", holders.join(", ")));
    }
    text.push_str("  fix: size the pool for the work (more permits), hold permits for less time, or bound the callers (fewer concurrent workers)\n");
    let json = serde_json::json!({
        "kind": "pool_saturation",
        "pool": name,
        "capacity": s.capacity,
        "starved_ns": s.starved_ns,
        "window_ns": s.window_ns,
        "max_waiters": s.max_waiters,
        "locks": [name],
        "actors": holders,
    })
    .to_string();
    eprint!("{text}");
    crate::detect::record_alert("pool_saturation", &text, &json);
}

// ----- leaks -----

static LEAK_NS: AtomicU64 = AtomicU64::new(0);
static NEXT_PERMIT: AtomicU64 = AtomicU64::new(1);

/// A permit taken while leak detection is on.
struct Outstanding {
    lock: u64,
    pool: String,
    actor: u64,
    since_ns: u64,
    site: &'static std::panic::Location<'static>,
    stack: crate::raw::RawStack,
    reported: bool,
}

static OUTSTANDING: parking_lot::Mutex<Option<std::collections::HashMap<u64, Outstanding>>> =
    parking_lot::Mutex::new(None);

/// Reports permits held longer than `t` as `pool_leak` alerts, with the stack that took them
/// (also `LOCKSCOPE_POOL_LEAK_MS`; zero, the default, switches it off). While on, every
/// semaphore acquisition captures its stack.
pub fn set_pool_leak_threshold(t: std::time::Duration) {
    LEAK_NS.store(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX), Relaxed);
}

impl PoolGauge {
    /// Starts watching a permit for leaks when leak detection is on; returns its ticket
    /// (0: not watched) for `returned`. Off (the default), one relaxed load.
    #[inline]
    pub(crate) fn watch(
        &self,
        meta: &LockMeta,
        actor: u64,
        site: &'static std::panic::Location<'static>,
    ) -> u64 {
        if LEAK_NS.load(Relaxed) == 0 {
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
        crate::detect::start_watchdog();
        let stack = crate::raw::capture(3);
        let ticket = NEXT_PERMIT.fetch_add(1, Relaxed);
        let actor = if actor == 0 {
            actor::current().id.load(Relaxed)
        } else {
            actor
        };
        let entry = Outstanding {
            lock: meta.id(),
            pool: meta.class().label.clone(),
            actor,
            since_ns: clock::now_ns(),
            site,
            stack,
            reported: false,
        };
        OUTSTANDING
            .lock()
            .get_or_insert_with(Default::default)
            .insert(ticket, entry);
        ticket
    }

    /// A watched permit came back.
    #[inline]
    pub(crate) fn returned(&self, ticket: u64) {
        if ticket != 0 {
            Self::returned_slow(ticket);
        }
    }

    #[cold]
    #[inline(never)]
    fn returned_slow(ticket: u64) {
        let gone = OUTSTANDING.lock().as_mut().and_then(|m| m.remove(&ticket));
        if let Some(o) = gone
            && o.reported
        {
            crate::config::warn(&format!(
                "the permit of pool {:?} reported as leaked came back after {:.1} s",
                o.pool,
                clock::now_ns().saturating_sub(o.since_ns) as f64 / 1e9
            ));
        }
    }
}

/// Reports permits held past the leak threshold (the watchdog calls this every 100 ms).
pub(crate) fn check_leaks() {
    let threshold = LEAK_NS.load(Relaxed);
    if threshold == 0 {
        return;
    }
    let now = clock::now_ns();
    let found: Vec<(String, u64, u64, u64, String, Vec<usize>)> = {
        let mut g = OUTSTANDING.lock();
        let Some(m) = g.as_mut() else { return };
        m.values_mut()
            .filter(|o| !o.reported && now.saturating_sub(o.since_ns) >= threshold)
            .map(|o| {
                o.reported = true;
                (
                    o.pool.clone(),
                    o.lock,
                    o.actor,
                    now.saturating_sub(o.since_ns),
                    format!("{}:{}:{}", o.site.file(), o.site.line(), o.site.column()),
                    o.stack.frames().to_vec(),
                )
            })
            .collect()
    };
    for (pool, _lock, holder, held_ns, site, ips) in found {
        let who = actor::name_of(holder);
        let stack = crate::detect::report::resolve(&ips);
        let mut text = format!(
            "lockscope: POOL LEAK: a permit of pool {pool:?} has been held for {:.1} s by {who:?}, taken at {site}\n",
            held_ns as f64 / 1e9
        );
        if !stack.is_empty() {
            text.push_str("  taken by:\n");
            for f in &stack {
                text.push_str(&format!("    {f}\n"));
            }
        }
        text.push_str("  fix: return the permit on every path (drop the permit or its guard), or raise LOCKSCOPE_POOL_LEAK_MS if this work is meant to take that long\n");
        let json = serde_json::json!({
            "kind": "pool_leak",
            "pool": pool,
            "held_ns": held_ns,
            "site": site,
            "stack": stack,
            "locks": [pool],
            "actors": [who],
        })
        .to_string();
        eprint!("{text}");
        crate::detect::record_alert("pool_leak", &text, &json);
    }
}
