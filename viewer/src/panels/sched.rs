//! Context switches on the timeline: each thread's switches per second as a line inside its
//! lane, and every thread's together as a strip under the lanes, on the same time axis.

use std::collections::HashMap;

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, pos2, vec2};

use crate::model::{Lane, Model};

/// The colour of switch rates.
pub const SWITCHES: Color32 = Color32::from_rgb(170, 120, 230);
const STRIP_H: f32 = 56.0;

/// Per-lane lines: each thread's switches per second between its samples, scaled to the
/// busiest thread in `[a, b]`, drawn in the lower part of its lane.
pub fn lane_lines(
    painter: &egui::Painter,
    m: &Model,
    lanes: &[Lane],
    lane_y: &HashMap<u64, f32>,
    lane_h: f32,
    to_x: &impl Fn(f64) -> f32,
    (a, b): (f64, f64),
) {
    let rates: Vec<(f32, Vec<_>)> = (lanes.iter())
        .filter_map(|l| Some((*lane_y.get(&l.actor)?, m.switch_rates(l.actor))))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let visible =
        |r: &crate::model::sched::SwitchRate| (r.to_ns as f64) >= a && (r.from_ns as f64) <= b;
    let top = (rates.iter().flat_map(|(_, r)| r.iter()))
        .filter(|r| visible(r))
        .map(|r| r.total_per_s())
        .fold(0.0_f64, f64::max);
    if top <= 0.0 {
        return;
    }
    for (y, rs) in rates {
        let base = y + lane_h - 2.0;
        let h = lane_h - 4.0;
        let mut points: Vec<Pos2> = Vec::new();
        for r in rs.iter().filter(|r| visible(r)) {
            let ry = base - (r.total_per_s() / top) as f32 * h;
            points.push(pos2(to_x(r.from_ns as f64), ry));
            points.push(pos2(to_x(r.to_ns as f64), ry));
        }
        painter.add(egui::Shape::line(points, Stroke::new(1.5, SWITCHES)));
    }
}

/// The strip under the lanes: every thread's switches per second together, binned one bin
/// per 4 pixels, aligned with the lanes' time axis (`plot_x`: the lanes' left and right).
pub fn total_strip_ui(ui: &mut egui::Ui, m: &Model, (a, b): (f64, f64), plot_x: (f32, f32)) {
    if m.sched.threads.is_empty() {
        return;
    }
    let (left, right) = plot_x;
    let bins = (((right - left) / 4.0).max(1.0)) as usize;
    let rates = m.total_switch_rate(a.max(0.0) as u64, b.max(0.0) as u64, bins);
    let peak = rates.iter().copied().fold(0.0_f64, f64::max);
    ui.label(format!(
        "Context switches per second, all threads (peak {peak:.0}/s in view); the purple line \
         in each lane is that thread's rate"
    ));
    let width = ui.available_width();
    let (rect, resp) = ui.allocate_exact_size(vec2(width, STRIP_H), Sense::hover());
    let label = "Context switches per second over time";
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, label));
    let plot = Rect::from_min_max(
        pos2(left, rect.top() + 2.0),
        pos2(right, rect.bottom() - 2.0),
    );
    let painter = ui.painter_at(rect);
    painter.rect_filled(plot, 0.0, ui.visuals().faint_bg_color);
    painter.text(
        pos2(rect.left(), rect.center().y),
        Align2::LEFT_CENTER,
        "switches/s",
        FontId::proportional(11.0),
        ui.visuals().text_color(),
    );
    if peak <= 0.0 {
        return;
    }
    super::axes::value_axis(&painter, plot, peak, 1.0, "");
    let w = plot.width() / bins as f32;
    for (i, r) in rates.iter().enumerate().filter(|(_, r)| **r > 0.0) {
        let h = (r / peak) as f32 * plot.height();
        let x = plot.left() + i as f32 * w;
        let bar = Rect::from_min_max(pos2(x, plot.bottom() - h), pos2(x + w, plot.bottom()));
        painter.rect_filled(bar, 0.0, SWITCHES);
    }
    if let Some(p) = resp.hover_pos()
        && plot.x_range().contains(p.x)
    {
        let i = (((p.x - plot.left()) / w) as usize).min(bins - 1);
        let t = a + (b - a) * (i as f64 + 0.5) / bins as f64;
        resp.on_hover_text(format!(
            "{:.0} switches/s around {}",
            rates[i],
            super::ns(t as u64)
        ));
    }
}
