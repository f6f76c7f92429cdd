//! Async actors and the holds and waits of the async primitives.
//!
//! An actor is the running tokio task (`tokio::task::try_id()`), or the calling thread outside
//! a task. A task migrates between worker threads and an async guard may be sent anywhere, so
//! nothing here lives in a thread's state:
//! - **Holds** sit in the lock's *hold table* (a few atomic slots, claimed by compare-exchange;
//!   a mutex has one), and the guard carries its slot, its actor and its token, so whoever
//!   drops the guard, on whatever thread, releases the right hold.
//! - **Waits** sit in one registry (a parking_lot mutex over a slab; waits are the slow path)
//!   from the moment a contended acquisition starts waiting until it acquires or its future
//!   is dropped.
//!
//! The detector reads both into the same snapshots as threads' held lists
//! ([`extend_snapshots`]), so the wait-for graph mixes tasks and threads.

use crate::actor::{self, Held, Snapshot};
use crate::format::{ActorKind, Mode, Outcome, Record};
use crate::lock::meta::async_paths::AsyncWait;
use crate::lock::meta::{LockMeta, MAX_HOLDERS, Token};
use crate::meta::META;
use crate::{raw, recorder};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed};
use std::sync::atomic::{AtomicU64, AtomicUsize, fence};
use std::sync::{Arc, LazyLock, OnceLock};

/// Release ordering (the name `Release` is the guards' release type here).
const PUBLISH: Ordering = Ordering::Release;

/// Task actors' ids are the tokio task id with this bit set; thread actors' ids are small.
pub(crate) const TASK_ACTOR: u64 = 1 << 56;
/// The stand-in actor for holders a full hold table could not list.
const UNLISTED: u64 = u64::MAX;

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
        None => actor::current().id.load(Relaxed),
    }
}

// ----- task names and their definitions in the trace -----

/// Names given with `name_task`/`spawn_named`, while their task runs.
static NAMES: LazyLock<Mutex<HashMap<u64, Arc<str>>>> = LazyLock::new(Default::default);

/// Task actors recently defined in the trace (direct-mapped; an evicted task is defined again).
static DEFINED: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
/// The recording session `DEFINED` belongs to.
static DEFINED_SESSION: AtomicU64 = AtomicU64::new(0);

/// The name of actor `id`: a task's given name or `task-<id>`; a thread's name.
pub(crate) fn name_of(id: u64) -> String {
    if id == UNLISTED {
        return "(holders beyond the ones lockscope lists)".to_owned();
    }
    if is_task(id) {
        match NAMES.lock().get(&id) {
            Some(n) => n.to_string(),
            None => format!("task-{}", id & !TASK_ACTOR),
        }
    } else {
        actor::name_of(id)
    }
}

/// Sets the name of task actor `id` (and defines it again in a running trace).
pub(crate) fn set_name(id: u64, name: Arc<str>) {
    NAMES.lock().insert(id, name);
    DEFINED[(id as usize) % DEFINED.len()].store(0, Relaxed);
}

pub(crate) fn clear_name(id: u64) {
    NAMES.lock().remove(&id);
}

/// Makes sure a running trace has the `Actor` record of task actor `id` before a record
/// names it. Threads define themselves when they register.
#[inline]
pub(crate) fn define(id: u64) {
    if !is_task(id) || !recorder::recording() {
        return;
    }
    let session = u64::from(recorder::session());
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
    let name = span_name(id).unwrap_or_else(|| name_of(id));
    let mut meta = META.lock();
    let name = meta.intern(&name);
    meta.define(&Record::Actor {
        actor: id,
        kind: ActorKind::Task,
        os_id: id & !TASK_ACTOR,
        name,
    });
}

/// The name of task `id` from the `tracing` span it runs in (`<span name> #<tokio id>`), when
/// it has no given name and the caller runs in that task (feature `tracing`).
fn span_name(id: u64) -> Option<String> {
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

// ----- hold tables -----

/// A hold in a hold table; `actor` is 0 when free and `CLAIMING` while being written.
#[derive(Default)]
struct HoldSlot {
    actor: AtomicU64,
    class_mode: AtomicU64,
    site: AtomicUsize,
    since_ns: AtomicU64,
}

const CLAIMING: u64 = u64::MAX;
/// The guard's slot when the hold table was full (the hold is counted, not listed).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// The current holds of one async lock, readable by the detector.
pub(crate) struct HoldTable {
    /// The lock's id; 0 while the table is free.
    lock: AtomicU64,
    slots: Box<[HoldSlot]>,
    /// Holds not listed because every slot was taken.
    unlisted: AtomicU64,
}

/// Every hold table ever made (tables are reused, never freed).
static TABLES: RwLock<Vec<&'static HoldTable>> = RwLock::new(Vec::new());
/// Free tables by width (1 slot, or `WIDE` slots).
static FREE: Mutex<(Vec<&'static HoldTable>, Vec<&'static HoldTable>)> =
    Mutex::new((Vec::new(), Vec::new()));
/// Holders listed per shared lock or semaphore; more are counted but not listed.
pub(crate) const WIDE: usize = 32;

fn table_for(lock: u64, width: usize) -> &'static HoldTable {
    let reused = {
        let mut free = FREE.lock();
        if width == 1 {
            free.0.pop()
        } else {
            free.1.pop()
        }
    };
    let t = reused.unwrap_or_else(|| {
        let t: &'static HoldTable = Box::leak(Box::new(HoldTable {
            lock: AtomicU64::new(0),
            slots: (0..width).map(|_| HoldSlot::default()).collect(),
            unlisted: AtomicU64::new(0),
        }));
        TABLES.write().push(t);
        t
    });
    t.lock.store(lock, PUBLISH);
    t
}

impl HoldTable {
    /// Lists a hold; returns its slot, or `NO_SLOT` when every slot is taken.
    #[inline]
    fn claim(&self, actor: u64, cm: u64, site: &'static Location<'static>, since_ns: u64) -> u32 {
        if let [s] = &self.slots[..] {
            // A mutex's single slot is free whenever the mutex is ours: the last holder's
            // release happened before our acquisition.
            s.actor.store(CLAIMING, Relaxed);
            // As a sequence lock's writer: the mark is visible before any field changes.
            fence(PUBLISH);
            s.class_mode.store(cm, Relaxed);
            s.site
                .store(site as *const Location<'static> as usize, Relaxed);
            s.since_ns.store(since_ns, Relaxed);
            s.actor.store(actor, PUBLISH);
            return 0;
        }
        self.claim_shared(actor, cm, site, since_ns)
    }

    fn claim_shared(
        &self,
        actor: u64,
        cm: u64,
        site: &'static Location<'static>,
        since_ns: u64,
    ) -> u32 {
        for (i, s) in self.slots.iter().enumerate() {
            let free = s.actor.load(Relaxed) == 0
                && s.actor
                    .compare_exchange(0, CLAIMING, Acquire, Relaxed)
                    .is_ok();
            if free {
                fence(PUBLISH);
                s.class_mode.store(cm, Relaxed);
                s.site
                    .store(site as *const Location<'static> as usize, Relaxed);
                s.since_ns.store(since_ns, Relaxed);
                s.actor.store(actor, PUBLISH);
                return i as u32;
            }
        }
        self.unlisted.fetch_add(1, Relaxed);
        NO_SLOT
    }

    fn release(&self, slot: u32) {
        match self.slots.get(slot as usize) {
            Some(s) => s.actor.store(0, PUBLISH),
            None => {
                self.unlisted.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Calls `f(actor, held)` for every listed hold.
    fn read(&self, mut f: impl FnMut(u64, Held)) {
        let lock = self.lock.load(Acquire);
        if lock == 0 {
            return;
        }
        for s in self.slots.iter() {
            let a = s.actor.load(Acquire);
            if a == 0 || a == CLAIMING {
                continue;
            }
            let cm = s.class_mode.load(Relaxed);
            let site = s.site.load(Relaxed);
            let since = s.since_ns.load(Relaxed);
            // As a sequence lock's reader: the fields were read before the check.
            fence(Acquire);
            if s.actor.load(Relaxed) != a || site == 0 {
                continue;
            }
            let (class, mode) = actor::decode_class_mode(cm);
            f(
                a,
                Held {
                    lock,
                    class,
                    mode,
                    site: raw::location_from_addr(site),
                    since_ns: since,
                    timed: false,
                    movable: true,
                },
            );
        }
    }
}

/// Calls `f` with the actor of every listed async hold of `lock`.
pub(crate) fn holders_of(lock: u64, mut f: impl FnMut(u64)) {
    for t in TABLES.read().iter() {
        if t.lock.load(Relaxed) == lock {
            t.read(|a, _| f(a));
        }
    }
}

// ----- the per-lock state the async primitives embed -----

/// Recording state of one async lock: the shared `LockMeta` plus its hold table.
pub(crate) struct Tracked {
    pub(crate) meta: LockMeta,
    table: OnceLock<&'static HoldTable>,
    width: usize,
}

/// What a guard carries to release its hold, on whatever thread it drops.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hold {
    pub(crate) tok: Token,
    actor: u64,
    slot: u32,
}

impl Hold {
    /// The actor that took the hold (0 when untracked).
    pub(crate) fn actor(&self) -> u64 {
        self.actor
    }

    pub(crate) const fn untracked(site: &'static Location<'static>) -> Hold {
        Hold {
            tok: Token::untracked(site),
            actor: 0,
            slot: NO_SLOT,
        }
    }
}

impl Tracked {
    /// `width`: 1 for a mutex (one holder), else `WIDE`.
    pub(crate) const fn new(meta: LockMeta, width: usize) -> Self {
        Tracked {
            meta,
            table: OnceLock::new(),
            width,
        }
    }

    #[inline]
    fn table(&self) -> &'static HoldTable {
        match self.table.get() {
            Some(t) => t,
            None => self.first_table(),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_table(&self) -> &'static HoldTable {
        self.table
            .get_or_init(|| table_for(self.meta.id(), self.width))
    }

    #[inline]
    fn list(&self, actor: u64, tok: Token, mode: Mode) -> Hold {
        let cm = self.meta.class_mode_of(mode);
        let slot = self.table().claim(actor, cm, tok.site, tok.since_ns());
        Hold { tok, actor, slot }
    }

    /// Bookkeeping after an acquisition that did not wait.
    #[inline]
    pub(crate) fn acquired(&self, mode: Mode, site: &'static Location<'static>) -> Hold {
        if !crate::config::enabled() {
            return Hold::untracked(site);
        }
        let actor = current_actor();
        let tok = self.meta.async_acquired(actor, mode, site);
        self.list(actor, tok, mode)
    }

    /// Bookkeeping before the real release (any thread).
    #[inline]
    pub(crate) fn released(&self, h: &Hold, mode: Mode) {
        if h.tok.lock == 0 {
            return;
        }
        if let Some(t) = self.table.get() {
            t.release(h.slot);
        }
        self.meta.async_released(h.actor, &h.tok, mode);
    }

    /// The actors holding the lock right now (the new waiter's wait-for edges).
    fn holders(&self, mode: Mode) -> ([u64; MAX_HOLDERS], usize) {
        let mut out = [0; MAX_HOLDERS];
        let mut n = 0;
        let exclusive = self.meta.holder.load(Relaxed);
        if exclusive != 0 && self.width == 1 {
            out[0] = exclusive;
            return (out, 1);
        }
        if let Some(t) = self.table.get() {
            t.read(|a, h| {
                // A reader waits for writers only (and for queued writers, not listed here).
                let blocks = !(mode == Mode::Shared && h.mode == Mode::Shared);
                if blocks && n < MAX_HOLDERS && !out[..n].contains(&a) {
                    out[n] = a;
                    n += 1;
                }
            });
        }
        (out, n)
    }

    /// Starts recording a contended wait; the returned `Waiting` ends it when it acquires
    /// ([`Waiting::acquired`]) or, dropped, as given up (a cancelled future, a closed
    /// semaphore).
    #[cold]
    #[inline(never)]
    pub(crate) fn begin_wait(&self, mode: Mode, site: &'static Location<'static>) -> Waiting<'_> {
        if !crate::config::enabled() {
            return Waiting {
                tracked: self,
                actor: 0,
                key: usize::MAX,
                wait: None,
                mode,
                site,
            };
        }
        let actor = current_actor();
        define(actor);
        let (holders, n) = self.holders(mode);
        // Whether a task holds anything is not known cheaply, so any async wait may close a
        // cycle: its stack is kept while recording, and otherwise within a budget.
        let stack = stack_budget().then(|| raw::capture(3));
        let wait = self
            .meta
            .async_wait_begin(actor, mode, site, &holders[..n], stack.as_ref());
        let held = Held {
            lock: wait.lock,
            class: self.meta.class().id,
            mode,
            site,
            since_ns: wait.t0,
            timed: false,
            movable: true,
        };
        let key = publish_wait(actor, held, stack.as_ref());
        let holder = if self.width == 1 {
            self.meta.holder.load(Relaxed)
        } else {
            0
        };
        crate::detect::on_wait(actor, wait.lock, holder, self.meta.kind());
        Waiting {
            tracked: self,
            actor,
            key,
            wait: Some(wait),
            mode,
            site,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(t) = self.table.get() {
            t.lock.store(0, PUBLISH);
            for s in t.slots.iter() {
                s.actor.store(0, Relaxed);
            }
            t.unlisted.store(0, Relaxed);
            let mut free = FREE.lock();
            if t.slots.len() == 1 {
                free.0.push(t);
            } else {
                free.1.push(t);
            }
        }
    }
}

/// A contended wait in progress. Dropped without [`Waiting::acquired`], it ends the wait as
/// given up and withdraws it from the detector, so a cancelled future leaves no edge.
#[must_use]
pub(crate) struct Waiting<'a> {
    tracked: &'a Tracked,
    actor: u64,
    key: usize,
    wait: Option<AsyncWait>,
    mode: Mode,
    site: &'static Location<'static>,
}

impl Waiting<'_> {
    /// The wait acquired: ends it and returns the hold for the guard.
    pub(crate) fn acquired(mut self) -> Hold {
        let Some(w) = self.wait.take() else {
            return Hold::untracked(self.site);
        };
        withdraw_wait(self.key);
        let tok = self.tracked.meta.async_wait_end(
            self.actor,
            &w,
            Some(self.mode),
            Outcome::Acquired,
            self.site,
        );
        self.tracked.list(self.actor, tok, self.mode)
    }

    /// The wait ended without the lock because the resource was closed.
    pub(crate) fn closed(mut self) {
        self.end_without(Outcome::Closed);
    }

    fn end_without(&mut self, outcome: Outcome) {
        if let Some(w) = self.wait.take() {
            withdraw_wait(self.key);
            define(self.actor);
            self.tracked
                .meta
                .async_wait_end(self.actor, &w, None, outcome, self.site);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        // Cancelled: recorded as a wait that ended without the lock.
        self.end_without(Outcome::TimedOut);
    }
}

impl std::fmt::Debug for Waiting<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

// ----- waits -----

struct AsyncWaitEntry {
    actor: u64,
    held: Held,
    stack: Vec<usize>,
    /// The task's name from its span, when it has one and no given name.
    span_name: Option<String>,
}

#[derive(Default)]
struct Waits {
    slots: Vec<Option<AsyncWaitEntry>>,
    free: Vec<usize>,
}

static WAITS: Mutex<Waits> = Mutex::new(Waits {
    slots: Vec::new(),
    free: Vec::new(),
});

/// Stacks of async waits captured per window while nothing records (a stack walk costs
/// microseconds; under heavy contention most waits go without one).
const STACKS_PER_WINDOW: u64 = 64;
const STACK_WINDOW_NS: u64 = 100_000_000;
static STACK_WINDOW: AtomicU64 = AtomicU64::new(0);
static STACKS_TAKEN: AtomicU64 = AtomicU64::new(0);

/// Whether this wait may walk its stack.
fn stack_budget() -> bool {
    if recorder::recording() {
        return true;
    }
    let window = crate::clock::now_ns() / STACK_WINDOW_NS;
    if STACK_WINDOW.swap(window, Relaxed) != window {
        STACKS_TAKEN.store(0, Relaxed);
    }
    STACKS_TAKEN.fetch_add(1, Relaxed) < STACKS_PER_WINDOW
}

fn publish_wait(actor: u64, held: Held, stack: Option<&raw::RawStack>) -> usize {
    let e = AsyncWaitEntry {
        actor,
        held,
        stack: stack.map_or_else(Vec::new, |st| st.frames().to_vec()),
        span_name: span_name(actor),
    };
    let key = {
        let mut w = WAITS.lock();
        match w.free.pop() {
            Some(k) => {
                w.slots[k] = Some(e);
                k
            }
            None => {
                w.slots.push(Some(e));
                w.slots.len() - 1
            }
        }
    };
    actor::WAITING.fetch_add(1, Relaxed);
    key
}

fn withdraw_wait(key: usize) {
    let mut w = WAITS.lock();
    if let Some(slot) = w.slots.get_mut(key)
        && slot.take().is_some()
    {
        w.free.push(key);
        actor::WAITING.fetch_sub(1, Relaxed);
    }
}

/// The single async wait of `actor` right now; `None` when it has none, or several at once (a
/// task awaiting two locks in `join!`/`select!` is not blocked by either alone).
pub(crate) fn wait_of(actor: u64) -> Option<Held> {
    let w = WAITS.lock();
    let mut it = w.slots.iter().flatten().filter(|e| e.actor == actor);
    let first = it.next()?;
    it.next().is_none().then_some(first.held)
}

/// Adds the async holds and waits to the threads' snapshots: into the thread's own snapshot
/// for a thread, into a new one per task.
pub(crate) fn extend_snapshots(snaps: &mut Vec<Snapshot>) {
    let mut index: HashMap<u64, usize> = snaps.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut entry = |snaps: &mut Vec<Snapshot>, a: u64| -> usize {
        *index.entry(a).or_insert_with(|| {
            snaps.push(Snapshot {
                id: a,
                name: name_of(a),
                held: Vec::new(),
                waiting: None,
                wait_stack: Vec::new(),
                kind: if is_task(a) {
                    ActorKind::Task
                } else {
                    ActorKind::Thread
                },
            });
            snaps.len() - 1
        })
    };
    let tables = TABLES.read().clone();
    for t in tables {
        t.read(|a, h| {
            let i = entry(snaps, a);
            snaps[i].held.push(h);
        });
        // Holders beyond the table are unknown: one stand-in that never waits holds for them,
        // so a semaphore whose listed holders all wait is not taken for a deadlock.
        let lock = t.lock.load(Relaxed);
        if lock != 0 && t.unlisted.load(Relaxed) != 0 {
            let i = entry(snaps, UNLISTED);
            snaps[i].held.push(Held {
                lock,
                class: 0,
                mode: Mode::Permits(0),
                site: Location::caller(),
                since_ns: 0,
                timed: false,
                movable: true,
            });
        }
    }
    let mut count: HashMap<u64, usize> = HashMap::new();
    let waits = WAITS.lock();
    for e in waits.slots.iter().flatten() {
        *count.entry(e.actor).or_default() += 1;
    }
    for e in waits.slots.iter().flatten() {
        let i = entry(snaps, e.actor);
        let s = &mut snaps[i];
        if s.waiting.is_some() && !is_task(e.actor) {
            continue; // a thread blocked in a sync wait is not in this one
        }
        if count[&e.actor] > 1 {
            s.waiting = None;
            s.wait_stack.clear();
            continue;
        }
        s.waiting = Some(e.held);
        s.wait_stack = e.stack.clone();
        if let Some(n) = &e.span_name {
            s.name.clone_from(n);
        }
    }
}

/// Releases a hold when dropped. A guard lists it before the real guard, so (fields drop in
/// order) the bookkeeping runs right before the real unlock, wherever the guard drops.
pub(crate) struct Release<'a> {
    pub(crate) tracked: &'a Tracked,
    pub(crate) hold: Hold,
    pub(crate) mode: Mode,
}

impl Drop for Release<'_> {
    #[inline]
    fn drop(&mut self) {
        self.tracked.released(&self.hold, self.mode);
    }
}

/// A lock type that embeds a [`Tracked`] (for the owned guards' releases).
pub(crate) trait HasTracked {
    fn tracked(&self) -> &Tracked;
}

/// [`Release`] for an owned guard: it keeps the lock's `Arc`.
pub(crate) struct OwnedRelease<L: HasTracked + ?Sized> {
    pub(crate) lock: Arc<L>,
    pub(crate) hold: Hold,
    pub(crate) mode: Mode,
}

impl<L: HasTracked + ?Sized> Drop for OwnedRelease<L> {
    #[inline]
    fn drop(&mut self) {
        self.lock.tracked().released(&self.hold, self.mode);
    }
}
