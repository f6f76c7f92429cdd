//! `lockscope report A.lstrace B.lstrace ...`: traces of several processes as one report.
//!
//! The lock table has each class (matched by name and kind) summed over the processes, with
//! its row in each process beneath it; then each process's alerts and still-waiting actors.
//! The JSON keeps each trace's own schema-1 report whole under `reports` and adds the merged
//! `locks` and every process's `alerts`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::json::{self, Alert, Lock, SCHEMA, TraceInfo};
use super::report::{NAME_WIDTH, alerts, lock_table, still_waiting};
use crate::model::{LockRow, Model, fleet};
use crate::units::{clip_left, ns, utc};

/// The text report of several processes' traces.
pub fn text(traces: &[(PathBuf, Model)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lockscope report: {} traces, read as one (process [n] is the n-th trace)",
        traces.len()
    );
    for (i, (path, m)) in traces.iter().enumerate() {
        let _ = write!(out, "  [{}] {}", i + 1, path.display());
        if let Some(h) = m.header {
            let _ = write!(
                out,
                ": pid {}, recorded {}, duration {}",
                h.pid,
                utc(h.epoch_unix_ns),
                ns(m.duration_ns())
            );
        }
        let _ = writeln!(
            out,
            "; {} alert(s), {} dropped events",
            m.alerts.len(),
            m.dropped_events
        );
    }
    let models: Vec<&Model> = traces.iter().map(|(_, m)| m).collect();
    let rows = fleet::lock_rows(&models);
    let _ = writeln!(
        out,
        "\nLocks across the processes, by total wait time (each class's row in each process beneath it)"
    );
    if rows.is_empty() {
        let _ = writeln!(out, "  (no locks recorded)");
    } else {
        let mut labelled: Vec<(String, &LockRow)> = Vec::new();
        for f in &rows {
            labelled.push((clip_left(&f.merged.name, NAME_WIDTH), &f.merged));
            for (i, r) in &f.per_process {
                labelled.push((format!("  [{}] {}", i + 1, pid_of(models[*i])), r));
            }
        }
        lock_table(&mut out, &labelled);
    }
    for (i, (path, m)) in traces.iter().enumerate() {
        let _ = writeln!(out, "\n== [{}] {} ({})", i + 1, path.display(), pid_of(m));
        alerts(&mut out, m);
        still_waiting(&mut out, m);
    }
    out
}

fn pid_of(m: &Model) -> String {
    m.header
        .map_or_else(|| "pid unknown".to_owned(), |h| format!("pid {}", h.pid))
}

/// The machine-readable report of several processes' traces (schema 1, like one trace's).
#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The traces, in the order given: process `n` in the rows below is `processes[n]`.
    pub processes: Vec<TraceInfo>,
    /// Events the probes dropped, summed.
    pub dropped_events: u64,
    /// One row per lock class (name and kind) summed over the processes, most total wait
    /// first, with the class's row in each process.
    pub locks: Vec<FleetLock>,
    /// Every process's alerts, process by process, each in trace order.
    pub alerts: Vec<FleetAlert>,
    /// Each trace's own report, as `report --json` gives it for that trace alone.
    pub reports: Vec<json::Report>,
}

/// A lock class across the processes.
#[derive(Debug, Serialize)]
pub struct FleetLock {
    /// The summed figures (`by_span` empty: spans are per process).
    #[serde(flatten)]
    pub lock: Lock,
    /// The class in each process that has it.
    pub processes: Vec<ProcessLock>,
}

/// A lock class in one process.
#[derive(Debug, Serialize)]
pub struct ProcessLock {
    /// Index into `processes`.
    pub process: usize,
    /// The process id.
    pub pid: u32,
    /// Its figures there.
    #[serde(flatten)]
    pub lock: Lock,
}

/// An alert and the process that raised it.
#[derive(Debug, Serialize)]
pub struct FleetAlert {
    /// Index into `processes`.
    pub process: usize,
    /// The process id.
    pub pid: u32,
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
}

/// Builds the [`FleetReport`] of `traces`; pool permits held at least `leak_threshold_ns`
/// count as leaks in each trace's report.
pub fn json(traces: &[(PathBuf, Model)], leak_threshold_ns: u64) -> FleetReport {
    let reports: Vec<json::Report> = traces
        .iter()
        .map(|(p, m)| json::report_with(m, p, leak_threshold_ns))
        .collect();
    let pid = |i: usize| reports[i].trace.pid;
    let models: Vec<&Model> = traces.iter().map(|(_, m)| m).collect();
    let locks = fleet::lock_rows(&models)
        .into_iter()
        .map(|f| FleetLock {
            processes: f
                .per_process
                .into_iter()
                .map(|(i, r)| ProcessLock {
                    process: i,
                    pid: pid(i),
                    lock: Lock::from_row(r, Vec::new()),
                })
                .collect(),
            lock: Lock::from_row(f.merged, Vec::new()),
        })
        .collect();
    let alerts = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.alerts.iter().map(move |a| FleetAlert {
                process: i,
                pid: r.trace.pid,
                alert: a.clone(),
            })
        })
        .collect();
    FleetReport {
        schema: SCHEMA,
        processes: reports.iter().map(|r| r.trace.clone()).collect(),
        dropped_events: reports.iter().map(|r| r.dropped_events).sum(),
        locks,
        alerts,
        reports,
    }
}

/// Why a flag cannot go with several traces, if one cannot.
pub fn refused_flag(diff: bool, range: bool) -> Option<&'static str> {
    if diff {
        Some("--diff compares two recordings of one program: give one trace with it")
    } else if range {
        Some(
            "--from/--to are times into one recording, and each process's recording starts at its own time: give one trace with them",
        )
    } else {
        None
    }
}

/// Just the file names, for messages.
pub fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| Path::new(p).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
