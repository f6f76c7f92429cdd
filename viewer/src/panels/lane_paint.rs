//! How a timeline lane is painted: the kinds' colours and insets, sub-pixel spans added up
//! per pixel column, and a stable lane order as a live trace grows.

use egui::Color32;

use super::style::{HOLD, HOLD_CONTENDED, WAIT};
use crate::model::SpanKind;

/// Sorts `lanes` by the order their actors were first shown in, appending new ones (in
/// their own order) to `order`.
pub(super) fn keep_order(order: &mut Vec<u64>, lanes: &mut [crate::model::Lane]) {
    let mut at: std::collections::HashMap<u64, usize> =
        order.iter().enumerate().map(|(i, &a)| (a, i)).collect();
    for l in lanes.iter() {
        if let std::collections::hash_map::Entry::Vacant(e) = at.entry(l.actor) {
            e.insert(order.len());
            order.push(l.actor);
        }
    }
    lanes.sort_by_key(|l| at[&l.actor]);
}

/// Colours by [`kind_slot`].
pub(super) const SLOT_COLORS: [Color32; 3] = [WAIT, HOLD, HOLD_CONTENDED];
/// Vertical insets by [`kind_slot`]: a wait is drawn taller than holds, so both show when an
/// actor waits while holding.
pub(super) const INSETS: [f32; 3] = [3.0, 5.0, 5.0];
/// The faintest a pixel column with any span in it is drawn, so a lone short wait stays
/// visible however far out the view is zoomed.
const MIN_ALPHA: f32 = 0.15;

/// One lane's shapes at this zoom: `(x range, kind slot, opacity)`. Spans at least a pixel
/// wide are drawn as they are (neighbours closer than half a pixel merged into one shape);
/// narrower ones add up per pixel column, drawn as opaque as the share of the column they
/// cover (at least [`MIN_ALPHA`]), so a zoomed-out lane looks as busy as it was instead of
/// every sub-pixel event taking a whole pixel. `spans` are in start order.
pub(super) fn lane_shapes(
    spans: &[crate::model::Span],
    to_x: &impl Fn(f64) -> f32,
    (a, b): (f64, f64),
    (left, right): (f32, f32),
) -> Vec<(std::ops::RangeInclusive<f32>, usize, f32)> {
    let mut out = Vec::new();
    let mut whole: [Option<(f32, f32)>; 3] = [None; 3];
    let mut columns: [Option<(f32, f32)>; 3] = [None; 3];
    for s in spans {
        if (s.to_ns as f64) < a || (s.from_ns as f64) > b {
            continue;
        }
        let x0 = to_x(s.from_ns as f64).max(left);
        let x1 = to_x(s.to_ns as f64).min(right);
        let k = kind_slot(s.kind);
        if x1 - x0 >= 1.0 {
            match &mut whole[k] {
                Some((_, end)) if x0 <= *end + 0.5 => *end = end.max(x1),
                slot => {
                    if let Some((p0, p1)) = slot.replace((x0, x1)) {
                        out.push((p0..=p1, k, 1.0));
                    }
                }
            }
            continue;
        }
        let column = x0.floor();
        let covered = (x1 - x0).max(0.0);
        match &mut columns[k] {
            Some((c, w)) if *c == column => *w += covered,
            slot => {
                if let Some((c, w)) = slot.replace((column, covered)) {
                    out.push((c..=c + 1.0, k, w.clamp(MIN_ALPHA, 1.0)));
                }
            }
        }
    }
    for k in 0..3 {
        if let Some((p0, p1)) = whole[k] {
            out.push((p0..=p1, k, 1.0));
        }
        if let Some((c, w)) = columns[k] {
            out.push((c..=c + 1.0, k, w.clamp(MIN_ALPHA, 1.0)));
        }
    }
    out
}

pub(super) fn kind_slot(kind: SpanKind) -> usize {
    match kind {
        SpanKind::Wait => 0,
        SpanKind::Hold => 1,
        SpanKind::HoldContended | SpanKind::HeldAtEnd => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::{MIN_ALPHA, kind_slot, lane_shapes};
    use crate::model::{Span, SpanKind};

    /// Painted width times opacity, per kind slot: the ink a lane puts down.
    fn ink(shapes: &[(std::ops::RangeInclusive<f32>, usize, f32)]) -> [f32; 3] {
        let mut ink = [0.0; 3];
        for (r, k, alpha) in shapes {
            ink[*k] += (r.end() - r.start()) * alpha;
        }
        ink
    }

    #[test]
    fn lanes_keep_their_rows_as_new_actors_arrive() {
        use crate::model::Lane;
        let lane = |actor| Lane {
            actor,
            name: format!("a{actor}"),
            spans: Vec::new(),
        };
        let mut order = Vec::new();
        let mut first = vec![lane(5), lane(9)];
        super::keep_order(&mut order, &mut first);
        // A later snapshot: actor 2 (a lower id) appears, and its lane goes last.
        let mut later = vec![lane(2), lane(5), lane(9)];
        super::keep_order(&mut order, &mut later);
        let actors: Vec<u64> = later.iter().map(|l| l.actor).collect();
        assert_eq!(actors, [5, 9, 2]);
    }

    #[test]
    fn zoomed_out_short_waits_weigh_what_they_cover_not_a_pixel_each() {
        // 1,000 waits of 1 µs spread over 1 s, drawn 1,000 px wide (1 ms a pixel): they cover
        // 0.1 % of the lane, and one 100 ms wait covers 10 %.
        let mut spans: Vec<Span> = (0..1_000u64)
            .map(|i| Span {
                from_ns: i * 1_000_000,
                to_ns: i * 1_000_000 + 1_000,
                kind: SpanKind::Wait,
                class: 1,
                index: i as u32,
            })
            .collect();
        let to_x = |t: f64| (t / 1_000_000.0) as f32;
        let ink_short = ink(&lane_shapes(&spans, &to_x, (0.0, 1e9), (0.0, 1_000.0)));
        assert!(
            ink_short[kind_slot(SpanKind::Wait)] <= 1_000.0 * MIN_ALPHA + 1.0,
            "{ink_short:?}: at most the faint floor per column, not a solid pixel each"
        );
        spans.push(Span {
            from_ns: 1_000_000_000,
            to_ns: 1_100_000_000,
            kind: SpanKind::HoldContended,
            class: 1,
            index: 0,
        });
        let wide = lane_shapes(&spans, &to_x, (0.0, 2e9), (0.0, 2_000.0));
        let hold = ink(&wide)[kind_slot(SpanKind::HoldContended)];
        assert!(
            (hold - 100.0).abs() < 0.01,
            "a wide span is drawn as it is: {hold}"
        );
        // Many short waits in one column add up to a solid pixel, never more.
        let dense: Vec<Span> = (0..10u64)
            .map(|i| Span {
                from_ns: i * 100_000,
                to_ns: i * 100_000 + 100_000,
                kind: SpanKind::Wait,
                class: 1,
                index: i as u32,
            })
            .collect();
        let shapes = lane_shapes(&dense, &to_x, (0.0, 1e9), (0.0, 1_000.0));
        assert_eq!(shapes.len(), 1);
        assert!((shapes[0].2 - 1.0).abs() < 1e-3, "{shapes:?}");
    }
}
