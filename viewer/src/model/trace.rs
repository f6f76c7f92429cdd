//! [`Model`], a decoded and indexed trace, and the questions every view asks of it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use lockscope_format::Header;

use super::hash::IdMap;
use super::series::{PoolLog, SchedLog, SpanTable};
use super::store::{Holds, Waits};
use super::types::{
    Actor, Alert, Chaos, Class, ClassStats, Frame, Hold, Integrity, LockInstance, Wait, WaitState,
};

/// A decoded, indexed trace.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The file header (pid, epoch, version).
    pub header: Option<Header>,
    /// Whether the trace is whole, and what was lost if not.
    pub integrity: Integrity,
    /// Events the probe had to drop (the last `Dropped` record).
    pub dropped_events: u64,
    /// Chaos mode's seed and figures, when the run was under chaos mode.
    pub chaos: Option<Chaos>,
    /// Causal experiments' measurements, in trace order (see [`causal`](super::causal)).
    pub causal: Vec<super::types::CausalRun>,
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
    /// Every semaphore's pool events (see [`pools`](super::pools)).
    pub pools: PoolLog,
    /// Per-thread and process scheduler samples (see [`sched`](super::sched)).
    pub sched: SchedLog,
    /// Tracing span definitions (see [`spans`](super::spans)).
    pub spans: SpanTable,
    /// The time range this model is narrowed to (see [`Filter`](super::Filter)), `None` for
    /// the whole trace: every wait and hold figure counts only the part inside it.
    pub window: Option<(u64, u64)>,
    pub(super) strings: HashMap<u64, String>,
}

/// An actor's identity in words (see [`Model::actor_identity`]).
pub(super) fn identity_text(
    kind: lockscope_format::ActorKind,
    os_id: u64,
    spawn_site: &str,
) -> String {
    let mut text = match kind {
        lockscope_format::ActorKind::Task => format!("task {os_id}"),
        lockscope_format::ActorKind::Thread => format!("thread {os_id}"),
    };
    if !spawn_site.is_empty() {
        text.push_str(", spawned at ");
        text.push_str(spawn_site);
    }
    text
}

impl Model {
    /// How long the recording ran: from its start (timestamp 0) to the trace's end. The one
    /// duration the report, the overview and the live header show.
    pub fn duration_ns(&self) -> u64 {
        self.end_ns
    }

    /// Gives tasks that share a name (named by their span, `GET /stats`) a suffix that tells
    /// them apart in every view and report, their tokio task id, as tokio-console shows it.
    /// Threads keep their names (a pool's workers share one; the thread table has their OS
    /// ids).
    pub(super) fn distinguish_actor_names(&mut self) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for a in self.actors.values() {
            *seen.entry(a.name.as_str()).or_default() += 1;
        }
        let shared: std::collections::HashSet<String> = (seen.into_iter())
            .filter(|&(_, n)| n > 1)
            .map(|(name, _)| name.to_owned())
            .collect();
        for a in self.actors.values_mut() {
            if a.kind == lockscope_format::ActorKind::Task
                && a.os_id != 0
                && shared.contains(&a.name)
            {
                a.name = format!("{} (task {})", a.name, a.os_id);
            }
        }
    }

    /// The text of string `id`; empty for 0 or an id whose definition was lost.
    pub fn text(&self, id: u64) -> &str {
        self.strings.get(&id).map_or("", String::as_str)
    }

    /// The names of an alert's actors as every view shows them (tasks that share a name told
    /// apart by their task id): from the report's participants' ids when it has them, else
    /// the names the probe wrote.
    pub fn alert_actors(&self, a: &Alert) -> Vec<String> {
        let ids: Vec<u64> = (a.details.as_ref())
            .and_then(|d| d.get("participants"))
            .and_then(|p| p.as_array())
            .map(|ps| ps.iter().filter_map(|p| p.get("actor")?.as_u64()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return a.actors.clone();
        }
        let mut names: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let name = self.actor_name(id);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// Who actor `id` is, in words, for hover texts: `task 13, spawned at src/bin/x.rs:42:5`
    /// (`task 13` when its spawn site is unknown), `thread 4242` (its OS id); `None` for an
    /// actor whose definition is not in the trace.
    pub fn actor_identity(&self, id: u64) -> Option<String> {
        let a = self.actors.get(&id)?;
        Some(identity_text(a.kind, a.os_id, &a.spawn_site))
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
        } else if !self.integrity.closed && !self.integrity.streaming {
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
