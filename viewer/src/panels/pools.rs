//! Pools: each semaphore's permits in use, capacity and waiters over time (a bounded
//! channel's messages queued, slots and senders waiting), beside its acquire-latency
//! percentiles and the figures of the report.

use std::sync::Arc;

use egui::{Color32, Rect, Sense, Stroke, pos2, vec2};

use super::axes;
pub use super::state::PoolsState;
use super::style::{HOLD, WAIT};
use super::{TraceView, ns};
use crate::model::Model;
use crate::model::pools::{LEAK_THRESHOLD_NS, PoolRow, PoolSample};

/// In use (filled).
const IN_USE: Color32 = Color32::from_rgb(80, 140, 220);
/// Capacity (a line).
const CAPACITY: Color32 = Color32::from_rgb(220, 220, 220);
/// Waiters (a line).
const WAITERS: Color32 = WAIT;
const PLOT_H: f32 = 140.0;
const FIGURES_W: f32 = 240.0;
/// Pools plotted at most (most starved first); a class with thousands of semaphore instances
/// would otherwise draw thousands of plots.
const MAX_SHOWN: usize = 24;

/// Draws every pool of the trace (the whole trace: pool figures are not narrowed by the
/// selection).
pub fn pools_ui(ui: &mut egui::Ui, v: &mut TraceView) {
    let model = Arc::clone(&v.model);
    let rows: Vec<PoolRow> = v
        .pools
        .rows(&model)
        .iter()
        .take(MAX_SHOWN + 1)
        .cloned()
        .collect();
    let total = v.pools.rows(&model).len();
    if rows.is_empty() {
        ui.label(
            "No pool events in this trace: every Semaphore and bounded channel is a pool, and \
             its acquisitions and releases (a channel's sends and receives) are recorded by \
             probes that write pool records.",
        );
        return;
    }
    ui.horizontal(|ui| {
        legend_ui(ui, IN_USE, "permits in use (a channel: queued)");
        legend_ui(ui, CAPACITY, "capacity");
        legend_ui(ui, WAITERS, "waiters (a channel: senders)");
        ui.label(format!(
            "— most starved first; the whole trace; leaks: permits held {} or longer",
            ns(LEAK_THRESHOLD_NS)
        ));
    });
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for p in rows.iter().take(MAX_SHOWN) {
            ui.push_id(p.lock, |ui| pool_ui(ui, &model, p));
            ui.add_space(12.0);
        }
        if total > MAX_SHOWN {
            ui.label(format!(
                "{} more pools, less starved; `lockscope report --json` lists them all",
                total - MAX_SHOWN
            ));
        }
    });
}

fn pool_ui(ui: &mut egui::Ui, m: &Model, p: &PoolRow) {
    ui.horizontal(|ui| {
        ui.heading(&p.name);
        let site = if p.site.is_empty() || p.site == p.name {
            String::new()
        } else {
            format!(", created at {}", p.site)
        };
        let what = if p.channel {
            "bounded channel"
        } else {
            "semaphore"
        };
        ui.label(format!("({what} #{}{site})", p.lock));
    });
    let observed = p.observed_ns().max(1) as f64;
    let share = |v: u64| format!("{} ({:.0} %)", ns(v), v as f64 * 100.0 / observed);
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("capacity {}", p.capacity));
        ui.label(format!("utilisation {:.0} %", p.utilisation * 100.0));
        if p.channel {
            let full = ui.label(format!("full {}", share(p.saturated_ns)));
            full.on_hover_text("Time with no room: every slot queued or reserved");
            let empty = ui.label(format!("empty {}", share(p.empty_ns)));
            empty.on_hover_text("Time with nothing queued");
        } else {
            let saturated = ui.label(format!("saturated {}", share(p.saturated_ns)));
            saturated.on_hover_text("Time with every permit in use");
        }
        let starved = format!("starved {}", share(p.starved_ns));
        let color = if p.starved_ns > 0 { WAIT } else { HOLD };
        ui.label(egui::RichText::new(starved).color(color))
            .on_hover_text("Time with no permit free and someone waiting");
        if p.channel {
            ui.label(format!(
                "{} sent, {} waited for room",
                p.acquisitions, p.waited
            ));
            ui.label(format!("most senders waiting {}", p.max_waiters));
            let receives = if p.receiver_waits == 1 {
                "receive"
            } else {
                "receives"
            };
            ui.label(format!(
                "{} {receives} waited for a message, {} in all",
                p.receiver_waits,
                ns(p.receiver_wait_ns)
            ));
        } else {
            ui.label(format!(
                "{} acquisitions, {} waited",
                p.acquisitions, p.waited
            ));
            ui.label(format!("{} timeouts", p.timeouts));
            ui.label(format!("most waiters {}", p.max_waiters));
        }
        let leaks = format!("{} leaks", p.leaks);
        if p.leaks > 0 {
            ui.label(egui::RichText::new(leaks).color(WAIT));
        } else if !p.channel {
            ui.label(leaks);
        }
    });
    // The detectors' alerts about this pool (saturation, leaks), where they name it.
    let alerts: Vec<_> = (m.alerts.iter())
        .filter(|a| a.locks.iter().any(|l| l == &p.name))
        .collect();
    for a in alerts.iter().take(3) {
        let first = a.text.lines().next().unwrap_or_default();
        ui.label(
            egui::RichText::new(format!("{} at {}: {first}", a.kind, ns(a.ts_ns))).color(WAIT),
        )
        .on_hover_text(&a.text);
    }
    if alerts.len() > 3 {
        ui.label(format!("and {} more alerts (see Alerts)", alerts.len() - 3));
    }
    ui.horizontal(|ui| {
        let width = (ui.available_width() - FIGURES_W).max(200.0);
        plot_ui(ui, m.pool_samples(p.lock), p, width);
        ui.vertical(|ui| {
            let (title, first) = if p.channel {
                ("Wait for room (every send)", "send p50")
            } else {
                ("Acquire latency (every acquisition)", "acquire p50")
            };
            ui.strong(title);
            let a = p.acquire;
            ui.label(format!("{first} {}", ns(a.p50)));
            ui.label(format!("p90 {}", ns(a.p90)));
            ui.label(format!("p99 {}", ns(a.p99)));
            ui.label(format!("max {}", ns(a.max)));
            if p.channel {
                // A message's time in the queue is not recorded: no hold figures.
                return;
            }
            ui.add_space(6.0);
            ui.strong("Hold time (timed releases)");
            if p.timed_holds == 0 {
                ui.label("no timed release");
            } else {
                let h = p.hold;
                ui.label(format!("hold p50 {}", ns(h.p50)));
                ui.label(format!("hold p99 {}", ns(h.p99)));
                ui.label(format!("hold max {}", ns(h.max)));
            }
        });
    });
}

/// One column of the plot: the most permits in use and waiters, and the capacity, over the
/// time the column covers.
#[derive(Clone, Copy, Default)]
struct Column {
    seen: bool,
    in_use: u32,
    waiters: u32,
    capacity: u32,
}

/// Folds the samples into `n` pixel columns over `[from, to]`: each sample's state lasts
/// until the next sample.
fn columns(samples: &[PoolSample], from: u64, to: u64, n: usize) -> Vec<Column> {
    let mut cols = vec![Column::default(); n];
    if n == 0 || to <= from {
        return cols;
    }
    let span = (to - from) as f64;
    let col = |t: u64| (((t.saturating_sub(from)) as f64 / span * n as f64) as usize).min(n - 1);
    for (i, s) in samples.iter().enumerate() {
        let end = samples.get(i + 1).map_or(to, |x| x.ts_ns.max(s.ts_ns));
        for c in &mut cols[col(s.ts_ns)..=col(end)] {
            if !c.seen {
                *c = Column {
                    seen: true,
                    ..Column::default()
                };
            }
            c.in_use = c.in_use.max(s.in_use);
            c.waiters = c.waiters.max(s.waiters);
            c.capacity = c.capacity.max(s.capacity);
        }
    }
    cols
}

fn plot_ui(ui: &mut egui::Ui, samples: &[PoolSample], p: &PoolRow, width: f32) {
    let (rect, resp) = ui.allocate_exact_size(vec2(width, PLOT_H), Sense::hover());
    let label = format!("{}: in use, capacity and waiters over time", p.name);
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, &label));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let plot = Rect::from_min_max(
        pos2(rect.left() + 40.0, rect.top() + 6.0),
        rect.max - vec2(8.0, 18.0),
    );
    let top = (samples.iter())
        .map(|s| s.capacity.max(s.in_use).max(s.waiters))
        .max()
        .unwrap_or(1)
        .max(1);
    let y = |v: u32| plot.bottom() - plot.height() * v as f32 / top as f32;
    let text = ui.visuals().text_color();
    let span = (p.from_ns as f64, p.to_ns.max(p.from_ns + 1) as f64);
    let unit = if p.channel {
        "slots, senders"
    } else {
        "permits, callers"
    };
    axes::value_axis(&painter, plot, f64::from(top), 1.0, unit);
    axes::time_axis(&painter, plot, span, plot.bottom() + 2.0);
    let n = plot.width().max(1.0) as usize;
    let cols = columns(samples, p.from_ns, p.to_ns, n);
    let x = |i: usize| plot.left() + i as f32;
    let (mut cap_line, mut wait_line) = (Vec::new(), Vec::new());
    for (i, c) in cols.iter().enumerate().filter(|(_, c)| c.seen) {
        if c.in_use > 0 {
            let r = Rect::from_min_max(pos2(x(i), y(c.in_use)), pos2(x(i) + 1.0, plot.bottom()));
            painter.rect_filled(r, 0.0, IN_USE);
        }
        cap_line.push(pos2(x(i), y(c.capacity)));
        wait_line.push(pos2(x(i), y(c.waiters)));
    }
    painter.add(egui::Shape::line(cap_line, Stroke::new(1.5, CAPACITY)));
    painter.add(egui::Shape::line(wait_line, Stroke::new(1.5, WAITERS)));
    if let Some(pos) = resp.hover_pos() {
        let i = ((pos.x - plot.left()).max(0.0) as usize).min(n.saturating_sub(1));
        if let Some(c) = cols.get(i).filter(|c| c.seen) {
            let t = p.from_ns as f64 + (i as f64 / n as f64) * p.observed_ns() as f64;
            painter.line_segment(
                [pos2(x(i), plot.top()), pos2(x(i), plot.bottom())],
                Stroke::new(1.0, text.gamma_multiply(0.5)),
            );
            let (used, waiting) = if p.channel {
                ("slots queued", "senders waiting")
            } else {
                ("permits in use", "waiting")
            };
            resp.on_hover_text(format!(
                "at {}: {} of {} {used}, {} {waiting}",
                ns(t as u64),
                c.in_use,
                c.capacity,
                c.waiters
            ));
        }
    }
}

fn legend_ui(ui: &mut egui::Ui, color: Color32, text: &str) {
    let (r, _) = ui.allocate_exact_size(vec2(12.0, 12.0), Sense::hover());
    ui.painter().rect_filled(r, 2.0, color);
    ui.label(text);
}

#[cfg(test)]
mod tests {
    use lockscope_format::PoolEvent;

    use super::columns;
    use crate::model::pools::PoolSample;

    fn s(ts_ns: u64, in_use: u32, waiters: u32) -> PoolSample {
        PoolSample {
            ts_ns,
            duration_ns: 0,
            actor: 1,
            permits: 1,
            in_use,
            waiters,
            capacity: 2,
            event: PoolEvent::Acquire,
        }
    }

    #[test]
    fn each_column_takes_the_most_in_use_while_it_lasts() {
        // 1 in use over [0, 50), 2 and a waiter over [50, 60), 0 over [60, 100).
        let cols = columns(&[s(0, 1, 0), s(50, 2, 1), s(60, 0, 0)], 0, 100, 10);
        let in_use: Vec<u32> = cols.iter().map(|c| c.in_use).collect();
        assert_eq!(in_use, [1, 1, 1, 1, 1, 2, 2, 0, 0, 0]);
        assert_eq!(cols[5].waiters, 1);
        assert!(cols.iter().all(|c| c.seen && c.capacity == 2));
    }
}
