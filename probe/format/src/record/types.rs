//! The record enum of format version 1, its tags, and the error for a record that does not
//! parse.

use crate::histogram::Histogram;
use crate::kinds::{ActorKind, LockKind, Mode, Outcome, PoolEvent};

/// One record of a trace. Ids (`actor`, `lock`, `class`, `stack`, `frame`) are process-wide
/// and dense; string fields hold string-table ids (`0` is the empty string / "none").
/// Timestamps are nanoseconds since the trace's epoch (see the header).
///
/// Later revisions of version 1 add variants, so matches outside this crate need a `_` arm.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Record {
    /// Interns `text` as string `id`.
    String {
        /// String id (never 0).
        id: u64,
        /// The text.
        text: String,
    },
    /// Names an actor.
    Actor {
        /// Actor id.
        actor: u64,
        /// Thread or task.
        kind: ActorKind,
        /// OS thread id (tid), or tokio task id for tasks.
        os_id: u64,
        /// Name (string id).
        name: u64,
        /// Where a task was spawned (`file:line:column` of its `spawn_named`/`name_task`
        /// call, string id; 0 when unknown, and for threads). A field appended by a later
        /// revision of version 1: written only when not 0, read as 0 when the body ends
        /// before it.
        spawn_site: u64,
    },
    /// A lock class: a creation site or a user-given name.
    Class {
        /// Class id.
        class: u64,
        /// Primitive kind.
        kind: LockKind,
        /// User-given name (string id, 0 when unnamed).
        name: u64,
        /// Creation site `file:line:column` (string id).
        site: u64,
    },
    /// A lock instance and its class.
    Lock {
        /// Lock instance id.
        lock: u64,
        /// Its class.
        class: u64,
        /// Permits for a semaphore, 1 otherwise.
        capacity: u64,
    },
    /// A bounded channel's two sides, both lock instances defined before: `room` (senders
    /// wait there for room; its `Pool` records are the channel's fill) and `items` (the
    /// receiver waits there for messages). Written once per recording, before the channel's
    /// first `Pool` record.
    Channel {
        /// The room side's lock instance.
        room: u64,
        /// The items side's lock instance.
        items: u64,
    },
    /// A resolved code location (symbol table entry).
    Frame {
        /// Frame id.
        frame: u64,
        /// Function name, demangled (string id).
        function: u64,
        /// Source file (string id, 0 when unknown).
        file: u64,
        /// Line (0 when unknown).
        line: u32,
    },
    /// An interned stack: frame ids, innermost first.
    Stack {
        /// Stack id (never 0; 0 means "no stack").
        stack: u64,
        /// Frame ids, innermost first.
        frames: Vec<u64>,
    },
    /// An actor started waiting for a lock; `holders` are the wait-for edges.
    WaitBegin {
        /// When.
        ts_ns: u64,
        /// Who waits.
        actor: u64,
        /// For what.
        lock: u64,
        /// In which mode.
        mode: Mode,
        /// Where (the call site of `lock()`, string id).
        site: u64,
        /// The waiter's stack (0 when not captured).
        stack: u64,
        /// Actors holding the lock when the wait began.
        holders: Vec<u64>,
        /// The waiter's current tracing span (a `Span` id, 0 when none).
        span: u64,
    },
    /// The wait started by the matching `WaitBegin` of `actor` on `lock` ended.
    WaitEnd {
        /// When.
        ts_ns: u64,
        /// Who waited.
        actor: u64,
        /// For what.
        lock: u64,
        /// How it ended.
        outcome: Outcome,
    },
    /// A timed hold: emitted for sampled acquisitions and for every hold that others waited on.
    Hold {
        /// When the hold began; 0 when it was not timed (then `contended_ns` is the
        /// earliest known moment).
        begin_ns: u64,
        /// When the first waiter arrived, 0 when nobody waited.
        contended_ns: u64,
        /// When the lock was released.
        end_ns: u64,
        /// Who held.
        actor: u64,
        /// What.
        lock: u64,
        /// How.
        mode: Mode,
        /// Where it was taken (string id).
        site: u64,
        /// The holder's tracing span when it released (a `Span` id, 0 when none).
        span: u64,
    },
    /// A semaphore's (pool's) state after one of its events. Every acquisition and release
    /// of a semaphore writes one, so the pool's use over time is exact, not sampled.
    Pool {
        /// When.
        ts_ns: u64,
        /// The semaphore.
        lock: u64,
        /// Who caused the event.
        actor: u64,
        /// What happened.
        event: PoolEvent,
        /// Permits involved in the event.
        permits: u64,
        /// Permits in use after the event.
        in_use: u64,
        /// Actors waiting for permits after the event.
        waiters: u64,
        /// The pool's capacity after the event.
        capacity: u64,
        /// For `Acquire`: how long the caller waited (0 when a permit was free); for
        /// `Release`: how long the permits were held (0 when not timed); 0 otherwise.
        duration_ns: u64,
    },
    /// A caller filled a cache key (`lockscope::cache_fill`), from `begin_ns` to `end_ns`.
    Fill {
        /// When the fill began.
        begin_ns: u64,
        /// When its guard dropped.
        end_ns: u64,
        /// Who filled.
        actor: u64,
        /// The key's hash.
        key: u64,
        /// The key's `Debug` text (string id, 0 when not available).
        key_text: u64,
        /// Where `cache_fill` was called (string id).
        site: u64,
    },
    /// A tracing span an event can be attributed to: its name and recorded fields.
    Span {
        /// Span id (never 0; unique within the trace).
        span: u64,
        /// The span's name (string id).
        name: u64,
        /// Its fields as `key=value` text (string id, 0 when none).
        fields: u64,
        /// The enclosing span (0 at the root).
        parent: u64,
    },
    /// One thread's scheduler figures, cumulative since the thread started (from
    /// `/proc/self/task/<tid>/`), written by the context-switch sampler.
    ThreadSched {
        /// When sampled.
        ts_ns: u64,
        /// The thread (actor id).
        actor: u64,
        /// Voluntary context switches (the thread blocked).
        voluntary: u64,
        /// Involuntary context switches (the scheduler preempted it).
        involuntary: u64,
        /// Time spent runnable but waiting for a CPU, nanoseconds.
        run_delay_ns: u64,
        /// CPU time used, nanoseconds.
        cpu_ns: u64,
    },
    /// Process-wide figures written by the sampler.
    Process {
        /// When sampled.
        ts_ns: u64,
        /// CPU time used by the process, nanoseconds (cumulative).
        cpu_ns: u64,
        /// Resident memory, bytes.
        rss_bytes: u64,
        /// Threads in the process.
        threads: u64,
    },
    /// Cumulative per-lock-class figures, written periodically; the last one per class wins.
    ClassStats {
        /// Class id.
        class: u64,
        /// Instances of the class seen so far.
        instances: u64,
        /// Acquisitions (exact for dropped locks, within the hold sampling period for live ones).
        acquisitions: u64,
        /// Acquisitions that had to wait.
        contentions: u64,
        /// Most actors waiting at once on one instance.
        max_waiters: u64,
        /// Hold-time sampling period (1 = every hold timed).
        hold_sample_period: u64,
        /// Wait times of contended acquisitions.
        wait: Histogram,
        /// Sampled hold times.
        hold: Histogram,
    },
    /// Events lost so far because a buffer was full (cumulative).
    Dropped {
        /// Events dropped.
        events: u64,
    },
    /// A detector's alert (deadlock, lock-order inversion, stampede, pool saturation...).
    Alert {
        /// When.
        ts_ns: u64,
        /// `deadlock`, `lock_order_inversion`, ...
        kind: String,
        /// Human-readable report.
        text: String,
        /// Machine-readable report (JSON).
        json: String,
    },
    /// Chaos mode's figures so far (cumulative; the last one wins): the seed that drove it and
    /// what it injected at lock boundaries.
    Chaos {
        /// When written.
        ts_ns: u64,
        /// The seed (never 0: 0 is chaos mode off).
        seed: u64,
        /// Delays injected (a short sleep before an acquisition).
        delays: u64,
        /// Their total length, nanoseconds.
        delay_ns: u64,
        /// Yields injected (at an acquisition or a release).
        yields: u64,
        /// Delays placed where an acquisition would close a lock-order cycle.
        inversion_delays: u64,
    },
    /// One causal experiment's measurement of one progress point: while it ran, every hold
    /// of lock class `class` was virtually sped up by `speedup_pct` % (the other threads were
    /// delayed by that share of each hold, `delay_ns` in all).
    Causal {
        /// When the experiment ended.
        ts_ns: u64,
        /// The lock class sped up.
        class: u64,
        /// The virtual speedup, 0 to 100 (0: a baseline experiment).
        speedup_pct: u64,
        /// How long the experiment ran, nanoseconds of wall time.
        duration_ns: u64,
        /// The delay inserted into the other threads in all; the experiment's effective length
        /// is `duration_ns - delay_ns`.
        delay_ns: u64,
        /// The progress point's name.
        progress: String,
        /// Units of progress counted during the experiment.
        count: u64,
    },
    /// The trace was closed cleanly.
    End {
        /// When.
        ts_ns: u64,
    },
}

/// Record tags (one byte before each record).
pub mod tag {
    #![allow(missing_docs)]
    pub const STRING: u8 = 0x01;
    pub const ACTOR: u8 = 0x02;
    pub const CLASS: u8 = 0x03;
    pub const LOCK: u8 = 0x04;
    pub const FRAME: u8 = 0x05;
    pub const STACK: u8 = 0x06;
    pub const SPAN: u8 = 0x07;
    pub const CHANNEL: u8 = 0x08;
    pub const WAIT_BEGIN: u8 = 0x10;
    pub const WAIT_END: u8 = 0x11;
    pub const HOLD: u8 = 0x12;
    pub const POOL: u8 = 0x13;
    pub const FILL: u8 = 0x14;
    pub const CLASS_STATS: u8 = 0x20;
    pub const THREAD_SCHED: u8 = 0x21;
    pub const PROCESS: u8 = 0x22;
    pub const DROPPED: u8 = 0x30;
    pub const ALERT: u8 = 0x40;
    pub const CHAOS: u8 = 0x41;
    pub const CAUSAL: u8 = 0x42;
    pub const END: u8 = 0x7f;
}

/// A record that does not parse: its length runs past its bytes, or its body does not hold
/// the fields its tag calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record 0x{tag:02x} is malformed")]
pub struct MalformedRecord {
    /// The record's tag.
    pub tag: u8,
}
