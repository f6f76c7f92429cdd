//! Thread actors: one `ActorShared` per thread that takes a recorded lock, registered on its
//! first acquisition and reused after the thread is gone.
//!
//! Its held-lock list is written only by the owning thread, with plain relaxed stores
//! published through a sequence lock, so the fast path takes no lock and other threads
//! (detectors, `dump()`) still read a consistent snapshot.

use super::held::{NO_ORDER, Snapshot, to_held};
use super::held_list::{HeldList, MAX_HELD, Slot};
use crate::format::{ActorKind, Record};
use crate::raw;
use crate::sink::{self, ThreadSink};
use parking_lot::{Mutex, RwLock};
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

/// Everything other threads may read about one actor.
pub(crate) struct ActorShared {
    pub(crate) id: AtomicU64,
    pub(crate) name: Mutex<String>,
    /// What it holds and waits for, as other threads read it.
    list: HeldList,
    wait_stack: [AtomicUsize; raw::MAX_FRAMES],
    wait_stack_len: AtomicUsize,
    /// Owner-only: `chain[d]` hashes the classes held in slots `0..=d`.
    chain: [AtomicU64; MAX_HELD],
    /// Owner-only: chains of held classes this thread has already validated (direct-mapped).
    validated: [AtomicU64; 64],
    /// Where this thread's events go: written by the owning thread only.
    pub(crate) sink: ThreadSink,
    /// The owning thread has exited; the slot is reused once that thread is gone and drained.
    pub(crate) exited: AtomicBool,
    /// The owning thread's OS id.
    tid: AtomicU64,
    /// In a forked child: the slot belonged to a thread of the parent, which may have been
    /// half-way through writing its buffer at the fork. It is never reused.
    pub(super) orphaned: AtomicBool,
}

pub(super) struct Registry {
    pub(super) all: Vec<&'static ActorShared>,
    free: Vec<&'static ActorShared>,
}

pub(super) static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    all: Vec::new(),
    free: Vec::new(),
});
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    pub(super) static CURRENT: Cell<Option<&'static ActorShared>> = const { Cell::new(None) };
    static EXIT: ExitGuard = const { ExitGuard };
}

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        if let Some(a) = CURRENT.with(Cell::get) {
            if sink::recording()
                && let Some(hook) = EXIT_HOOK.get()
            {
                hook(a);
            }
            a.exited.store(true, Release);
            EXITED.fetch_add(1, Relaxed);
            // On Linux the thread keeps its actor through the rest of its teardown (other
            // thread-locals' destructors may still take locks), and the slot is reclaimed once
            // the OS thread is gone. Elsewhere that cannot be told, so the slot is let go now.
            #[cfg(not(target_os = "linux"))]
            {
                CURRENT.with(|c| c.set(None));
                if !sink::recording() {
                    reclaim_gone();
                }
            }
        }
    }
}

/// Run by a thread that exits while a recording runs (the sampler's final figures).
static EXIT_HOOK: OnceLock<fn(&ActorShared)> = OnceLock::new();

/// Registers the one thread-exit hook (layers above register; the actor layer calls up into
/// nothing).
pub(crate) fn on_thread_exit(hook: fn(&ActorShared)) {
    let first = EXIT_HOOK.set(hook).is_ok();
    debug_assert!(first, "one thread-exit hook only");
}

/// Exited actors not yet reclaimed.
static EXITED: AtomicUsize = AtomicUsize::new(0);

/// Whether the thread that owned `a` has really ended (Linux: its `/proc/self/task` entry is
/// gone; tids are not reused while it exists).
fn thread_gone(a: &ActorShared) -> bool {
    #[cfg(target_os = "linux")]
    {
        let tid = a.tid.load(Relaxed);
        tid == 0 || !std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = a;
        true
    }
}

/// Whether `a` can be drained and reused: its thread exited and is gone.
pub(crate) fn reclaimable(a: &ActorShared) -> bool {
    a.exited.load(Acquire) && !a.orphaned.load(Relaxed) && thread_gone(a)
}

/// With no recorder running, clears and frees every reclaimable slot (needs the collector
/// role; skipped when another collector has it).
fn reclaim_gone() {
    // While a recorder may still collect (even with the gate closed, before its last pass),
    // an exited thread's buffers are its to drain: thrown away here, its last events would be
    // missing from the trace.
    if EXITED.load(Relaxed) == 0 || sink::recording() || sink::may_collect() {
        return;
    }
    let Some(collector) = sink::try_collector() else {
        return;
    };
    for a in all() {
        if reclaimable(a) {
            a.sink.discard(&collector);
            recycle(a);
        }
    }
}

/// The calling thread's actor, registering it on first use.
#[inline]
pub(crate) fn current() -> &'static ActorShared {
    match CURRENT.with(Cell::get) {
        Some(a) => a,
        None => register(),
    }
}

/// Whether the calling thread holds any lock it listed, without registering it (a thread
/// that never took a recorded lock holds none).
#[inline]
pub(crate) fn holds_any() -> bool {
    CURRENT.with(Cell::get).is_some_and(|a| a.depth() != 0)
}

#[cold]
fn register() -> &'static ActorShared {
    let tid = raw::current_tid();
    if REGISTRY.read().free.is_empty() {
        reclaim_gone();
    }
    // The id is chosen and the slot's tid published under FOREIGN: the sampler, defining a
    // thread it found without an actor, asks under the same lock whether the thread has
    // registered meanwhile (one actor per OS thread in every report). A thread the sampler
    // already defined (it ran before this thread took a lock, as the main thread usually
    // does) keeps that id.
    let mut foreign = FOREIGN.lock();
    let id = (tid != 0)
        .then(|| foreign.as_mut().and_then(|m| m.remove(&tid)))
        .flatten()
        .unwrap_or_else(|| NEXT_ID.fetch_add(1, Relaxed));
    let recycled = REGISTRY.write().free.pop();
    let actor = match recycled {
        Some(a) => {
            // Inside the sequence lock: a reader must never pair the new id with old holds.
            a.list.write(|l| {
                l.clear();
                a.id.store(id, Relaxed);
                l.waiting.lock.store(0, Relaxed);
            });
            // A new thread has validated nothing: its witnesses count separately.
            a.validated.iter().for_each(|v| v.store(0, Relaxed));
            a.exited.store(false, Relaxed);
            a
        }
        None => {
            let a: &'static ActorShared = Box::leak(Box::new(ActorShared {
                id: AtomicU64::new(0),
                name: Mutex::new(String::new()),
                list: HeldList::new(),
                wait_stack: Default::default(),
                wait_stack_len: AtomicUsize::new(0),
                chain: Default::default(),
                validated: std::array::from_fn(|_| AtomicU64::new(0)),
                sink: ThreadSink::new(),
                exited: AtomicBool::new(false),
                tid: AtomicU64::new(0),
                orphaned: AtomicBool::new(false),
            }));
            REGISTRY.write().all.push(a);
            a
        }
    };
    actor.id.store(id, Relaxed);
    actor.tid.store(tid, Relaxed);
    drop(foreign);
    let name = std::thread::current()
        .name()
        .map_or_else(|| format!("thread-{id}"), str::to_owned);
    *actor.name.lock() = name.clone();
    define_thread(id, tid, &name);
    CURRENT.with(|c| c.set(Some(actor)));
    // Registers the exit hook; fails harmlessly when the thread is already tearing down.
    let _ = EXIT.try_with(|_| ());
    actor
}

/// Every actor slot ever created (live, exited or free).
pub(crate) fn all() -> Vec<&'static ActorShared> {
    REGISTRY.read().all.clone()
}

/// Names of threads whose slots were reused, newest last, so an alert raised after a thread
/// ended still names it as the thread table does. Bounded: the oldest go first.
pub(super) static RETIRED: Mutex<VecDeque<(u64, String)>> = Mutex::new(VecDeque::new());
const RETIRED_NAMES: usize = 4096;

/// Returns drained, exited actors to the free list (called by the recorder).
pub(crate) fn recycle(a: &'static ActorShared) {
    if a.exited.swap(false, Relaxed) {
        EXITED.fetch_sub(1, Relaxed);
        let name = std::mem::take(&mut *a.name.lock());
        let id = a.id.swap(0, Relaxed);
        if id != 0 {
            let mut retired = RETIRED.lock();
            if retired.len() == RETIRED_NAMES {
                retired.pop_front();
            }
            retired.push_back((id, name));
        }
        REGISTRY.write().free.push(a);
    }
}

/// Mixed into every two-lock chain key (see [`pair_key`]).
const CHAIN_ROOT: u64 = 0x243f_6a88_85a3_08d3;

/// The key of a two-lock chain: both class ids, exactly (no hash to wait for before the
/// validated-chain lookup), offset by [`CHAIN_ROOT`] so that it is never 0.
#[inline(always)]
fn pair_key(outer: u64, cm: u64) -> u64 {
    ((outer & !0xffff_ffff) | (cm >> 32)) ^ CHAIN_ROOT
}

/// Where chain `key` sits in the direct-mapped `validated` table.
#[inline(always)]
fn validated_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize
}

/// The key of the chain `prev` extended by a hold of class-mode `cm` (its class only), never
/// 0.
#[inline(always)]
fn chain_key(prev: u64, cm: u64) -> u64 {
    // The class is scrambled before it meets `prev`: a bare XOR would make the chains A, B, C
    // and A, C, B the same key, as a two-lock key holds its classes unmixed.
    (prev ^ (cm >> 32).wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29)
        | 1
}

impl ActorShared {
    /// Records that this (owning) thread now holds `lock`. Returns `true` when the chain of
    /// held classes is new to this thread, for the lock core to hand to the lock-order check.
    #[inline]
    pub(crate) fn push_held(
        &self,
        lock: u64,
        cm: u64,
        site: &'static Location<'static>,
        since_ns: u64,
    ) -> bool {
        let site = std::ptr::from_ref(site) as usize;
        let Some(d) = self.list.push(lock, cm, site, since_ns) else {
            return false;
        };
        // A lone hold has no chain to check, and the outermost key is a function of its
        // class: it is worked out when a second lock is taken, not stored on every
        // acquisition (one store fewer on the commonest path).
        if d == 0 {
            return false;
        }
        let key = if d == 1 {
            pair_key(self.list.held[0].class_mode.load(Relaxed), cm)
        } else {
            chain_key(self.chain[d - 1].load(Relaxed), cm)
        };
        self.chain[d].store(key, Relaxed);
        if cm & NO_ORDER == 0 {
            let seen = &self.validated[validated_slot(key)];
            if seen.load(Relaxed) != key {
                seen.store(key, Relaxed);
                return true;
            }
        }
        false
    }

    /// Records that this (owning) thread released `lock`: removes the topmost entry for it.
    #[inline]
    pub(crate) fn pop_held(&self, lock: u64) {
        self.list.pop(lock);
    }

    /// Sets (or with `lock == 0`, clears) what this thread is waiting for, and the stack of
    /// the wait when one was captured.
    pub(crate) fn set_waiting(
        &self,
        lock: u64,
        cm: u64,
        site: &'static Location<'static>,
        since_ns: u64,
        stack: Option<&raw::RawStack>,
    ) {
        self.list.write(|l| {
            let site = std::ptr::from_ref(site) as usize;
            l.waiting.write(lock, cm, site, since_ns);
            let frames = stack.map_or(&[][..], |st| st.frames());
            for (slot, &ip) in self.wait_stack.iter().zip(frames) {
                slot.store(ip, Relaxed);
            }
            self.wait_stack_len.store(frames.len(), Relaxed);
        });
    }

    /// Locks held right now (owning thread only: others use [`ActorShared::snapshot`]).
    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.list.depth()
    }

    /// Calls `f` with the class of each lock this (owning) thread holds, outermost first.
    pub(crate) fn each_held_class(&self, mut f: impl FnMut(u32)) {
        for slot in &self.list.held[..self.list.depth().min(MAX_HELD)] {
            f((slot.class_mode.load(Relaxed) >> 32) as u32);
        }
    }

    /// Calls `f` with each lock this (owning) thread holds, outermost first.
    pub(crate) fn each_held_lock(&self, mut f: impl FnMut(u64)) {
        for slot in &self.list.held[..self.list.depth().min(MAX_HELD)] {
            f(slot.lock.load(Relaxed));
        }
    }

    /// The lock this actor waits for right now (0: none); a single racy read.
    pub(crate) fn waiting_for(&self) -> u64 {
        self.list.waiting.lock.load(Relaxed)
    }

    /// A consistent copy of what this actor holds and waits for, or `None` if it kept changing.
    pub(crate) fn snapshot(&self) -> Option<Snapshot> {
        let (id, raw, waiting, wait_stack) = self.list.read_consistent(|d| {
            let raw: Vec<[u64; 4]> = self.list.held[..d].iter().map(Slot::read).collect();
            let n = self.wait_stack_len.load(Relaxed).min(raw::MAX_FRAMES);
            let wait_stack: Vec<usize> = self.wait_stack[..n]
                .iter()
                .map(|a| a.load(Relaxed))
                .collect();
            (
                self.id.load(Relaxed),
                raw,
                self.list.waiting.read(),
                wait_stack,
            )
        })?;
        Some(Snapshot {
            id,
            name: self.name.lock().clone(),
            held: raw.into_iter().map(to_held).collect(),
            waiting: (waiting[0] != 0).then(|| to_held(waiting)),
            wait_stack,
            kind: ActorKind::Thread,
        })
    }

    /// `Some((actor id, site address))` if this actor holds `lock` (consistent read).
    fn holds(&self, lock: u64) -> Option<(u64, usize)> {
        let (id, site) = self.list.read_consistent(|d| {
            let held = self.list.held[..d]
                .iter()
                .find(|s| s.lock.load(Relaxed) == lock);
            (self.id.load(Relaxed), held.map(|s| s.site.load(Relaxed)))
        })?;
        site.filter(|_| id != 0).map(|site| (id, site))
    }
}

/// Calls `f` with the id of every live thread that holds `lock` right now and the site of its
/// hold (bounded snapshot reads, no allocation).
pub(super) fn holders_of(lock: u64, mut f: impl FnMut(u64, &'static Location<'static>)) {
    for a in &REGISTRY.read().all {
        if let Some((id, site)) = a.holds(lock) {
            f(id, crate::raw::location_from_addr(site));
        }
    }
}

/// Whether some thread waits right now for one of `locks` (racy reads, no allocation).
pub(crate) fn any_waits_for(locks: &[u64]) -> bool {
    (REGISTRY.read().all.iter()).any(|a| locks.contains(&a.waiting_for()))
}

/// Consistent snapshots of every live thread.
pub(super) fn snapshots() -> Vec<Snapshot> {
    all()
        .into_iter()
        .filter(|a| !a.exited.load(Relaxed))
        .filter_map(|a| a.snapshot())
        .filter(|s| s.id != 0)
        .collect()
}

/// The name of thread actor `id`, live or exited (the name the thread table has);
/// `actor-<id>` only for one forgotten long ago.
pub(super) fn name_of_thread(id: u64) -> String {
    if id == 0 {
        return "actor-0".to_owned();
    }
    let slot = REGISTRY
        .read()
        .all
        .iter()
        .copied()
        .find(|a| a.id.load(Relaxed) == id);
    if let Some(a) = slot {
        return a.name.lock().clone();
    }
    let retired = RETIRED.lock();
    match retired.iter().rev().find(|(r, _)| *r == id) {
        Some((_, name)) => name.clone(),
        None => format!("actor-{id}"),
    }
}

/// The live actor with id `id`.
pub(crate) fn by_id(id: u64) -> Option<&'static ActorShared> {
    REGISTRY
        .read()
        .all
        .iter()
        .copied()
        .find(|a| a.id.load(Relaxed) == id && !a.exited.load(Relaxed))
}

/// The live actor of each OS thread id, for the context-switch sampler.
pub(crate) fn live_tids() -> Vec<(u64, u64)> {
    REGISTRY
        .read()
        .all
        .iter()
        .filter(|a| !a.exited.load(Relaxed))
        .map(|a| (a.tid.load(Relaxed), a.id.load(Relaxed)))
        .filter(|&(tid, id)| tid != 0 && id != 0)
        .collect()
}

/// Threads the sampler defined without their having taken a lock, by OS thread id.
pub(super) static FOREIGN: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);

/// What [`define_foreign`] found for an OS thread without an actor when the sampler listed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Defined {
    /// Defined now for the sampler, under this id.
    Foreign(u64),
    /// The thread took its first lock since the sampler listed it: it is this actor, which
    /// writes its own final figures when it exits (`exited`: it already has).
    Own { id: u64, exited: bool },
}

/// Gives a thread that never took a lock an actor id and defines it in the trace, so the
/// sampler can write its figures. Should the thread take a lock later, it keeps this id.
pub(crate) fn define_foreign(tid: u64, name: &str) -> Defined {
    let mut foreign = FOREIGN.lock();
    // Registration publishes a slot's tid under this lock, so a thread that registered after
    // the sampler's list was taken is seen here and not defined a second time.
    let own = REGISTRY
        .read()
        .all
        .iter()
        .find(|a| a.tid.load(Relaxed) == tid && a.id.load(Relaxed) != 0)
        .map(|a| Defined::Own {
            id: a.id.load(Relaxed),
            exited: a.exited.load(Relaxed),
        });
    if let Some(own) = own {
        return own;
    }
    let id = NEXT_ID.fetch_add(1, Relaxed);
    foreign.get_or_insert_with(HashMap::new).insert(tid, id);
    drop(foreign);
    define_thread(id, tid, name);
    Defined::Foreign(id)
}

/// The sampler saw OS thread `tid` gone: a new thread with the same tid is a new actor.
pub(crate) fn forget_foreign(tid: u64) {
    if let Some(m) = FOREIGN.lock().as_mut() {
        m.remove(&tid);
    }
}

fn define_thread(id: u64, tid: u64, name: &str) {
    sink::define_with(|d| {
        let name = d.intern(name);
        d.define(&Record::Actor {
            actor: id,
            kind: ActorKind::Thread,
            os_id: tid,
            name,
            spawn_site: 0,
        });
    });
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    struct LateLocker;

    impl Drop for LateLocker {
        fn drop(&mut self) {
            let m = crate::Mutex::new(());
            drop(m.lock());
        }
    }

    thread_local! {
        static LATE: LateLocker = const { LateLocker };
    }

    #[test]
    fn chain_keys_follow_the_order_of_classes_and_ignore_modes() {
        use crate::actor::class_mode;
        use crate::format::Mode;
        let (a, b) = (
            class_mode(7, Mode::Exclusive),
            class_mode(9, Mode::Exclusive),
        );
        assert_ne!(pair_key(a, b), pair_key(b, a));
        assert_ne!(pair_key(a, b), 0);
        // A read of the same class is the same chain: the order check is by class.
        assert_eq!(
            pair_key(a, class_mode(9, Mode::Shared) | NO_ORDER),
            pair_key(a, b)
        );
        // Every order of three classes is a chain of its own.
        let c = class_mode(11, Mode::Shared);
        let orders = [
            [a, b, c],
            [a, c, b],
            [b, a, c],
            [b, c, a],
            [c, a, b],
            [c, b, a],
        ];
        let keys: std::collections::HashSet<u64> = orders
            .iter()
            .map(|[x, y, z]| chain_key(pair_key(*x, *y), *z))
            .collect();
        assert_eq!(keys.len(), 6, "three-lock chains share a key");
    }

    #[test]
    fn threads_locking_in_late_tls_destructors_do_not_leak_actor_slots() {
        for _ in 0..50 {
            std::thread::spawn(|| {
                // Registered before lockscope's exit hook, so its destructor runs after it.
                LATE.with(|_| ());
                drop(crate::Mutex::new(()).lock());
            })
            .join()
            .unwrap();
        }
        let slots = REGISTRY.read().all.len();
        assert!(slots < 10, "{slots} actor slots for 50 sequential threads");
    }
}
