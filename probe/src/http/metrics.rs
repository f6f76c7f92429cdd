//! `/metrics`: Prometheus's text exposition format (version 0.0.4) of the per-class figures
//! the report uses, the alerts raised, this process's lockscope state, and its threads'
//! context switches and run delay (read from `/proc` at scrape time, by thread name).
//!
//! Written here rather than through prometheus-client or the `metrics` facade: both take
//! parking_lot 0.12 locks, which the `parking_lot` drop-in turns into lockscope's own
//! instrumented locks, and lockscope's internals must never take those. The format is a
//! stable, line-based text one; the output is checked by a real Prometheus in CI.

use crate::class;
use crate::format::Histogram;
use crate::settings::hold_sample_period;
use crate::stats::ClassCounters;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Histogram bucket bounds, in nanoseconds: powers of four from 1 µs (2^10 ns) to 17 s
/// (2^34 ns), bucket edges of lockscope's histograms, so each count is exact.
const BOUNDS_NS: [u64; 13] = [
    1 << 10,
    1 << 12,
    1 << 14,
    1 << 16,
    1 << 18,
    1 << 20,
    1 << 22,
    1 << 24,
    1 << 26,
    1 << 28,
    1 << 30,
    1 << 32,
    1 << 34,
];

/// A label value, escaped as the format asks (backslash, double quote, newline).
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn seconds(ns: u64) -> String {
    format!("{}", ns as f64 / 1e9)
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram, scale: u64) {
    for b in BOUNDS_NS {
        let n = h.count_at_most(b - 1) * scale;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{}\"}} {n}", seconds(b));
    }
    let count = h.count() * scale;
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
    let total = h.total().saturating_mul(scale);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", seconds(total));
    let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
}

/// The whole `/metrics` page.
pub(crate) fn render() -> String {
    let classes = class::all();
    let period = hold_sample_period();
    let mut out = String::with_capacity(512 + classes.len() * 2048);
    let rows: Vec<(String, &class::ClassInfo)> = classes
        .iter()
        .map(|c| {
            (
                format!("lock=\"{}\",kind=\"{}\"", label(&c.label), c.kind.as_str()),
                *c,
            )
        })
        .collect();
    type Field = fn(&ClassCounters) -> &AtomicU64;
    let per_class: [(&str, &str, &str, Field); 3] = [
        (
            "lockscope_lock_acquisitions_total",
            "counter",
            "Acquisitions of the lock class (exact for dropped locks, and for live ones up to their last sampled acquisition).",
            |c| &c.acquisitions,
        ),
        (
            "lockscope_lock_contentions_total",
            "counter",
            "Acquisitions of the lock class that found it taken.",
            |c| &c.contentions,
        ),
        (
            "lockscope_lock_max_waiters",
            "gauge",
            "The most actors ever waiting at once for one lock of the class.",
            |c| &c.max_waiters,
        ),
    ];
    for (name, kind, help, field) in per_class {
        header(&mut out, name, kind, help);
        for (labels, c) in &rows {
            let v = field(&c.counters).load(Relaxed);
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
    header(
        &mut out,
        "lockscope_lock_wait_seconds",
        "histogram",
        "Time spent waiting for a lock of the class, per wait that did not end within the brief spin.",
    );
    for (labels, c) in &rows {
        let h = c.counters.wait.snapshot();
        histogram(&mut out, "lockscope_lock_wait_seconds", labels, &h, 1);
    }
    header(
        &mut out,
        "lockscope_lock_hold_seconds",
        "histogram",
        "Time a lock of the class was held, estimated from the sampled holds (1 in lockscope_hold_sample_period) scaled up.",
    );
    for (labels, c) in &rows {
        let h = c.counters.hold.snapshot();
        histogram(&mut out, "lockscope_lock_hold_seconds", labels, &h, period);
    }
    header(
        &mut out,
        "lockscope_hold_sample_period",
        "gauge",
        "One hold in this many is timed.",
    );
    let _ = writeln!(out, "lockscope_hold_sample_period {period}");
    header(
        &mut out,
        "lockscope_alerts_total",
        "counter",
        "Alerts raised (deadlocks, lock-order inversions, stampedes, pool saturation, ...), by kind.",
    );
    for (kind, n) in crate::detect::alerts_raised() {
        let _ = writeln!(
            out,
            "lockscope_alerts_total{{kind=\"{}\"}} {n}",
            label(&kind)
        );
    }
    header(
        &mut out,
        "lockscope_waiting_actors",
        "gauge",
        "Threads and tasks waiting for a lock right now.",
    );
    let waiting = crate::actor::WAITING.load(Relaxed);
    let _ = writeln!(out, "lockscope_waiting_actors {waiting}");
    #[cfg(feature = "tokio")]
    {
        header(
            &mut out,
            "lockscope_task_holds_unchecked_total",
            "counter",
            "Async lock holds of tasks left out of the lock-order checks: the task's bucket of held locks was full.",
        );
        let n = crate::actor::task_held::unlisted();
        let _ = writeln!(out, "lockscope_task_holds_unchecked_total {n}");
    }
    pools(&mut out, &rows);
    threads(&mut out);
    push_counts(&mut out);
    out
}

/// The semaphores' pool gauges, per class: capacity (kept at registration, resizes and
/// drops), permits in use and callers waiting now (read from the actors' published holds and
/// waits, as `dump()` reads them), and the starved time so far (kept on the wait path).
fn pools(out: &mut String, rows: &[(String, &class::ClassInfo)]) {
    let pools: Vec<&(String, &class::ClassInfo)> = rows
        .iter()
        .filter(|(_, c)| c.kind == crate::format::LockKind::Semaphore)
        .collect();
    if pools.is_empty() {
        return;
    }
    let mut now: std::collections::HashMap<u32, (u64, u64)> = Default::default();
    for s in crate::actor::snapshots() {
        for h in &s.held {
            if let crate::format::Mode::Permits(n) = h.mode {
                now.entry(h.class).or_default().0 += u64::from(n);
            }
        }
        if let Some(w) = s.waiting
            && matches!(w.mode, crate::format::Mode::Permits(_))
        {
            now.entry(w.class).or_default().1 += 1;
        }
    }
    type Figure = fn(&class::ClassInfo, (u64, u64)) -> String;
    let series: [(&str, &str, &str, Figure); 4] = [
        (
            "lockscope_pool_capacity",
            "gauge",
            "Permits of the class's live semaphores.",
            |c, _| c.counters.pool_capacity.load(Relaxed).max(0).to_string(),
        ),
        (
            "lockscope_pool_in_use",
            "gauge",
            "Permits held right now.",
            |_, (in_use, _)| in_use.to_string(),
        ),
        (
            "lockscope_pool_waiters",
            "gauge",
            "Callers waiting for a permit right now.",
            |_, (_, waiters)| waiters.to_string(),
        ),
        (
            "lockscope_pool_starved_seconds_total",
            "counter",
            "Time some caller waited for a permit of the class.",
            |c, _| seconds(c.counters.pool_starved_ns.load(Relaxed)),
        ),
    ];
    for (name, kind, help, figure) in series {
        header(out, name, kind, help);
        for (labels, c) in &pools {
            let v = figure(c, now.get(&c.id).copied().unwrap_or_default());
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

/// The Pyroscope pusher's counts, when it runs.
fn push_counts(out: &mut String) {
    use super::push::{DROPPED, FAILED, SENT};
    let (sent, failed, dropped) = (
        SENT.load(Relaxed),
        FAILED.load(Relaxed),
        DROPPED.load(Relaxed),
    );
    if sent + failed + dropped == 0 {
        return;
    }
    header(
        out,
        "lockscope_pyroscope_pushes_total",
        "counter",
        "Profiles pushed to Pyroscope, by result.",
    );
    let _ = writeln!(
        out,
        "lockscope_pyroscope_pushes_total{{result=\"sent\"}} {sent}"
    );
    let _ = writeln!(
        out,
        "lockscope_pyroscope_pushes_total{{result=\"failed\"}} {failed}"
    );
    header(
        out,
        "lockscope_pyroscope_dropped_windows_total",
        "counter",
        "Profile windows dropped unsent because the backend could not be reached.",
    );
    let _ = writeln!(out, "lockscope_pyroscope_dropped_windows_total {dropped}");
}

/// Per-thread scheduler figures from `/proc/self/task`, summed over the threads that share a
/// name (a pool's workers are one series), so the series stay as few as the names. A thread
/// that exits takes its counts with it: Prometheus's `rate()` reads the drop as a reset.
fn threads(out: &mut String) {
    let Ok(threads) = crate::sampler::read_threads() else {
        return; // no /proc: no such series
    };
    let mut by_name: std::collections::BTreeMap<String, [u64; 4]> = Default::default();
    for (_, name, s) in threads {
        let v = by_name.entry(name).or_default();
        v[0] += s.voluntary;
        v[1] += s.involuntary;
        v[2] += s.run_delay_ns;
        v[3] += 1;
    }
    header(
        out,
        "lockscope_thread_context_switches_total",
        "counter",
        "Context switches of the process's threads, by thread name: voluntary (the thread blocked, on a lock among others) and involuntary (preempted).",
    );
    for (name, v) in &by_name {
        let name = label(name);
        for (kind, n) in [("voluntary", v[0]), ("involuntary", v[1])] {
            let _ = writeln!(
                out,
                "lockscope_thread_context_switches_total{{thread=\"{name}\",kind=\"{kind}\"}} {n}"
            );
        }
    }
    header(
        out,
        "lockscope_thread_run_delay_seconds_total",
        "counter",
        "Time the process's threads were runnable but waiting for a CPU, by thread name.",
    );
    for (name, v) in &by_name {
        let _ = writeln!(
            out,
            "lockscope_thread_run_delay_seconds_total{{thread=\"{}\"}} {}",
            label(name),
            seconds(v[2])
        );
    }
    header(
        out,
        "lockscope_threads",
        "gauge",
        "Live threads of the process, by thread name.",
    );
    for (name, v) in &by_name {
        let _ = writeln!(
            out,
            "lockscope_threads{{thread=\"{}\"}} {}",
            label(name),
            v[3]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_histogram_is_cumulative_and_ends_in_its_count() {
        let mut h = Histogram::default();
        for v in [500, 2_000, 3_000_000, 40_000_000_000] {
            h.record(v);
        }
        let mut out = String::new();
        histogram(&mut out, "x", "lock=\"l\"", &h, 1);
        let counts: Vec<u64> = out
            .lines()
            .filter(|l| l.starts_with("x_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{out}");
        assert_eq!(counts[0], 1, "500 ns is under 1.024 µs: {out}");
        assert_eq!(
            counts[counts.len() - 2],
            3,
            "40 s is over the last bound: {out}"
        );
        assert_eq!(*counts.last().unwrap(), 4);
        assert!(out.contains("x_count{lock=\"l\"} 4"), "{out}");
    }
}
