//! Flamegraph: wait time by the waiter's stack (or hold time by the holder's site), the lock
//! as the leaf, drawn with the painter. Click to zoom, hover for figures, search highlights,
//! right-click (or the Sandwich view) for one frame's callers and callees.

use super::flame_graph::{GraphFocus, figures_ui, graph_ui};
use super::job::Job;
use super::sandwich::sandwich_ui;
pub use super::state::FlameState;
use super::{TraceView, ns};
use crate::model::{FlameKind, FlameOrder};
use std::sync::Arc;

/// Draws the flamegraph panel.
pub fn flame_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let (mut changed, mut save_svg) = (false, false);
    ui.horizontal(|ui| {
        ui.selectable_value(&mut v.flame.sandwich, false, "Flame graph");
        ui.selectable_value(&mut v.flame.sandwich, true, "Sandwich")
            .on_hover_text(
                "Every frame with its self and total time; pick one to see who called it \
                 (above) and what it called (below)",
            );
        ui.separator();
        changed |= ui
            .selectable_value(&mut v.flame.hold, false, "Wait by waiter stack")
            .changed();
        changed |= ui
            .selectable_value(&mut v.flame.hold, true, "Hold by holder site")
            .changed();
        ui.separator();
        changed |= ui
            .selectable_value(&mut v.flame.order, FlameOrder::LeftHeavy, "Left-heavy")
            .changed();
        changed |= ui
            .selectable_value(&mut v.flame.order, FlameOrder::TimeOrder, "Time order")
            .changed();
        ui.separator();
        changed |= ui
            .checkbox(&mut v.flame.inverted, "Lock first")
            .on_hover_text(
                "Inverted: each lock at the root, then where it was waited for (or held), \
                 out to the callers",
            )
            .changed();
        ui.separator();
        ui.add(
            egui::TextEdit::singleline(&mut v.flame.search)
                .hint_text("Search frames")
                .desired_width(160.0),
        );
        if ui.button("Reset zoom").clicked() {
            v.flame.zoom = 0;
            v.flame.callers.zoom = 0;
            v.flame.callees.zoom = 0;
        }
        save_svg = ui
            .button("Save SVG")
            .on_hover_text(
                "Write this selection's flame graph beside the trace as an SVG, as \
                 lockscope flamegraph draws it (searchable and zoomable in a browser)",
            )
            .clicked();
        match &v.flame.saved {
            Some(Ok(p)) => {
                ui.label(format!("saved {}", p.display()));
            }
            Some(Err(why)) => {
                ui.label(egui::RichText::new(why).color(super::style::WARN));
            }
            None => {}
        }
    });
    if changed {
        v.flame.invalidate();
    }
    let kind = if v.flame.hold {
        FlameKind::Hold
    } else {
        FlameKind::Wait
    };
    if save_svg {
        v.flame.saved = Some(write_svg(v, kind));
    }
    if v.flame.sandwich {
        sandwich_ui(ui, v, kind);
        return;
    }
    let (order, inverted) = (v.flame.order, v.flame.inverted);
    let (model, large, ctx) = (v.view_arc(), v.is_large(), v.ctx.clone());
    let model_for_tips = Arc::clone(&model);
    let scope = if v.filter().is_empty() {
        "trace"
    } else {
        "selection"
    };
    let st = &mut v.flame;
    st.tree.start(large, "lockscope-flame", ctx, move || {
        model.flame_tree_with(kind, order, inverted)
    });
    let Some(tree) = st.tree.take_done() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Building the flamegraph…");
        });
        return;
    };
    if tree.total_ns() == 0 {
        ui.label(if st.hold {
            format!("No timed hold was recorded in this {scope}.")
        } else {
            format!("No contended wait was recorded in this {scope}.")
        });
    } else {
        if st.zoom >= tree.nodes.len() {
            st.zoom = 0;
        }
        figures_ui(ui, &tree, st.hovered.unwrap_or(st.zoom));
        if !st.search.is_empty() {
            let (n, weight) = tree.search(&st.search.to_lowercase());
            let frames = if n == 1 {
                "frame matches"
            } else {
                "frames match"
            };
            ui.label(format!(
                "{n} {frames} “{}”: {} ({:.1} % of all)",
                st.search,
                ns(weight),
                weight as f64 * 100.0 / tree.total_ns().max(1) as f64
            ));
        }
        let mut focus = GraphFocus {
            zoom: st.zoom,
            hovered: st.hovered,
        };
        let search = st.search.clone();
        let picked = egui::ScrollArea::vertical().show(ui, |ui| {
            let hold = kind == FlameKind::Hold;
            graph_ui(
                ui,
                &tree,
                &mut focus,
                &search,
                (hold, "flame"),
                &model_for_tips,
            )
        });
        (st.zoom, st.hovered) = (focus.zoom, focus.hovered);
        if let Some(frame) = picked.inner {
            st.sandwich = true;
            st.picked = Some(frame);
            st.forget_halves();
        }
    }
    st.tree = Job::Done(tree);
}

/// Writes the selection's flame graph of `kind` beside the trace (`.wait.svg`, `.hold.svg`).
fn write_svg(v: &TraceView, kind: FlameKind) -> Result<std::path::PathBuf, String> {
    let what = match kind {
        FlameKind::Wait => "wait.svg",
        FlameKind::Hold => "hold.svg",
    };
    let path = super::beside_trace(&v.path, what);
    let svg = crate::export::flamegraph_svg(&v.view_arc(), kind, None)
        .map_err(|e| format!("cannot draw the SVG: {e}"))?
        .ok_or_else(|| "nothing to draw in this selection".to_owned())?;
    std::fs::write(&path, svg)
        .map(|()| path.clone())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
