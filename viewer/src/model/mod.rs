//! Decoding and analysis of a trace, with no GUI code in it: the CLI and the desktop viewer
//! both read a trace through [`Model`].
//!
//! [`Model::from_trace`] resolves the definitions (strings, actors, classes, locks, frames,
//! stacks), pairs every `WaitBegin` with its `WaitEnd`, keeps the last `ClassStats` per class
//! and parses alerts. The analyses built on it live in [`table`] (lock table, contended sites,
//! per-actor totals) and [`flame`] (folded wait and hold stacks).

mod decode;
pub mod diff;
mod filter;
pub mod flame;
pub mod flame_tree;
mod hash;
pub mod live;
mod load;
pub mod pools;
pub mod sched;
pub mod spans;
mod store;
pub mod table;
#[cfg(test)]
pub(crate) mod tests_support;
pub mod timeline;
pub mod waitfor;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::path::Path;

use lockscope::format::{self, ActorKind, Header, Histogram, LockKind, Mode, Outcome};

pub use decode::ModelBuilder;
pub use diff::{DiffNode, LockDelta, diff_tree, lock_deltas};
pub use filter::Filter;
pub use flame::{FlameKind, FoldedStack};
pub use flame_tree::{FlameNode, FlameOrder, FlameTree};
pub use hash::{IdHasher, IdMap};
pub use load::{load, load_with_progress};
pub use store::{HoldIter, Holds, WaitIter, Waits};
pub use table::{ActorRow, FiguresFrom, HolderCount, LockRow, SiteRow};
pub use timeline::{Lane, Span, SpanKind};
pub use waitfor::{WaitEdge, WaitForGraph};

/// A decoded, indexed trace.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The file header (pid, epoch, version).
    pub header: Option<Header>,
    /// Whether the trace is whole, and what was lost if not.
    pub integrity: Integrity,
    /// Events the probe had to drop (the last `Dropped` record).
    pub dropped_events: u64,
    /// The latest timestamp in the trace: the `End` record's, or the last event's.
    pub end_ns: u64,
    /// Actors (threads, tasks) by id.
    pub actors: BTreeMap<u64, Actor>,
    /// Lock classes by id.
    pub classes: BTreeMap<u64, Class>,
    /// Lock instances by id.
    pub locks: IdMap<u64, LockInstance>,
    /// Resolved code locations by frame id.
    pub frames: HashMap<u64, Frame>,
    /// Interned stacks by id: frame ids, innermost first.
    pub stacks: HashMap<u64, Vec<u64>>,
    /// Every contended wait, in the order it began (stored packed: see [`Waits`]).
    pub waits: Waits,
    /// Every recorded hold, in the order it ended (stored packed: see [`Holds`]).
    pub holds: Holds,
    /// The last `ClassStats` snapshot of each class.
    pub class_stats: HashMap<u64, ClassStats>,
    /// Detector alerts, in trace order.
    pub alerts: Vec<Alert>,
    /// Every semaphore's pool events (see [`pools`]).
    pub pools: pools::PoolLog,
    /// Per-thread and process scheduler samples (see [`sched`]).
    pub sched: sched::SchedLog,
    /// Tracing span definitions (see [`spans`]).
    pub spans: spans::SpanTable,
    strings: HashMap<u64, String>,
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
}

impl Integrity {
    /// Closed cleanly, nothing cut and nothing damaged.
    pub fn is_complete(&self) -> bool {
        self.closed && self.truncated_at.is_none() && self.damage.is_empty()
    }

    /// One word for headers: `complete`, `truncated`, `damaged` or `unclosed`.
    pub fn label(&self) -> &'static str {
        if self.truncated_at.is_some() {
            "truncated"
        } else if !self.damage.is_empty() {
            "damaged"
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
    raw: u32,
}

impl Wait<'_> {
    /// The wait time, when the wait ended.
    pub fn duration_ns(&self) -> Option<u64> {
        match self.state {
            WaitState::Ended { end_ns, .. } => Some(end_ns.saturating_sub(self.begin_ns)),
            _ => None,
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

impl Model {
    /// The text of string `id`; empty for 0 or an id whose definition was lost.
    pub fn text(&self, id: u64) -> &str {
        self.strings.get(&id).map_or("", String::as_str)
    }

    /// The actor's name, or `actor N` when it is unknown.
    pub fn actor_name(&self, id: u64) -> String {
        match self.actors.get(&id) {
            Some(a) => a.name.clone(),
            None => format!("actor {id}"),
        }
    }

    /// The display name of a class.
    pub fn class_name(&self, class: u64) -> &str {
        self.classes.get(&class).map_or("?", |c| c.name.as_str())
    }

    /// The hold `holder` had on the wait's lock when the wait began: the first recorded hold
    /// of that lock by that actor which ends after the wait began and starts before it ended.
    pub fn holder_hold(&self, wait: &Wait<'_>, holder: u64) -> Option<Hold> {
        self.holder_hold_index(wait, holder)
            .and_then(|i| self.holds.get(i))
    }

    /// Like [`Model::holder_hold`], as an index into [`Model::holds`]; `None` also when this
    /// model's filter left that hold out.
    pub fn holder_hold_index(&self, wait: &Wait<'_>, holder: u64) -> Option<usize> {
        // The wait's own holders were paired with their holds when the trace was loaded.
        if let Some(raw) = self.waits.resolved_hold(wait, holder, &self.holds) {
            return self.holds.position(raw?);
        }
        // Anyone else: the first of their holds of the lock that ends after the wait began.
        let (i, h) = (self.holds.iter().enumerate())
            .filter(|(_, h)| h.lock == wait.lock && h.actor == holder)
            .filter(|(_, h)| h.end_ns >= wait.begin_ns)
            .min_by_key(|(_, h)| h.end_ns)?;
        let overlaps = match wait.state {
            WaitState::Ended { end_ns, .. } => h.start_ns() <= end_ns,
            _ => true,
        };
        overlaps.then_some(i)
    }

    /// Pairs every wait's holders with their holds now: the first holder lookup (site rows,
    /// timeline arrows, reports) would otherwise do it, once per trace. About 0.3 s for a
    /// 10-million-event trace, which a loader with a progress bar spends up front.
    pub fn pair_holders(&self) {
        self.waits.pair_holders(&self.holds);
    }

    /// Waits with no `WaitEnd`: still waiting when the trace ended.
    pub fn still_waiting(&self) -> impl Iterator<Item = Wait<'_>> {
        self.waits
            .iter()
            .filter(|w| w.state == WaitState::StillWaiting)
    }

    /// Warnings about what the trace lost, each naming the file and what is missing.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let p = path.display();
        let mut out = Vec::new();
        if let Some(at) = self.integrity.truncated_at {
            out.push(format!(
                "{p} is truncated at byte {at}: the recording process stopped mid-write, so \
                 events after that point are lost; the figures below cover what was recorded"
            ));
        } else if !self.integrity.closed {
            out.push(format!(
                "{p} has no end record: the recording process did not close it (killed, or \
                 still running); events it had not flushed are lost"
            ));
        }
        for d in &self.integrity.damage {
            out.push(format!(
                "{p}: damaged chunk at byte {} lost: {}",
                d.offset, d.reason
            ));
        }
        if self.integrity.orphan_wait_ends > 0 {
            out.push(format!(
                "{p}: {} wait ends had no matching wait begin (lost to damage or dropped events)",
                self.integrity.orphan_wait_ends
            ));
        }
        if self.dropped_events > 0 {
            out.push(format!(
                "{p}: the probe dropped {} events because its buffers were full; event-based \
                 figures (sites, flame graphs, timelines) undercount",
                self.dropped_events
            ));
        }
        out
    }
}
