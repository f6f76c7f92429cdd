//! Wait-for graph: at a chosen instant, who waits for which lock and who holds it;
//! deadlock cycles highlighted with their report.

use std::collections::BTreeMap;

use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, pos2, vec2};

use super::style::{CYCLE, HOLD, WAIT};
use super::{TraceView, ns};
use crate::model::{Model, WaitForGraph};

/// The chosen instant.
#[derive(Debug, Default)]
pub struct WaitForState {
    /// The instant; `None`: the busiest one.
    pub at_ns: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Actor(u64),
    Lock(u64),
}

/// Draws the wait-for graph panel.
pub fn waitfor_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let m = &v.view;
    let (first, last) = v.model.time_span();
    let busiest = m.busiest_instant();
    let mut at = v.waitfor.at_ns.unwrap_or(busiest).clamp(first, last);
    ui.horizontal(|ui| {
        ui.label("Instant");
        let slider = egui::Slider::new(&mut at, first..=last).custom_formatter(|x, _| ns(x as u64));
        if ui.add(slider).changed() {
            v.waitfor.at_ns = Some(at);
        }
        if ui.button("Busiest instant").clicked() {
            at = busiest;
            v.waitfor.at_ns = None;
        }
        if ui.button("End of trace").clicked() {
            at = last;
            v.waitfor.at_ns = Some(last);
        }
    });
    let g = m.wait_for_at(at);
    if g.edges.is_empty() {
        ui.label(format!("Nobody was waiting at {}.", ns(at)));
        return;
    }
    let actors = g.actors();
    if !g.cycle_actors.is_empty() {
        let names: Vec<String> = g.cycle_actors.iter().map(|&a| m.actor_name(a)).collect();
        ui.label(
            RichText::new(format!(
                "Deadlock at {}: {} wait for each other",
                ns(at),
                names.join(", ")
            ))
            .color(CYCLE)
            .strong(),
        );
        for a in m.alerts.iter().filter(|a| a.kind == "deadlock") {
            if a.actors.is_empty() || a.actors.iter().any(|n| names.contains(n)) {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.add(egui::Label::new(RichText::new(&a.text).monospace()).selectable(true));
                });
            }
        }
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for e in &g.edges {
            let holders: Vec<String> = e.holders.iter().map(|&h| m.actor_name(h)).collect();
            let text = format!(
                "{} waits for {} (since {}), held by {}",
                m.actor_name(e.waiter),
                m.class_name(e.class),
                ns(e.since_ns),
                if holders.is_empty() {
                    "unknown".to_owned()
                } else {
                    holders.join(", ")
                }
            );
            let color = if e.in_cycle {
                CYCLE
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(text).color(color));
        }
        ui.add_space(8.0);
        graph_ui(ui, m, &g, actors.len());
    });
}

fn graph_ui(ui: &mut egui::Ui, m: &Model, g: &WaitForGraph, actors: usize) {
    // Nodes around a circle, in edge order, so a cycle sits together.
    let mut order: Vec<Node> = Vec::new();
    let mut push = |n: Node| {
        if !order.contains(&n) {
            order.push(n);
        }
    };
    for e in &g.edges {
        push(Node::Actor(e.waiter));
        push(Node::Lock(e.lock));
        e.holders.iter().for_each(|&h| push(Node::Actor(h)));
    }
    let size = ui.available_width().clamp(240.0, 640.0);
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), size), Sense::hover());
    let painter = ui.painter_at(rect);
    let center = pos2(rect.left() + size / 2.0 + 20.0, rect.center().y);
    let radius = size / 2.0 - 50.0;
    let n = order.len().max(1) as f32;
    let pos: BTreeMap<Node, Pos2> = (order.iter().enumerate())
        .map(|(i, &node)| {
            let a = std::f32::consts::TAU * i as f32 / n - std::f32::consts::FRAC_PI_2;
            (node, center + radius * vec2(a.cos(), a.sin()))
        })
        .collect();
    let text_color = ui.visuals().text_color();
    for e in &g.edges {
        let (w, l) = (pos[&Node::Actor(e.waiter)], pos[&Node::Lock(e.lock)]);
        let stroke = Stroke::new(
            if e.in_cycle { 3.0 } else { 1.5 },
            if e.in_cycle { CYCLE } else { WAIT },
        );
        arrow(&painter, w, l, stroke);
        for &h in &e.holders {
            let hp = pos[&Node::Actor(h)];
            let stroke = Stroke::new(
                if e.in_cycle { 3.0 } else { 1.5 },
                if e.in_cycle { CYCLE } else { HOLD },
            );
            arrow(&painter, l, hp, stroke);
        }
    }
    let classes = g.locks();
    for (node, p) in &pos {
        let (text, fill) = match *node {
            Node::Actor(a) => (m.actor_name(a), Color32::from_rgb(60, 90, 150)),
            Node::Lock(l) => (
                m.class_name(classes[&l]).to_owned(),
                Color32::from_rgb(150, 100, 40),
            ),
        };
        let galley = painter.layout_no_wrap(text, FontId::proportional(13.0), Color32::WHITE);
        let r = Rect::from_center_size(*p, galley.size() + vec2(14.0, 8.0));
        let rounding = if matches!(node, Node::Actor(_)) {
            10.0
        } else {
            2.0
        };
        painter.rect_filled(r, rounding, fill);
        let on_cycle = matches!(node, Node::Actor(a) if g.cycle_actors.contains(a));
        if on_cycle {
            painter.rect_stroke(r, rounding, Stroke::new(2.5, CYCLE), StrokeKind::Outside);
        }
        painter.galley(r.min + vec2(7.0, 4.0), galley, Color32::WHITE);
    }
    let legend = format!(
        "{actors} threads; blue: thread, brown: lock; red arrow: waits for, green arrow: held by"
    );
    painter.text(
        rect.left_bottom() + vec2(4.0, -4.0),
        Align2::LEFT_BOTTOM,
        legend,
        FontId::proportional(11.0),
        text_color,
    );
}

fn arrow(painter: &egui::Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    let d = to - from;
    let len = d.length();
    if len < 1.0 {
        return;
    }
    // Stop short of the node boxes at both ends.
    let dir = d / len;
    let (a, b) = (from + dir * 24.0, to - dir * 24.0);
    painter.arrow(a, b - a, stroke);
}
