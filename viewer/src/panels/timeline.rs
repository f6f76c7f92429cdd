//! Timeline: a lane per thread — waits red, holds while others wait yellow, holds green.
//! Hovering a wait shows its holder with an arrow; shift+scroll pans, ctrl+scroll zooms;
//! dragging a time range filters every other panel.

use egui::{Color32, Pos2, Rect, Sense, Stroke, pos2, vec2};

use super::style::{HOLD, HOLD_CONTENDED, WAIT};
use std::sync::Arc;

use super::job::Job;
use super::lane_paint::{INSETS, SLOT_COLORS, keep_order, kind_slot, lane_shapes};
pub use super::state::TimelineState;
use super::{TraceView, ns};
use super::{lock_track, sched};
use crate::model::{Filter, Model, SpanKind};

const NAME_W: f32 = 130.0;
const LANE_H: f32 = 22.0;
const RULER_H: f32 = 20.0;

/// What the pointer is over.
#[derive(Clone, Copy)]
enum Hit {
    Wait(usize),
    Hold(usize),
    /// A lock still held at the end, by the index of a wait still going for it.
    HeldAtEnd(u64, usize),
}

/// Draws the timeline panel.
pub fn timeline_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let (first, last) = v.model.time_span();
    let full = (first as f64, last as f64);
    ui.horizontal(|ui| {
        if ui.button("Fit").clicked() {
            v.timeline.window = None;
        }
        let (a, b) = v.timeline.window.unwrap_or(full);
        let mid = (a + b) / 2.0;
        if ui.button("Zoom in").clicked() {
            v.timeline.window = Some(clamp(mid - (b - a) / 4.0, mid + (b - a) / 4.0, full));
        }
        if ui.button("Zoom out").clicked() {
            v.timeline.window = Some(clamp(mid - (b - a), mid + (b - a), full));
        }
        if let Some((r0, r1)) = v.filter().range_ns
            && ui
                .button("Zoom to selection")
                .on_hover_text("Show the selected time range across the lanes")
                .clicked()
        {
            v.timeline.window = Some(clamp(r0 as f64, r1 as f64, full));
        }
        ui.separator();
        legend_ui(ui, WAIT, "waiting");
        legend_ui(ui, HOLD_CONTENDED, "holding while others wait");
        legend_ui(ui, HOLD, "holding");
        if !v.model.sched.threads.is_empty() {
            legend_ui(ui, sched::SWITCHES, "context switches/s");
        }
    });
    ui.label(
        "Drag across the lanes to select a time range; drag with the right or middle button \
         (or shift+scroll) to pan, ctrl+scroll to zoom.",
    );
    // The lanes follow the selected lock but not the selected range: the range is drawn on
    // them (shaded, with zoom to selection), so nothing jumps when one is chosen. Scheduler
    // samples are never narrowed: they come from the whole trace.
    let whole = Arc::clone(&v.model);
    let class_only = Filter {
        class: v.filter().class,
        range_ns: None,
    };
    let (m, large, ctx) = (Arc::clone(&whole), v.is_large(), v.ctx.clone());
    v.timeline
        .lanes
        .start(large, "lockscope-lanes", ctx, move || {
            let m = if class_only.is_empty() {
                m
            } else {
                Arc::new(m.filtered(&class_only))
            };
            let lanes = m.lanes();
            let track = class_only.class.map(|c| m.lock_track(c));
            (m, lanes, track)
        });
    let Some((model_arc, mut lanes, track)) = v.timeline.lanes.take_done() else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Laying out the lanes…");
        });
        return;
    };
    keep_order(&mut v.timeline.order, &mut lanes);
    let model: &Model = &model_arc;
    if lanes.is_empty() {
        ui.label(if class_only.is_empty() {
            "No wait or hold was recorded in this trace."
        } else {
            "No wait or hold of the selected lock was recorded."
        });
        v.timeline.lanes = Job::Done((model_arc, lanes, track));
        return;
    }
    let range = v.filter().range_ns;
    let (a, b) = v.timeline.window.unwrap_or(full);
    ui.label(format!(
        "Showing {} to {} ({} of {})",
        ns(a as u64),
        ns(b as u64),
        ns((b - a) as u64),
        ns((full.1 - full.0) as u64)
    ));
    let details = ui.label("Hover a wait to see who held the lock.");
    let width = ui.available_width().max(NAME_W + 100.0);
    // A selected lock gets its own track above the threads' lanes.
    let track_h = if track.is_some() { LANE_H } else { 0.0 };
    let height = RULER_H + track_h + lanes.len() as f32 * LANE_H;
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let plot = Rect::from_min_max(pos2(rect.left() + NAME_W, rect.top() + RULER_H), rect.max);
    let to_x = |t: f64| plot.left() + ((t - a) / (b - a).max(1.0)) as f32 * plot.width();
    let to_t = |x: f32| a + f64::from((x - plot.left()) / plot.width()) * (b - a);
    let painter = ui.painter_at(rect);
    // What is drawn against time stays inside the plot, off the thread names.
    let plot_painter = painter.with_clip_rect(plot);
    super::axes::time_axis(&painter, plot, (a, b), plot.top() - 3.0);
    if let Some((r0, r1)) = range {
        let (x0, x1) = (to_x(r0 as f64), to_x(r1 as f64));
        let shade = Rect::from_x_y_ranges(x0..=x1.max(x0 + 1.0), plot.y_range());
        plot_painter.rect_filled(
            shade,
            0.0,
            Color32::from_rgba_unmultiplied(120, 160, 255, 40),
        );
        for x in [x0, x1] {
            plot_painter.vline(x, plot.y_range(), Stroke::new(1.0, SELECTION_EDGE));
        }
    }
    let resp = ui.interact(
        plot,
        ui.scope_id().with("timeline-plot"),
        Sense::click_and_drag(),
    );
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Timeline lanes"));
    let pointer = resp.hover_pos();
    let mut hit = None;
    let mut track_tip = None;
    if let (Some(t), Some(class)) = (&track, class_only.class) {
        let lane = Rect::from_min_size(plot.min, vec2(plot.width(), LANE_H));
        let name_rect =
            Rect::from_min_size(pos2(rect.left(), plot.top()), vec2(NAME_W - 6.0, LANE_H));
        let name = format!("lock {}", model.class_name(class));
        ui.scope_builder(
            egui::UiBuilder::new()
                .max_rect(name_rect)
                .layout(egui::Layout::left_to_right(egui::Align::Center)),
            |ui| ui.add(egui::Label::new(egui::RichText::new(name).strong()).truncate()),
        );
        painter.rect_filled(lane, 0.0, ui.visuals().extreme_bg_color);
        track_tip = lock_track::draw(&plot_painter, model, t, lane, &to_x, pointer);
    }
    let mut lane_y = std::collections::HashMap::new();
    for (li, lane) in lanes.iter().enumerate() {
        let y = plot.top() + track_h + li as f32 * LANE_H;
        lane_y.insert(lane.actor, y);
        let name_rect = Rect::from_min_size(pos2(rect.left(), y), vec2(NAME_W - 6.0, LANE_H));
        let layout = egui::Layout::left_to_right(egui::Align::Center);
        let name = ui.scope_builder(
            egui::UiBuilder::new().max_rect(name_rect).layout(layout),
            |ui| ui.add(egui::Label::new(&lane.name).truncate()),
        );
        // Who the lane is: `task 13, spawned at src/bin/x.rs:42:5`.
        if let Some(who) = model.actor_identity(lane.actor) {
            name.inner.on_hover_text(format!("{}: {who}", lane.name));
        }
        if li % 2 == 1 {
            painter.rect_filled(
                Rect::from_min_size(pos2(plot.left(), y), vec2(plot.width(), LANE_H)),
                0.0,
                ui.visuals().faint_bg_color,
            );
        }
        for (r, k, alpha) in lane_shapes(&lane.spans, &to_x, (a, b), (plot.left(), plot.right())) {
            let r = Rect::from_x_y_ranges(r, (y + INSETS[k])..=(y + LANE_H - INSETS[k]));
            plot_painter.rect_filled(r, 1.0, SLOT_COLORS[k].gamma_multiply(alpha));
        }
        for s in &lane.spans {
            if (s.to_ns as f64) < a || (s.from_ns as f64) > b {
                continue;
            }
            let x0 = to_x(s.from_ns as f64).max(plot.left());
            let x1 = to_x(s.to_ns as f64).min(plot.right()).max(x0 + 1.0);
            let k = kind_slot(s.kind);
            let r = Rect::from_min_max(pos2(x0, y + INSETS[k]), pos2(x1, y + LANE_H - INSETS[k]));
            if s.kind == SpanKind::Wait && x1 - x0 >= 3.0 {
                // Named so that screen readers (and tests) can find each wait.
                let id = ui.scope_id().with(("wait", s.index as usize));
                let w = ui.interact(r, id, Sense::hover());
                let label = format!("{} waits for {}", lane.name, model.class_name(s.class));
                w.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
            }
            if pointer.is_some_and(|p| r.expand2(vec2(1.0, 0.0)).contains(p)) {
                let h = match s.kind {
                    SpanKind::Wait => Hit::Wait(s.index as usize),
                    SpanKind::HeldAtEnd => Hit::HeldAtEnd(lane.actor, s.index as usize),
                    _ => Hit::Hold(s.index as usize),
                };
                if hit.is_none() || matches!(h, Hit::Wait(_)) {
                    hit = Some(h);
                }
            }
        }
    }
    sched::lane_lines(
        &plot_painter,
        &whole,
        &lanes,
        &lane_y,
        LANE_H,
        &to_x,
        (a, b),
    );
    sched::total_strip_ui(ui, &whole, (a, b), (plot.left(), plot.right()));
    // A wait or hold under the pointer comes first, then the lock track.
    if let Some(Hit::Wait(i)) = hit {
        holder_arrows(&plot_painter, model, i, &lane_y, &to_x);
    }
    if let Some(text) = hit.map(|h| describe(model, h)).or(track_tip) {
        details.on_hover_text(text.clone());
        egui::Tooltip::always_open(
            ui.ctx().clone(),
            ui.layer_id(),
            ui.scope_id().with("timeline-tip"),
            egui::PopupAnchor::Pointer,
        )
        .show(|ui| ui.label(text.clone()));
        ui.label(text);
    }
    v.timeline.lanes = Job::Done((model_arc, lanes, track));
    let st = &mut v.timeline;
    let mut select = None;
    if resp.drag_started_by(egui::PointerButton::Primary) {
        st.drag_from = resp.interact_pointer_pos().map(|p| to_t(p.x));
    }
    // The middle or right button drags the view instead.
    if resp.dragged_by(egui::PointerButton::Middle)
        || resp.dragged_by(egui::PointerButton::Secondary)
    {
        let dt = -f64::from(resp.drag_delta().x / plot.width()) * (b - a);
        st.window = Some(clamp(a + dt, b + dt, full));
    }
    if let (Some(from), Some(p)) = (st.drag_from, resp.interact_pointer_pos()) {
        let (x0, x1) = (to_x(from), p.x);
        let sel = Rect::from_x_y_ranges(x0.min(x1)..=x0.max(x1), plot.y_range());
        painter.rect_filled(sel, 0.0, Color32::from_rgba_unmultiplied(120, 160, 255, 40));
        if resp.drag_stopped() {
            if (x1 - x0).abs() > 3.0 {
                let (t0, t1) = (from.min(to_t(x1)), from.max(to_t(x1)));
                select = Some((t0.max(0.0) as u64, t1.max(0.0) as u64));
            }
            st.drag_from = None;
        }
    } else if resp.drag_stopped() {
        st.drag_from = None;
    }
    if resp.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
        let span = b - a;
        if zoom != 1.0 {
            let at = pointer.map_or((a + b) / 2.0, |p| to_t(p.x));
            let k = 1.0 / f64::from(zoom);
            st.window = Some(clamp(at - (at - a) * k, at + (b - at) * k, full));
        } else if scroll.x != 0.0 {
            let dt = -f64::from(scroll.x / plot.width()) * span;
            st.window = Some(clamp(a + dt, b + dt, full));
        }
    }
    if let Some(range) = select {
        v.set_filter(Filter {
            range_ns: Some(range),
            ..v.filter()
        });
    }
}

/// The edges of the selected time range.
const SELECTION_EDGE: Color32 = Color32::from_rgb(120, 160, 255);

/// Keeps a window inside the trace and at least 100 ns wide (or the whole trace, when it is
/// shorter than that).
fn clamp(a: f64, b: f64, (lo, hi): (f64, f64)) -> (f64, f64) {
    let span = (hi - lo).max(1.0);
    let w = (b - a).max(span.min(100.0)).min(span);
    let a = a.max(lo).min(lo + span - w);
    (a, a + w)
}

fn legend_ui(ui: &mut egui::Ui, color: Color32, text: &str) {
    let (r, _) = ui.allocate_exact_size(vec2(12.0, 12.0), Sense::hover());
    ui.painter().rect_filled(r, 2.0, color);
    ui.label(text);
}

/// Arrows from each holder's lane (at its hold) to the start of wait `i`.
fn holder_arrows(
    painter: &egui::Painter,
    m: &Model,
    i: usize,
    lane_y: &std::collections::HashMap<u64, f32>,
    to_x: &impl Fn(f64) -> f32,
) {
    let Some(w) = m.waits.get(i) else {
        return;
    };
    let Some(&wy) = lane_y.get(&w.actor) else {
        return;
    };
    let to = pos2(to_x(w.begin_ns as f64), wy + LANE_H / 2.0);
    for (holder, hold) in m.wait_holders(i) {
        let Some(&hy) = lane_y.get(&holder) else {
            continue;
        };
        let t = (hold.and_then(|h| m.holds.get(h)))
            .map_or(w.begin_ns, |h| h.start_ns().max(w.begin_ns.min(h.end_ns)));
        let from = Pos2::new(to_x(t as f64), hy + LANE_H / 2.0);
        painter.arrow(from, to - from, Stroke::new(2.0, Color32::WHITE));
    }
}

/// One line about what the pointer is over.
fn describe(m: &Model, hit: Hit) -> String {
    match hit {
        Hit::Wait(i) => {
            let Some(w) = m.waits.get(i) else {
                return String::new();
            };
            let how_long = w.duration_ns().map_or_else(
                || "was still waiting at the end".to_owned(),
                |d| format!("waited {}", ns(d)),
            );
            let holders: Vec<String> = (m.wait_holders(i).into_iter())
                .map(|(h, hold)| match hold.and_then(|hi| m.holds.get(hi)) {
                    Some(hold) => {
                        format!(
                            "{} (took it at {}, held {})",
                            m.actor_name(h),
                            m.site_name(hold.site),
                            ns(hold.known_ns())
                        )
                    }
                    None => format!("{} (its hold was not recorded)", m.actor_name(h)),
                })
                .collect();
            let span = (m.spans.label(w.span)).map_or_else(String::new, |s| format!(" in {s}"));
            format!(
                "{} {how_long} for {} at {}{span}; held by {}",
                m.actor_name(w.actor),
                m.class_name(w.class),
                m.site_name(w.site),
                if holders.is_empty() {
                    "unknown".to_owned()
                } else {
                    holders.join(", ")
                }
            )
        }
        Hit::HeldAtEnd(holder, i) => {
            let Some(w) = m.waits.get(i) else {
                return String::new();
            };
            format!(
                "{} still held {} when the trace ended (no release recorded), at least since \
                 {}, when {} began waiting for it",
                m.actor_name(holder),
                m.class_name(w.class),
                ns(w.begin_ns),
                m.actor_name(w.actor)
            )
        }
        Hit::Hold(i) => {
            let Some(h) = m.holds.get(i) else {
                return String::new();
            };
            let waited = h.contended_ns.map_or_else(String::new, |c| {
                format!(", others waited from {}", ns(c.get()))
            });
            let span = (m.spans.label(h.span)).map_or_else(String::new, |s| format!(" in {s}"));
            format!(
                "{} held {} for {} (taken at {}){span}{waited}",
                m.actor_name(h.actor),
                m.class_name(h.class),
                ns(h.known_ns()),
                m.site_name(h.site)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clamp;

    #[test]
    fn a_window_stays_inside_the_trace_even_when_the_trace_is_tiny() {
        assert_eq!(clamp(-50.0, 50.0, (0.0, 1_000.0)), (0.0, 100.0));
        assert_eq!(clamp(950.0, 1_050.0, (0.0, 1_000.0)), (900.0, 1_000.0));
        assert_eq!(
            clamp(10.0, 20.0, (0.0, 1_000.0)),
            (10.0, 110.0),
            "at least 100 ns"
        );
        assert_eq!(clamp(0.0, 5.0, (0.0, 1.0)), (0.0, 1.0), "a 1 ns trace");
    }
}
