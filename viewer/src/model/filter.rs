//! Narrowing a model to one lock class and/or a time range, so every view can show the
//! selection the user made in another.

use super::{Hold, Model, Wait};

/// What the user selected: a lock class, a time range, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only waits, holds and alerts of this class.
    pub class: Option<u64>,
    /// Only what overlaps `[from_ns, to_ns]`.
    pub range_ns: Option<(u64, u64)>,
}

impl Filter {
    /// Nothing selected: the whole trace.
    pub fn is_empty(&self) -> bool {
        self.class.is_none() && self.range_ns.is_none()
    }

    fn overlaps(&self, from_ns: u64, to_ns: u64) -> bool {
        self.range_ns
            .is_none_or(|(a, b)| from_ns <= b && to_ns >= a)
    }

    fn class_ok(&self, class: u64) -> bool {
        self.class.is_none_or(|c| c == class)
    }
}

impl Model {
    /// A model holding only what `filter` selects. Definitions (actors, classes, stacks) stay
    /// whole. With a time range the cumulative `ClassStats` snapshots no longer apply, so the
    /// lock table's figures come from the events in the range. Waits and holds are not
    /// copied: the result shares their storage and lists the indexes it keeps (4 bytes each).
    pub fn filtered(&self, filter: &Filter) -> Model {
        if filter.is_empty() {
            return self.clone();
        }
        let end = self.end_ns;
        let mut m = Model {
            header: self.header,
            integrity: self.integrity.clone(),
            dropped_events: self.dropped_events,
            chaos: self.chaos,
            causal: self.causal.clone(),
            end_ns: self.end_ns,
            actors: self.actors.clone(),
            classes: self.classes.clone(),
            locks: self.locks.clone(),
            frames: self.frames.clone(),
            stacks: self.stacks.clone(),
            strings: self.strings.clone(),
            spans: self.spans.clone(),
            window: filter.range_ns,
            ..Model::default()
        };
        let span = filter.range_ns.unwrap_or((0, u64::MAX));
        m.waits = (self.waits).select_overlapping(filter.class, span, end);
        m.holds = (self.holds).select_overlapping(filter.class, span);
        if filter.range_ns.is_none() {
            m.class_stats = (self.class_stats.iter())
                .filter(|(c, _)| filter.class_ok(**c))
                .map(|(c, s)| (*c, s.clone()))
                .collect();
        }
        let class_name = filter.class.map(|c| self.class_name(c).to_owned());
        m.alerts = (self.alerts.iter())
            .filter(|a| filter.overlaps(a.ts_ns, a.ts_ns))
            .filter(|a| {
                class_name
                    .as_ref()
                    .is_none_or(|n| a.locks.is_empty() || a.locks.contains(n))
            })
            .cloned()
            .collect();
        m
    }
}

impl Model {
    /// The length of `[from_ns, to_ns]` inside this model's time range (all of it when the
    /// model is not narrowed to one).
    pub fn clipped_ns(&self, from_ns: u64, to_ns: u64) -> u64 {
        let (a, b) = self.window.unwrap_or((0, u64::MAX));
        to_ns.min(b).saturating_sub(from_ns.max(a))
    }

    /// The time `w` waited as every figure counts it: an ended wait's length, and a wait still
    /// going when the trace ended counted up to that end, the part inside the selected range
    /// only; `None` for a wait whose end was lost.
    pub fn waited_ns(&self, w: &Wait<'_>) -> Option<u64> {
        let end_ns = w.counted_end_ns(self.end_ns)?;
        Some(self.clipped_ns(w.begin_ns, end_ns))
    }

    /// How long `h` is known to have been held (see [`Hold::known_ns`]), inside the range.
    pub fn held_ns(&self, h: &Hold) -> u64 {
        self.clipped_ns(h.start_ns(), h.end_ns)
    }

    /// A timed hold's length inside the range; `None` when the hold was not timed.
    pub fn timed_hold_ns(&self, h: &Hold) -> Option<u64> {
        (h.begin_ns).map(|b| self.clipped_ns(b.get(), h.end_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::two_locks;

    #[test]
    fn a_class_filter_keeps_that_class_only() {
        let (m, a, _) = two_locks();
        let f = m.filtered(&Filter {
            class: Some(a),
            range_ns: None,
        });
        assert!(f.waits.iter().all(|w| w.class == a));
        assert_eq!(f.waits.len(), 1);
        assert_eq!(f.holds.len(), 1);
    }

    #[test]
    fn a_time_range_keeps_what_overlaps_it_and_drops_the_snapshots() {
        let (m, _, b) = two_locks();
        let f = m.filtered(&Filter {
            class: None,
            range_ns: Some((450, 600)),
        });
        assert_eq!(f.waits.len(), 1);
        assert_eq!(f.waits.get(0).unwrap().class, b);
        assert!(f.class_stats.is_empty());
        let row = f.lock_rows().into_iter().find(|r| r.class == b).unwrap();
        assert_eq!(row.contentions, 1);
    }

    #[test]
    fn a_time_range_counts_only_the_part_of_each_wait_inside_it() {
        // t1 waits for alpha from 150 to 300; t2 for beta from 500 to 700. Select 250-550.
        let (m, a, b) = two_locks();
        let f = m.filtered(&Filter {
            class: None,
            range_ns: Some((250, 550)),
        });
        let rows = f.lock_rows();
        let total = |class| {
            let row = rows.iter().find(|r| r.class == class).unwrap();
            row.wait_summary().total
        };
        assert_eq!((total(a), total(b)), (50, 50));
        let max = rows.iter().map(|r| r.wait_summary().max).max().unwrap();
        assert_eq!(
            max, 50,
            "no wait is longer than the part of it in the range"
        );
        // Every figure uses the same clipped time: sites, threads, spans, the flamegraph.
        assert!(f.site_rows().iter().all(|s| s.wait_total_ns == 50));
        let t1 = f.actor_rows().into_iter().find(|r| r.id == 1).unwrap();
        assert_eq!((t1.wait_total_ns, t1.wait_max_ns), (50, 50));
        let flame = f.folded_stacks(crate::model::FlameKind::Wait);
        assert_eq!(flame.iter().map(|s| s.weight_ns).sum::<u64>(), 100);
        // Holds too: alpha's holder held it 100-300, beta's 400-700.
        let held = f.folded_stacks(crate::model::FlameKind::Hold);
        assert_eq!(held.iter().map(|s| s.weight_ns).sum::<u64>(), 50 + 150);
        // The whole trace is unchanged.
        let whole = m.lock_rows();
        assert!(
            whole
                .iter()
                .all(|r| r.wait_summary().total == if r.class == a { 150 } else { 200 })
        );
    }

    #[test]
    fn a_wait_still_going_at_the_end_counts_up_to_the_end_of_the_range() {
        use crate::model::tests_support::{begin, definitions, model};
        let mut r = definitions();
        r.push(begin(100, 1, 11, &[2]));
        r.push(lockscope_format::Record::End { ts_ns: 1_000 });
        let m = model(r);
        assert_eq!(m.waited_ns(&m.waits.get(0).unwrap()), Some(900));
        let f = m.filtered(&Filter {
            class: None,
            range_ns: Some((300, 400)),
        });
        assert_eq!(f.waited_ns(&f.waits.get(0).unwrap()), Some(100));
        let row = f.lock_rows().into_iter().find(|r| r.class == 10).unwrap();
        assert_eq!((row.wait_summary().total, row.still_waiting), (100, 1));
    }
}
