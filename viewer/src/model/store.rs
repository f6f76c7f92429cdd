//! Compact storage of a trace's waits and holds, and the views the rest of the model reads
//! them through.
//!
//! A large trace has millions of both, so each is kept in a fixed-size record of 32-bit
//! fields (a hold in 40 bytes, a wait in 56, against 72 and 120 plus a holder list for the
//! plain structs): ids as [`Id32`], a hold's begin and contention times as offsets back from
//! its end, the mode as one `u32`, every wait's holders in one shared list. Anything that does
//! not fit (an id above 2^31, a hold longer than 4 s, a permit count near `u32::MAX`) is kept
//! whole beside it, so nothing is lost. [`Wait`] and [`Hold`] are unpacked on access.
//!
//! The storage sits behind an `Arc`: a filtered model ([`super::Filter`]) shares it and keeps
//! only the indexes it selects, so filtering a 10-million-event trace copies no event.

use std::num::NonZeroU64;
use std::sync::{Arc, OnceLock};

use lockscope::format::{Mode, Outcome};

use super::hash::IdMap;
use super::{Hold, Wait, WaitState};

/// Ids below this are stored as themselves; larger ones go into [`BigIds`].
const BIG: u32 = 1 << 31;
/// A packed field whose value is kept whole in a side table.
const ODD: u32 = u32::MAX;
/// A hold's begin or contention time that is absent (not timed, nobody waited).
const NONE: u32 = u32::MAX - 1;
/// Marks "no hold" in the resolved holder table.
const NO_HOLD: u32 = u32::MAX;

/// A trace id in 32 bits: the probe hands out ids counting up from 1, so every id below 2^31
/// is kept as itself; a larger one is an index into [`BigIds`] with the top bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Id32(u32);

/// The ids too large for [`Id32`], interned.
#[derive(Clone, Debug, Default)]
struct BigIds {
    ids: Vec<u64>,
    index: IdMap<u64, u32>,
}

impl BigIds {
    fn pack(&mut self, id: u64) -> Id32 {
        if let Ok(small) = u32::try_from(id)
            && small < BIG
        {
            return Id32(small);
        }
        let next = self.ids.len();
        let ix = *self.index.entry(id).or_insert_with(|| {
            self.ids.push(id);
            // 2^31 distinct large ids would need 16 GiB for this table alone: unreachable;
            // the last slot is reused rather than wrapping into the small ids.
            u32::try_from(next).map_or(BIG - 1, |n| n.min(BIG - 1))
        });
        Id32(BIG | ix)
    }

    fn get(&self, v: Id32) -> u64 {
        if v.0 < BIG {
            u64::from(v.0)
        } else {
            (self.ids.get((v.0 & !BIG) as usize)).map_or(0, |&id| id)
        }
    }
}

/// A mode in one `u32`: 0, 1, 2 for exclusive, shared, condvar; `3 + n` for `n` permits;
/// [`ODD`] for a permit count too large for that (kept in a side table).
fn pack_mode(mode: Mode) -> u32 {
    match mode {
        Mode::Exclusive => 0,
        Mode::Shared => 1,
        Mode::Condvar => 2,
        Mode::Permits(n) => n.checked_add(3).filter(|&v| v < ODD).unwrap_or(ODD),
    }
}

fn unpack_mode(v: u32) -> Mode {
    match v {
        0 => Mode::Exclusive,
        1 => Mode::Shared,
        2 => Mode::Condvar,
        n => Mode::Permits(n - 3),
    }
}

/// A wait's state in 4 bits.
fn pack_state(state: WaitState) -> u32 {
    match state {
        WaitState::StillWaiting => 0,
        WaitState::Lost => 1,
        WaitState::Ended { outcome, .. } => match outcome {
            Outcome::Acquired => 2,
            Outcome::TimedOut => 3,
            Outcome::Closed => 4,
        },
    }
}

/// One wait, packed (56 bytes).
#[derive(Clone, Copy, Debug)]
struct PackedWait {
    begin_ns: u64,
    /// Valid when the state says it ended.
    end_ns: u64,
    actor: Id32,
    lock: Id32,
    class: Id32,
    site: Id32,
    stack: Id32,
    span: Id32,
    mode: u32,
    /// Where its holders start in [`WaitStore::holders`].
    holders_at: u32,
    /// Holder count << 4 | state (see [`pack_state`]). A record is at most 16 MiB, so a
    /// wait has fewer than 2^28 holders.
    count_state: u32,
}

/// One hold, packed (40 bytes).
#[derive(Clone, Copy, Debug)]
struct PackedHold {
    end_ns: u64,
    /// `end_ns - begin_ns`; [`NONE`] when not timed; [`ODD`]: the whole hold is in
    /// [`HoldStore::odd`].
    begin_back: u32,
    /// `end_ns - contended_ns`; [`NONE`] when nobody waited.
    contended_back: u32,
    actor: Id32,
    lock: Id32,
    class: Id32,
    site: Id32,
    span: Id32,
    mode: u32,
}

/// Every wait, packed, with its holders.
#[derive(Clone, Debug, Default)]
pub(super) struct WaitStore {
    waits: Vec<PackedWait>,
    /// The holders of every wait, one after the other.
    holders: Vec<u64>,
    /// For each entry of `holders`: the index of that holder's hold in [`HoldStore`], or
    /// [`NO_HOLD`]. Computed by [`resolve_holder_holds`] the first time it is needed (the lock
    /// table does not need it).
    holder_holds: OnceLock<Vec<u32>>,
    ids: BigIds,
    /// Modes that did not pack, by wait index.
    odd_modes: IdMap<u32, Mode>,
}

/// Every hold, packed.
#[derive(Clone, Debug, Default)]
pub(super) struct HoldStore {
    holds: Vec<PackedHold>,
    ids: BigIds,
    /// Holds that did not pack, whole, by index.
    odd: IdMap<u32, Hold>,
}

impl WaitStore {
    /// Wait `raw`, which must be below `len()`.
    fn wait(&self, raw: u32) -> Wait<'_> {
        let p = &self.waits[raw as usize];
        let id = |v| self.ids.get(v);
        let count = (p.count_state >> 4) as usize;
        let at = p.holders_at as usize;
        let holders = self.holders.get(at..at + count).unwrap_or(&[]);
        let outcome = |o| WaitState::Ended {
            end_ns: p.end_ns,
            outcome: o,
        };
        let state = match p.count_state & 0xf {
            0 => WaitState::StillWaiting,
            1 => WaitState::Lost,
            3 => outcome(Outcome::TimedOut),
            4 => outcome(Outcome::Closed),
            _ => outcome(Outcome::Acquired),
        };
        let mode = match p.mode {
            ODD => self.odd_modes.get(&raw).copied().unwrap_or(Mode::Exclusive),
            m => unpack_mode(m),
        };
        Wait {
            actor: id(p.actor),
            lock: id(p.lock),
            class: id(p.class),
            mode,
            site: id(p.site),
            stack: id(p.stack),
            holders,
            begin_ns: p.begin_ns,
            state,
            span: id(p.span),
            raw,
        }
    }

    /// Appends a wait; returns its index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        actor: u64,
        lock: u64,
        class: u64,
        mode: Mode,
        site: u64,
        stack: u64,
        holders: &[u64],
        begin_ns: u64,
        span: u64,
    ) -> usize {
        let raw = self.waits.len();
        // Past 2^32 entries (32 GiB of holders) the list is full and later waits get none.
        let holders_at = u32::try_from(self.holders.len()).unwrap_or(u32::MAX);
        let count = if holders_at == u32::MAX {
            0
        } else {
            holders.len().min((1 << 28) - 1)
        };
        self.holders.extend_from_slice(&holders[..count]);
        let mode = match pack_mode(mode) {
            ODD => {
                self.odd_modes.insert(raw as u32, mode);
                ODD
            }
            m => m,
        };
        let ids = &mut self.ids;
        self.waits.push(PackedWait {
            begin_ns,
            end_ns: 0,
            actor: ids.pack(actor),
            lock: ids.pack(lock),
            class: ids.pack(class),
            site: ids.pack(site),
            stack: ids.pack(stack),
            span: ids.pack(span),
            mode,
            holders_at,
            count_state: (count as u32) << 4,
        });
        raw
    }

    /// The lock of wait `raw` (to match a `WaitEnd`).
    pub(super) fn lock(&self, raw: usize) -> u64 {
        self.waits.get(raw).map_or(0, |p| self.ids.get(p.lock))
    }

    /// The actor of wait `raw`.
    pub(super) fn actor(&self, raw: usize) -> u64 {
        self.waits.get(raw).map_or(0, |p| self.ids.get(p.actor))
    }

    /// Whether wait `raw` ended.
    pub(super) fn ended(&self, raw: usize) -> bool {
        self.waits
            .get(raw)
            .is_some_and(|p| p.count_state & 0xf >= 2)
    }

    /// Sets how wait `raw` ended.
    pub(super) fn set_state(&mut self, raw: usize, state: WaitState) {
        if let Some(p) = self.waits.get_mut(raw) {
            p.count_state = (p.count_state & !0xf) | pack_state(state);
            if let WaitState::Ended { end_ns, .. } = state {
                p.end_ns = end_ns;
            }
        }
    }

    /// The number of waits.
    pub(super) fn len(&self) -> usize {
        self.waits.len()
    }

    /// Every holder entry's hold, paired on first use.
    fn pairs(&self, holds: &HoldStore) -> &[u32] {
        self.holder_holds
            .get_or_init(|| resolve_holder_holds(self, holds))
    }

    /// Holders of wait `raw` paired with their resolved hold (raw hold index); `holds` must
    /// be the holds of the same trace.
    fn holder_holds<'a>(
        &'a self,
        raw: u32,
        holds: &HoldStore,
    ) -> impl Iterator<Item = (u64, Option<u32>)> + 'a {
        let pairs = self.pairs(holds);
        let p = self.waits.get(raw as usize);
        let (at, count) = p.map_or((0, 0), |p| {
            (p.holders_at as usize, (p.count_state >> 4) as usize)
        });
        let holders = self.holders.get(at..at + count).unwrap_or(&[]);
        let holds = pairs.get(at..at + count).unwrap_or(&[]);
        (holders.iter().enumerate()).map(move |(i, &h)| {
            let hold = holds.get(i).copied().filter(|&x| x != NO_HOLD);
            (h, hold)
        })
    }
}

impl HoldStore {
    /// Hold `raw`, which must be below `len()`.
    fn hold(&self, raw: u32) -> Hold {
        let p = &self.holds[raw as usize];
        if p.begin_back == ODD
            && let Some(h) = self.odd.get(&raw)
        {
            return *h;
        }
        let back = |b: u32| match b {
            NONE => None,
            b => NonZeroU64::new(p.end_ns - u64::from(b)),
        };
        let id = |v| self.ids.get(v);
        Hold {
            begin_ns: back(p.begin_back),
            contended_ns: back(p.contended_back),
            end_ns: p.end_ns,
            actor: id(p.actor),
            lock: id(p.lock),
            class: id(p.class),
            mode: unpack_mode(p.mode),
            site: id(p.site),
            span: id(p.span),
        }
    }

    /// Appends a hold.
    pub(super) fn push(&mut self, h: Hold) {
        let raw = self.holds.len() as u32;
        let back = |t: Option<NonZeroU64>| match t {
            None => Some(NONE),
            Some(t) => (h.end_ns.checked_sub(t.get()))
                .and_then(|d| u32::try_from(d).ok())
                .filter(|&d| d < NONE),
        };
        let (begin_back, contended_back, mode) =
            match (back(h.begin_ns), back(h.contended_ns), pack_mode(h.mode)) {
                (Some(b), Some(c), m) if m != ODD => (b, c, m),
                _ => {
                    self.odd.insert(raw, h);
                    (ODD, NONE, 0)
                }
            };
        let ids = &mut self.ids;
        self.holds.push(PackedHold {
            end_ns: h.end_ns,
            begin_back,
            contended_back,
            actor: ids.pack(h.actor),
            lock: ids.pack(h.lock),
            class: ids.pack(h.class),
            site: ids.pack(h.site),
            span: ids.pack(h.span),
            mode,
        });
    }
}

/// Finds, for every holder of every wait, its hold: the first recorded hold of the wait's
/// lock by that holder which ends after the wait began, if it started before the wait ended.
///
/// Holds come in end order per actor (the probe records a hold when it ends), so one pass
/// over the holds in trace order, with each (lock, holder)'s waits sorted by their start,
/// pairs them; a (lock, holder) whose holds came out of order is paired again after sorting
/// its holds. The waits' side is one list grouped by (lock, holder), freed at the end.
fn resolve_holder_holds(waits: &WaitStore, holds: &HoldStore) -> Vec<u32> {
    // (lock, holder) → its group; each group's queries sit together in `queries`.
    let mut keys: IdMap<(u64, u64), u32> = IdMap::default();
    let mut counts: Vec<u32> = Vec::new();
    // Pass 1: group sizes, and each holder entry's group (reusing the result's space).
    let mut resolved = vec![NO_HOLD; waits.holders.len()];
    for p in &waits.waits {
        let lock = waits.ids.get(p.lock);
        for entry in holder_entries(p) {
            let Some(&holder) = waits.holders.get(entry) else {
                break;
            };
            let next = counts.len() as u32;
            let k = *keys.entry((lock, holder)).or_insert(next) as usize;
            if k == counts.len() {
                counts.push(0);
            }
            counts[k] += 1;
            resolved[entry] = k as u32;
        }
    }
    if counts.is_empty() {
        return resolved;
    }
    let mut start: Vec<u32> = Vec::with_capacity(counts.len() + 1);
    let mut total = 0u32;
    for &c in &counts {
        start.push(total);
        total += c;
    }
    start.push(total);
    // Pass 2: every query — (wait start, holder entry, how long the wait lasted) — in its
    // group, then each group by wait start.
    let mut queries: Vec<Query> = vec![Query::default(); total as usize];
    let mut fill = start.clone();
    for p in &waits.waits {
        let ended = p.count_state & 0xf >= 2;
        let lasted = match p.end_ns.checked_sub(p.begin_ns) {
            _ if !ended => FOREVER,
            Some(d) => u32::try_from(d).map_or(LONG, |d| d.min(LONG)),
            None => 0,
        };
        for entry in holder_entries(p) {
            let Some(&k) = resolved.get(entry) else {
                break;
            };
            let at = &mut fill[k as usize];
            queries[*at as usize] = Query {
                begin_ns: p.begin_ns,
                entry: entry as u32,
                lasted,
            };
            *at += 1;
        }
    }
    drop(fill);
    for k in 0..counts.len() {
        queries[start[k] as usize..start[k + 1] as usize].sort_unstable_by_key(|q| q.begin_ns);
    }
    resolved.fill(NO_HOLD);
    let overlaps = |q: &Query, hold_start: u64| -> bool {
        match q.lasted {
            FOREVER => true,
            LONG => {
                hold_start.saturating_sub(q.begin_ns) <= u64::from(LONG) || {
                    // A wait of 4 s or more: compare with its exact end.
                    let wait = waits_end(waits, q.entry);
                    hold_start <= wait
                }
            }
            d => hold_start <= q.begin_ns.saturating_add(u64::from(d)),
        }
    };
    // Pass 3: the holds in trace order, each taking the waits of its group that began by
    // its end. Each group's state is kept small and together, so a hold that pairs with
    // nothing (most of them) costs one lookup and one comparison.
    #[derive(Clone, Copy)]
    struct Group {
        /// When the group's next unpaired wait began (`u64::MAX`: none left).
        head_ns: u64,
        /// The end of the group's last hold (`u64::MAX`: out of order, paired later).
        last_end: u64,
        next: u32,
        end: u32,
    }
    let head = |at: u32, end: u32| match queries.get(at as usize) {
        Some(q) if at < end => q.begin_ns,
        _ => u64::MAX,
    };
    let mut groups: Vec<Group> = (0..counts.len())
        .map(|k| Group {
            head_ns: head(start[k], start[k + 1]),
            last_end: 0,
            next: start[k],
            end: start[k + 1],
        })
        .collect();
    let mut disordered: Vec<usize> = Vec::new();
    for (raw, p) in holds.holds.iter().enumerate() {
        let raw = raw as u32;
        let (lock, actor, end_ns) = match p.begin_back {
            ODD => match holds.odd.get(&raw) {
                Some(h) => (h.lock, h.actor, h.end_ns),
                None => continue,
            },
            _ => (holds.ids.get(p.lock), holds.ids.get(p.actor), p.end_ns),
        };
        let Some(&k) = keys.get(&(lock, actor)) else {
            continue;
        };
        let g = &mut groups[k as usize];
        if g.last_end == u64::MAX {
            continue;
        }
        if end_ns < g.last_end {
            disordered.push(k as usize);
            g.last_end = u64::MAX;
            continue;
        }
        g.last_end = end_ns;
        if end_ns < g.head_ns {
            continue;
        }
        let start_ns = holds.hold(raw).start_ns();
        while let Some(q) = queries.get(g.next as usize)
            && g.next < g.end
            && q.begin_ns <= end_ns
        {
            if overlaps(q, start_ns) {
                resolved[q.entry as usize] = raw;
            }
            g.next += 1;
        }
        g.head_ns = head(g.next, g.end);
    }
    // Out of order: pair again against the holds sorted by end (stable, so equal ends keep
    // trace order, as in the ordered pass).
    if !disordered.is_empty() {
        let wanted: IdMap<usize, Vec<(u64, u32)>> =
            disordered.iter().map(|&k| (k, Vec::new())).collect();
        let mut lists = wanted;
        for raw in 0..holds.holds.len() as u32 {
            let h = holds.hold(raw);
            if let Some(&k) = keys.get(&(h.lock, h.actor))
                && let Some(l) = lists.get_mut(&(k as usize))
            {
                l.push((h.end_ns, raw));
            }
        }
        for (k, mut list) in lists {
            list.sort_by_key(|&(end, _)| end);
            for q in &queries[start[k] as usize..start[k + 1] as usize] {
                let first = list.partition_point(|&(end, _)| end < q.begin_ns);
                resolved[q.entry as usize] = match list.get(first) {
                    Some(&(_, raw)) if overlaps(q, holds.hold(raw).start_ns()) => raw,
                    _ => NO_HOLD,
                };
            }
        }
    }
    resolved
}

/// A wait's holder waiting to be paired with a hold.
#[derive(Clone, Copy, Debug, Default)]
struct Query {
    begin_ns: u64,
    /// Its entry in [`WaitStore::holders`].
    entry: u32,
    /// How long the wait lasted: [`FOREVER`] when it did not end, [`LONG`] when 4 s or more.
    lasted: u32,
}

const FOREVER: u32 = u32::MAX;
const LONG: u32 = u32::MAX - 1;

/// The holder entries of a packed wait.
fn holder_entries(p: &PackedWait) -> std::ops::Range<usize> {
    let at = p.holders_at as usize;
    at..at + (p.count_state >> 4) as usize
}

/// The end of the wait that holder entry `entry` belongs to (a search: only for the rare
/// waits of 4 s or more).
fn waits_end(waits: &WaitStore, entry: u32) -> u64 {
    let i = waits.waits.partition_point(|p| p.holders_at <= entry);
    (i.checked_sub(1).and_then(|i| waits.waits.get(i))).map_or(u64::MAX, |p| p.end_ns)
}

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
    pub(super) fn with_class<'a>(
        &'a self,
        keep: impl Fn(u64) -> bool + 'a,
    ) -> impl Iterator<Item = Wait<'a>> + 'a {
        (self.raws())
            .filter(move |&raw| keep(self.store.ids.get(self.store.waits[raw as usize].class)))
            .map(|raw| self.store.wait(raw))
    }

    /// Every wait's class and whether it is still waiting, without unpacking the rest.
    pub(super) fn classes_still_waiting(&self) -> impl Iterator<Item = (u64, bool)> + '_ {
        self.raws().map(|raw| {
            let p = &self.store.waits[raw as usize];
            (self.store.ids.get(p.class), p.count_state & 0xf == 0)
        })
    }

    /// Every distinct (lock, class) pair of the waits.
    pub(super) fn lock_classes(&self) -> Vec<(u64, u64)> {
        let store = &self.store;
        distinct(self.raws().map(|raw| {
            let p = &store.waits[raw as usize];
            (p.lock, p.class)
        }))
        .map(|(l, c)| (store.ids.get(l), store.ids.get(c)))
        .collect()
    }

    /// Pairs every wait's holders with their holds now (else it happens on first use).
    pub(super) fn pair_holders(&self, holds: &Holds) {
        self.store.pairs(&holds.store);
    }

    /// All of `store`.
    pub(super) fn new(store: WaitStore) -> Waits {
        Waits {
            store: Arc::new(store),
            sel: Selection::All,
        }
    }

    /// The waits whose index passes `keep`, sharing this storage.
    pub(super) fn select(&self, keep: impl Fn(&Wait<'_>) -> bool) -> Waits {
        let sel: Vec<u32> = (self.iter()).filter(|w| keep(w)).map(|w| w.raw).collect();
        Waits {
            store: Arc::clone(&self.store),
            sel: Selection::Some(sel.into()),
        }
    }

    /// The resolved hold of `holder` for `wait` (a raw hold index), when `holder` is one of
    /// the wait's holders: `Some(None)` when it has none.
    pub(super) fn resolved_hold(
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
    pub(super) fn with_class<'a>(
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
    pub(super) fn ending_after(&self, at_ns: u64) -> impl Iterator<Item = Hold> + '_ {
        (self.raws())
            .filter(move |&raw| {
                let p = &self.store.holds[raw as usize];
                p.end_ns > at_ns || p.begin_back == ODD
            })
            .map(|raw| self.store.hold(raw))
            .filter(move |h| h.end_ns > at_ns)
    }

    /// Every distinct (lock, class) pair of the holds.
    pub(super) fn lock_classes(&self) -> Vec<(u64, u64)> {
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
    pub(super) fn new(store: HoldStore) -> Holds {
        Holds {
            store: Arc::new(store),
            sel: Selection::All,
        }
    }

    /// The holds that pass `keep`, sharing this storage.
    pub(super) fn select(&self, keep: impl Fn(&Hold) -> bool) -> Holds {
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

    /// The position in this view of raw hold `raw`, if the view shows it.
    pub(super) fn position(&self, raw: u32) -> Option<usize> {
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

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
