//! Wait-for graph: at a chosen instant, who waits for which lock and who holds it;
//! deadlock cycles highlighted with their report.
//!
//! Layout: threads that only wait on the left, locks in the middle, threads that hold a
//! lock on the right. "Waits for" arrows point at locks, "held by" arrows at holders, so
//! a cycle shows as arrows running back and forth between the last two columns.

use std::collections::BTreeMap;

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, pos2, vec2};

pub use super::state::WaitForState;
use super::style::{CYCLE, HOLD, WAIT, WARN};
use super::{TraceView, ns};
use crate::model::{Model, WaitForGraph};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Actor(u64),
    Lock(u64),
}

/// Draws the wait-for graph panel.
pub fn waitfor_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let m = v.narrowed.as_ref().unwrap_or(&v.model);
    let st = &mut v.waitfor;
    let (first, last) = v.model.time_span();
    let busiest = *st.busiest.get_or_insert_with(|| m.busiest_instant());
    let mut at = st.at_ns.unwrap_or(busiest).clamp(first, last);
    ui.horizontal(|ui| {
        let label = ui.label("Instant");
        ui.spacing_mut().slider_width = (ui.available_width() - 260.0).clamp(120.0, 600.0);
        let slider = egui::Slider::new(&mut at, first..=last)
            .custom_formatter(|x, _| ns(x as u64))
            .step_by(1.0);
        if ui.add(slider).labelled_by(label.id).changed() {
            st.at_ns = Some(at);
        }
        if ui.button("Busiest instant").clicked() {
            at = busiest;
            st.at_ns = None;
        }
        if ui.button("End of trace").clicked() {
            at = last;
            st.at_ns = Some(last);
        }
    });
    if st.graph.as_ref().is_none_or(|g| g.at_ns != at) {
        st.graph = Some(m.wait_for_at(at));
    }
    let Some(g) = &st.graph else { return };
    if g.edges.is_empty() {
        ui.label(format!("Nobody was waiting at {}.", ns(at)));
        return;
    }
    // One scroll area for the whole panel, the graph right under the headline: the detector's
    // report and the list of waits follow it, the list folded when it is long.
    egui::ScrollArea::vertical().show(ui, |ui| {
        headline_ui(ui, m, g);
        graph_ui(ui, m, g);
        ui.add_space(8.0);
        report_ui(ui, m, g);
        let n = g.edges.len();
        egui::CollapsingHeader::new(format!(
            "{n} wait{} open at {}",
            if n == 1 { "" } else { "s" },
            ns(g.at_ns)
        ))
        .id_salt("waitfor-edges")
        .default_open(n <= LIST_OPEN_UP_TO)
        .show(ui, |ui| edges_ui(ui, m, g));
    });
}

/// Longest list of waits shown unfolded.
const LIST_OPEN_UP_TO: usize = 8;

/// One line per open wait: who waits for what since when, held by whom.
fn edges_ui(ui: &mut egui::Ui, m: &Model, g: &WaitForGraph) {
    for e in &g.edges {
        let names = |ids: &[u64]| -> String {
            ids.iter()
                .map(|&h| m.actor_name(h))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let held = if !e.holders.is_empty() {
            format!("held by {}", names(&e.holders))
        } else if !e.released_by.is_empty() {
            format!(
                "free at this instant: {} released it and the waiters were not running yet",
                names(&e.released_by)
            )
        } else {
            "holder unknown (its hold was not recorded)".to_owned()
        };
        let text = format!(
            "{} waits for {} (since {}), {held}",
            m.actor_name(e.waiter),
            m.class_name(e.class),
            ns(e.since_ns),
        );
        let color = match (e.in_cycle, e.ended) {
            (true, false) => CYCLE,
            (true, true) => WARN,
            _ => ui.visuals().text_color(),
        };
        ui.label(RichText::new(text).color(color));
    }
}

/// The deadlock detector's own report of the deadlock shown, in full.
fn report_ui(ui: &mut egui::Ui, m: &Model, g: &WaitForGraph) {
    if g.deadlocked.is_empty() {
        return;
    }
    let names: Vec<String> = g.deadlocked.iter().map(|&a| m.actor_name(a)).collect();
    for a in m.alerts.iter().filter(|a| a.kind == "deadlock") {
        let actors = m.alert_actors(a);
        if actors.is_empty() || actors.iter().any(|n| names.contains(n)) {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(&a.text).monospace()).selectable(true));
            });
        }
    }
}

fn headline_ui(ui: &mut egui::Ui, m: &Model, g: &WaitForGraph) {
    let names = |set: &std::collections::BTreeSet<u64>| -> Vec<String> {
        set.iter().map(|&a| m.actor_name(a)).collect()
    };
    if !g.deadlocked.is_empty() {
        let names = names(&g.deadlocked);
        ui.label(
            RichText::new(format!(
                "Deadlock at {}: {} wait for each other and never stop waiting",
                ns(g.at_ns),
                names.join(", ")
            ))
            .color(CYCLE)
            .strong(),
        );
    } else if !g.cycle_actors.is_empty() {
        ui.label(
            RichText::new(format!(
                "{} appear to wait for each other at {}, but their waits ended: the holders known \
             from when the waits began had moved on (holds are sampled), so this is no deadlock",
                names(&g.cycle_actors).join(", "),
                ns(g.at_ns)
            ))
            .color(WARN),
        );
    }
}

fn graph_ui(ui: &mut egui::Ui, m: &Model, g: &WaitForGraph) {
    let holders: std::collections::BTreeSet<u64> = g
        .edges
        .iter()
        .flat_map(|e| e.holders.iter().copied())
        .collect();
    let mut columns: [Vec<Node>; 3] = Default::default();
    for e in &g.edges {
        let col = if holders.contains(&e.waiter) { 2 } else { 0 };
        columns[col].push(Node::Actor(e.waiter));
        columns[1].push(Node::Lock(e.lock));
        columns[2].extend(e.holders.iter().map(|&h| Node::Actor(h)));
    }
    for c in &mut columns {
        let mut seen = std::collections::BTreeSet::new();
        c.retain(|n| seen.insert(*n));
    }
    let rows = columns.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let width = ui.available_width().clamp(480.0, 900.0);
    let height = rows as f32 * 44.0 + 30.0;
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let mut pos: BTreeMap<Node, Pos2> = BTreeMap::new();
    for (ci, col) in columns.iter().enumerate() {
        let x = rect.left() + width * (0.15 + 0.35 * ci as f32);
        let top = rect.top() + (height - 30.0 - col.len() as f32 * 44.0) / 2.0 + 22.0;
        for (ri, n) in col.iter().enumerate() {
            pos.insert(*n, pos2(x, top + ri as f32 * 44.0));
        }
    }
    let classes = g.locks();
    let mut boxes: BTreeMap<Node, Rect> = BTreeMap::new();
    let mut galleys = Vec::new();
    for (node, p) in &pos {
        let text = match *node {
            Node::Actor(a) => m.actor_name(a),
            Node::Lock(l) => m.class_name(classes[&l]).to_owned(),
        };
        let galley = painter.layout_no_wrap(text, FontId::proportional(13.0), Color32::WHITE);
        let r = Rect::from_center_size(*p, galley.size() + vec2(16.0, 10.0));
        boxes.insert(*node, r);
        galleys.push((*node, r, galley));
    }
    for e in &g.edges {
        let (cycle, width) = (e.in_cycle && !e.ended, if e.in_cycle { 2.5 } else { 1.5 });
        // Waits on a deadlock turn red; "held by" stays green (thicker) so the direction of
        // each arrow still reads.
        let wait = Stroke::new(width, if cycle { CYCLE } else { WAIT });
        let held = Stroke::new(width, HOLD);
        let (w, l) = (boxes[&Node::Actor(e.waiter)], boxes[&Node::Lock(e.lock)]);
        arrow(&painter, w, l, -5.0, wait);
        for &h in &e.holders {
            arrow(&painter, l, boxes[&Node::Actor(h)], 5.0, held);
        }
    }
    for (node, r, galley) in galleys {
        let (fill, rounding) = match node {
            Node::Actor(_) => (Color32::from_rgb(58, 88, 150), 10.0),
            Node::Lock(_) => (Color32::from_rgb(140, 96, 40), 2.0),
        };
        painter.rect_filled(r, rounding, fill);
        if matches!(node, Node::Actor(a) if g.deadlocked.contains(&a)) {
            painter.rect_stroke(r, rounding, Stroke::new(2.5, CYCLE), StrokeKind::Outside);
        }
        painter.galley(r.min + vec2(8.0, 5.0), galley, Color32::WHITE);
    }
    painter.text(
        rect.left_bottom() + vec2(4.0, -4.0),
        Align2::LEFT_BOTTOM,
        "blue: thread or task   brown: lock   red arrow: waits for   green arrow: held by",
        FontId::proportional(11.0),
        ui.visuals().weak_text_color(),
    );
}

/// An arrow between two boxes, edge to edge, shifted sideways by `offset` so that arrows
/// in both directions between the same boxes stay apart.
fn arrow(painter: &egui::Painter, from: Rect, to: Rect, offset: f32, stroke: Stroke) {
    let d = to.center() - from.center();
    if d.length() < 1.0 {
        return;
    }
    let dir = d.normalized();
    let side = vec2(-dir.y, dir.x) * offset;
    let exit = |r: Rect, dir: egui::Vec2| {
        let tx = if dir.x.abs() > 1e-3 {
            r.width() / 2.0 / dir.x.abs()
        } else {
            f32::INFINITY
        };
        let ty = if dir.y.abs() > 1e-3 {
            r.height() / 2.0 / dir.y.abs()
        } else {
            f32::INFINITY
        };
        r.center() + dir * tx.min(ty)
    };
    let a = exit(from, dir) + side;
    let b = exit(to, -dir) + side;
    painter.line_segment([a, b], stroke);
    let head = 9.0;
    let back = b - dir * head;
    let n = vec2(-dir.y, dir.x) * head * 0.45;
    painter.add(egui::Shape::convex_polygon(
        vec![b, back + n, back - n],
        stroke.color,
        Stroke::NONE,
    ));
}
