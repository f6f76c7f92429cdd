//! The lock track drawn above the thread lanes when a lock is selected, as Tracy draws a lock:
//! its recorded holds (green, with the holder named where there is room) and the number of
//! actors waiting for it as a red step line.

use egui::{Align2, FontId, Pos2, Rect, Stroke, pos2};

use super::style::{HOLD, WAIT};
use crate::model::{LockTrack, Model};
use crate::units::ns;

/// Draws `track` into `lane` (the track's row of the plot) and returns what the pointer is
/// over, as a line of text.
pub(super) fn draw(
    painter: &egui::Painter,
    m: &Model,
    track: &LockTrack,
    lane: Rect,
    to_x: &impl Fn(f64) -> f32,
    pointer: Option<Pos2>,
) -> Option<String> {
    let (left, right) = (lane.left(), lane.right());
    let mut over = None;
    for &(from, to, actor) in &track.holds {
        let (x0, x1) = (to_x(from as f64), to_x(to as f64));
        if x1 < left || x0 > right {
            continue;
        }
        let r = Rect::from_x_y_ranges(
            x0.max(left)..=x1.min(right).max(x0.max(left) + 1.0),
            (lane.top() + 3.0)..=(lane.bottom() - 3.0),
        );
        painter.rect_filled(r, 1.0, HOLD.gamma_multiply(0.8));
        let name = m.actor_name(actor);
        if r.width() > 8.0 * name.len() as f32 {
            painter.text(
                r.left_center() + egui::vec2(3.0, 0.0),
                Align2::LEFT_CENTER,
                &name,
                FontId::proportional(11.0),
                egui::Color32::BLACK,
            );
        }
        if pointer.is_some_and(|p| r.contains(p)) {
            over = Some(format!(
                "{name} held the lock from {} to {} ({})",
                ns(from),
                ns(to),
                ns(to.saturating_sub(from))
            ));
        }
    }
    let most = track.waiters.iter().map(|w| w.1).max().unwrap_or(0).max(1);
    let y = |count: u32| lane.bottom() - 2.0 - (lane.height() - 4.0) * count as f32 / most as f32;
    let mut line: Vec<Pos2> = Vec::new();
    for (i, &(at, count)) in track.waiters.iter().enumerate() {
        let until = track.waiters.get(i + 1).map_or(at, |n| n.0);
        let (x0, x1) = (
            to_x(at as f64).clamp(left, right),
            to_x(until as f64).clamp(left, right),
        );
        line.push(pos2(x0, y(count)));
        line.push(pos2(x1, y(count)));
        if count > 0
            && pointer.is_some_and(|p| (x0..=x1.max(x0 + 1.0)).contains(&p.x))
            && over.is_none()
        {
            over = Some(format!("{count} waiting from {} to {}", ns(at), ns(until)));
        }
    }
    if line.len() > 1 {
        painter.add(egui::Shape::line(line, Stroke::new(1.5, WAIT)));
    }
    over
}
