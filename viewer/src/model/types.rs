//! The values a decoded trace is made of: actors, classes, lock instances, frames, waits and
//! holds, class figures, alerts, and how whole the trace is.

use std::num::NonZeroU64;

use lockscope_format::{self as format, ActorKind, Histogram, LockKind, Mode, Outcome};

/// One causal experiment's measurement of one progress point (a `Causal` record).
#[derive(Clone, Debug, PartialEq)]
pub struct CausalRun {
    /// When it ended.
    pub ts_ns: u64,
    /// The class sped up.
    pub class: u64,
    /// The virtual speedup, percent (0: a baseline).
    pub speedup_pct: u64,
    /// Wall-clock length.
    pub duration_ns: u64,
    /// Pause inserted into the other threads.
    pub delay_ns: u64,
    /// The progress point.
    pub progress: String,
    /// Units of progress counted.
    pub count: u64,
}

/// Chaos mode's figures for the run (its last `Chaos` record): the seed that drove it and what
/// it injected at lock boundaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Chaos {
    /// The seed: `LOCKSCOPE_CHAOS=seed` repeats the run's decisions.
    pub seed: u64,
    /// Delays injected before acquisitions.
    pub delays: u64,
    /// Their total length.
    pub delay_ns: u64,
    /// Yields injected at acquisitions and releases.
    pub yields: u64,
    /// Delays placed where an acquisition would close a lock-order cycle.
    pub inversion_delays: u64,
}

impl Chaos {
    /// One sentence for the report and the overview.
    pub fn describe(&self) -> String {
        format!(
            "seed {}: {} delays ({:.1} ms in all, {} where a lock-order cycle would close) and {} yields injected; LOCKSCOPE_CHAOS={} repeats them",
            self.seed,
            self.delays,
            self.delay_ns as f64 / 1e6,
            self.inversion_delays,
            self.yields,
            self.seed
        )
    }
}

/// How whole the trace is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Integrity {
    /// The trace ends with an `End` record: the process closed it.
    pub closed: bool,
    /// `Some(offset)` when the data ends inside a chunk; everything after it is lost.
    pub truncated_at: Option<u64>,
    /// Chunks skipped because they were corrupt.
    pub damage: Vec<format::Damage>,
    /// `WaitEnd` records whose `WaitBegin` was lost.
    pub orphan_wait_ends: u64,
    /// A live stream still coming in: no end record is expected yet, and none is missing.
    pub streaming: bool,
}

impl Integrity {
    /// Closed cleanly, nothing cut and nothing damaged.
    pub fn is_complete(&self) -> bool {
        self.closed && self.truncated_at.is_none() && self.damage.is_empty()
    }

    /// One word for headers: `complete`, `truncated`, `damaged`, `live` (still streaming) or
    /// `unclosed`.
    pub fn label(&self) -> &'static str {
        if self.truncated_at.is_some() {
            "truncated"
        } else if !self.damage.is_empty() {
            "damaged"
        } else if !self.closed && self.streaming {
            "live"
        } else if !self.closed {
            "unclosed"
        } else {
            "complete"
        }
    }
}

/// A thread or task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Actor id.
    pub id: u64,
    /// Thread or task.
    pub kind: ActorKind,
    /// OS thread id, or tokio task id.
    pub os_id: u64,
    /// Name (`actor N` when the trace did not name it).
    pub name: String,
    /// Where a task was spawned (`file:line:column` of its `spawn_named`/`name_task` call);
    /// empty when unknown: threads, tasks not named that way, traces from before the field.
    pub spawn_site: String,
}

/// A lock class: a creation site or a user-given name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Class id.
    pub id: u64,
    /// Primitive kind; `None` when the definition was lost to damage.
    pub kind: Option<LockKind>,
    /// Display name: the user-given name, else the creation site.
    pub name: String,
    /// Creation site, `file:line:column`.
    pub site: String,
}

/// A lock instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockInstance {
    /// Its class.
    pub class: u64,
    /// Permits for a semaphore, 1 otherwise.
    pub capacity: u64,
}

/// A resolved code location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Function name.
    pub function: String,
    /// Source file, empty when unknown.
    pub file: String,
    /// Line, 0 when unknown.
    pub line: u32,
}

/// How a wait ended, as far as the trace knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitState {
    /// The matching `WaitEnd` was found.
    Ended {
        /// When the wait ended.
        end_ns: u64,
        /// How.
        outcome: Outcome,
    },
    /// No `WaitEnd`: the actor was still waiting when the trace ended (a deadlock, or a
    /// trace cut short).
    StillWaiting,
    /// The end was lost (damage, dropped events): no `WaitEnd`, yet the same actor later
    /// began another wait that ended, so it was not stuck here.
    Lost,
}

/// One contended acquisition (or condvar wait), as [`Waits`] hands it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait<'a> {
    /// Who waited.
    pub actor: u64,
    /// For which lock instance.
    pub lock: u64,
    /// The lock's class.
    pub class: u64,
    /// In which mode.
    pub mode: Mode,
    /// Call site of the acquisition (string id; see [`Model::text`]).
    pub site: u64,
    /// The waiter's stack id, 0 when none was captured.
    pub stack: u64,
    /// Actors that held the lock when the wait began.
    pub holders: &'a [u64],
    /// When the wait began.
    pub begin_ns: u64,
    /// How it ended.
    pub state: WaitState,
    /// The waiter's tracing span (see [`Model::spans`]), 0 when none. (Stored in 32 bits
    /// like every id: see [`Waits`].)
    pub span: u64,
    /// Its index in the model's storage (shared by filtered views).
    pub(super) raw: u32,
}

impl Wait<'_> {
    /// The wait time, when the wait ended.
    pub fn duration_ns(&self) -> Option<u64> {
        match self.state {
            WaitState::Ended { end_ns, .. } => Some(end_ns.saturating_sub(self.begin_ns)),
            _ => None,
        }
    }

    /// Where the wait ends as every figure counts it: its end, or for a wait still going when
    /// the trace ended (at `trace_end_ns`) that end; `None` for a wait whose end was lost.
    /// [`Model::waited_ns`](super::Model::waited_ns) clips it to a selected range.
    pub fn counted_end_ns(&self, trace_end_ns: u64) -> Option<u64> {
        match self.state {
            WaitState::Ended { end_ns, .. } => Some(end_ns),
            WaitState::StillWaiting => Some(trace_end_ns.max(self.begin_ns)),
            WaitState::Lost => None,
        }
    }
}

/// One recorded hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    /// When the hold began, `None` when it was not timed.
    pub begin_ns: Option<NonZeroU64>,
    /// When the first waiter arrived, `None` when nobody waited.
    pub contended_ns: Option<NonZeroU64>,
    /// When the lock was released.
    pub end_ns: u64,
    /// Who held it.
    pub actor: u64,
    /// Which lock instance.
    pub lock: u64,
    /// The lock's class.
    pub class: u64,
    /// How it was held.
    pub mode: Mode,
    /// Where it was taken (string id).
    pub site: u64,
    /// The holder's tracing span when it released (see [`Model::spans`]), 0 when none.
    pub span: u64,
}

impl Hold {
    /// The earliest moment the hold is known to have been in place: its beginning when timed,
    /// else the first waiter's arrival, else its end.
    pub fn start_ns(&self) -> u64 {
        (self.begin_ns.or(self.contended_ns)).map_or(self.end_ns, NonZeroU64::get)
    }

    /// How long the hold is known to have lasted (from [`Hold::start_ns`] to the release).
    pub fn known_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns())
    }
}

/// The cumulative figures of one class (its last `ClassStats` record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassStats {
    /// Instances seen.
    pub instances: u64,
    /// Acquisitions.
    pub acquisitions: u64,
    /// Acquisitions that had to wait.
    pub contentions: u64,
    /// Most actors waiting at once on one instance.
    pub max_waiters: u64,
    /// 1 in this many holds is timed.
    pub hold_sample_period: u64,
    /// Wait times of contended acquisitions.
    pub wait: Histogram,
    /// Sampled hold times.
    pub hold: Histogram,
}

/// A detector's alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// When it was raised.
    pub ts_ns: u64,
    /// `deadlock`, `lock_order_inversion`, ...
    pub kind: String,
    /// The human-readable report.
    pub text: String,
    /// Lock names involved (from the JSON's `locks` array; empty when absent).
    pub locks: Vec<String>,
    /// Actor names involved (from the JSON's `actors` array; empty when absent).
    pub actors: Vec<String>,
    /// The machine-readable report, when it parsed.
    pub details: Option<serde_json::Value>,
}
