//! Overview: what the trace is, what it lost, and where to look first.

use egui::RichText;

use super::style::{CYCLE, WARN};
use super::{Panel, TraceView, ns};
use crate::units::utc;

/// Draws the overview of `v`.
pub fn overview_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        deadlock_ui(ui, v);
        facts_ui(ui, v);
        warnings_ui(ui, v);
        ui.add_space(8.0);
        top_locks_ui(ui, v);
        ui.add_space(8.0);
        threads_ui(ui, v);
        ui.add_space(8.0);
        alerts_ui(ui, v);
    });
}

/// A deadlock first: who is stuck, and where to look.
fn deadlock_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let Some(a) = v.model.alerts.iter().find(|a| a.kind == "deadlock") else {
        return;
    };
    let actors = v.model.alert_actors(a);
    let who = if actors.is_empty() {
        "threads".to_owned()
    } else {
        actors.join(", ")
    };
    let mut go = None;
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.5, CYCLE))
        .show(ui, |ui| {
            ui.label(
                RichText::new(format!("Deadlock: {who} wait for each other"))
                    .color(CYCLE)
                    .strong()
                    .size(16.0),
            );
            if !a.locks.is_empty() {
                ui.label(format!("on {}", a.locks.join(", ")));
            }
            ui.horizontal(|ui| {
                if ui.button("Show the wait-for graph").clicked() {
                    go = Some(Panel::WaitFor);
                }
                if ui.button("Read the report").clicked() {
                    go = Some(Panel::Alerts);
                }
            });
        });
    if let Some(p) = go {
        v.panel = p;
        v.waitfor.at_ns = None;
    }
    ui.add_space(6.0);
}

fn facts_ui(ui: &mut egui::Ui, v: &TraceView) {
    let m = &v.model;
    ui.heading(v.path.display().to_string());
    egui::Grid::new("overview-facts")
        .num_columns(2)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            if let Some(h) = m.header {
                ui.label("Process");
                ui.label(format!("pid {}", h.pid));
                ui.end_row();
                ui.label("Recorded");
                ui.label(utc(h.epoch_unix_ns));
                ui.end_row();
                ui.label("Format version");
                ui.label(h.version.to_string());
                ui.end_row();
            }
            ui.label("Duration");
            ui.label(ns(m.duration_ns()));
            ui.end_row();
            ui.label("Trace");
            ui.label(m.integrity.label());
            ui.end_row();
            ui.label("Dropped events");
            let dropped = m.dropped_events.to_string();
            if m.dropped_events > 0 {
                ui.label(RichText::new(dropped).color(WARN));
            } else {
                ui.label(dropped);
            }
            ui.end_row();
            if let Some(c) = &m.chaos {
                ui.label("Chaos mode");
                ui.label(RichText::new(c.describe()).color(WARN))
                    .on_hover_text("The run was perturbed on purpose: its waits and holds include the delays chaos mode injected.");
                ui.end_row();
            }
            ui.label("Threads and tasks");
            ui.label(m.actors.len().to_string());
            ui.end_row();
            ui.label("Lock classes");
            ui.label(m.classes.len().to_string());
            ui.end_row();
            // With a selection, the counts are the selection's, as every panel's are.
            let (sel, f) = (v.view(), v.filter());
            if !f.is_empty() {
                ui.label("Selection");
                ui.label(selection_text(m, f));
                ui.end_row();
            }
            ui.label("Recorded waits").on_hover_text(
                "Waits recorded as events (timeline, flamegraph, sites). The lock table's \
                 contentions also count the brief ones, over within the lock's spin, which \
                 are counted but not recorded.",
            );
            ui.label(count_of(sel.waits.len(), m.waits.len(), f.is_empty()));
            ui.end_row();
            ui.label("Recorded holds");
            ui.label(count_of(sel.holds.len(), m.holds.len(), f.is_empty()));
            ui.end_row();
        });
}

/// What the selection is: the lock and/or the time range.
fn selection_text(m: &crate::model::Model, f: crate::model::Filter) -> String {
    let lock = f.class.map(|c| format!("lock {}", m.class_name(c)));
    let range = (f.range_ns).map(|(a, b)| format!("{} to {}", ns(a), ns(b)));
    [lock, range]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n`, or `n of total` when a selection narrows the count.
fn count_of(n: usize, total: usize, whole: bool) -> String {
    if whole {
        n.to_string()
    } else {
        format!("{n} of {total}")
    }
}

fn warnings_ui(ui: &mut egui::Ui, v: &TraceView) {
    let m = &v.model;
    for w in m.warnings(&v.path) {
        ui.label(RichText::new(format!("Warning: {w}")).color(WARN));
    }
    waiting_ui(ui, v);
}

/// Longest list of waiters shown in the overview.
const WAITING_SHOWN: usize = 10;

/// Who is waiting right now (live) or was when the trace ended, longest wait first, as
/// tokio-console lists tasks: what for, how long, held by whom.
fn waiting_ui(ui: &mut egui::Ui, v: &TraceView) {
    let m = &v.model;
    let mut waits: Vec<_> = m
        .still_waiting()
        .map(|w| (m.waited_ns(&w).unwrap_or(0), w))
        .collect();
    if waits.is_empty() {
        return;
    }
    waits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.actor.cmp(&b.1.actor)));
    ui.add_space(6.0);
    ui.label(
        RichText::new(if m.integrity.streaming {
            format!("Waiting now ({}), longest first", waits.len())
        } else {
            format!(
                "Still waiting when the trace ended ({}), longest first",
                waits.len()
            )
        })
        .color(CYCLE)
        .strong(),
    );
    egui::Grid::new("overview-waiting")
        .striped(true)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for h in ["Thread or task", "Waits for", "For", "Since", "Held by"] {
                ui.strong(h);
            }
            ui.end_row();
            for (waited, w) in waits.iter().take(WAITING_SHOWN) {
                ui.label(RichText::new(m.actor_name(w.actor)).color(CYCLE));
                ui.label(m.class_name(w.class));
                ui.label(ns(*waited));
                ui.label(ns(w.begin_ns));
                let holders: Vec<String> = w.holders.iter().map(|&h| m.actor_name(h)).collect();
                ui.label(if holders.is_empty() {
                    "unknown".to_owned()
                } else {
                    holders.join(", ")
                });
                ui.end_row();
            }
        });
    if waits.len() > WAITING_SHOWN {
        ui.label(format!(
            "and {} more (the wait-for graph shows them all)",
            waits.len() - WAITING_SHOWN
        ));
    }
}

fn top_locks_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    ui.heading("Most contended locks");
    if v.is_updating() && v.rows().is_empty() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Computing the lock table…");
        });
        return;
    }
    // The selected lock only, when one is selected (the lock table keeps every row so
    // another can be picked; this list answers "where to look" within the selection).
    let class = v.filter().class;
    let waited = |r: &&crate::model::LockRow| {
        (r.contentions > 0 || r.still_waiting > 0) && class.is_none_or(|c| c == r.class)
    };
    if !v.rows().iter().any(|r| waited(&r)) {
        ui.label("No lock was contended.");
        return;
    }
    let mut pick = None;
    egui::Grid::new("overview-locks")
        .striped(true)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Lock",
                "Contentions",
                "Total wait",
                "Wait p99",
                "Max waiters",
                "Still waiting",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for r in v.rows().iter().filter(waited).take(5) {
                if ui
                    .link(&r.name)
                    .on_hover_text("Show in the lock table")
                    .clicked()
                {
                    pick = Some(r.class);
                }
                let w = r.wait_summary();
                ui.label(r.contentions.to_string());
                ui.label(ns(w.total));
                ui.label(ns(w.p99));
                ui.label(r.max_waiters.to_string());
                ui.label(r.still_waiting.to_string());
                ui.end_row();
            }
        });
    if let Some(c) = pick {
        if v.filter().class != Some(c) {
            v.toggle_class(c);
        }
        v.panel = Panel::Locks;
    }
}

fn threads_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    ui.heading("Threads and tasks");
    let rows = v.actor_rows();
    // Where tasks were spawned, when the trace says (tasks named by `spawn_named`).
    let spawned = rows.iter().any(|a| !a.spawn_site.is_empty());
    egui::Grid::new("overview-threads")
        .striped(true)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Thread or task",
                "Waits",
                "Total wait",
                "Longest wait",
                "Still waiting",
            ] {
                ui.strong(h);
            }
            if spawned {
                ui.strong("Spawned at");
            }
            ui.end_row();
            for a in rows {
                let name = ui.label(&a.name);
                if let Some(who) = a.identity() {
                    name.on_hover_text(who);
                }
                ui.label(a.waits.to_string());
                ui.label(ns(a.wait_total_ns));
                ui.label(ns(a.wait_max_ns));
                ui.label(a.still_waiting.to_string());
                if spawned {
                    ui.label(&a.spawn_site);
                }
                ui.end_row();
            }
        });
}

fn alerts_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    ui.heading("Alerts");
    let alerts = &v.view().alerts;
    if alerts.is_empty() {
        ui.label("No detector raised an alert.");
        return;
    }
    let mut open = false;
    for a in alerts {
        let first = a.text.lines().next().unwrap_or_default();
        ui.horizontal(|ui| {
            ui.label(RichText::new(&a.kind).color(CYCLE).strong());
            ui.label(first);
            if ui.small_button("Full report").clicked() {
                open = true;
            }
        });
    }
    if open {
        v.panel = Panel::Alerts;
    }
}
