//! The packed event store: waits and holds in 56 and 40 bytes, 32-bit ids with the rare
//! big one kept beside, times as offsets, grown in chunks.

use std::num::NonZeroU64;
use std::sync::OnceLock;

use lockscope_format::{Mode, Outcome};

use super::chunks::Chunks;
use crate::model::hash::IdMap;
use crate::model::types::{Hold, Wait, WaitState};

/// Ids below this are stored as themselves; larger ones go into [`BigIds`].
pub(in crate::model) const BIG: u32 = 1 << 31;
/// A packed field whose value is kept whole in a side table.
pub(in crate::model) const ODD: u32 = u32::MAX;
/// A hold's begin or contention time that is absent (not timed, nobody waited).
pub(in crate::model) const NONE: u32 = u32::MAX - 1;
/// Marks "no hold" in the resolved holder table.
pub(in crate::model) const NO_HOLD: u32 = u32::MAX;

/// A trace id in 32 bits: the probe hands out ids counting up from 1, so every id below 2^31
/// is kept as itself; a larger one is an index into [`BigIds`] with the top bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::model) struct Id32(pub(in crate::model) u32);

/// The ids too large for [`Id32`], interned.
#[derive(Clone, Debug, Default)]
pub(in crate::model) struct BigIds {
    pub(in crate::model) ids: Vec<u64>,
    pub(in crate::model) index: IdMap<u64, u32>,
}

impl BigIds {
    pub(in crate::model) fn pack(&mut self, id: u64) -> Id32 {
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

    pub(in crate::model) fn get(&self, v: Id32) -> u64 {
        if v.0 < BIG {
            u64::from(v.0)
        } else {
            (self.ids.get((v.0 & !BIG) as usize)).map_or(0, |&id| id)
        }
    }
}

/// A mode in one `u32`: 0, 1, 2 for exclusive, shared, condvar; `3 + n` for `n` permits;
/// [`ODD`] for a permit count too large for that (kept in a side table).
pub(in crate::model) fn pack_mode(mode: Mode) -> u32 {
    match mode {
        Mode::Exclusive => 0,
        Mode::Shared => 1,
        Mode::Condvar => 2,
        Mode::Permits(n) => n.checked_add(3).filter(|&v| v < ODD).unwrap_or(ODD),
    }
}

pub(in crate::model) fn unpack_mode(v: u32) -> Mode {
    match v {
        0 => Mode::Exclusive,
        1 => Mode::Shared,
        2 => Mode::Condvar,
        n => Mode::Permits(n - 3),
    }
}

/// A wait's state in 4 bits.
pub(in crate::model) fn pack_state(state: WaitState) -> u32 {
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
pub(in crate::model) struct PackedWait {
    pub(in crate::model) begin_ns: u64,
    /// Valid when the state says it ended.
    pub(in crate::model) end_ns: u64,
    pub(in crate::model) actor: Id32,
    pub(in crate::model) lock: Id32,
    pub(in crate::model) class: Id32,
    pub(in crate::model) site: Id32,
    pub(in crate::model) stack: Id32,
    pub(in crate::model) span: Id32,
    pub(in crate::model) mode: u32,
    /// Where its holders start in [`WaitStore::holders`].
    pub(in crate::model) holders_at: u32,
    /// Holder count << 4 | state (see [`pack_state`]). A record is at most 16 MiB, so a
    /// wait has fewer than 2^28 holders.
    pub(in crate::model) count_state: u32,
}

/// One hold, packed (40 bytes).
#[derive(Clone, Copy, Debug)]
pub(in crate::model) struct PackedHold {
    pub(in crate::model) end_ns: u64,
    /// `end_ns - begin_ns`; [`NONE`] when not timed; [`ODD`]: the whole hold is in
    /// [`HoldStore::odd`].
    pub(in crate::model) begin_back: u32,
    /// `end_ns - contended_ns`; [`NONE`] when nobody waited.
    pub(in crate::model) contended_back: u32,
    pub(in crate::model) actor: Id32,
    pub(in crate::model) lock: Id32,
    pub(in crate::model) class: Id32,
    pub(in crate::model) site: Id32,
    pub(in crate::model) span: Id32,
    pub(in crate::model) mode: u32,
}

impl PackedHold {
    /// The time `back` nanoseconds before the end (`begin_back` or `contended_back`); absent
    /// when [`NONE`], or when it would be 0 (a time the trace never has).
    #[inline]
    pub(in crate::model) fn before_end(&self, back: u32) -> Option<NonZeroU64> {
        match back {
            NONE => None,
            b => NonZeroU64::new(self.end_ns - u64::from(b)),
        }
    }
}

/// Every wait, packed, with its holders.
#[derive(Clone, Debug, Default)]
pub(in crate::model) struct WaitStore {
    pub(super) waits: Chunks<PackedWait>,
    /// The holders of every wait, one after the other.
    pub(in crate::model) holders: Vec<u64>,
    /// For each entry of `holders`: the index of that holder's hold in [`HoldStore`], or
    /// [`NO_HOLD`]. Computed by [`pairing::resolve_holder_holds`] the first time it is needed (the lock
    /// table does not need it).
    pub(in crate::model) holder_holds: OnceLock<Vec<u32>>,
    pub(in crate::model) ids: BigIds,
    /// Modes that did not pack, by wait index.
    pub(in crate::model) odd_modes: IdMap<u32, Mode>,
}

/// Every hold, packed.
#[derive(Clone, Debug, Default)]
pub(in crate::model) struct HoldStore {
    pub(super) holds: Chunks<PackedHold>,
    pub(in crate::model) ids: BigIds,
    /// Holds that did not pack, whole, by index.
    pub(in crate::model) odd: IdMap<u32, Hold>,
}

impl WaitStore {
    /// Wait `raw`, which must be below `len()`.
    pub(in crate::model) fn wait(&self, raw: u32) -> Wait<'_> {
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
    pub(in crate::model) fn push(
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
    pub(in crate::model) fn lock(&self, raw: usize) -> u64 {
        self.waits.get(raw).map_or(0, |p| self.ids.get(p.lock))
    }

    /// The actor of wait `raw`.
    pub(in crate::model) fn actor(&self, raw: usize) -> u64 {
        self.waits.get(raw).map_or(0, |p| self.ids.get(p.actor))
    }

    /// When wait `raw` began.
    pub(in crate::model) fn begin_ns(&self, raw: usize) -> u64 {
        self.waits.get(raw).map_or(0, |p| p.begin_ns)
    }

    /// How wait `raw` ended: its end and outcome (`None` while open or lost).
    pub(in crate::model) fn ending(&self, raw: usize) -> Option<(u64, Outcome)> {
        let p = self.waits.get(raw)?;
        let outcome = match p.count_state & 0xf {
            0 | 1 => return None,
            3 => Outcome::TimedOut,
            4 => Outcome::Closed,
            _ => Outcome::Acquired,
        };
        Some((p.end_ns, outcome))
    }

    /// Whether wait `raw` ended.
    pub(in crate::model) fn ended(&self, raw: usize) -> bool {
        self.waits
            .get(raw)
            .is_some_and(|p| p.count_state & 0xf >= 2)
    }

    /// Sets how wait `raw` ended.
    pub(in crate::model) fn set_state(&mut self, raw: usize, state: WaitState) {
        if let Some(p) = self.waits.get_mut(raw) {
            p.count_state = (p.count_state & !0xf) | pack_state(state);
            if let WaitState::Ended { end_ns, .. } = state {
                p.end_ns = end_ns;
            }
        }
    }

    /// The number of waits.
    pub(in crate::model) fn len(&self) -> usize {
        self.waits.len()
    }
}

impl HoldStore {
    /// Hold `raw`, which must be below `len()`.
    pub(in crate::model) fn hold(&self, raw: u32) -> Hold {
        let p = &self.holds[raw as usize];
        if p.begin_back == ODD
            && let Some(h) = self.odd.get(&raw)
        {
            return *h;
        }
        let id = |v| self.ids.get(v);
        Hold {
            begin_ns: p.before_end(p.begin_back),
            contended_ns: p.before_end(p.contended_back),
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
    pub(in crate::model) fn push(&mut self, h: Hold) {
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
