//! Locks: the sortable lock table. Selecting a lock filters every other panel.

use egui::RichText;

pub use super::state::{Column, LocksState};
use super::style::CYCLE;
use super::{TraceView, ns};
use crate::model::spans::SpanRow;
use crate::model::{LockRow, SiteRow};

const COLUMNS: [(Column, &str); 14] = [
    (Column::Name, "Lock"),
    (Column::Acquisitions, "Acquisitions"),
    (Column::Contentions, "Contentions"),
    (Column::ContentionPct, "Contention %"),
    (Column::WaitP50, "Wait p50"),
    (Column::WaitP90, "Wait p90"),
    (Column::WaitP99, "Wait p99"),
    (Column::WaitMax, "Wait max"),
    (Column::WaitTotal, "Wait total"),
    (Column::HoldP50, "Hold p50"),
    (Column::HoldP99, "Hold p99"),
    (Column::HoldMax, "Hold max"),
    (Column::MaxWaiters, "Max waiters"),
    (Column::StillWaiting, "Still waiting"),
];

fn key(r: &LockRow, c: Column) -> u64 {
    let (w, h) = (r.wait_summary(), r.hold_summary());
    match c {
        Column::Name => 0,
        Column::Acquisitions => r.acquisitions,
        Column::Contentions => r.contentions,
        Column::ContentionPct => (r.contention_pct() * 1000.0) as u64,
        Column::WaitP50 => w.p50,
        Column::WaitP90 => w.p90,
        Column::WaitP99 => w.p99,
        Column::WaitMax => w.max,
        Column::WaitTotal => w.total,
        Column::HoldP50 => h.p50,
        Column::HoldP99 => h.p99,
        Column::HoldMax => h.max,
        Column::MaxWaiters => r.max_waiters,
        Column::StillWaiting => r.still_waiting,
    }
}

/// Sorts `rows` by `state`; ties keep the model's order (most total wait first).
pub fn sorted<'a>(rows: &'a [LockRow], state: &LocksState) -> Vec<&'a LockRow> {
    let mut out: Vec<&LockRow> = rows.iter().collect();
    out.sort_by(|a, b| {
        let o = match state.sort {
            Column::Name => a.name.cmp(&b.name),
            c => key(a, c).cmp(&key(b, c)),
        };
        if state.descending { o.reverse() } else { o }
    });
    out
}

/// The Save as CSV button and what it last did.
fn save_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    ui.horizontal(|ui| {
        let save = ui.button("Save as CSV").on_hover_text(
            "Write this table (the selected time range, every lock) beside the trace, as \
             lockscope export --format csv does",
        );
        if save.clicked() {
            let range_only = crate::model::Filter {
                class: None,
                ..v.filter()
            };
            let m = if range_only.is_empty() {
                std::sync::Arc::clone(&v.model)
            } else {
                std::sync::Arc::new(v.model.filtered(&range_only))
            };
            let path = super::beside_trace(&v.path, "locks.csv");
            v.locks.saved = Some(
                std::fs::write(&path, crate::export::locks_csv(&m))
                    .map(|()| path.clone())
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
            );
        }
        match &v.locks.saved {
            Some(Ok(p)) => {
                ui.label(format!("saved {}", p.display()));
            }
            Some(Err(why)) => {
                ui.label(RichText::new(why).color(super::style::WARN));
            }
            None => {}
        }
    });
}

/// Draws the lock table and, for the selected lock, who made its waiters wait.
pub fn locks_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    save_ui(ui, v);
    let mut pick = None;
    let selected = v.filter().class;
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("lock-table")
            .striped(true)
            .spacing([16.0, 4.0])
            .show(ui, |ui| {
                for (c, title) in COLUMNS {
                    let sorted = v.locks.sort == c;
                    // Room for the sort triangle, painted: the default font has no arrows.
                    let text = if sorted {
                        format!("{title}    ")
                    } else {
                        title.to_owned()
                    };
                    let b = ui.button(RichText::new(text).strong());
                    if sorted {
                        sort_mark(ui, b.rect, v.locks.descending);
                    }
                    if b.on_hover_text(format!("Sort by {title}")).clicked() {
                        if v.locks.sort == c {
                            v.locks.descending = !v.locks.descending;
                        } else {
                            v.locks.sort = c;
                            v.locks.descending = c != Column::Name;
                        }
                    }
                }
                ui.end_row();
                for r in sorted(v.rows(), &v.locks) {
                    row_ui(ui, r, selected == Some(r.class), &mut pick);
                }
            });
        if let Some(c) = selected {
            ui.add_space(12.0);
            sites_ui(ui, v, c);
            spans_ui(ui, v, c);
        } else {
            ui.add_space(12.0);
            ui.label("Select a lock to see who made it wait and to filter the other panels.");
        }
    });
    if let Some(c) = pick {
        v.toggle_class(c);
    }
}

/// A small triangle at the right end of a header button: down when largest first.
fn sort_mark(ui: &egui::Ui, rect: egui::Rect, descending: bool) {
    let c = egui::pos2(rect.right() - 12.0, rect.center().y);
    let (tip, base) = if descending { (4.0, -4.0) } else { (-4.0, 4.0) };
    let points = vec![
        c + egui::vec2(0.0, tip),
        c + egui::vec2(-4.5, base),
        c + egui::vec2(4.5, base),
    ];
    let color = ui.visuals().strong_text_color();
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        color,
        egui::Stroke::NONE,
    ));
}

fn row_ui(ui: &mut egui::Ui, r: &LockRow, selected: bool, pick: &mut Option<u64>) {
    let (w, h) = (r.wait_summary(), r.hold_summary());
    let measured_hold = r.hold.count() > 0;
    // The lock and, under it, where it was created (when it has a name of its own): the
    // site stays beside the name instead of in a last column that a narrow window cuts, and
    // that scrolls the name away when the table is scrolled to it.
    ui.vertical(|ui| {
        // Grid cells start narrow: the name and the site take the room they need, unwrapped.
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        if ui
            .selectable_label(selected, &r.name)
            .on_hover_text(format!(
                "{} ({}); click to filter the other panels",
                r.name,
                r.kind.map_or("kind unknown", |k| k.as_str())
            ))
            .clicked()
        {
            *pick = Some(r.class);
        }
        if !r.site.is_empty() && r.site != r.name {
            ui.label(RichText::new(&r.site).small().weak());
        }
    });
    ui.label(r.acquisitions.to_string());
    ui.label(r.contentions.to_string());
    ui.label(format!("{:.1} %", r.contention_pct()));
    for x in [w.p50, w.p90, w.p99, w.max, w.total] {
        ui.label(if r.contentions > 0 { ns(x) } else { "-".into() });
    }
    for x in [h.p50, h.p99, h.max] {
        ui.label(if measured_hold { ns(x) } else { "-".into() });
    }
    ui.label(r.max_waiters.to_string());
    if r.still_waiting > 0 {
        ui.label(RichText::new(r.still_waiting.to_string()).color(CYCLE));
    } else {
        ui.label("0");
    }
    ui.end_row();
}

/// Holders listed per wait site; the rest are summed up in one line.
const SHOWN_HOLDERS: usize = 8;

fn sites_ui(ui: &mut egui::Ui, v: &mut TraceView, class: u64) {
    let rows: Vec<SiteRow> = (v.site_rows().iter())
        .filter(|s| s.class == class)
        .cloned()
        .collect();
    let m = v.view();
    ui.heading(format!("Who made {} wait", m.class_name(class)));
    if rows.is_empty() {
        ui.label("Nobody waited for this lock in the selection.");
    }
    for s in rows {
        ui.label(
            RichText::new(format!(
                "{} wait{} at {} — {} in total, longest {}",
                s.waits,
                if s.waits == 1 { "" } else { "s" },
                m.site_name(s.site),
                ns(s.wait_total_ns),
                ns(s.wait_max_ns)
            ))
            .strong(),
        );
        for h in s.holders.iter().take(SHOWN_HOLDERS) {
            let at = h.site.map_or_else(
                || "where it took the lock was not recorded".to_owned(),
                |site| format!("taken at {}", m.site_name(site)),
            );
            let plural = if h.waits == 1 { "" } else { "s" };
            ui.label(format!(
                "    held by {} ({at}) — {} wait{plural}",
                m.actor_name(h.actor),
                h.waits
            ));
        }
        if let Some(rest) = s.holders.get(SHOWN_HOLDERS..).filter(|r| !r.is_empty()) {
            let waits: u64 = rest.iter().map(|h| h.waits).sum();
            ui.weak(format!(
                "    … and {} more holder{} ({waits} wait{})",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" },
                if waits == 1 { "" } else { "s" }
            ));
        }
    }
}

/// The selected lock's waits and holds by the tracing span they happened in.
fn spans_ui(ui: &mut egui::Ui, v: &mut TraceView, class: u64) {
    let rows: Vec<SpanRow> = (v.span_rows().iter())
        .filter(|r| r.class == class)
        .cloned()
        .collect();
    if rows.is_empty() {
        return;
    }
    ui.add_space(12.0);
    let name = v.view().class_name(class).to_owned();
    ui.heading(format!("{name} by tracing span"));
    ui.label("Waits for the lock and holds of it, by the span (endpoint, request) they were in.");
    egui::Grid::new("lock-spans")
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for title in [
                "Span",
                "Fields",
                "Waits",
                "Wait total",
                "Wait max",
                "Holds",
                "Hold total",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for r in &rows {
                ui.label(r.span.as_deref().unwrap_or("(no span)"));
                ui.label(r.fields.as_deref().unwrap_or(""));
                ui.label(r.waits.to_string());
                ui.label(ns(r.wait_ns_total));
                ui.label(ns(r.wait_ns_max));
                ui.label(r.holds.to_string());
                ui.label(ns(r.hold_ns_total));
                ui.end_row();
            }
        });
}
