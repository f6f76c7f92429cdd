//! Pairing every wait holder with the hold that made the wait wait.

use super::super::hash::IdMap;
use super::packed::{HoldStore, NO_HOLD, ODD, PackedWait, WaitStore};

/// Finds, for every holder of every wait, its hold: the first recorded hold of the wait's
/// lock by that holder which ends after the wait began, if it started before the wait ended.
///
/// Holds come in end order per actor (the probe records a hold when it ends), so one pass
/// over the holds in trace order, with each (lock, holder)'s waits sorted by their start,
/// pairs them; a (lock, holder) whose holds came out of order is paired again after sorting
/// its holds. The waits' side is one list grouped by (lock, holder), freed at the end.
pub(super) fn resolve_holder_holds(waits: &WaitStore, holds: &HoldStore) -> Vec<u32> {
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

impl WaitStore {
    /// Every holder entry's hold, paired on first use.
    pub(super) fn pairs(&self, holds: &HoldStore) -> &[u32] {
        self.holder_holds
            .get_or_init(|| resolve_holder_holds(self, holds))
    }

    /// Holders of wait `raw` paired with their resolved hold (raw hold index); `holds` must
    /// be the holds of the same trace.
    pub(super) fn holder_holds<'a>(
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
