//! Axes for the hand-painted plots: round tick values (1, 2 or 5 times a power of ten), time
//! labels precise enough to tell neighbouring ticks apart, and axis titles. The timeline's
//! ruler, the pool charts and the context-switch strip all use these.

use egui::{Align2, Color32, FontId, Rect, Stroke, pos2};

/// Grid lines behind the data.
const GRID: Color32 = Color32::from_rgba_premultiplied(60, 60, 60, 60);
const TICK_FONT: f32 = 10.5;

/// Round values in `[lo, hi]`, evenly spaced, at most `max` steps apart end to end, and the
/// step: 1, 2 or 5 times a power of ten, and at least `min_step` (1 for counts). Empty for an
/// empty range.
pub fn nice_ticks(lo: f64, hi: f64, max: usize, min_step: f64) -> (Vec<f64>, f64) {
    if hi <= lo || max == 0 || !lo.is_finite() || !hi.is_finite() {
        return (Vec::new(), 0.0);
    }
    let rough = ((hi - lo) / max as f64).max(min_step);
    let pow = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * pow)
        .max(min_step);
    let first = (lo / step).ceil() * step;
    let ticks = (0..)
        .map(|k| first + k as f64 * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .collect();
    (ticks, step)
}

/// A time in nanoseconds in the unit of its size, with as many decimals as `step` (the
/// distance to the next tick) needs: `152.4 ms` beside `152.5 ms`, where three significant
/// digits would print `152 ms` twice.
pub fn time_label(v: f64, step: f64) -> String {
    let (scale, unit) = match v.abs().max(step) {
        x if x < 1e3 => (1.0, "ns"),
        x if x < 1e6 => (1e3, "µs"),
        x if x < 1e9 => (1e6, "ms"),
        _ => (1e9, "s"),
    };
    let decimals = if step <= 0.0 {
        0
    } else {
        (-(step / scale).log10().floor()).clamp(0.0, 6.0) as usize
    };
    format!("{:.decimals$} {unit}", v / scale)
}

/// A count with a thousands unit when large: `800`, `12k`, `1.5M`.
pub fn count_label(v: f64) -> String {
    match v.abs() {
        x if x >= 1e6 => format!("{}M", trim(v / 1e6)),
        x if x >= 1e4 => format!("{}k", trim(v / 1e3)),
        _ => trim(v),
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

/// A time axis along `plot`'s top (`labels_at` above it) or bottom: a grid line down the plot
/// and a label at each round time in the window `(a, b)`, in nanoseconds.
pub fn time_axis(painter: &egui::Painter, plot: Rect, (a, b): (f64, f64), labels_y: f32) {
    let text = painter.ctx().global_style().visuals.text_color();
    let max = ((plot.width() / 90.0) as usize).max(2);
    let (ticks, step) = nice_ticks(a, b, max, 1.0);
    for t in ticks {
        let x = plot.left() + ((t - a) / (b - a)) as f32 * plot.width();
        painter.line_segment(
            [pos2(x, plot.top()), pos2(x, plot.bottom())],
            Stroke::new(1.0, GRID),
        );
        let align = if labels_y < plot.center().y {
            Align2::CENTER_BOTTOM
        } else {
            Align2::CENTER_TOP
        };
        painter.text(
            pos2(x, labels_y),
            align,
            time_label(t, step),
            FontId::proportional(TICK_FONT),
            text,
        );
    }
}

/// A value axis on `plot`'s left: a grid line across the plot and a label left of it at each
/// round value from 0 to `top` (`min_step` 1 for counts), and `title` above the labels.
pub fn value_axis(painter: &egui::Painter, plot: Rect, top: f64, min_step: f64, title: &str) {
    let text = painter.ctx().global_style().visuals.text_color();
    let max = ((plot.height() / 24.0) as usize).max(1);
    let (ticks, _) = nice_ticks(0.0, top, max, min_step);
    for v in ticks {
        let y = plot.bottom() - (v / top) as f32 * plot.height();
        painter.line_segment(
            [pos2(plot.left(), y), pos2(plot.right(), y)],
            Stroke::new(1.0, GRID),
        );
        painter.text(
            pos2(plot.left() - 4.0, y),
            Align2::RIGHT_CENTER,
            count_label(v),
            FontId::proportional(TICK_FONT),
            text,
        );
    }
    if !title.is_empty() {
        painter.text(
            pos2(plot.left() + 4.0, plot.top()),
            Align2::LEFT_TOP,
            title,
            FontId::proportional(TICK_FONT),
            text.gamma_multiply(0.8),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_stay_inside_the_range() {
        let (t, step) = nice_ticks(0.0, 100.0, 5, 0.0);
        assert_eq!((t, step), (vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0], 20.0));
        let (t, step) = nice_ticks(152_310_000.0, 152_790_000.0, 5, 1.0);
        assert_eq!(step, 100_000.0);
        assert_eq!(t.first(), Some(&152_400_000.0));
        assert_eq!(t.last(), Some(&152_700_000.0));
        // Counts never get fractional ticks.
        let (t, step) = nice_ticks(0.0, 3.0, 10, 1.0);
        assert_eq!((t, step), (vec![0.0, 1.0, 2.0, 3.0], 1.0));
        assert_eq!(nice_ticks(5.0, 5.0, 4, 1.0).0, Vec::<f64>::new());
    }

    #[test]
    fn time_labels_tell_neighbouring_ticks_apart() {
        assert_eq!(time_label(152_400_000.0, 100_000.0), "152.4 ms");
        assert_eq!(time_label(152_500_000.0, 100_000.0), "152.5 ms");
        assert_eq!(time_label(2_000_000_000.0, 500_000_000.0), "2.0 s");
        assert_eq!(time_label(0.0, 20_000.0), "0 µs");
        assert_eq!(time_label(40.0, 20.0), "40 ns");
        assert_eq!(count_label(12_000.0), "12k");
        assert_eq!(count_label(3.0), "3");
        assert_eq!(count_label(2_500_000.0), "2.5M");
    }
}
