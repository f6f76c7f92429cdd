//! The differential flamegraph of the diff panel: both traces' stacks in one tree, each
//! frame as wide as its larger weight, red where the new trace waits more, blue where less.

use egui::{Align2, Color32, FontId, Rect, Sense, pos2, vec2};

use super::style::{BETTER, WORSE};
use super::{ns, signed_ns};
use crate::model::DiffNode;

const ROW: f32 = 20.0;

/// The colour of a change: red for more, blue for less, grey for none; stronger the larger
/// the change relative to the frame.
pub fn delta_fill(n: &DiffNode) -> Color32 {
    let w = n.width_ns().max(1) as f32;
    let k = (n.delta_ns().unsigned_abs() as f32 / w).clamp(0.0, 1.0);
    let grey = Color32::from_gray(120);
    let target = match n.delta_ns().signum() {
        1 => WORSE,
        -1 => BETTER,
        _ => grey,
    };
    grey.lerp_to_gamma(target, 0.35 + 0.65 * k)
}

/// Draws the tree; hovering a frame shows both weights and the change.
pub fn diff_flame_ui(ui: &mut egui::Ui, nodes: &[DiffNode]) {
    let Some(root) = nodes.first() else { return };
    if root.width_ns() == 0 {
        ui.label("Neither trace has a contended wait.");
        return;
    }
    let depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    let width = ui.available_width().max(100.0);
    let (rect, resp) =
        ui.allocate_exact_size(vec2(width, (depth + 1) as f32 * ROW), Sense::hover());
    let painter = ui.painter_at(rect);
    let pointer = resp.hover_pos();
    let mut hovered = None;
    let mut todo = vec![(0usize, 0.0f32, width)];
    while let Some((i, x0, w)) = todo.pop() {
        let n = &nodes[i];
        let r = Rect::from_min_size(
            pos2(rect.left() + x0, rect.top() + n.depth as f32 * ROW),
            vec2(w, ROW - 1.0),
        );
        painter.rect_filled(r, 2.0, delta_fill(n));
        if w > 30.0 {
            let max = ((w - 6.0) / 7.0) as usize;
            let text: String = if n.name.chars().count() > max {
                n.name
                    .chars()
                    .take(max.saturating_sub(1))
                    .chain(['…'])
                    .collect()
            } else {
                n.name.clone()
            };
            painter.text(
                r.left_center() + vec2(3.0, 0.0),
                Align2::LEFT_CENTER,
                text,
                FontId::proportional(12.0),
                Color32::WHITE,
            );
        }
        if pointer.is_some_and(|p| r.contains(p)) {
            hovered = Some(i);
        }
        let mut x = x0;
        for &c in &n.children {
            let cw = w * nodes[c].width_ns() as f32 / n.width_ns().max(1) as f32;
            if cw >= 1.0 {
                todo.push((c, x, cw));
            }
            x += cw;
        }
    }
    if let Some(i) = hovered {
        let n = &nodes[i];
        resp.on_hover_ui_at_pointer(|ui| {
            ui.strong(&n.name);
            ui.label(format!("base {}, new {}", ns(n.base_ns), ns(n.new_ns)));
            ui.label(format!("change {}", signed_ns(n.delta_ns())));
        });
    }
}
