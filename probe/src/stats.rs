//! Always-on figures: lock-free histograms per lock class, chaos mode's injection counts, and
//! the public read-out types.

use crate::format::histogram::{BUCKETS, bucket_of};
use crate::format::{Histogram, LockKind, Record, Summary};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// A histogram many threads record into without a lock (slow paths only).
pub(crate) struct AtomicHistogram {
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    max: AtomicU64,
}

impl AtomicHistogram {
    pub(crate) fn new() -> Self {
        AtomicHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, v: u64) {
        self.counts[bucket_of(v)].fetch_add(1, Relaxed);
        self.total.fetch_add(v, Relaxed);
        // A read first: the max rarely moves, and a read-modify-write is a locked
        // instruction where a load is not.
        if v > self.max.load(Relaxed) {
            self.max.fetch_max(v, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Histogram {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        Histogram::from_parts(&counts, self.total.load(Relaxed), self.max.load(Relaxed))
    }
}

/// Per-class counters and histograms, shared by every instance of the class. Aligned to a
/// cache line, so writing them does not evict what the fast path reads beside them.
#[repr(align(64))]
pub(crate) struct ClassCounters {
    pub(crate) instances: AtomicU64,
    pub(crate) acquisitions: AtomicU64,
    pub(crate) contentions: AtomicU64,
    pub(crate) max_waiters: AtomicU64,
    pub(crate) wait: AtomicHistogram,
    pub(crate) hold: AtomicHistogram,
    /// Semaphores: the permits of the class's live instances, summed (set at registration,
    /// resizes and drops, never on an acquisition).
    pub(crate) pool_capacity: AtomicI64,
    /// Semaphores: time some caller waited for a permit, summed over the instances (kept on
    /// the wait path).
    pub(crate) pool_starved_ns: AtomicU64,
}

impl ClassCounters {
    pub(crate) fn new() -> Self {
        ClassCounters {
            instances: AtomicU64::new(0),
            acquisitions: AtomicU64::new(0),
            contentions: AtomicU64::new(0),
            max_waiters: AtomicU64::new(0),
            wait: AtomicHistogram::new(),
            hold: AtomicHistogram::new(),
            pool_capacity: AtomicI64::new(0),
            pool_starved_ns: AtomicU64::new(0),
        }
    }
}

/// The figures of one lock class (every lock created at one site, or sharing one name).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClassStats {
    /// The user-given name, or the creation site.
    pub name: String,
    /// Primitive kind.
    pub kind: LockKind,
    /// Creation site, `file:line:column`.
    pub site: String,
    /// Instances created and used so far.
    pub instances: u64,
    /// Acquisitions: exact for dropped instances; for live ones, counted up to the last
    /// sampled acquisition (at most one hold-sampling period behind).
    pub acquisitions: u64,
    /// Acquisitions that had to wait.
    pub contentions: u64,
    /// Most actors waiting at once on one instance.
    pub max_waiters: u64,
    /// Wait time of contended acquisitions (every one measured).
    pub wait_ns: Summary,
    /// Hold time of sampled acquisitions (see [`crate::hold_sample_period`]); `total` is
    /// scaled up to an estimate for all acquisitions.
    pub hold_ns: Summary,
}

/// The live figures of one lock instance, from [`crate::Mutex::stats`] and friends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LockStats {
    /// Process-unique id of this instance (0 until first used with recording on).
    pub id: u64,
    /// Acquisitions of this instance (exact).
    pub acquisitions: u64,
    /// Acquisitions of this instance that had to wait (exact).
    pub contentions: u64,
    /// Actors waiting right now.
    pub waiters: u64,
    /// Most actors waiting at once.
    pub max_waiters: u64,
    /// The actor holding it exclusively right now (0: none, or only readers/permit holders).
    pub holder: u64,
}

// ----- chaos mode's injections -----

/// What chaos mode injected (`crate::detect::chaos` counts, the recorder writes).
pub(crate) struct ChaosCounters {
    pub(crate) delays: AtomicU64,
    pub(crate) delay_ns: AtomicU64,
    pub(crate) yields: AtomicU64,
    pub(crate) inversion_delays: AtomicU64,
    /// The seed of the last chaos run a record was made of, so a trace still says which seed
    /// drove it after chaos mode was switched off.
    last_seed: AtomicU64,
}

pub(crate) static CHAOS: ChaosCounters = ChaosCounters {
    delays: AtomicU64::new(0),
    delay_ns: AtomicU64::new(0),
    yields: AtomicU64::new(0),
    inversion_delays: AtomicU64::new(0),
    last_seed: AtomicU64::new(0),
};

/// What chaos mode has injected so far in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChaosStats {
    /// The seed, 0 while chaos mode is off.
    pub seed: u64,
    /// Delays injected before acquisitions.
    pub delays: u64,
    /// Their total length.
    pub delay_ns: u64,
    /// Yields injected at acquisitions and releases.
    pub yields: u64,
    /// Delays placed where the acquisition would close a lock-order cycle.
    pub inversion_delays: u64,
}

pub(crate) fn chaos_stats() -> ChaosStats {
    ChaosStats {
        seed: crate::settings::chaos_seed(),
        delays: CHAOS.delays.load(Relaxed),
        delay_ns: CHAOS.delay_ns.load(Relaxed),
        yields: CHAOS.yields.load(Relaxed),
        inversion_delays: CHAOS.inversion_delays.load(Relaxed),
    }
}

/// The trace's record of [`chaos_stats`] at `ts_ns`, while chaos mode is or was on.
pub(crate) fn chaos_record(ts_ns: u64) -> Option<Record> {
    let s = chaos_stats();
    let seed = match s.seed {
        0 => CHAOS.last_seed.load(Relaxed),
        seed => {
            CHAOS.last_seed.store(seed, Relaxed);
            seed
        }
    };
    (seed != 0).then_some(Record::Chaos {
        ts_ns,
        seed,
        delays: s.delays,
        delay_ns: s.delay_ns,
        yields: s.yields,
        inversion_delays: s.inversion_delays,
    })
}
