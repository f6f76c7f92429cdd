//! Causal: the predicted throughput change of each progress point if one lock class's critical
//! sections were faster, as curves over the virtual speedup with their 95 % intervals, and the
//! same figures as the report's table. Both come from `Model::causal_profile`.

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, pos2, vec2};

use super::axes::nice_ticks;
use super::style::WAIT;
use super::view::TraceView;
use crate::model::causal::{CausalLine, CausalProfile};

const PALETTE: [Color32; 6] = [
    Color32::from_rgb(214, 62, 62),
    Color32::from_rgb(80, 140, 240),
    Color32::from_rgb(72, 166, 88),
    Color32::from_rgb(230, 160, 40),
    Color32::from_rgb(170, 100, 210),
    Color32::from_rgb(60, 180, 190),
];

/// Lines drawn at most (highest impact first); the table lists them all.
const MAX_CURVES: usize = 6;

/// Draws the Causal panel.
pub fn causal_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let model = std::sync::Arc::clone(&v.model);
    let profile = v.causal.profile(&model);
    egui::ScrollArea::vertical().show(ui, |ui| {
        if profile.experiments == 0 {
            ui.label(
                "No causal experiments in this trace. Mark finished work with \
                 lockscope::progress(\"requests\") and run with LOCKSCOPE_CAUSAL=1: lockscope then \
                 virtually speeds up one lock class's critical sections at a time and measures \
                 what happens to the progress rate.",
            );
            return;
        }
        let baselines: Vec<String> = profile
            .baselines
            .iter()
            .map(|(p, n)| format!("{n} baselines for \"{p}\""))
            .collect();
        ui.label(format!(
            "{} experiments, {}. Each point: the predicted throughput change if that lock's \
             critical sections took that much less time; bars are 95 % intervals.",
            profile.experiments,
            baselines.join(", ")
        ));
        if let Some(warning) = profile.oversubscribed_warning() {
            ui.label(egui::RichText::new(format!("Warning: {warning}")).color(WAIT));
        }
        if profile.lines.is_empty() {
            ui.label(
                "No prediction yet: it needs baseline and sped-up experiments that counted progress.",
            );
            return;
        }
        curves_ui(ui, &profile);
        ui.add_space(8.0);
        table_ui(ui, &profile);
    });
}

fn curves_ui(ui: &mut egui::Ui, profile: &CausalProfile) {
    let lines: Vec<&CausalLine> = profile.lines.iter().take(MAX_CURVES).collect();
    let (mut lo, mut hi) = (-5.0f64, 5.0f64);
    for p in lines.iter().flat_map(|l| &l.points) {
        let ci = p.ci_pct.unwrap_or(0.0);
        lo = lo.min(p.throughput_change_pct - ci);
        hi = hi.max(p.throughput_change_pct + ci);
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let width = ui.available_width().min(900.0);
    let (resp, painter) = ui.allocate_painter(vec2(width, 300.0), Sense::hover());
    let plot = Rect::from_min_max(
        resp.rect.min + vec2(56.0, 8.0),
        resp.rect.max - vec2(140.0, 28.0),
    );
    let text = ui.visuals().text_color();
    let grid = Stroke::new(1.0, Color32::from_rgba_premultiplied(60, 60, 60, 60));
    let font = FontId::proportional(10.5);
    let x_of = |s: f64| plot.left() + (s / 100.0) as f32 * plot.width();
    let y_of = |c: f64| plot.bottom() - ((c - lo) / (hi - lo)) as f32 * plot.height();
    let (ticks, _) = nice_ticks(lo, hi, ((plot.height() / 28.0) as usize).max(2), 0.0);
    for t in ticks {
        let y = y_of(t);
        let stroke = if t == 0.0 {
            Stroke::new(1.0, text.gamma_multiply(0.5))
        } else {
            grid
        };
        painter.line_segment([pos2(plot.left(), y), pos2(plot.right(), y)], stroke);
        painter.text(
            pos2(plot.left() - 4.0, y),
            Align2::RIGHT_CENTER,
            format!("{t:+.0} %"),
            font.clone(),
            text,
        );
    }
    for s in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let x = x_of(s);
        painter.line_segment([pos2(x, plot.top()), pos2(x, plot.bottom())], grid);
        painter.text(
            pos2(x, plot.bottom() + 2.0),
            Align2::CENTER_TOP,
            format!("{s:.0} %"),
            font.clone(),
            text,
        );
    }
    painter.text(
        pos2(plot.center().x, plot.bottom() + 14.0),
        Align2::CENTER_TOP,
        "virtual speedup of the lock's critical sections",
        font.clone(),
        text.gamma_multiply(0.8),
    );
    painter.text(
        pos2(plot.left() + 4.0, plot.top()),
        Align2::LEFT_TOP,
        "throughput change",
        font.clone(),
        text.gamma_multiply(0.8),
    );
    let hover = resp.hover_pos();
    let mut tip: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut prev = pos2(x_of(0.0), y_of(0.0));
        for p in &line.points {
            let at = pos2(x_of(p.speedup_pct as f64), y_of(p.throughput_change_pct));
            painter.line_segment([prev, at], Stroke::new(2.0, color));
            if let Some(ci) = p.ci_pct {
                let (top, bottom) = (
                    y_of(p.throughput_change_pct + ci).max(plot.top()),
                    y_of(p.throughput_change_pct - ci).min(plot.bottom()),
                );
                painter.line_segment(
                    [pos2(at.x, top), pos2(at.x, bottom)],
                    Stroke::new(1.0, color),
                );
                for y in [top, bottom] {
                    painter.line_segment(
                        [pos2(at.x - 4.0, y), pos2(at.x + 4.0, y)],
                        Stroke::new(1.0, color),
                    );
                }
            }
            painter.circle_filled(at, 3.5, color);
            if hover.is_some_and(|h| h.distance(at) < 8.0) {
                tip = Some(format!(
                    "{} {} % faster: {} \"{}\" throughput ({} experiments)",
                    line.lock,
                    p.speedup_pct,
                    p.text(),
                    line.progress,
                    p.experiments
                ));
            }
            prev = at;
        }
        // The legend, right of the plot, highest impact first.
        let y = plot.top() + 6.0 + i as f32 * 18.0;
        painter.line_segment(
            [pos2(plot.right() + 10.0, y), pos2(plot.right() + 26.0, y)],
            Stroke::new(2.0, color),
        );
        painter.text(
            pos2(plot.right() + 30.0, y),
            Align2::LEFT_CENTER,
            format!("{}, impact {:.2}", line.lock, line.impact),
            font.clone(),
            text,
        );
    }
    if let Some(t) = tip {
        resp.on_hover_text(t);
    }
}

fn table_ui(ui: &mut egui::Ui, profile: &CausalProfile) {
    let mut speedups: Vec<u64> = profile
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.speedup_pct))
        .collect();
    speedups.sort_unstable();
    speedups.dedup();
    egui::Grid::new("causal-table")
        .striped(true)
        .show(ui, |ui| {
            ui.strong("Lock");
            ui.strong("Progress");
            ui.strong("Impact")
                .on_hover_text("% throughput per % speedup: the rank");
            for s in &speedups {
                ui.strong(format!("+{s} %"));
            }
            ui.end_row();
            for l in &profile.lines {
                ui.label(&l.lock);
                ui.label(&l.progress);
                ui.label(format!("{:.2}", l.impact));
                for s in &speedups {
                    match l.points.iter().find(|p| p.speedup_pct == *s) {
                        Some(p) => ui
                            .label(p.text())
                            .on_hover_text(format!("{} experiments", p.experiments)),
                        None => ui.weak("-"),
                    };
                }
                ui.end_row();
            }
        });
    ui.weak(
        "Impact: % throughput per % speedup, the rank. \"-\": no usable experiment at that \
         speedup (none ran, or its pauses took most of it).",
    );
}
