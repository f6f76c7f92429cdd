//! Flamegraph: wait time by the waiter's stack (or hold time by the holder's site), the lock
//! as the leaf, drawn with the painter. Click to zoom, hover for figures, search highlights.

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, StrokeKind, pos2, vec2};

use super::job::Job;
pub use super::state::FlameState;
use super::style::frame_color;
use super::{TraceView, ns};
use crate::model::{FlameKind, FlameOrder, FlameTree, Model};
use std::sync::Arc;

const ROW: f32 = 20.0;

/// Draws the flamegraph panel.
pub fn flame_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let mut changed = false;
    ui.horizontal(|ui| {
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
        egui::ScrollArea::vertical().show(ui, |ui| {
            graph_ui(ui, &tree, st, kind == FlameKind::Hold, &model_for_tips);
        });
    }
    st.tree = Job::Done(tree);
}

/// The figures line: the hovered node (or the zoomed one) and its share.
fn figures_ui(ui: &mut egui::Ui, tree: &FlameTree, i: usize) {
    let n = &tree.nodes[i];
    let all = tree.total_ns().max(1);
    ui.label(format!(
        "{} — {} ({:.1} % of all), {} events",
        n.name,
        ns(n.total_ns),
        n.total_ns as f64 * 100.0 / all as f64,
        n.count
    ));
}

fn graph_ui(ui: &mut egui::Ui, tree: &FlameTree, st: &mut FlameState, hold: bool, m: &Model) {
    let width = ui.available_width().max(100.0);
    let height = (tree.max_depth() + 1) as f32 * ROW;
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let search = st.search.to_lowercase();
    let mut hovered = None;
    let mut clicked = None;
    let mut draw = |ui: &mut egui::Ui, i: usize, x0: f32, w: f32| {
        let n = &tree.nodes[i];
        let r = Rect::from_min_size(
            pos2(rect.left() + x0, rect.top() + n.depth as f32 * ROW),
            vec2(w, ROW - 1.0),
        );
        let matched = !search.is_empty() && n.name.to_lowercase().contains(&search);
        let mut fill = if i == 0 {
            Color32::from_gray(110)
        } else {
            frame_color(&n.name, hold)
        };
        if !search.is_empty() && !matched {
            fill = fill.gamma_multiply(0.35);
        }
        painter.rect_filled(r, 2.0, fill);
        if matched {
            painter.rect_stroke(r, 2.0, Stroke::new(2.0, Color32::WHITE), StrokeKind::Inside);
        }
        if w > 30.0 {
            let text = clip(&n.name, ((w - 6.0) / 7.0) as usize);
            painter.text(
                r.left_center() + vec2(3.0, 0.0),
                Align2::LEFT_CENTER,
                text,
                FontId::proportional(12.0),
                Color32::BLACK,
            );
        }
        if w < 3.0 {
            return;
        }
        let resp = ui.interact(r, ui.scope_id().with(("flame-node", i)), Sense::click());
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &n.name));
        if resp.hovered() {
            hovered = Some(i);
        }
        if resp.clicked() {
            clicked = Some(i);
        }
    };
    // Ancestors of the zoomed node span the whole width; its subtree is scaled to fit.
    let path = tree.path(st.zoom);
    for &a in &path[..path.len() - 1] {
        draw(ui, a, 0.0, width);
    }
    let mut todo = vec![(st.zoom, 0.0f32, width)];
    while let Some((i, x0, w)) = todo.pop() {
        draw(ui, i, x0, w);
        let n = &tree.nodes[i];
        let mut x = x0;
        for &c in &n.children {
            let cw = w * tree.nodes[c].total_ns as f32 / n.total_ns.max(1) as f32;
            if cw >= 1.0 {
                todo.push((c, x, cw));
            }
            x += cw;
        }
    }
    st.hovered = hovered;
    if let Some(i) = hovered {
        let n = &tree.nodes[i];
        let parent = n
            .parent
            .map_or(n.total_ns, |p| tree.nodes[p].total_ns)
            .max(1);
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            ui.scope_id().with("flame-tip"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| {
            ui.strong(&n.name);
            if let Some(at) = m.location_of(&n.name) {
                ui.monospace(at);
            }
            ui.label(format!("{} in {} events", ns(n.total_ns), n.count));
            ui.label(format!(
                "{:.1} % of all, {:.1} % of its caller",
                n.total_ns as f64 * 100.0 / tree.total_ns().max(1) as f64,
                n.total_ns as f64 * 100.0 / parent as f64
            ));
            ui.label("Click to zoom");
        });
    }
    if let Some(i) = clicked {
        st.zoom = if st.zoom == i { 0 } else { i };
    }
}

/// `s` cut to `max` characters with a trailing `…`.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
