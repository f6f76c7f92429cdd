//! The views the model hands out over the packed stores: all of a store, or a selection of
//! its indexes (a filtered model), unpacked on access.

use lockscope_format::Outcome;
use std::num::NonZeroU64;
use std::sync::Arc;

use super::super::hash::IdMap;
use super::super::{Hold, Wait, WaitState};
use super::packed::{HoldStore, Id32, ODD, WaitStore, pack_state};

/// The distinct pairs of `pairs`, which repeat a lot (one per event, over few locks).
fn distinct(pairs: impl Iterator<Item = (Id32, Id32)>) -> impl Iterator<Item = (Id32, Id32)> {
    let mut seen: IdMap<u64, ()> = IdMap::default();
    for (a, b) in pairs {
        seen.insert(u64::from(a.0) << 32 | u64::from(b.0), ());
    }
    (seen.into_keys()).map(|k| (Id32((k >> 32) as u32), Id32(k as u32)))
}

/// Which indexes of a store a view shows: all, or an ascending selection.
#[derive(Clone, Debug, Default)]
enum Selection {
    #[default]
    All,
    Some(Arc<[u32]>),
}

impl Selection {
    fn len(&self, all: usize) -> usize {
        match self {
            Selection::All => all,
            Selection::Some(s) => s.len(),
        }
    }

    fn raw(&self, i: usize, all: usize) -> Option<u32> {
        match self {
            Selection::All => (i < all).then_some(i as u32),
            Selection::Some(s) => s.get(i).copied(),
        }
    }

    /// The position of raw index `raw` in the view, if it shows it.
    fn position(&self, raw: u32, all: usize) -> Option<usize> {
        match self {
            Selection::All => ((raw as usize) < all).then_some(raw as usize),
            Selection::Some(s) => s.binary_search(&raw).ok(),
        }
    }
}

/// The waits of a model, in the order they began (see [`Wait`]).
#[derive(Clone, Debug, Default)]
pub struct Waits {
    store: Arc<WaitStore>,
    sel: Selection,
}

/// The holds of a model, in the order they ended (see [`Hold`]).
#[derive(Clone, Debug, Default)]
pub struct Holds {
    store: Arc<HoldStore>,
    sel: Selection,
}

impl Waits {
    /// How many.
    pub fn len(&self) -> usize {
        self.sel.len(self.store.waits.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait `i`.
    pub fn get(&self, i: usize) -> Option<Wait<'_>> {
        Some(self.store.wait(self.sel.raw(i, self.store.waits.len())?))
    }

    /// Every wait, in order.
    pub fn iter(&self) -> WaitIter<'_> {
        WaitIter {
            waits: self,
            range: 0..self.len(),
        }
    }

    /// The raw indexes this view shows, in order.
    fn raws(&self) -> impl Iterator<Item = u32> + '_ {
        let n = self.store.waits.len();
        (0..self.len()).filter_map(move |i| self.sel.raw(i, n))
    }

    /// The waits whose class passes `keep`, checked before the rest is unpacked.
    pub(in crate::model) fn with_class<'a>(
        &'a self,
        keep: impl Fn(u64) -> bool + 'a,
    ) -> impl Iterator<Item = Wait<'a>> + 'a {
        (self.raws())
            .filter(move |&raw| keep(self.store.ids.get(self.store.waits[raw as usize].class)))
            .map(|raw| self.store.wait(raw))
    }

    /// Every wait's class, when it began if it is still waiting, and whether it ended without
    /// the lock (timed out, closed); without unpacking the rest.
    pub(in crate::model) fn class_outcomes(
        &self,
    ) -> impl Iterator<Item = (u64, Option<u64>, bool)> + '_ {
        self.raws().map(|raw| {
            let p = &self.store.waits[raw as usize];
            let state = p.count_state & 0xf;
            let class = self.store.ids.get(p.class);
            let still = state == pack_state(WaitState::StillWaiting);
            let gave_up = [Outcome::TimedOut, Outcome::Closed]
                .iter()
                .any(|&outcome| state == pack_state(WaitState::Ended { end_ns: 0, outcome }));
            (class, still.then_some(p.begin_ns), gave_up)
        })
    }

    /// Every distinct (lock, class) pair of the waits.
    pub(in crate::model) fn lock_classes(&self) -> Vec<(u64, u64)> {
        let store = &self.store;
        distinct(self.raws().map(|raw| {
            let p = &store.waits[raw as usize];
            (p.lock, p.class)
        }))
        .map(|(l, c)| (store.ids.get(l), store.ids.get(c)))
        .collect()
    }

    /// Pairs every wait's holders with their holds now (else it happens on first use).
    pub(in crate::model) fn pair_holders(&self, holds: &Holds) {
        self.store.pairs(&holds.store);
    }

    /// All of `store`.
    pub(in crate::model) fn new(store: WaitStore) -> Waits {
        Waits {
            store: Arc::new(store),
            sel: Selection::All,
        }
    }

    /// The waits whose index passes `keep`, sharing this storage.
    #[cfg(test)]
    pub(in crate::model) fn select(&self, keep: impl Fn(&Wait<'_>) -> bool) -> Waits {
        let sel: Vec<u32> = (self.iter()).filter(|w| keep(w)).map(|w| w.raw).collect();
        Waits {
            store: Arc::clone(&self.store),
            sel: Selection::Some(sel.into()),
        }
    }

    /// The waits of class `class` (of any, for `None`) that overlap `[from_ns, to_ns]`, a
    /// wait still going counted up to `end_ns`: the waits that test keeps when each is
    /// unpacked, decided on the packed fields, without unpacking a wait (a time range dragged over
    /// millions of waits re-filters at the speed of a scan).
    pub(in crate::model) fn select_overlapping(
        &self,
        class: Option<u64>,
        (from_ns, to_ns): (u64, u64),
        end_ns: u64,
    ) -> Waits {
        let store = &self.store;
        let open = [WaitState::StillWaiting, WaitState::Lost].map(pack_state);
        let sel: Vec<u32> = (self.raws())
            .filter(|&raw| {
                let p = &store.waits[raw as usize];
                // A wait still going, or whose end was lost, runs to the end.
                let to = if open.contains(&(p.count_state & 0xf)) {
                    end_ns
                } else {
                    p.end_ns
                };
                p.begin_ns <= to_ns
                    && to >= from_ns
                    && class.is_none_or(|c| store.ids.get(p.class) == c)
            })
            .collect();
        Waits {
            store: Arc::clone(&self.store),
            sel: Selection::Some(sel.into()),
        }
    }

    /// The resolved hold of `holder` for `wait` (a raw hold index), when `holder` is one of
    /// the wait's holders: `Some(None)` when it has none.
    pub(in crate::model) fn resolved_hold(
        &self,
        wait: &Wait<'_>,
        holder: u64,
        holds: &Holds,
    ) -> Option<Option<u32>> {
        (self.store.holder_holds(wait.raw, &holds.store))
            .find(|&(h, _)| h == holder)
            .map(|(_, hold)| hold)
    }
}

impl Holds {
    /// How many.
    pub fn len(&self) -> usize {
        self.sel.len(self.store.holds.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hold `i`.
    pub fn get(&self, i: usize) -> Option<Hold> {
        Some(self.store.hold(self.sel.raw(i, self.store.holds.len())?))
    }

    /// Every hold, in order.
    pub fn iter(&self) -> HoldIter<'_> {
        HoldIter {
            holds: self,
            range: 0..self.len(),
        }
    }

    /// The raw indexes this view shows, in order.
    fn raws(&self) -> impl Iterator<Item = u32> + '_ {
        let n = self.store.holds.len();
        (0..self.len()).filter_map(move |i| self.sel.raw(i, n))
    }

    /// The holds whose class passes `keep`, checked before the rest is unpacked.
    pub(in crate::model) fn with_class<'a>(
        &'a self,
        keep: impl Fn(u64) -> bool + 'a,
    ) -> impl Iterator<Item = Hold> + 'a {
        (self.raws())
            .map(|raw| (raw, &self.store.holds[raw as usize]))
            .filter(move |(raw, p)| {
                let class = match p.begin_back {
                    ODD => self.store.odd.get(raw).map_or(0, |h| h.class),
                    _ => self.store.ids.get(p.class),
                };
                keep(class)
            })
            .map(|(raw, _)| self.store.hold(raw))
    }

    /// The holds that end after `at_ns`, the end checked before the rest is unpacked.
    pub(in crate::model) fn ending_after(&self, at_ns: u64) -> impl Iterator<Item = Hold> + '_ {
        (self.raws())
            .filter(move |&raw| {
                let p = &self.store.holds[raw as usize];
                p.end_ns > at_ns || p.begin_back == ODD
            })
            .map(|raw| self.store.hold(raw))
            .filter(move |h| h.end_ns > at_ns)
    }

    /// Every distinct (lock, class) pair of the holds.
    pub(in crate::model) fn lock_classes(&self) -> Vec<(u64, u64)> {
        let store = &self.store;
        let odd = (store.odd.values()).map(|h| (h.lock, h.class));
        distinct(self.raws().map(|raw| {
            let p = &store.holds[raw as usize];
            (p.lock, p.class)
        }))
        .map(|(l, c)| (store.ids.get(l), store.ids.get(c)))
        .chain(odd)
        .collect()
    }

    /// All of `store`.
    pub(in crate::model) fn new(store: HoldStore) -> Holds {
        Holds {
            store: Arc::new(store),
            sel: Selection::All,
        }
    }

    /// The holds that pass `keep`, sharing this storage.
    #[cfg(test)]
    pub(in crate::model) fn select(&self, keep: impl Fn(&Hold) -> bool) -> Holds {
        let n = self.store.holds.len();
        let sel: Vec<u32> = (0..self.len())
            .filter_map(|i| self.sel.raw(i, n))
            .filter(|&raw| keep(&self.store.hold(raw)))
            .collect();
        Holds {
            store: Arc::clone(&self.store),
            sel: Selection::Some(sel.into()),
        }
    }

    /// The holds of class `class` (of any, for `None`) that overlap `[from_ns, to_ns]` from
    /// their start ([`Hold::start_ns`]) to their end: the holds that test keeps when each is
    /// unpacked, decided on the packed fields (a hold kept whole aside is unpacked).
    pub(in crate::model) fn select_overlapping(
        &self,
        class: Option<u64>,
        (from_ns, to_ns): (u64, u64),
    ) -> Holds {
        let store = &self.store;
        let sel: Vec<u32> = (self.raws())
            .filter(|&raw| {
                let p = &store.holds[raw as usize];
                if p.begin_back == ODD {
                    let h = store.hold(raw);
                    return h.start_ns() <= to_ns
                        && h.end_ns >= from_ns
                        && class.is_none_or(|c| h.class == c);
                }
                if p.end_ns < from_ns {
                    return false;
                }
                // As `Hold::start_ns` reads the unpacked hold.
                let start = (p.before_end(p.begin_back))
                    .or_else(|| p.before_end(p.contended_back))
                    .map_or(p.end_ns, NonZeroU64::get);
                start <= to_ns && class.is_none_or(|c| store.ids.get(p.class) == c)
            })
            .collect();
        Holds {
            store: Arc::clone(&self.store),
            sel: Selection::Some(sel.into()),
        }
    }

    /// The position in this view of raw hold `raw`, if the view shows it.
    pub(in crate::model) fn position(&self, raw: u32) -> Option<usize> {
        self.sel.position(raw, self.store.holds.len())
    }
}

/// An iterator over [`Waits`].
#[derive(Clone, Debug)]
pub struct WaitIter<'a> {
    waits: &'a Waits,
    range: std::ops::Range<usize>,
}

impl<'a> Iterator for WaitIter<'a> {
    type Item = Wait<'a>;

    fn next(&mut self) -> Option<Wait<'a>> {
        self.range.find_map(|i| self.waits.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for WaitIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let waits = self.waits;
        self.range.by_ref().rev().find_map(|i| waits.get(i))
    }
}

impl ExactSizeIterator for WaitIter<'_> {}

/// An iterator over [`Holds`].
#[derive(Clone, Debug)]
pub struct HoldIter<'a> {
    holds: &'a Holds,
    range: std::ops::Range<usize>,
}

impl Iterator for HoldIter<'_> {
    type Item = Hold;

    fn next(&mut self) -> Option<Hold> {
        self.range.find_map(|i| self.holds.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for HoldIter<'_> {
    fn next_back(&mut self) -> Option<Hold> {
        let holds = self.holds;
        self.range.by_ref().rev().find_map(|i| holds.get(i))
    }
}

impl ExactSizeIterator for HoldIter<'_> {}

impl<'a> IntoIterator for &'a Waits {
    type Item = Wait<'a>;
    type IntoIter = WaitIter<'a>;
    fn into_iter(self) -> WaitIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a Holds {
    type Item = Hold;
    type IntoIter = HoldIter<'a>;
    fn into_iter(self) -> HoldIter<'a> {
        self.iter()
    }
}
