//! What the decoder collects beside waits and holds, and [`Model`](super::Model) keeps: every
//! pool event per semaphore, every scheduler sample per thread and of the process, and the
//! tracing spans. The analyses over them are in `pools`, `sched` and `spans`.

use std::collections::BTreeMap;

use lockscope_format::PoolEvent;

use super::hash::IdMap;

/// One pool event: the semaphore's state right after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSample {
    /// When.
    pub ts_ns: u64,
    /// Acquire: how long the caller waited; release: how long the permits were held
    /// (0 when not timed); 0 otherwise.
    pub duration_ns: u64,
    /// Who caused it.
    pub actor: u64,
    /// Permits involved.
    pub permits: u32,
    /// Permits in use after it.
    pub in_use: u32,
    /// Actors waiting for permits after it.
    pub waiters: u32,
    /// Capacity after it.
    pub capacity: u32,
    /// What happened.
    pub event: PoolEvent,
}

/// The pool events of a trace, per semaphore instance.
#[derive(Clone, Debug, Default)]
pub struct PoolLog {
    /// Events by lock instance id, in trace order.
    pub by_lock: BTreeMap<u64, Vec<PoolSample>>,
    /// Bounded channels: each room side's lock instance (a pool in `by_lock`) and the items
    /// side's, where its receiver waits for messages.
    pub channels: BTreeMap<u64, u64>,
}

impl PoolLog {
    /// True when the trace had no pool events.
    pub fn is_empty(&self) -> bool {
        self.by_lock.is_empty()
    }
}

/// One sample of one thread; every figure is cumulative since the thread started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedSample {
    /// When sampled.
    pub ts_ns: u64,
    /// Voluntary context switches (the thread blocked).
    pub voluntary: u64,
    /// Involuntary context switches (the thread was preempted).
    pub involuntary: u64,
    /// Time runnable but waiting for a CPU.
    pub run_delay_ns: u64,
    /// CPU time used.
    pub cpu_ns: u64,
}

/// One sample of the process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// When sampled.
    pub ts_ns: u64,
    /// CPU time used by the process (cumulative).
    pub cpu_ns: u64,
    /// Resident memory.
    pub rss_bytes: u64,
    /// Threads in the process.
    pub threads: u64,
}

/// The scheduler samples of a trace.
#[derive(Clone, Debug, Default)]
pub struct SchedLog {
    /// Samples by actor, in trace order.
    pub threads: BTreeMap<u64, Vec<SchedSample>>,
    /// Process samples, in trace order.
    pub process: Vec<ProcessSample>,
}

impl SchedLog {
    /// True when the trace had no scheduler samples.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty() && self.process.is_empty()
    }
}

/// A tracing span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanDef {
    /// The span's name.
    pub name: String,
    /// Its fields as `key=value` text, empty when none.
    pub fields: String,
    /// The enclosing span, 0 at the root.
    pub parent: u64,
}

/// The spans of a trace, by id.
#[derive(Clone, Debug, Default)]
pub struct SpanTable {
    /// Span definitions by id.
    pub by_id: IdMap<u64, SpanDef>,
}

impl SpanTable {
    /// True when the trace defined no span.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The span's name; empty for 0, `span N` when its definition was lost.
    pub fn name(&self, span: u64) -> String {
        match (span, self.by_id.get(&span)) {
            (0, _) => String::new(),
            (_, Some(s)) => s.name.clone(),
            (n, None) => format!("span {n}"),
        }
    }
}

impl SpanTable {
    /// `name{fields}` (or `name`) of a span, for one-line descriptions; `None` for 0.
    pub fn label(&self, span: u64) -> Option<String> {
        if span == 0 {
            return None;
        }
        Some(match self.by_id.get(&span) {
            Some(d) if d.fields.is_empty() => d.name.clone(),
            Some(d) => format!("{}{{{}}}", d.name, d.fields),
            None => format!("span {span}"),
        })
    }
}
