//! Deadlock reports: evidence for every participant, as text (Display) and JSON (serde).

use crate::actor::{Held, Snapshot};
use crate::class;
use crate::symbols::wait_frames;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Which side of a channel a lock is (the deadlock detector keeps them apart: see
/// `deadlock::settling`), for the reports' wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) enum ChannelSide {
    /// Senders wait here for room; the receiver holds it.
    Room,
    /// The receiver waits here for items; the senders hold it.
    Items,
}

/// One lock as a participant holds it or waits for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockRef {
    /// Lock instance id (the same id as in the trace).
    pub lock: u64,
    /// The lock's class: its user-given name or its creation site.
    pub name: String,
    /// `mutex`, `rwlock`, `semaphore` or `condvar`.
    pub kind: String,
    /// `exclusive`, `shared` or `permit`.
    pub mode: String,
    /// Where it was taken, or where the wait is: `file:line:column`.
    pub site: String,
    /// For how long it has been held or waited for, in nanoseconds, when known (waits always;
    /// holds when the acquisition was timed: contended or sampled).
    pub for_ns: Option<u64>,
    /// A timed wait (`try_lock_for`, `acquire_timeout`) that gives up by itself.
    pub timed: bool,
    /// For a side of a `lockscope::tokio::mpsc` channel: `room` (senders wait there for room;
    /// the receiver's owner holds it) or `items` (the receiver waits there for a message; the
    /// senders' owners hold it). Absent for locks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

impl LockRef {
    /// How the text report describes this lock's kind and mode, as waited for (`wait`) or
    /// held.
    fn how(&self, wait: bool) -> String {
        match (self.channel.as_deref(), wait) {
            (Some("room"), true) => "a full channel: room for a message".to_owned(),
            (Some("room"), false) => "the channel's receiver".to_owned(),
            (Some(_), true) => "an empty channel: the next message".to_owned(),
            (Some(_), false) => "a sender on the channel".to_owned(),
            (None, _) => format!("{} {}", self.kind, self.mode),
        }
    }
}

/// One actor caught in a deadlock (or starving) cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Actor id (the same id as in the trace).
    pub actor: u64,
    /// Thread or task name (a task without a given name is `task-<tokio task id>`).
    pub name: String,
    /// `thread` or `task` (a tokio task).
    pub kind: String,
    /// What it waits for.
    pub waits_for: LockRef,
    /// What it holds, outermost first.
    pub holds: Vec<LockRef>,
    /// The stack of its wait, innermost first (empty when it was not captured).
    pub stack: Vec<String>,
}

/// A wait-for cycle that can never resolve (`kind == "deadlock"`), or one through a counted
/// resource that has a holder outside the cycle (`kind == "starvation"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadlockReport {
    /// `deadlock` or `starvation`.
    pub kind: String,
    /// A wait in the cycle has a timeout, so the deadlock breaks when it expires.
    pub resolves_by_timeout: bool,
    /// `wait` (found when the last wait began) or `watchdog` (found by the periodic check).
    pub detected_by: String,
    /// When it was found, nanoseconds since the trace epoch.
    pub detected_at_ns: u64,
    /// The cycle: each participant waits for a lock the next one holds.
    pub participants: Vec<Participant>,
    /// Names of the locks waited for in the cycle (for the report's `alerts` array).
    pub locks: Vec<String>,
    /// Names of the participants (for the report's `alerts` array).
    pub actors: Vec<String>,
    /// The chaos seed when chaos mode was on (`LOCKSCOPE_CHAOS`): the same seed repeats the
    /// decisions that led here. Absent when it was off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos_seed: Option<u64>,
}

fn lock_ref(h: &Held, now: u64, channels: &HashMap<u64, ChannelSide>) -> LockRef {
    let class = class::by_id(h.class);
    LockRef {
        channel: channels.get(&h.lock).map(|side| {
            match side {
                ChannelSide::Room => "room",
                ChannelSide::Items => "items",
            }
            .to_owned()
        }),
        lock: h.lock,
        name: class.map_or_else(|| format!("lock#{}", h.lock), |c| c.label.clone()),
        kind: class.map_or("mutex", |c| c.kind.as_str()).to_owned(),
        mode: h.mode.as_str().to_owned(),
        site: crate::class::site_text(h.site, h.class),
        for_ns: (h.since_ns != 0).then(|| now.saturating_sub(h.since_ns)),
        timed: h.timed,
    }
}

impl DeadlockReport {
    pub(crate) fn build(
        snaps: &[Snapshot],
        cycle: &[usize],
        deadlock: bool,
        timed: bool,
        by: &str,
        now: u64,
        channels: &HashMap<u64, ChannelSide>,
    ) -> Self {
        let participants: Vec<Participant> = cycle
            .iter()
            .filter_map(|&i| {
                let s = &snaps[i];
                let w = s.waiting.as_ref()?;
                Some(Participant {
                    actor: s.id,
                    name: s.name.clone(),
                    kind: match s.kind {
                        crate::format::ActorKind::Thread => "thread",
                        crate::format::ActorKind::Task => "task",
                    }
                    .to_owned(),
                    waits_for: lock_ref(w, now, channels),
                    holds: s.held.iter().map(|h| lock_ref(h, now, channels)).collect(),
                    stack: match s.kind {
                        crate::format::ActorKind::Task => poll_frames(wait_frames(&s.wait_stack)),
                        crate::format::ActorKind::Thread => wait_frames(&s.wait_stack),
                    },
                })
            })
            .collect();
        let mut locks: Vec<String> = participants
            .iter()
            .map(|p| p.waits_for.name.clone())
            .collect();
        locks.dedup();
        DeadlockReport {
            kind: if deadlock { "deadlock" } else { "starvation" }.to_owned(),
            resolves_by_timeout: timed,
            detected_by: by.to_owned(),
            detected_at_ns: now,
            actors: participants.iter().map(|p| p.name.clone()).collect(),
            locks,
            participants,
            chaos_seed: Some(crate::settings::chaos_seed()).filter(|&s| s != 0),
        }
    }

    /// The report as a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn ms(ns: Option<u64>) -> String {
    ns.map_or_else(
        || "for an unknown time".to_owned(),
        |ns| format!("for {:.3} ms", ns as f64 / 1e6),
    )
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.participants.len();
        let tasks = self
            .participants
            .iter()
            .filter(|p| p.kind == "task")
            .count();
        let who = match (tasks, n) {
            (0, _) => "threads",
            (t, n) if t == n => "tasks",
            _ => "tasks and threads",
        };
        match (self.kind.as_str(), n) {
            ("deadlock", 1) => writeln!(
                f,
                "lockscope: DEADLOCK: a {} waits for a lock it holds itself",
                self.participants[0].kind
            )?,
            ("deadlock", _) => writeln!(
                f,
                "lockscope: DEADLOCK: {n} {who} wait for each other in a cycle"
            )?,
            _ => writeln!(
                f,
                "lockscope: STARVATION: {n} {who} wait in a cycle through a pool whose other permit holders may never return"
            )?,
        }
        if self.resolves_by_timeout {
            writeln!(
                f,
                "  (a wait in the cycle has a timeout: it will break when that expires)"
            )?;
        }
        if let Some(seed) = self.chaos_seed {
            writeln!(
                f,
                "  (found under chaos mode, seed {seed}: LOCKSCOPE_CHAOS={seed} repeats the delays that made it happen)"
            )?;
        }
        for (k, p) in self.participants.iter().enumerate() {
            let w = &p.waits_for;
            writeln!(f, "\n{} {:?} (actor {})", p.kind, p.name, p.actor)?;
            writeln!(
                f,
                "  waits for {} ({}) at {} {}{}",
                w.name,
                w.how(true),
                w.site,
                ms(w.for_ns),
                if w.timed { ", with a timeout" } else { "" }
            )?;
            let next = &self.participants[(k + 1) % n];
            if next.actor != p.actor {
                writeln!(f, "    which {} {:?} holds", next.kind, next.name)?;
            } else {
                writeln!(f, "    which it holds itself")?;
            }
            for h in &p.holds {
                writeln!(
                    f,
                    "  holds     {} ({}) taken at {} {}",
                    h.name,
                    h.how(false),
                    h.site,
                    ms(h.for_ns)
                )?;
            }
            if !p.stack.is_empty() {
                writeln!(f, "  wait stack:")?;
                for frame in &p.stack {
                    writeln!(f, "    {frame}")?;
                }
            }
        }
        Ok(())
    }
}

/// A task's wait stack without the executor and server framework under it: the frames above
/// the first one from the runtime (or axum, hyper, tower, tonic, warp, actix), and without
/// lockscope's task-naming wrapper.
fn poll_frames(mut frames: Vec<String>) -> Vec<String> {
    const UNDER: [&str; 10] = [
        "tokio::runtime::",
        "axum::",
        "F as axum::",
        "hyper::",
        "hyper_util::",
        "tower::",
        "tonic::",
        "warp::",
        "actix_",
        "F as tower::",
    ];
    let under = |f: &str| {
        let f = f.trim_start_matches('<');
        UNDER.iter().any(|p| f.starts_with(p))
    };
    if let Some(end) = frames.iter().skip(1).position(|f| under(f)) {
        frames.truncate(end + 1);
    }
    frames.retain(|f| !f.starts_with("<lockscope::tokio::NamedTask"));
    frames
}
