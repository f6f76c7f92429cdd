//! The machine-readable report, schema 1. Fields may be added, never renamed or removed:
//! scripts and CI checks read it.

use std::path::Path;

use lockscope_format::Summary;
use serde::Serialize;

use crate::model::pools::LEAK_THRESHOLD_NS;
use crate::model::{Chaos, Model, WaitState};

/// The schema version of [`Report`].
pub const SCHEMA: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// Events the probe dropped because its buffers were full.
    pub dropped_events: u64,
    /// One row per lock class, most total wait first.
    pub locks: Vec<Lock>,
    /// One row per actor, most total wait first.
    pub threads: Vec<Thread>,
    /// One row per semaphore instance that recorded pool events, most starved first.
    pub pools: Vec<Pool>,
    /// Detector alerts, in trace order.
    pub alerts: Vec<Alert>,
    /// The trace closed cleanly and nothing was lost.
    pub complete: bool,
    /// The trace was cut short mid-write.
    pub truncated: bool,
    /// Where the trace came from and how whole it is.
    pub trace: TraceInfo,
    /// (lock, wait site) pairs, most total wait first.
    pub sites: Vec<Site>,
    /// Waits that had not ended when the trace did.
    pub still_waiting: Vec<StillWaiting>,
    /// The process's last scheduler sample, when the sampler ran.
    pub process: Option<Process>,
    /// Chaos mode's seed and what it injected, when the run was under chaos mode (else null).
    pub chaos: Option<Chaos>,
    /// The causal profile's predictions, highest-impact lock first (empty without causal
    /// experiments).
    pub causal: Vec<super::causal::CausalRow>,
    /// How much of their time the threads waited for a CPU, percent (null without scheduler
    /// samples): above 25 the causal predictions are unreliable.
    pub causal_run_delay_pct: Option<f64>,
    /// Whether the causal experiments ran on an oversubscribed machine (see
    /// `causal_run_delay_pct`): their ranking mixes each lock's effect with freed CPU.
    pub causal_oversubscribed: bool,
}

/// The process's figures at its last sample.
#[derive(Debug, Serialize)]
pub struct Process {
    /// When sampled, nanoseconds since the trace epoch.
    pub ts_ns: u64,
    /// CPU time used (cumulative).
    pub cpu_ns: u64,
    /// Resident memory at the last sample.
    pub rss_bytes: u64,
    /// Largest resident memory sampled.
    pub rss_bytes_max: u64,
    /// Threads at the last sample.
    pub threads: u64,
}

/// A semaphore instance or bounded channel seen as a pool.
#[derive(Debug, Serialize)]
pub struct Pool {
    /// The semaphore's class name.
    pub name: String,
    /// Permits at the end of the trace.
    pub capacity: u64,
    /// ∫ in use dt / ∫ capacity dt over the observed window (0.0 to 1.0).
    pub utilisation: f64,
    /// Time with every permit in use.
    pub saturated_ns: u64,
    /// Time with no permit free and at least one waiter.
    pub starved_ns: u64,
    /// Acquire latency over every acquisition, those that did not wait (0 ns) included.
    pub acquire_ns: Summary,
    /// The semaphore instance id (instances of one class share a name).
    pub lock: u64,
    /// The class's creation site.
    pub site: String,
    /// From the pool's first event to the end of the trace.
    pub observed_ns: u64,
    /// Acquisitions.
    pub acquisitions: u64,
    /// Acquisitions that waited.
    pub waited: u64,
    /// Timed waits that gave up.
    pub timeouts: u64,
    /// Hold times of the timed releases.
    pub hold_ns: Summary,
    /// Most waiters at once.
    pub max_waiters: u64,
    /// Most permits in use at once.
    pub max_in_use: u64,
    /// Releases of permits held at least `leak_threshold_ns`.
    pub leaks: u64,
    /// The hold time that counts as a leak.
    pub leak_threshold_ns: u64,
    /// A bounded channel's room side (permits are its slots, in use what is queued or
    /// reserved, waiters are senders).
    pub channel: bool,
    /// Time with nothing in use (an empty channel, an idle pool).
    pub empty_ns: u64,
    /// A channel's receives that waited for a message (0 for a semaphore).
    pub receiver_waits: u64,
    /// Their time (waits still going at the trace's end counted up to it).
    pub receiver_wait_ns: u64,
}

/// The trace itself.
#[derive(Clone, Debug, Serialize)]
pub struct TraceInfo {
    /// The file.
    pub path: String,
    /// Recording process id.
    pub pid: u32,
    /// Format version.
    pub format_version: u16,
    /// Wall-clock time of the trace epoch, Unix nanoseconds.
    pub epoch_unix_ns: u64,
    /// Time from the epoch to the last record.
    pub duration_ns: u64,
    /// `complete`, `truncated`, `damaged` or `unclosed`.
    pub status: &'static str,
    /// Byte offset where a truncated trace ends.
    pub truncated_at: Option<u64>,
    /// Chunks skipped as corrupt.
    pub damaged_chunks: usize,
    /// `[from, to]` of `report --from/--to`: every wait and hold figure counts only the part
    /// inside it. Absent for the whole trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_ns: Option<[u64; 2]>,
}

/// A lock class.
#[derive(Debug, Serialize)]
pub struct Lock {
    /// Display name: the user-given name, else the creation site.
    pub name: String,
    /// `mutex`, `rwlock`, `semaphore`, `condvar` (`unknown` when its definition was lost).
    pub kind: &'static str,
    /// Creation site.
    pub site: String,
    /// Acquisitions (a lower bound when `figures_from` is `events`).
    pub acquisitions: u64,
    /// Acquisitions that had to wait.
    pub contentions: u64,
    /// Most actors waiting at once on one instance.
    pub max_waiters: u64,
    /// Wait times of contended acquisitions (exact totals and max).
    pub wait_ns: Summary,
    /// Hold times: percentiles and max from the sample, total estimated for all holds.
    pub hold_ns: Summary,
    /// Instances of the class.
    pub instances: u64,
    /// 1 in this many holds was timed.
    pub hold_sample_period: u64,
    /// Acquisitions that waited first / acquisitions × 100 (at most 100): contentions less
    /// the waits that never got the lock (`still_waiting`, `gave_up`).
    pub contention_pct: f64,
    /// Waits not ended when the trace did.
    pub still_waiting: u64,
    /// Waits that ended without the lock (timed out, or the semaphore was closed).
    pub gave_up: u64,
    /// `class_stats` (exact counters) or `events` (derived; the process died first).
    pub figures_from: &'static str,
    /// Waits and holds of the class by the tracing span they happened in, most wait first
    /// (empty when the trace has no spans).
    pub by_span: Vec<BySpan>,
}

impl Lock {
    /// The JSON row of a lock table row, with its waits and holds by span.
    pub fn from_row(r: crate::model::LockRow, by_span: Vec<BySpan>) -> Lock {
        Lock {
            by_span,
            kind: r.kind.map_or("unknown", |k| k.as_str()),
            acquisitions: r.acquisitions,
            contentions: r.contentions,
            max_waiters: r.max_waiters,
            wait_ns: r.wait_summary(),
            hold_ns: r.hold_summary(),
            instances: r.instances,
            hold_sample_period: r.hold_sample_period,
            contention_pct: (r.contention_pct() * 100.0).round() / 100.0,
            still_waiting: r.still_waiting,
            gave_up: r.gave_up,
            figures_from: r.figures_from.as_str(),
            name: r.name,
            site: r.site,
        }
    }
}

/// A lock class's waits and holds inside one tracing span.
#[derive(Debug, Serialize)]
pub struct BySpan {
    /// The span's name; null for waits and holds outside any span.
    pub span: Option<String>,
    /// The span's fields (`key=value ...`), when the group is one name and fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// Contended waits.
    pub waits: u64,
    /// Their summed time (waits that ended).
    pub wait_ns_total: u64,
    /// The longest.
    pub wait_ns_max: u64,
    /// Recorded holds.
    pub holds: u64,
    /// Their summed known time.
    pub hold_ns_total: u64,
}

/// An actor.
#[derive(Debug, Serialize)]
pub struct Thread {
    /// Actor id.
    pub id: u64,
    /// Thread (or task) name.
    pub name: String,
    /// Voluntary context switches at the thread's last scheduler sample (0 when unsampled).
    pub voluntary_switches: u64,
    /// Involuntary context switches at the last sample (0 when unsampled).
    pub involuntary_switches: u64,
    /// `thread`, `task` or `unknown`.
    pub kind: &'static str,
    /// OS thread id or task id.
    pub os_id: u64,
    /// Where a task was spawned (`file:line:column` of its `spawn_named`/`name_task` call);
    /// absent when unknown (threads, other tasks, traces from before the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_site: Option<String>,
    /// Contended acquisitions.
    pub waits: u64,
    /// Summed time of the waits that ended.
    pub wait_ns_total: u64,
    /// Longest wait that ended.
    pub wait_ns_max: u64,
    /// Waits not ended when the trace did.
    pub still_waiting: u64,
    /// Scheduler samples of the thread (0: the switch counts and rates are unknown).
    pub sched_samples: u64,
    /// Voluntary switches per second between the first and last samples with fresh counts
    /// (null for a thread sampled for less than the sampler's one-second count refresh).
    pub voluntary_per_s: Option<f64>,
    /// Involuntary switches per second, likewise.
    pub involuntary_per_s: Option<f64>,
    /// Time spent runnable, waiting for a CPU, at the last sample.
    pub run_delay_ns: u64,
    /// CPU time at the last sample.
    pub cpu_ns: u64,
}

/// An alert.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// `deadlock`, `lock_order_inversion`, `stampede`, `pool_saturation`, ...
    pub kind: String,
    /// Names of the locks involved.
    pub locks: Vec<String>,
    /// Names of the actors involved.
    pub actors: Vec<String>,
    /// The human-readable report.
    pub text: String,
    /// When it was raised, nanoseconds since the trace epoch.
    pub ts_ns: u64,
    /// The detector's full JSON report, when it parsed.
    pub details: Option<serde_json::Value>,
}

/// A (lock, wait site) pair.
#[derive(Debug, Serialize)]
pub struct Site {
    /// Lock name.
    pub lock: String,
    /// Call site of the waits.
    pub site: String,
    /// Waits at this site.
    pub waits: u64,
    /// Summed time of the waits that ended.
    pub wait_ns_total: u64,
    /// Longest wait that ended.
    pub wait_ns_max: u64,
    /// Of them, still waiting at the end of the trace.
    pub still_waiting: u64,
    /// Who held the lock when the waits began, most frequent first.
    pub holders: Vec<Holder>,
}

/// A holder of a contended lock.
#[derive(Debug, Serialize)]
pub struct Holder {
    /// The holding actor.
    pub actor: String,
    /// Where it took the lock, when its hold was recorded.
    pub site: Option<String>,
    /// Waits it caused.
    pub waits: u64,
}

/// A wait with no end.
#[derive(Debug, Serialize)]
pub struct StillWaiting {
    /// Who waits.
    pub actor: String,
    /// For which lock.
    pub lock: String,
    /// `exclusive`, `shared`, `permit` or `condvar-wait`.
    pub mode: &'static str,
    /// Call site of the acquisition.
    pub site: String,
    /// When the wait began, nanoseconds since the trace epoch.
    pub since_ns: u64,
    /// How long it had waited when the trace ended (what the totals count for it).
    pub waited_ns: u64,
    /// Who held the lock when the wait began.
    pub holders: Vec<String>,
}

/// Builds the report of `m`, read from `path`, with the default leak threshold
/// ([`LEAK_THRESHOLD_NS`]).
pub fn report(m: &Model, path: &Path) -> Report {
    report_with(m, path, LEAK_THRESHOLD_NS)
}

/// Like [`report`], counting pool permits held at least `leak_threshold_ns` as leaks.
pub fn report_with(m: &Model, path: &Path, leak_threshold_ns: u64) -> Report {
    let mut by_span: std::collections::HashMap<u64, Vec<BySpan>> = Default::default();
    for r in m.span_rows() {
        by_span.entry(r.class).or_default().push(BySpan {
            span: r.span,
            fields: r.fields,
            waits: r.waits,
            wait_ns_total: r.wait_ns_total,
            wait_ns_max: r.wait_ns_max,
            holds: r.holds,
            hold_ns_total: r.hold_ns_total,
        });
    }
    let locks = (m.lock_rows().into_iter())
        .map(|r| {
            let spans = by_span.remove(&r.class).unwrap_or_default();
            Lock::from_row(r, spans)
        })
        .collect();
    let threads = (m.actor_rows().into_iter())
        .map(|a| {
            let s = m.thread_sched(a.id);
            let round = |r: Option<f64>| r.map(|x| (x * 100.0).round() / 100.0);
            Thread {
                id: a.id,
                name: a.name,
                voluntary_switches: s.map_or(0, |s| s.voluntary),
                involuntary_switches: s.map_or(0, |s| s.involuntary),
                sched_samples: s.map_or(0, |s| s.samples),
                voluntary_per_s: round(s.and_then(|s| s.voluntary_per_s)),
                involuntary_per_s: round(s.and_then(|s| s.involuntary_per_s)),
                run_delay_ns: s.map_or(0, |s| s.run_delay_ns),
                cpu_ns: s.map_or(0, |s| s.cpu_ns),
                kind: match a.kind {
                    Some(lockscope_format::ActorKind::Thread) => "thread",
                    Some(lockscope_format::ActorKind::Task) => "task",
                    None => "unknown",
                },
                os_id: a.os_id,
                spawn_site: Some(a.spawn_site).filter(|s| !s.is_empty()),
                waits: a.waits,
                wait_ns_total: a.wait_total_ns,
                wait_ns_max: a.wait_max_ns,
                still_waiting: a.still_waiting,
            }
        })
        .collect();
    let pools = (m.pool_rows(leak_threshold_ns).into_iter())
        .map(|p| Pool {
            capacity: p.capacity,
            utilisation: (p.utilisation * 10_000.0).round() / 10_000.0,
            saturated_ns: p.saturated_ns,
            starved_ns: p.starved_ns,
            acquire_ns: p.acquire,
            lock: p.lock,
            observed_ns: p.observed_ns(),
            acquisitions: p.acquisitions,
            waited: p.waited,
            timeouts: p.timeouts,
            hold_ns: p.hold,
            max_waiters: p.max_waiters,
            max_in_use: p.max_in_use,
            leaks: p.leaks,
            leak_threshold_ns,
            channel: p.channel,
            empty_ns: p.empty_ns,
            receiver_waits: p.receiver_waits,
            receiver_wait_ns: p.receiver_wait_ns,
            name: p.name,
            site: p.site,
        })
        .collect();
    let run_delay_pct = m.run_delay_pct();
    let process = m.sched.process.last().map(|last| Process {
        ts_ns: last.ts_ns,
        cpu_ns: last.cpu_ns,
        rss_bytes: last.rss_bytes,
        rss_bytes_max: (m.sched.process.iter())
            .map(|p| p.rss_bytes)
            .max()
            .unwrap_or(0),
        threads: last.threads,
    });
    let alerts = (m.alerts.iter())
        .map(|a| Alert {
            kind: a.kind.clone(),
            locks: a.locks.clone(),
            actors: a.actors.clone(),
            text: a.text.clone(),
            ts_ns: a.ts_ns,
            details: a.details.clone(),
        })
        .collect();
    let sites = (m.site_rows().into_iter())
        .map(|s| Site {
            lock: m.class_name(s.class).to_owned(),
            site: m.site_name(s.site),
            waits: s.waits,
            wait_ns_total: s.wait_total_ns,
            wait_ns_max: s.wait_max_ns,
            still_waiting: s.still_waiting,
            holders: (s.holders.iter())
                .map(|h| Holder {
                    actor: m.actor_name(h.actor),
                    site: h.site.map(|x| m.site_name(x)),
                    waits: h.waits,
                })
                .collect(),
        })
        .collect();
    let still_waiting = (m
        .waits
        .iter()
        .filter(|w| w.state == WaitState::StillWaiting))
    .map(|w| StillWaiting {
        actor: m.actor_name(w.actor),
        lock: m.class_name(w.class).to_owned(),
        mode: w.mode.as_str(),
        site: m.site_name(w.site),
        since_ns: w.begin_ns,
        waited_ns: m.waited_ns(&w).unwrap_or(0),
        holders: w.holders.iter().map(|&h| m.actor_name(h)).collect(),
    })
    .collect();
    let header = m.header.unwrap_or(lockscope_format::Header {
        version: 0,
        flags: 0,
        epoch_unix_ns: 0,
        pid: 0,
    });
    Report {
        schema: SCHEMA,
        dropped_events: m.dropped_events,
        locks,
        threads,
        pools,
        alerts,
        complete: m.integrity.is_complete(),
        truncated: m.integrity.truncated_at.is_some(),
        trace: TraceInfo {
            path: path.display().to_string(),
            pid: header.pid,
            format_version: header.version,
            epoch_unix_ns: header.epoch_unix_ns,
            duration_ns: m.duration_ns(),
            status: m.integrity.label(),
            truncated_at: m.integrity.truncated_at,
            damaged_chunks: m.integrity.damage.len(),
            range_ns: m.window.map(|(from, to)| [from, to]),
        },
        sites,
        still_waiting,
        process,
        chaos: m.chaos,
        causal: super::causal::rows(m),
        causal_run_delay_pct: run_delay_pct.map(|p| (p * 10.0).round() / 10.0),
        causal_oversubscribed: !m.causal.is_empty()
            && crate::model::causal::oversubscribed_at(run_delay_pct),
    }
}
