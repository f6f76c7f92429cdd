//! The sandwich view (speedscope's): a table of every frame with its self and total time;
//! for the picked frame, the callers that reached it above and what it called below, each a
//! flame graph rooted at the frame.

use std::sync::Arc;

use egui::RichText;

use super::flame_graph::{figures_ui, graph_ui};
use super::job::Job;
use super::{TraceView, ns};
use crate::model::{FlameKind, FrameCost};

/// Rows shown before the table scrolls.
const TABLE_ROWS: f32 = 10.0;

/// Draws the sandwich view of the `kind` flamegraph.
pub fn sandwich_ui(ui: &mut egui::Ui, v: &mut TraceView, kind: FlameKind) {
    let (model, large, ctx) = (v.view_arc(), v.is_large(), v.ctx.clone());
    let order = v.flame.order;
    let st = &mut v.flame;
    let m = Arc::clone(&model);
    st.costs
        .start(large, "lockscope-sandwich", ctx.clone(), move || {
            m.frame_costs(kind)
        });
    let Some(costs) = st.costs.take_done() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Adding up every frame…");
        });
        return;
    };
    if costs.is_empty() {
        ui.label("Nothing to show: no wait (or timed hold) with a known length in this view.");
        st.costs = Job::Done(costs);
        return;
    }
    let all: u64 = (costs.iter().filter(|c| c.is_lock))
        .map(|c| c.total_ns)
        .fold(0, u64::saturating_add)
        .max(1);
    if let Some(picked) = table_ui(
        ui,
        &costs,
        &st.search.to_lowercase(),
        st.picked.as_deref(),
        all,
    ) {
        st.picked = Some(picked);
        st.forget_halves();
    }
    let known = |f: &String| costs.iter().any(|c| &c.name == f);
    let picked = st.picked.clone().filter(known);
    if let Some(missing) = st.picked.as_ref().filter(|f| !known(f)) {
        ui.label(
            RichText::new(format!(
                "No frame named “{missing}” in this view: pick one above."
            ))
            .color(super::style::WARN),
        );
    }
    st.costs = Job::Done(costs);
    let Some(frame) = picked else {
        ui.label("Pick a frame above (or right-click one in the flame graph) to see its callers and callees.");
        return;
    };
    let m = Arc::clone(&model);
    let f = frame.clone();
    st.halves.start(large, "lockscope-sandwich", ctx, move || {
        m.sandwich(kind, &f, order)
    });
    let Some(halves) = st.halves.take_done() else {
        ui.spinner();
        return;
    };
    let hold = kind == FlameKind::Hold;
    egui::ScrollArea::vertical()
        .id_salt("sandwich-graphs")
        .show(ui, |ui| {
            ui.separator();
            let search = st.search.clone();
            let callers = (
                format!("Callers of {frame}"),
                "The frame at the top, then the function that called it, out to the threads' first frames",
            );
            half_ui(ui, callers, &halves.callers, &mut st.callers, (&search, hold), &model);
            ui.add_space(8.0);
            let callees = (
                format!("Callees of {frame}"),
                "The frame at the top, then what it called, down to the locks",
            );
            half_ui(ui, callees, &halves.callees, &mut st.callees, (&search, hold), &model);
        });
    st.halves = Job::Done(halves);
}

/// One half of the sandwich: its title (and what it shows, on hover), figures and graph.
fn half_ui(
    ui: &mut egui::Ui,
    (title, hint): (String, &str),
    tree: &crate::model::FlameTree,
    focus: &mut super::flame_graph::GraphFocus,
    (search, hold): (&str, bool),
    model: &crate::model::Model,
) {
    ui.label(RichText::new(&title).strong()).on_hover_text(hint);
    if focus.zoom >= tree.nodes.len() {
        focus.zoom = 0;
    }
    figures_ui(ui, tree, focus.hovered.unwrap_or(focus.zoom));
    graph_ui(ui, tree, focus, search, (hold, &title), model);
}

/// The frame table, heaviest total first, filtered by the search; returns the frame clicked.
fn table_ui(
    ui: &mut egui::Ui,
    costs: &[FrameCost],
    search: &str,
    picked: Option<&str>,
    all: u64,
) -> Option<String> {
    let mut clicked = None;
    let pct = |v: u64| format!("{:.1} %", v as f64 * 100.0 / all as f64);
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    egui::ScrollArea::vertical()
        .id_salt("sandwich-table")
        .max_height(row_h * (TABLE_ROWS + 1.0))
        .show(ui, |ui| {
            egui::Grid::new("sandwich-table-grid")
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    for title in ["Frame", "Self", "", "Total", "", "Events"] {
                        ui.strong(title);
                    }
                    ui.end_row();
                    let shown = costs
                        .iter()
                        .filter(|c| search.is_empty() || c.name.to_lowercase().contains(search));
                    for c in shown {
                        let name = if c.is_lock {
                            format!("{} (lock)", c.name)
                        } else {
                            c.name.clone()
                        };
                        let selected = picked == Some(c.name.as_str());
                        if ui.selectable_label(selected, name).clicked() {
                            clicked = Some(c.name.clone());
                        }
                        ui.label(ns(c.self_ns));
                        ui.label(pct(c.self_ns));
                        ui.label(ns(c.total_ns));
                        ui.label(pct(c.total_ns));
                        ui.label(c.count.to_string());
                        ui.end_row();
                    }
                });
        });
    clicked
}
