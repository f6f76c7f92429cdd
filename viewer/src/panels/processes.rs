//! Processes: this trace and every other open trace read as one, one process each — each lock
//! class summed over the processes with its row in each beneath it, and every process's
//! alerts. The rows are `model::fleet`'s, the same as `lockscope report A B ...` prints.

use egui::RichText;

pub use super::state::ProcessesState;
use super::style::WARN;
use super::{OtherTrace, TraceView, ns};
use crate::model::{LockRow, Model, fleet};
use crate::units::ns_or_dash;

/// Draws the merged lock table and the alerts of every open trace.
pub fn processes_ui(ui: &mut egui::Ui, v: &mut TraceView, others: &[OtherTrace<'_>]) {
    if others.is_empty() {
        ui.label(
            "Open the traces of the other processes too (one trace per process: the replicas \
             of a service, say) to read them as one: each lock class summed over the \
             processes, with its row in each, and every process's alerts. \
             `lockscope report A B ...` prints the same.",
        );
        return;
    }
    // In tab order, as `lockscope report` takes its traces in the order given: this trace
    // sits where the other tabs leave a gap.
    let this_tab = (0..)
        .find(|i| others.iter().all(|o| o.tab != *i))
        .unwrap_or(0);
    let this = v.path.file_name().map_or_else(
        || v.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut all: Vec<(usize, String, &Model)> = others
        .iter()
        .map(|o| (o.tab, o.label.clone(), o.model))
        .collect();
    all.push((this_tab, this, &*v.model));
    all.sort_by_key(|p| p.0);
    let labels: Vec<String> = all.iter().map(|p| p.1.clone()).collect();
    let models: Vec<&Model> = all.iter().map(|p| p.2).collect();
    if v.processes.cache.as_ref().is_none_or(|c| c.0 != labels) {
        v.processes.cache = Some((labels.clone(), fleet::lock_rows(&models)));
    }
    let Some((_, rows)) = &v.processes.cache else {
        return;
    };
    if !v.filter().is_empty() {
        ui.label(
            RichText::new("Every trace is shown whole here: the selection applies to this trace's own panels.")
                .color(WARN),
        );
    }
    egui::ScrollArea::both().show(ui, |ui| {
        ui.heading(format!("{} processes", models.len()));
        egui::Grid::new("processes-list")
            .striped(true)
            .spacing([20.0, 4.0])
            .show(ui, |ui| {
                for h in ["", "Trace", "Process", "Duration", "Alerts", "Dropped events"] {
                    ui.strong(h);
                }
                ui.end_row();
                for (i, (label, m)) in labels.iter().zip(&models).enumerate() {
                    ui.label(format!("[{}]", i + 1));
                    ui.label(label);
                    ui.label(pid(m));
                    ui.label(ns(m.duration_ns()));
                    ui.label(m.alerts.len().to_string());
                    ui.label(m.dropped_events.to_string());
                    ui.end_row();
                }
            });
        ui.add_space(10.0);
        ui.heading("Locks across the processes, by total wait time");
        ui.label("Each class (matched by name and kind) summed over the processes, its row in each beneath it.");
        egui::Grid::new("processes-locks")
            .striped(true)
            .spacing([16.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "Lock", "Process", "Kind", "Acquired", "Contended", "Cont %", "Wait p50",
                    "Wait p99", "Wait max", "Wait total", "Hold p99", "Most waiters",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for f in rows {
                    lock_row(ui, RichText::new(&f.merged.name).strong(), "all", &f.merged);
                    for (i, r) in &f.per_process {
                        let who = format!("[{}] {}", i + 1, pid(models[*i]));
                        lock_row(ui, RichText::new(""), &who, r);
                    }
                }
            });
        ui.add_space(10.0);
        ui.heading("Alerts");
        let mut any = false;
        for (i, (label, m)) in labels.iter().zip(&models).enumerate() {
            for a in &m.alerts {
                any = true;
                let first = a.text.lines().next().unwrap_or_default();
                ui.label(format!(
                    "[{}] {label} ({}): [{}] at {}: {first}",
                    i + 1,
                    pid(m),
                    a.kind,
                    ns(a.ts_ns)
                ));
            }
        }
        if !any {
            ui.label("No process raised an alert.");
        }
    });
}

fn pid(m: &Model) -> String {
    m.header
        .map_or_else(|| "pid unknown".to_owned(), |h| format!("pid {}", h.pid))
}

fn lock_row(ui: &mut egui::Ui, name: RichText, process: &str, r: &LockRow) {
    let (w, h) = (r.wait_summary(), r.hold_summary());
    let (waited, held) = (r.wait.count() > 0, r.hold.count() > 0);
    ui.label(name);
    ui.label(process);
    ui.label(r.kind.map_or("?", |k| k.as_str()));
    ui.label(r.acquisitions.to_string());
    ui.label(r.contentions.to_string());
    ui.label(format!("{:.1}", r.contention_pct()));
    ui.label(ns_or_dash(w.p50, waited));
    ui.label(ns_or_dash(w.p99, waited));
    ui.label(ns_or_dash(w.max, waited));
    ui.label(ns_or_dash(w.total, waited));
    ui.label(ns_or_dash(h.p99, held));
    ui.label(r.max_waiters.to_string());
    ui.end_row();
}
