//! Diff: per-lock deltas of this trace against another open trace (the base).

use egui::RichText;

use super::diff_flame::diff_flame_ui;
pub use super::state::DiffState;
use super::style::{WARN, delta_color, signed};
use super::{OtherTrace, TraceView, ns, signed_ns};
use crate::model::{FlameKind, LockRow, diff_tree, lock_deltas, stack_alignment};

/// Draws the per-lock deltas against the chosen base.
pub fn diff_ui(ui: &mut egui::Ui, v: &mut TraceView, others: &[OtherTrace<'_>]) {
    if others.is_empty() {
        ui.label("Open a second trace to compare: this trace is the new one, the other the base.");
        return;
    }
    let base_label = match &v.diff.base {
        Some(l) if others.iter().any(|o| &o.label == l) => l.clone(),
        _ => others[0].label.clone(),
    };
    let mut chosen = base_label.clone();
    ui.horizontal(|ui| {
        let label = ui.label("Base trace");
        egui::ComboBox::from_id_salt("diff-base")
            .selected_text(&chosen)
            .show_ui(ui, |ui| {
                for o in others {
                    ui.selectable_value(&mut chosen, o.label.clone(), &o.label);
                }
            })
            .response
            .labelled_by(label.id);
    });
    v.diff.base = Some(chosen.clone());
    let Some(base) = others.iter().find(|o| o.label == chosen) else {
        return;
    };
    ui.label(format!(
        "Changes from {} to this trace (red: worse, blue: better).",
        base.label
    ));
    if v.diff.cache.as_ref().is_none_or(|c| c.0 != base.label) {
        let new = v.view();
        let deltas = lock_deltas(base.model, new);
        let tree = diff_tree(base.model, new, FlameKind::Wait);
        v.diff.cache = Some((base.label.clone(), deltas, tree));
    }
    let Some((_, deltas, tree)) = &v.diff.cache else {
        return;
    };
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("diff-table")
            .striped(true)
            .spacing([20.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "Lock",
                    "Contentions (base)",
                    "Contentions (new)",
                    "Δ contentions",
                    "Total wait (base)",
                    "Total wait (new)",
                    "Δ total wait",
                    "Δ wait p99",
                    "Δ hold p99",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for d in deltas {
                    let count = |r: &Option<LockRow>| r.as_ref().map_or(0, |r| r.contentions);
                    let total = |r: &Option<LockRow>| r.as_ref().map_or(0, |r| r.wait.total());
                    ui.label(&d.name);
                    ui.label(count(&d.base).to_string());
                    ui.label(count(&d.new).to_string());
                    colored(ui, signed(d.contentions()), d.contentions());
                    ui.label(ns(total(&d.base)));
                    ui.label(ns(total(&d.new)));
                    colored(ui, signed_ns(d.wait_total_ns()), d.wait_total_ns());
                    colored(ui, signed_ns(d.wait_p99_ns()), d.wait_p99_ns());
                    colored(ui, signed_ns(d.hold_p99_ns()), d.hold_p99_ns());
                    ui.end_row();
                }
            });
        ui.add_space(12.0);
        ui.heading("Differential flamegraph of wait time");
        ui.label("Each frame is as wide as its larger cost; red: the new trace waits more there, blue: less.");
        if let Some(aligned) = stack_alignment(tree).filter(|&a| a < 0.5) {
            ui.label(
                RichText::new(format!(
                    "The two traces' stacks do not line up: only {:.0} % of the wait both \
                     traces have on the same locks sits on the same paths (another build, or \
                     different inlining). Compare the per-lock totals in the table above.",
                    aligned * 100.0
                ))
                .color(WARN),
            );
        }
        diff_flame_ui(ui, tree);
    });
}

fn colored(ui: &mut egui::Ui, text: String, v: i128) {
    ui.label(RichText::new(text).color(delta_color(v)));
}
