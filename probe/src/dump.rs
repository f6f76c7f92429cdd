//! `lockscope::dump()`: who holds and who waits for what, right now — a thread dump for locks.

use crate::actor::{self, Held};
use crate::{class, clock};
use std::fmt;

/// One lock an actor holds or waits for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HeldLock {
    /// Lock instance id.
    pub lock: u64,
    /// The lock's class name (user-given name or creation site).
    pub name: String,
    /// `exclusive`, `shared`, `permit` or `condvar-wait`.
    pub mode: String,
    /// Where it was taken (or is being waited for): `file:line:column`.
    pub site: String,
    /// For how long, when known (holds are timed on contention and sampling only).
    pub for_ns: Option<u64>,
}

/// One actor's locks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ActorDump {
    /// Actor id.
    pub id: u64,
    /// Thread (or task) name.
    pub name: String,
    /// `thread` or `task` (a tokio task).
    pub kind: String,
    /// What it waits for, if anything.
    pub waiting: Option<HeldLock>,
    /// What it holds, outermost first.
    pub holds: Vec<HeldLock>,
}

/// Every actor that holds or waits for a lock right now.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dump {
    /// The actors, by id.
    pub actors: Vec<ActorDump>,
}

fn held_lock(h: &Held, now: u64) -> HeldLock {
    HeldLock {
        lock: h.lock,
        name: class::by_id(h.class).map_or_else(|| format!("lock#{}", h.lock), |c| c.label.clone()),
        mode: h.mode.as_str().to_owned(),
        site: crate::class::site_text(h.site, h.class),
        for_ns: (h.since_ns != 0).then(|| now.saturating_sub(h.since_ns)),
    }
}

/// Who holds and who waits for which lock, right now. Reads every thread's published state
/// without stopping anyone.
///
/// ```
/// let m = lockscope::Mutex::named("dump-doc", ());
/// let _g = m.lock();
/// let d = lockscope::dump();
/// assert!(d.actors.iter().any(|a| a.holds.iter().any(|h| h.name == "dump-doc")));
/// println!("{d}");
/// ```
pub fn dump() -> Dump {
    let now = clock::now_ns();
    let mut actors: Vec<ActorDump> = actor::snapshots()
        .into_iter()
        .map(|s| ActorDump {
            kind: match s.kind {
                crate::format::ActorKind::Thread => "thread",
                crate::format::ActorKind::Task => "task",
            }
            .to_owned(),
            id: s.id,
            name: s.name,
            waiting: s.waiting.as_ref().map(|w| held_lock(w, now)),
            holds: s.held.iter().map(|h| held_lock(h, now)).collect(),
        })
        .collect();
    actors.sort_by_key(|a| a.id);
    Dump { actors }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actors.is_empty() {
            return writeln!(f, "no thread holds or waits for a lock");
        }
        for a in &self.actors {
            writeln!(f, "{} {:?} (actor {})", a.kind, a.name, a.id)?;
            if let Some(w) = &a.waiting {
                writeln!(
                    f,
                    "  waits for {} ({}) at {}{}",
                    w.name,
                    w.mode,
                    w.site,
                    for_text(w.for_ns)
                )?;
            }
            for h in &a.holds {
                writeln!(
                    f,
                    "  holds     {} ({}) taken at {}{}",
                    h.name,
                    h.mode,
                    h.site,
                    for_text(h.for_ns)
                )?;
            }
        }
        Ok(())
    }
}

fn for_text(ns: Option<u64>) -> String {
    ns.map_or_else(String::new, |ns| format!(" for {:.3} ms", ns as f64 / 1e6))
}
