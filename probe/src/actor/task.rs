//! Task actors: tokio tasks as lockscope actors. A task's actor id is its tokio task id with
//! [`TASK_ACTOR`] set; its name is the one given with `name_task`/`spawn_named`, else the
//! `tracing` span it runs in, else `task-<tokio id>`. A task named with
//! `name_task`/`spawn_named` also has a spawn site, the caller of that function. A running
//! trace gets a task's `Actor` record (name and spawn site) before the first record that
//! names it ([`define`]).

use crate::format::{ActorKind, Record};
use crate::sink;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, LazyLock};

/// Task actors' ids are the tokio task id with this bit set; thread actors' ids are small.
pub(crate) const TASK_ACTOR: u64 = 1 << 56;
/// The stand-in actor for holders a full hold table could not list.
pub(crate) const UNLISTED: u64 = u64::MAX;

/// Whether `actor` is a task.
pub(crate) fn is_task(actor: u64) -> bool {
    actor & TASK_ACTOR != 0
}

/// Reads the number inside a `tokio::task::Id` (its `Hash` writes exactly that `u64`).
#[derive(Default)]
struct IdNumber(u64);

impl Hasher for IdNumber {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) fn task_number(id: ::tokio::task::Id) -> u64 {
    let mut h = IdNumber::default();
    id.hash(&mut h);
    h.0 & (TASK_ACTOR - 1)
}

/// The actor of the running code: the current tokio task, else the calling thread.
#[inline]
pub(crate) fn current_actor() -> u64 {
    match ::tokio::task::try_id() {
        Some(id) => TASK_ACTOR | task_number(id),
        None => super::thread::current().id.load(Relaxed),
    }
}

// ----- task names and their definitions in the trace -----

/// What `name_task`/`spawn_named` said about a task: its name and where it was called.
struct Given {
    name: Arc<str>,
    spawn_site: &'static Location<'static>,
}

/// Names and spawn sites given with `name_task`/`spawn_named`, while their task runs.
static NAMES: LazyLock<Mutex<HashMap<u64, Given>>> = LazyLock::new(Default::default);

/// Task actors recently defined in the trace (direct-mapped; an evicted task is defined again).
static DEFINED: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
/// The recording session `DEFINED` belongs to.
static DEFINED_SESSION: AtomicU64 = AtomicU64::new(0);

/// The name of task actor `id` (its given name or `task-<tokio id>`), or of the stand-in for
/// unlisted holders; `None` for a thread.
pub(crate) fn name_of_task(id: u64) -> Option<String> {
    if id == UNLISTED {
        return Some("(holders beyond the ones lockscope lists)".to_owned());
    }
    if !is_task(id) {
        return None;
    }
    Some(match NAMES.lock().get(&id) {
        Some(g) => g.name.to_string(),
        None => format!("task-{}", id & !TASK_ACTOR),
    })
}

/// Sets the name of task actor `id` and where it was spawned (the caller of
/// `name_task`/`spawn_named`), and defines it again in a running trace. At a task's first
/// poll only.
pub(crate) fn set_name(id: u64, name: Arc<str>, spawn_site: &'static Location<'static>) {
    NAMES.lock().insert(id, Given { name, spawn_site });
    DEFINED[(id as usize) % DEFINED.len()].store(0, Relaxed);
}

/// Where task actor `id` was spawned, when it was named with `name_task`/`spawn_named`.
fn spawn_site_of(id: u64) -> Option<&'static Location<'static>> {
    NAMES.lock().get(&id).map(|g| g.spawn_site)
}

pub(crate) fn clear_name(id: u64) {
    NAMES.lock().remove(&id);
}

/// Makes sure a running trace has the `Actor` record of task actor `id` before a record
/// names it. Threads define themselves when they register.
#[inline]
pub(crate) fn define(id: u64) {
    if !is_task(id) || !sink::recording() {
        return;
    }
    let session = u64::from(sink::session());
    if DEFINED_SESSION.load(Relaxed) != session {
        DEFINED.iter().for_each(|d| d.store(0, Relaxed));
        DEFINED_SESSION.store(session, Relaxed);
    }
    let slot = &DEFINED[(id as usize) % DEFINED.len()];
    if slot.load(Relaxed) != id {
        define_slow(id);
        slot.store(id, Relaxed);
    }
}

#[cold]
fn define_slow(id: u64) {
    let name = span_name(id)
        .or_else(|| name_of_task(id))
        .unwrap_or_default();
    // `file:line:column` as a lock class's site is written (before the log's lock is taken).
    let spawn_site = spawn_site_of(id).map_or(0, sink::site_id);
    sink::define_with(|d| {
        let name = d.intern(&name);
        d.define(&Record::Actor {
            actor: id,
            kind: ActorKind::Task,
            os_id: id & !TASK_ACTOR,
            name,
            spawn_site,
        });
    });
}

/// The name of task `id` from the `tracing` span it runs in (`<span name> #<tokio id>`), when
/// it has no given name and the caller runs in that task (feature `tracing`).
pub(super) fn span_name(id: u64) -> Option<String> {
    #[cfg(feature = "tracing")]
    {
        if !is_task(id) || current_actor() != id || NAMES.lock().contains_key(&id) {
            return None;
        }
        let span = ::tracing::Span::current();
        let name = span.metadata()?.name();
        Some(format!("{name} #{}", id & !TASK_ACTOR))
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = id;
        None
    }
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&NAMES]
}
