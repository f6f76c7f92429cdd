//! Painting one flame tree: frames as bars, the zoomed node's ancestors across the whole
//! width, hover figures with file:line, click to zoom, right-click to ask for a frame's
//! sandwich. Used by the flamegraph and by both halves of the sandwich view.

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, StrokeKind, pos2, vec2};

use super::ns;
pub use super::state::GraphFocus;
use super::style::frame_color;
use crate::model::{FlameTree, Model};

/// Height of one row of frames.
pub const ROW: f32 = 20.0;

/// The figures line: the hovered node (or the zoomed one) and its share.
pub fn figures_ui(ui: &mut egui::Ui, tree: &FlameTree, i: usize) {
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

///
/// `salt` keeps two graphs on one screen apart. Returns the frame right-clicked, if any.
pub fn graph_ui(
    ui: &mut egui::Ui,
    tree: &FlameTree,
    focus: &mut GraphFocus,
    search: &str,
    (hold, salt): (bool, &str),
    m: &Model,
) -> Option<String> {
    let width = ui.available_width().max(100.0);
    let height = (tree.max_depth() + 1) as f32 * ROW;
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let search = search.to_lowercase();
    let mut hovered = None;
    let (mut clicked, mut sandwich) = (None, None);
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
        let resp = ui.interact(r, ui.scope_id().with((salt, i)), Sense::click());
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &n.name));
        if resp.hovered() {
            hovered = Some(i);
        }
        if resp.clicked() {
            clicked = Some(i);
        }
        if resp.secondary_clicked() && i != 0 {
            sandwich = Some(n.name.clone());
        }
    };
    // Ancestors of the zoomed node span the whole width; its subtree is scaled to fit.
    let path = tree.path(focus.zoom);
    for &a in &path[..path.len() - 1] {
        draw(ui, a, 0.0, width);
    }
    let mut todo = vec![(focus.zoom, 0.0f32, width)];
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
    focus.hovered = hovered;
    if let Some(i) = hovered {
        let n = &tree.nodes[i];
        let parent = n
            .parent
            .map_or(n.total_ns, |p| tree.nodes[p].total_ns)
            .max(1);
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            ui.scope_id().with((salt, "tip")),
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
            ui.label("Click to zoom; right-click for its callers and callees (sandwich)");
        });
    }
    if let Some(i) = clicked {
        focus.zoom = if focus.zoom == i { 0 } else { i };
    }
    sandwich
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
