//! Narrowing a model to one lock class and/or a time range, so every view can show the
//! selection the user made in another.

use super::{Model, WaitState};

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
            end_ns: self.end_ns,
            actors: self.actors.clone(),
            classes: self.classes.clone(),
            locks: self.locks.clone(),
            frames: self.frames.clone(),
            stacks: self.stacks.clone(),
            strings: self.strings.clone(),
            spans: self.spans.clone(),
            ..Model::default()
        };
        m.waits = self.waits.select(|w| {
            let to = match w.state {
                WaitState::Ended { end_ns, .. } => end_ns,
                _ => end,
            };
            filter.class_ok(w.class) && filter.overlaps(w.begin_ns, to)
        });
        m.holds = (self.holds)
            .select(|h| filter.class_ok(h.class) && filter.overlaps(h.start_ns(), h.end_ns));
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
}
