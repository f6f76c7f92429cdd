//! Pools: every semaphore's and bounded channel's state over time, from its `Pool` records
//! (one per acquire, release, wait, timeout and resize, so the series is exact, not sampled),
//! and the figures the report prints per instance. A bounded channel is a pool of its slots:
//! a send takes one, a receive frees one, so in use is what is queued (or reserved) and its
//! pool waiters are senders; its receiver's waits are its items side's.
//!
//! A pool is observed from its first event to the end of the trace; between two events it
//! stays in the state the first one left it in. Over that window:
//! - `utilisation` = ∫ in_use dt / ∫ capacity dt (in use / capacity when it never resized);
//! - `saturated_ns`: time with every permit in use (`in_use ≥ capacity`, capacity > 0);
//! - `starved_ns`: time with no permit free and at least one waiter;
//! - `empty_ns`: time with nothing in use (an empty channel, an idle pool);
//! - acquire latency over every acquisition, those that did not wait (0 ns) included;
//! - hold times over the releases that carry one (0 means "not timed" and is left out);
//! - leaks: releases of permits held at least [`LEAK_THRESHOLD_NS`].

use lockscope_format::{PoolEvent, Record, Summary};

use super::Model;
pub use super::series::{PoolLog, PoolSample};

/// A permit held at least this long counts as a leak (10 s).
pub const LEAK_THRESHOLD_NS: u64 = 10_000_000_000;

/// The figures of one semaphore instance.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolRow {
    /// The semaphore instance.
    pub lock: u64,
    /// Its class.
    pub class: u64,
    /// The class's display name.
    pub name: String,
    /// The class's creation site.
    pub site: String,
    /// Capacity at the end of the trace.
    pub capacity: u64,
    /// Largest capacity seen.
    pub max_capacity: u64,
    /// First event.
    pub from_ns: u64,
    /// End of the observed window (the trace's end).
    pub to_ns: u64,
    /// ∫ in_use dt / ∫ capacity dt, 0.0 to 1.0 (above 1 only after a shrink).
    pub utilisation: f64,
    /// Time with every permit in use.
    pub saturated_ns: u64,
    /// Time with no permit free and at least one waiter.
    pub starved_ns: u64,
    /// Acquisitions.
    pub acquisitions: u64,
    /// Of them, the ones that waited.
    pub waited: u64,
    /// Timed waits that gave up.
    pub timeouts: u64,
    /// Most waiters at once.
    pub max_waiters: u64,
    /// Most permits in use at once.
    pub max_in_use: u64,
    /// Acquire latency over every acquisition (0 for those that did not wait).
    pub acquire: Summary,
    /// Hold time over the releases that were timed.
    pub hold: Summary,
    /// Releases that were timed.
    pub timed_holds: u64,
    /// Releases of permits held at least the leak threshold.
    pub leaks: u64,
    /// A bounded channel's room side: permits are its slots, in use is what is queued or
    /// reserved, waiters are senders waiting for room.
    pub channel: bool,
    /// Time with nothing in use (an empty channel, an idle pool).
    pub empty_ns: u64,
    /// A channel's receives that waited for a message (its items side's waits; 0 for a
    /// semaphore).
    pub receiver_waits: u64,
    /// Their time, as every wait figure counts it (a wait still going at the trace's end
    /// counted up to it).
    pub receiver_wait_ns: u64,
}

impl PoolRow {
    /// Length of the observed window.
    pub fn observed_ns(&self) -> u64 {
        self.to_ns.saturating_sub(self.from_ns)
    }
}

/// Exact nearest-rank percentiles (the definition the histograms use), max and total.
pub fn summary(values: &mut [u64]) -> Summary {
    if values.is_empty() {
        return Summary::default();
    }
    values.sort_unstable();
    let n = values.len();
    let at = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Summary {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: values[n - 1],
        total: values.iter().fold(0u64, |a, &v| a.saturating_add(v)),
    }
}

fn small(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Model {
    /// Adds a `Pool` record (other records are ignored).
    pub(super) fn add_pool(&mut self, r: Record) {
        let Record::Pool {
            ts_ns,
            lock,
            actor,
            event,
            permits,
            in_use,
            waiters,
            capacity,
            duration_ns,
        } = r
        else {
            return;
        };
        self.end_ns = self.end_ns.max(ts_ns);
        self.pools
            .by_lock
            .entry(lock)
            .or_default()
            .push(PoolSample {
                ts_ns,
                duration_ns,
                actor,
                permits: small(permits),
                in_use: small(in_use),
                waiters: small(waiters),
                capacity: small(capacity),
                event,
            });
    }

    /// One row per semaphore instance that recorded pool events, most starved first (then
    /// most saturated, then by name). Releases held at least `leak_threshold_ns` are leaks.
    pub fn pool_rows(&self, leak_threshold_ns: u64) -> Vec<PoolRow> {
        let receives = self.receiver_waits();
        let mut rows: Vec<PoolRow> = (self.pools.by_lock.iter())
            .filter(|(_, s)| !s.is_empty())
            .map(|(&lock, samples)| {
                let mut row = self.pool_row(lock, samples, leak_threshold_ns);
                if let Some(items) = self.pools.channels.get(&lock) {
                    row.channel = true;
                    (row.receiver_waits, row.receiver_wait_ns) =
                        receives.get(items).copied().unwrap_or_default();
                }
                row
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.starved_ns.cmp(&a.starved_ns))
                .then(b.saturated_ns.cmp(&a.saturated_ns))
                .then(a.name.cmp(&b.name))
                .then(a.lock.cmp(&b.lock))
        });
        rows
    }

    /// The waits (count, time) on each channel's items side, by its lock instance; one pass
    /// over the waits, and none when the trace has no channel.
    fn receiver_waits(&self) -> std::collections::BTreeMap<u64, (u64, u64)> {
        let mut out = std::collections::BTreeMap::new();
        if self.pools.channels.is_empty() {
            return out;
        }
        let items: std::collections::BTreeSet<u64> =
            self.pools.channels.values().copied().collect();
        for w in self.waits.iter().filter(|w| items.contains(&w.lock)) {
            let e: &mut (u64, u64) = out.entry(w.lock).or_default();
            e.0 += 1;
            e.1 += self.waited_ns(&w).unwrap_or(0);
        }
        out
    }

    /// The events of semaphore `lock`, in time order (sorted when the trace was loaded).
    pub fn pool_samples(&self, lock: u64) -> &[PoolSample] {
        self.pools.by_lock.get(&lock).map_or(&[], Vec::as_slice)
    }

    fn pool_row(&self, lock: u64, samples: &[PoolSample], leak_threshold_ns: u64) -> PoolRow {
        let class = self.locks.get(&lock).map_or(u64::MAX - lock, |l| l.class);
        let (name, site) = match self.classes.get(&class) {
            Some(c) => (c.name.clone(), c.site.clone()),
            None => (
                format!("semaphore #{lock} (definition lost)"),
                String::new(),
            ),
        };
        let from_ns = samples[0].ts_ns;
        let to_ns = self.end_ns.max(samples[samples.len() - 1].ts_ns);
        let (mut used, mut offered) = (0u128, 0u128);
        let (mut saturated_ns, mut starved_ns) = (0u64, 0u64);
        let (mut acquire, mut hold) = (Vec::new(), Vec::new());
        let mut row = PoolRow {
            lock,
            class,
            name,
            site,
            capacity: 0,
            max_capacity: 0,
            from_ns,
            to_ns,
            utilisation: 0.0,
            saturated_ns: 0,
            starved_ns: 0,
            acquisitions: 0,
            waited: 0,
            timeouts: 0,
            max_waiters: 0,
            max_in_use: 0,
            acquire: Summary::default(),
            hold: Summary::default(),
            timed_holds: 0,
            leaks: 0,
            channel: false,
            empty_ns: 0,
            receiver_waits: 0,
            receiver_wait_ns: 0,
        };
        for (i, s) in samples.iter().enumerate() {
            let next = samples.get(i + 1).map_or(to_ns, |n| n.ts_ns);
            let dt = next.saturating_sub(s.ts_ns);
            used += u128::from(s.in_use) * u128::from(dt);
            offered += u128::from(s.capacity) * u128::from(dt);
            let full = s.in_use >= s.capacity;
            if full && s.capacity > 0 {
                saturated_ns += dt;
            }
            if full && s.waiters > 0 {
                starved_ns += dt;
            }
            if s.in_use == 0 {
                row.empty_ns += dt;
            }
            row.max_waiters = row.max_waiters.max(u64::from(s.waiters));
            row.max_in_use = row.max_in_use.max(u64::from(s.in_use));
            row.max_capacity = row.max_capacity.max(u64::from(s.capacity));
            match s.event {
                PoolEvent::Acquire => {
                    acquire.push(s.duration_ns);
                    row.waited += u64::from(s.duration_ns > 0);
                }
                PoolEvent::Release if s.duration_ns > 0 => {
                    hold.push(s.duration_ns);
                    row.leaks += u64::from(s.duration_ns >= leak_threshold_ns);
                }
                PoolEvent::Timeout => row.timeouts += 1,
                _ => {}
            }
        }
        row.capacity = u64::from(samples[samples.len() - 1].capacity);
        row.utilisation = if offered == 0 {
            0.0
        } else {
            used as f64 / offered as f64
        };
        row.saturated_ns = saturated_ns;
        row.starved_ns = starved_ns;
        row.acquisitions = acquire.len() as u64;
        row.timed_holds = hold.len() as u64;
        row.acquire = summary(&mut acquire);
        row.hold = summary(&mut hold);
        row
    }
}

#[cfg(test)]
mod tests {
    use lockscope_format::{LockKind, PoolEvent, Record};

    use super::{LEAK_THRESHOLD_NS, summary};
    use crate::model::tests_support::{definitions, model};

    /// `pool` (class 30, lock 31, capacity 2) and the given events:
    /// (ts, actor, event, in_use, waiters, capacity, duration).
    fn pool_trace(events: &[(u64, u64, PoolEvent, u64, u64, u64, u64)], end: u64) -> Vec<Record> {
        let mut r = definitions();
        r.push(Record::String {
            id: 230,
            text: "pool".into(),
        });
        r.push(Record::Class {
            class: 30,
            kind: LockKind::Semaphore,
            name: 230,
            site: 0,
        });
        r.push(Record::Lock {
            lock: 31,
            class: 30,
            capacity: 2,
        });
        for &(ts_ns, actor, event, in_use, waiters, capacity, duration_ns) in events {
            r.push(Record::Pool {
                ts_ns,
                lock: 31,
                actor,
                event,
                permits: 1,
                in_use,
                waiters,
                capacity,
                duration_ns,
            });
        }
        r.push(Record::End { ts_ns: end });
        r
    }

    #[test]
    fn figures_match_a_hand_computed_schedule() {
        use PoolEvent::*;
        // Capacity 2. t1 takes a permit at 0, t2 at 100 (full), t3 waits from 200 and
        // t1 releases at 400 (held 400), t3 gets it at once (waited 200); t2 releases at 600
        // (held 500); t3 releases at 900 (held 500); the trace ends at 1000.
        let events = [
            (0, 1, Acquire, 1, 0, 2, 0),
            (100, 2, Acquire, 2, 0, 2, 0),
            (200, 3, Wait, 2, 1, 2, 0),
            (400, 1, Release, 1, 1, 2, 400),
            (400, 3, Acquire, 2, 0, 2, 200),
            (600, 2, Release, 1, 0, 2, 500),
            (900, 3, Release, 0, 0, 2, 500),
        ];
        let m = model(pool_trace(&events, 1_000));
        let rows = m.pool_rows(LEAK_THRESHOLD_NS);
        assert_eq!(rows.len(), 1);
        let p = &rows[0];
        assert_eq!((p.name.as_str(), p.capacity, p.lock), ("pool", 2, 31));
        assert_eq!((p.from_ns, p.to_ns), (0, 1_000));
        // In use: 1 over [0,100), 2 over [100,400), 2 over [400,600), 1 over [600,900),
        // 0 over [900,1000): 100 + 600 + 400 + 300 = 1400 permit-ns of 2000 offered.
        assert!((p.utilisation - 0.7).abs() < 1e-9, "{}", p.utilisation);
        // Full from 100 to 600 (the release and re-acquire at 400 leave it full).
        assert_eq!(p.saturated_ns, 500);
        // Full with t3 waiting from 200 to 400.
        assert_eq!(p.starved_ns, 200);
        assert_eq!((p.acquisitions, p.waited, p.timeouts), (3, 1, 0));
        assert_eq!((p.max_waiters, p.max_in_use), (1, 2));
        // Acquire latency over all three: 0, 0, 200.
        assert_eq!(
            (p.acquire.p50, p.acquire.p99, p.acquire.max, p.acquire.total),
            (0, 200, 200, 200)
        );
        assert_eq!((p.hold.p50, p.hold.max, p.hold.total), (500, 500, 1_400));
        assert_eq!((p.timed_holds, p.leaks), (3, 0));
        // Nothing in use over [900,1000); a semaphore has no receivers.
        assert_eq!((p.empty_ns, p.channel, p.receiver_waits), (100, false, 0));
    }

    #[test]
    fn a_bounded_channel_is_a_pool_of_its_slots_with_its_receivers_waits() {
        use PoolEvent::*;
        // Lock 31 is the room side of a channel of 2 slots, lock 32 its items side. Sends at
        // 100 and 200 fill it; a third sender waits from 300 and gets room at 500, when the
        // receiver takes one; the receiver drains it by 700, then waits from 800 for a
        // message that never comes (still waiting at the trace's end, 1000). A receive wait
        // from 20 to 100 came first.
        let events = [
            (100, 1, Acquire, 1, 0, 2, 0),
            (200, 1, Acquire, 2, 0, 2, 0),
            (300, 2, Wait, 2, 1, 2, 0),
            (500, 3, Release, 1, 1, 2, 0),
            (500, 2, Acquire, 2, 0, 2, 200),
            (600, 3, Release, 1, 0, 2, 0),
            (700, 3, Release, 0, 0, 2, 0),
        ];
        let mut r = pool_trace(&events, 1_000);
        let end = r.pop().expect("the End record");
        r.push(Record::Lock {
            lock: 32,
            class: 30,
            capacity: 0,
        });
        r.push(Record::Channel {
            room: 31,
            items: 32,
        });
        let wait = |ts_ns| Record::WaitBegin {
            ts_ns,
            actor: 3,
            lock: 32,
            mode: lockscope_format::Mode::Permits(1),
            site: 0,
            stack: 0,
            holders: vec![1, 2],
            span: 0,
        };
        r.push(wait(20));
        r.push(Record::WaitEnd {
            ts_ns: 100,
            actor: 3,
            lock: 32,
            outcome: lockscope_format::Outcome::Acquired,
        });
        r.push(wait(800));
        r.push(end);
        let m = model(r);
        let p = &m.pool_rows(LEAK_THRESHOLD_NS)[0];
        assert!(p.channel);
        assert_eq!((p.from_ns, p.to_ns), (100, 1_000));
        // Full (no room) over [200,500) and [500,600); empty over [700,1000).
        assert_eq!((p.saturated_ns, p.empty_ns), (400, 300));
        assert_eq!(p.starved_ns, 200, "a sender waited on the full channel");
        assert_eq!((p.acquisitions, p.waited, p.max_waiters), (3, 1, 1));
        // 80 ns, then 200 ns still waiting at the end.
        assert_eq!((p.receiver_waits, p.receiver_wait_ns), (2, 280));
    }

    #[test]
    fn samples_from_several_threads_buffers_come_out_in_time_order() {
        use PoolEvent::*;
        // t2's buffer was collected before t1's: its later events arrive first.
        let events = [
            (100, 2, Acquire, 2, 0, 2, 0),
            (200, 3, Wait, 2, 1, 2, 0),
            (0, 1, Acquire, 1, 0, 2, 0),
            (400, 1, Release, 1, 1, 2, 400),
        ];
        let m = model(pool_trace(&events, 1_000));
        let ts: Vec<u64> = m.pool_samples(31).iter().map(|s| s.ts_ns).collect();
        assert_eq!(
            ts,
            [0, 100, 200, 400],
            "what the chart draws is in time order"
        );
        assert_eq!(m.pool_rows(LEAK_THRESHOLD_NS)[0].starved_ns, 200);
    }

    #[test]
    fn timeouts_resizes_and_leaks_are_counted() {
        use PoolEvent::*;
        // Capacity 1, grown to 3 at 500. t1 holds from 0 to 2000 (a leak at threshold 1000);
        // t2 waits from 100 and times out at 300.
        let events = [
            (0, 1, Acquire, 1, 0, 1, 0),
            (100, 2, Wait, 1, 1, 1, 0),
            (300, 2, Timeout, 1, 0, 1, 0),
            (500, 0, Resize, 1, 0, 3, 0),
            (2_000, 1, Release, 0, 0, 3, 2_000),
        ];
        let m = model(pool_trace(&events, 2_000));
        let p = &m.pool_rows(1_000)[0];
        assert_eq!((p.capacity, p.max_capacity), (3, 3));
        assert_eq!((p.timeouts, p.leaks, p.acquisitions), (1, 1, 1));
        assert_eq!(p.saturated_ns, 500, "full until it grew");
        assert_eq!(p.starved_ns, 200, "t2 waited with nothing free");
        // 1 in use all along: 2000 permit-ns of 1×500 + 3×1500 = 5000 offered.
        assert!((p.utilisation - 0.4).abs() < 1e-9, "{}", p.utilisation);
        assert_eq!(m.pool_rows(LEAK_THRESHOLD_NS)[0].leaks, 0);
    }

    #[test]
    fn a_trace_without_pool_events_has_no_pool_rows() {
        let m = model(pool_trace(&[], 10));
        assert!(m.pool_rows(LEAK_THRESHOLD_NS).is_empty());
    }

    #[test]
    fn percentiles_are_nearest_rank_over_the_exact_values() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let s = summary(&mut v);
        assert_eq!(
            (s.p50, s.p90, s.p99, s.max, s.total),
            (50, 90, 99, 100, 5050)
        );
        assert_eq!(summary(&mut []).max, 0);
    }
}
