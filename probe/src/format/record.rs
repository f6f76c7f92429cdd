//! The record types of format version 1 and their body encodings.

use super::histogram::Histogram;
use super::kinds::{ActorKind, LockKind, Mode, Outcome, PoolEvent};
use super::varint::{Cursor, put_str, put_u64};
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
    pub const END: u8 = 0x7f;
}

impl Record {
    /// Appends the record: tag, body length (varint), body.
    /// Writes straight into `out`: no allocation when `out` has room.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        let t = self.encode_body(out);
        out[start] = t;
        finish_length(out, start + 1);
    }

    fn encode_body(&self, b: &mut Vec<u8>) -> u8 {
        match self {
            Record::String { id, text } => {
                put_u64(b, *id);
                put_str(b, text);
                tag::STRING
            }
            Record::Actor {
                actor,
                kind,
                os_id,
                name,
            } => {
                put_u64(b, *actor);
                put_u64(b, matches!(kind, ActorKind::Task) as u64);
                put_u64(b, *os_id);
                put_u64(b, *name);
                tag::ACTOR
            }
            Record::Class {
                class,
                kind,
                name,
                site,
            } => {
                for v in [*class, kind.code(), *name, *site] {
                    put_u64(b, v);
                }
                tag::CLASS
            }
            Record::Lock {
                lock,
                class,
                capacity,
            } => {
                for v in [*lock, *class, *capacity] {
                    put_u64(b, v);
                }
                tag::LOCK
            }
            Record::Frame {
                frame,
                function,
                file,
                line,
            } => {
                for v in [*frame, *function, *file, u64::from(*line)] {
                    put_u64(b, v);
                }
                tag::FRAME
            }
            Record::Stack { stack, frames } => {
                put_u64(b, *stack);
                put_u64(b, frames.len() as u64);
                frames.iter().for_each(|f| put_u64(b, *f));
                tag::STACK
            }
            Record::WaitBegin {
                ts_ns,
                actor,
                lock,
                mode,
                site,
                stack,
                holders,
                span,
            } => {
                encode_wait_begin(b, *ts_ns, *actor, *lock, *mode, *site, *stack, holders);
                put_u64(b, *span);
                tag::WAIT_BEGIN
            }
            Record::WaitEnd {
                ts_ns,
                actor,
                lock,
                outcome,
            } => {
                for v in [*ts_ns, *actor, *lock, *outcome as u64] {
                    put_u64(b, v);
                }
                tag::WAIT_END
            }
            Record::Hold {
                begin_ns,
                contended_ns,
                end_ns,
                actor,
                lock,
                mode,
                site,
                span,
            } => {
                for v in [*begin_ns, *contended_ns, *end_ns, *actor, *lock] {
                    put_u64(b, v);
                }
                mode.encode(b);
                put_u64(b, *site);
                put_u64(b, *span);
                tag::HOLD
            }
            Record::Pool {
                ts_ns,
                lock,
                actor,
                event,
                permits,
                in_use,
                waiters,
                capacity,
                duration_ns,
            } => {
                for v in [
                    *ts_ns,
                    *lock,
                    *actor,
                    *event as u64,
                    *permits,
                    *in_use,
                    *waiters,
                    *capacity,
                    *duration_ns,
                ] {
                    put_u64(b, v);
                }
                tag::POOL
            }
            Record::Fill {
                begin_ns,
                end_ns,
                actor,
                key,
                key_text,
                site,
            } => {
                for v in [*begin_ns, *end_ns, *actor, *key, *key_text, *site] {
                    put_u64(b, v);
                }
                tag::FILL
            }
            Record::Span {
                span,
                name,
                fields,
                parent,
            } => {
                for v in [*span, *name, *fields, *parent] {
                    put_u64(b, v);
                }
                tag::SPAN
            }
            Record::ThreadSched {
                ts_ns,
                actor,
                voluntary,
                involuntary,
                run_delay_ns,
                cpu_ns,
            } => {
                for v in [
                    *ts_ns,
                    *actor,
                    *voluntary,
                    *involuntary,
                    *run_delay_ns,
                    *cpu_ns,
                ] {
                    put_u64(b, v);
                }
                tag::THREAD_SCHED
            }
            Record::Process {
                ts_ns,
                cpu_ns,
                rss_bytes,
                threads,
            } => {
                for v in [*ts_ns, *cpu_ns, *rss_bytes, *threads] {
                    put_u64(b, v);
                }
                tag::PROCESS
            }
            Record::ClassStats {
                class,
                instances,
                acquisitions,
                contentions,
                max_waiters,
                hold_sample_period,
                wait,
                hold,
            } => {
                for v in [
                    *class,
                    *instances,
                    *acquisitions,
                    *contentions,
                    *max_waiters,
                    *hold_sample_period,
                ] {
                    put_u64(b, v);
                }
                wait.encode(b);
                hold.encode(b);
                tag::CLASS_STATS
            }
            Record::Dropped { events } => {
                put_u64(b, *events);
                tag::DROPPED
            }
            Record::Alert {
                ts_ns,
                kind,
                text,
                json,
            } => {
                put_u64(b, *ts_ns);
                put_str(b, kind);
                put_str(b, text);
                put_str(b, json);
                tag::ALERT
            }
            Record::End { ts_ns } => {
                put_u64(b, *ts_ns);
                tag::END
            }
        }
    }

    /// Decodes one record body. `Ok(None)` means a tag this reader does not know (a record a
    /// newer minor revision added), which the caller skips; `Err(())` means a malformed body.
    pub(crate) fn decode_body(t: u8, body: &[u8]) -> Result<Option<Record>, ()> {
        let c = &mut Cursor::new(body);
        let r = (|| -> Option<Option<Record>> {
            Some(Some(match t {
                tag::STRING => Record::String {
                    id: c.u64()?,
                    text: c.str()?.to_owned(),
                },
                tag::ACTOR => Record::Actor {
                    actor: c.u64()?,
                    kind: if c.u64()? == 1 {
                        ActorKind::Task
                    } else {
                        ActorKind::Thread
                    },
                    os_id: c.u64()?,
                    name: c.u64()?,
                },
                tag::CLASS => Record::Class {
                    class: c.u64()?,
                    kind: LockKind::from_code(c.u64()?)?,
                    name: c.u64()?,
                    site: c.u64()?,
                },
                tag::LOCK => Record::Lock {
                    lock: c.u64()?,
                    class: c.u64()?,
                    capacity: c.u64()?,
                },
                tag::FRAME => Record::Frame {
                    frame: c.u64()?,
                    function: c.u64()?,
                    file: c.u64()?,
                    line: c.u32()?,
                },
                tag::STACK => {
                    let stack = c.u64()?;
                    let n = c.count()?;
                    let frames = (0..n).map(|_| c.u64()).collect::<Option<Vec<_>>>()?;
                    Record::Stack { stack, frames }
                }
                tag::WAIT_BEGIN => {
                    let (ts_ns, actor, lock) = (c.u64()?, c.u64()?, c.u64()?);
                    let mode = Mode::decode(c)?;
                    let (site, stack) = (c.u64()?, c.u64()?);
                    let n = c.count()?;
                    let holders = (0..n).map(|_| c.u64()).collect::<Option<Vec<_>>>()?;
                    Record::WaitBegin {
                        ts_ns,
                        actor,
                        lock,
                        mode,
                        site,
                        stack,
                        holders,
                        span: c.trailing_u64()?,
                    }
                }
                tag::WAIT_END => Record::WaitEnd {
                    ts_ns: c.u64()?,
                    actor: c.u64()?,
                    lock: c.u64()?,
                    outcome: Outcome::from_code(c.u64()?)?,
                },
                tag::HOLD => Record::Hold {
                    begin_ns: c.u64()?,
                    contended_ns: c.u64()?,
                    end_ns: c.u64()?,
                    actor: c.u64()?,
                    lock: c.u64()?,
                    mode: Mode::decode(c)?,
                    site: c.u64()?,
                    span: c.trailing_u64()?,
                },
                tag::POOL => Record::Pool {
                    ts_ns: c.u64()?,
                    lock: c.u64()?,
                    actor: c.u64()?,
                    event: PoolEvent::from_code(c.u64()?)?,
                    permits: c.u64()?,
                    in_use: c.u64()?,
                    waiters: c.u64()?,
                    capacity: c.u64()?,
                    duration_ns: c.u64()?,
                },
                tag::FILL => Record::Fill {
                    begin_ns: c.u64()?,
                    end_ns: c.u64()?,
                    actor: c.u64()?,
                    key: c.u64()?,
                    key_text: c.u64()?,
                    site: c.u64()?,
                },
                tag::SPAN => Record::Span {
                    span: c.u64()?,
                    name: c.u64()?,
                    fields: c.u64()?,
                    parent: c.u64()?,
                },
                tag::THREAD_SCHED => Record::ThreadSched {
                    ts_ns: c.u64()?,
                    actor: c.u64()?,
                    voluntary: c.u64()?,
                    involuntary: c.u64()?,
                    run_delay_ns: c.u64()?,
                    cpu_ns: c.u64()?,
                },
                tag::PROCESS => Record::Process {
                    ts_ns: c.u64()?,
                    cpu_ns: c.u64()?,
                    rss_bytes: c.u64()?,
                    threads: c.u64()?,
                },
                tag::CLASS_STATS => Record::ClassStats {
                    class: c.u64()?,
                    instances: c.u64()?,
                    acquisitions: c.u64()?,
                    contentions: c.u64()?,
                    max_waiters: c.u64()?,
                    hold_sample_period: c.u64()?,
                    wait: Histogram::decode(c)?,
                    hold: Histogram::decode(c)?,
                },
                tag::DROPPED => Record::Dropped { events: c.u64()? },
                tag::ALERT => Record::Alert {
                    ts_ns: c.u64()?,
                    kind: c.str()?.to_owned(),
                    text: c.str()?.to_owned(),
                    json: c.str()?.to_owned(),
                },
                tag::END => Record::End { ts_ns: c.u64()? },
                _ => return Some(None),
            }))
        })();
        r.ok_or(())
    }
}

/// Encodes a `WaitBegin` body straight from its parts, so the probe's slow path can write the
/// record into its buffer without building a `Vec` of holders.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode_wait_begin(
    b: &mut Vec<u8>,
    ts_ns: u64,
    actor: u64,
    lock: u64,
    mode: Mode,
    site: u64,
    stack: u64,
    holders: &[u64],
) {
    for v in [ts_ns, actor, lock] {
        put_u64(b, v);
    }
    mode.encode(b);
    put_u64(b, site);
    put_u64(b, stack);
    put_u64(b, holders.len() as u64);
    holders.iter().for_each(|h| put_u64(b, *h));
}

/// Fixes up the one-byte length placeholder at `at` once the body after it is written. Bodies
/// under 128 bytes (nearly all) need no move; longer ones shift the body right.
pub(crate) fn finish_length(out: &mut Vec<u8>, at: usize) {
    let len = (out.len() - at - 1) as u64;
    if len < 0x80 {
        out[at] = len as u8;
        return;
    }
    let mut prefix = Vec::with_capacity(10);
    put_u64(&mut prefix, len);
    out[at] = prefix[0];
    let extra = prefix.len() - 1;
    let old_len = out.len();
    out.resize(old_len + extra, 0);
    out.copy_within(at + 1..old_len, at + 1 + extra);
    out[at + 1..at + 1 + extra].copy_from_slice(&prefix[1..]);
}
