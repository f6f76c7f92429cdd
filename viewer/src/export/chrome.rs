//! Chrome trace-event JSON (`{"traceEvents": [...]}`), as Perfetto and `chrome://tracing`
//! open it: one thread per actor, a slice per wait and per hold, and a flow arrow from each
//! hold that made someone wait to the wait it caused.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::model::{Model, WaitState};

/// Track ids from this value on carry holds of one actor that overlap without nesting
/// (lock A, lock B, unlock A): a thread's slices must nest, so those go on an extra track
/// named after the actor. Viewers read tids as 32-bit numbers.
const EXTRA_TRACK_BASE: u64 = 1 << 30;

/// A slice before it becomes an event: which wait or hold, and where it is.
struct Slice {
    start_ns: u64,
    end_ns: u64,
    /// Index into `waits` (`Ok`) or `holds` (`Err`).
    what: Result<usize, usize>,
}

/// Builds the Chrome trace of `m`. Timestamps are microseconds since the trace's epoch.
pub fn chrome_trace(m: &Model) -> Value {
    let pid = m.header.map_or(0, |h| h.pid);
    let mut events = vec![json!({
        "name": "process_name", "ph": "M", "pid": pid, "tid": 0,
        "args": { "name": format!("lockscope trace of pid {pid}") },
    })];

    // Every actor's slices, sorted so parents come before children, then dealt onto tracks
    // where they nest.
    let mut per_actor: BTreeMap<u64, Vec<Slice>> = BTreeMap::new();
    for a in m.actors.keys() {
        per_actor.entry(*a).or_default();
    }
    for (i, w) in m.waits.iter().enumerate() {
        let Some(end_ns) = w.counted_end_ns(m.end_ns) else {
            continue;
        };
        per_actor.entry(w.actor).or_default().push(Slice {
            start_ns: w.begin_ns,
            end_ns,
            what: Ok(i),
        });
    }
    for (i, h) in m.holds.iter().enumerate() {
        per_actor.entry(h.actor).or_default().push(Slice {
            start_ns: h.start_ns(),
            end_ns: h.end_ns,
            what: Err(i),
        });
    }

    let mut hold_track = vec![0u64; m.holds.len()];
    let mut next_extra = EXTRA_TRACK_BASE;
    for (actor, mut slices) in per_actor {
        slices.sort_by(|a, b| a.start_ns.cmp(&b.start_ns).then(b.end_ns.cmp(&a.end_ns)));
        // Per track: its tid and the ends of the slices open on it, innermost last.
        let mut tracks: Vec<(u64, Vec<u64>)> = vec![(actor, Vec::new())];
        let name = m.actor_name(actor);
        thread_meta(&mut events, pid, actor, &name, actor.saturating_mul(64));
        for s in slices {
            let lane = place(&mut tracks, s.start_ns, s.end_ns);
            if lane == tracks.len() {
                let label = format!("{name} (overlapping holds {lane})");
                thread_meta(
                    &mut events,
                    pid,
                    next_extra,
                    &label,
                    actor.saturating_mul(64) + lane as u64,
                );
                tracks.push((next_extra, vec![s.end_ns]));
                next_extra += 1;
            }
            let tid = tracks[lane].0;
            events.push(match s.what {
                Ok(i) => wait_event(m, i, pid, tid, s.end_ns),
                Err(i) => {
                    hold_track[i] = tid;
                    hold_event(m, i, pid, tid)
                }
            });
        }
    }

    let mut flow_id = 0u64;
    for w in &m.waits {
        let Some(wait_end) = w.counted_end_ns(m.end_ns) else {
            continue;
        };
        for &holder in w.holders {
            let Some(hold_idx) = m.holder_hold_index(&w, holder) else {
                continue;
            };
            let Some(h) = m.holds.get(hold_idx) else {
                continue;
            };
            // Both ends sit strictly inside their slices when they overlap, so each binds
            // to the slice it belongs to.
            let (lo, hi) = (h.start_ns().max(w.begin_ns), h.end_ns.min(wait_end));
            let (at_hold, at_wait) = if lo <= hi {
                (mid(lo, hi), mid(lo, hi))
            } else {
                (mid(h.start_ns(), h.end_ns), mid(w.begin_ns, wait_end))
            };
            flow_id += 1;
            let lock = m.class_name(w.class);
            events.push(json!({
                "name": "blocked by", "cat": "wait-for", "ph": "s", "id": flow_id,
                "pid": pid, "tid": hold_track[hold_idx], "ts": us(at_hold),
                "args": { "lock": lock },
            }));
            events.push(json!({
                "name": "blocked by", "cat": "wait-for", "ph": "f", "bp": "e", "id": flow_id,
                "pid": pid, "tid": w.actor, "ts": us(at_wait),
                "args": { "lock": lock },
            }));
        }
    }

    for a in &m.alerts {
        events.push(json!({
            "name": format!("alert: {}", a.kind), "cat": "alert", "ph": "i", "s": "g",
            "pid": pid, "tid": 0, "ts": us(a.ts_ns),
            "args": { "text": a.text, "locks": a.locks, "actors": a.actors },
        }));
    }

    json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "pid": pid,
            "epoch_unix_ns": m.header.map_or(0, |h| h.epoch_unix_ns),
            "status": m.integrity.label(),
            "dropped_events": m.dropped_events,
        },
    })
}

/// The first track where a slice `[start, end]` nests inside what is open there, pushed
/// onto it; `tracks.len()` when none fits (the caller opens a new track).
fn place(tracks: &mut [(u64, Vec<u64>)], start: u64, end: u64) -> usize {
    for (i, (_, open)) in tracks.iter_mut().enumerate() {
        while open.last().is_some_and(|&e| e <= start) {
            open.pop();
        }
        if open.last().is_none_or(|&e| e >= end) {
            open.push(end);
            return i;
        }
    }
    tracks.len()
}

fn thread_meta(events: &mut Vec<Value>, pid: u32, tid: u64, name: &str, sort: u64) {
    events.push(json!({ "name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": { "name": name } }));
    events.push(json!({
        "name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": { "sort_index": sort },
    }));
}

/// Halfway between `a` and `b`, in either order (a corrupt trace may end a slice before it
/// began).
fn mid(a: u64, b: u64) -> u64 {
    a.min(b) + a.abs_diff(b) / 2
}

fn wait_event(m: &Model, i: usize, pid: u32, tid: u64, end_ns: u64) -> Value {
    let Some(w) = m.waits.get(i) else {
        return Value::Null;
    };
    let lock = m.class_name(w.class);
    let holders: Vec<String> = w.holders.iter().map(|&h| m.actor_name(h)).collect();
    let outcome = match w.state {
        WaitState::Ended { outcome, .. } => format!("{outcome:?}").to_lowercase(),
        _ => "still waiting at end of trace".to_owned(),
    };
    json!({
        "name": format!("wait {lock}"), "cat": "wait", "ph": "X",
        "pid": pid, "tid": tid, "ts": us(w.begin_ns), "dur": us(end_ns.saturating_sub(w.begin_ns)),
        "args": {
            "lock": lock, "lock_id": w.lock, "mode": w.mode.as_str(), "site": m.text(w.site),
            "holders": holders, "outcome": outcome, "stack": m.wait_frames(&w),
        },
    })
}

fn hold_event(m: &Model, i: usize, pid: u32, tid: u64) -> Value {
    let Some(h) = m.holds.get(i) else {
        return Value::Null;
    };
    let lock = m.class_name(h.class);
    json!({
        "name": format!("hold {lock}"), "cat": "hold", "ph": "X",
        "pid": pid, "tid": tid, "ts": us(h.start_ns()), "dur": us(h.known_ns()),
        "args": {
            "lock": lock, "lock_id": h.lock, "mode": h.mode.as_str(), "site": m.text(h.site),
            "timed": h.begin_ns.is_some(), "contended": h.contended_ns.is_some(),
        },
    })
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}
