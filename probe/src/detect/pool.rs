//! Pool detectors: `pool_saturation` (callers found the pool starved — every permit taken,
//! someone waiting — for longer than the threshold within one window; checked on the wait
//! path) and `pool_leak` (a permit held past the leak threshold; checked by the watchdog).
//! The semaphores' gauge (`lock_core::PoolGauge`) feeds both.

use super::alert::Alert;
use crate::diag::warn;
use crate::settings::{self, POOL_WINDOW_MS};
use crate::{actor, clock};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Starvation state, touched on the wait path only.
#[derive(Debug, Default)]
pub(crate) struct Starvation {
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
    /// Starved time accounted so far, over every window (for the cumulative metric).
    total_ns: u64,
}

/// What a saturation alert reports.
pub(crate) struct Saturation {
    starved_ns: u64,
    window_ns: u64,
    max_waiters: u32,
    capacity: u64,
}

impl Starvation {
    pub(crate) const fn new() -> Self {
        Starvation {
            waiters: 0,
            max_waiters: 0,
            since_ns: 0,
            window_ns: 0,
            starved_ns: 0,
            alerted_ns: 0,
            total_ns: 0,
        }
    }

    /// Starved time accounted so far, over every window: intervals that ended, and the parts
    /// of an ongoing one carried over window boundaries.
    pub(crate) fn starved_total(&self) -> u64 {
        self.total_ns
    }

    /// Callers waiting for permits now.
    pub(crate) fn waiters(&self) -> u32 {
        self.waiters
    }

    /// A caller starts waiting at `now`.
    pub(crate) fn wait_began(&mut self, now: u64) {
        self.roll(now);
        self.waiters += 1;
        self.max_waiters = self.max_waiters.max(self.waiters);
        if self.since_ns == 0 {
            self.since_ns = now;
        }
    }

    /// A caller stops waiting at `now`; returns what to report when the pool has been
    /// starved past the threshold in this window.
    pub(crate) fn wait_ended(&mut self, now: u64, capacity: u64) -> Option<Saturation> {
        self.waiters = self.waiters.saturating_sub(1);
        self.roll(now);
        if self.waiters == 0 && self.since_ns != 0 {
            let interval = now.saturating_sub(self.since_ns);
            self.starved_ns += interval;
            self.total_ns += interval;
            self.since_ns = 0;
        }
        self.check(now, capacity)
    }

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
                self.total_ns += now.saturating_sub(self.since_ns);
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
        let threshold = settings::pool_starved_threshold_ns();
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

/// Reports pool `name` as saturated; `holders` are its permit holders now (actor ids). A
/// bounded channel (`channel`) is a pool whose permits are its free slots: its starved time is
/// time full with senders waiting, and its holder is the receiver's owner.
pub(crate) fn raise_saturation(name: &str, holders: &[u64], s: &Saturation, channel: bool) {
    let name = name.to_owned();
    let mut holders: Vec<String> = holders.iter().map(|&a| actor::name_of(a)).collect();
    holders.sort();
    holders.dedup();
    let ms = |ns: u64| ns as f64 / 1e6;
    let window = ms(s.window_ns.max(s.starved_ns));
    let mut text = if channel {
        format!(
            "lockscope: POOL SATURATION: channel {name:?} (capacity {}) was full with senders waiting for {:.1} ms of the last {window:.1} ms; up to {} senders waited at once.\n",
            s.capacity,
            ms(s.starved_ns),
            s.max_waiters,
        )
    } else {
        format!(
            "lockscope: POOL SATURATION: pool {name:?} (capacity {}) was starved — every permit taken and callers waiting — for {:.1} ms of the last {window:.1} ms; up to {} callers waited at once.\n",
            s.capacity,
            ms(s.starved_ns),
            s.max_waiters,
        )
    };
    let who = if channel {
        "receiver"
    } else {
        "permit holders"
    };
    if holders.is_empty() {
        text.push_str(&format!("  {who}: none tracked right now\n"));
    } else {
        text.push_str(&format!("  {who} now: {}\n", holders.join(", ")));
    }
    text.push_str(if channel {
        "  fix: make the receiver keep up (less work per message, or receive in batches with recv_many), give the channel more room, or shed load at the senders (try_send)\n"
    } else {
        "  fix: size the pool for the work (more permits), hold permits for less time, or bound the callers (fewer concurrent workers)\n"
    });
    let details = serde_json::json!({
        "pool": name,
        "capacity": s.capacity,
        "starved_ns": s.starved_ns,
        "window_ns": s.window_ns,
        "max_waiters": s.max_waiters,
        "channel": channel,
    });
    eprint!("{text}");
    super::alert::raise(&Alert::with_details(
        "pool_saturation",
        text,
        vec![name],
        holders,
        details,
    ));
}

// ----- leaks -----

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

/// Starts watching a permit of pool `pool` (lock `lock`) that `actor` took at `site`, with
/// the stack that took it; returns its ticket for [`returned`]. Called only while leak
/// detection is on.
#[cold]
#[inline(never)]
pub(crate) fn watch(
    lock: u64,
    pool: &str,
    actor: u64,
    site: &'static std::panic::Location<'static>,
    stack: crate::raw::RawStack,
) -> u64 {
    super::watchdog::start(check_leaks);
    let ticket = NEXT_PERMIT.fetch_add(1, Relaxed);
    let entry = Outstanding {
        lock,
        pool: pool.to_owned(),
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
#[cold]
#[inline(never)]
pub(crate) fn returned(ticket: u64) {
    let gone = OUTSTANDING.lock().as_mut().and_then(|m| m.remove(&ticket));
    if let Some(o) = gone
        && o.reported
    {
        warn(&format!(
            "the permit of pool {:?} reported as leaked came back after {:.1} s",
            o.pool,
            clock::now_ns().saturating_sub(o.since_ns) as f64 / 1e9
        ));
    }
}

/// Reports permits held past the leak threshold (the watchdog calls this every 100 ms).
fn check_leaks() {
    let threshold = settings::pool_leak_ns();
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
        let stack = crate::symbols::wait_frames(&ips);
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
        let details = serde_json::json!({
            "pool": pool,
            "held_ns": held_ns,
            "site": site,
            "stack": stack,
        });
        eprint!("{text}");
        super::alert::raise(&Alert::with_details(
            "pool_leak",
            text,
            vec![pool],
            vec![who],
            details,
        ));
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&OUTSTANDING]
}
