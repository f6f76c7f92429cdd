//! Go-style lock profiles over a window of time, for `/debug/pprof/mutex` and
//! `/debug/pprof/block`.
//!
//! lockscope keeps no stack tables while nobody asks: a profile is a window, and up to
//! [`SLOTS`] can be open at once (an HTTP request and the Pyroscope pusher, say). While one is
//! open ([`Window::open`]), each contended wait that begins notes the sites where its holders
//! took the lock, and when it ends adds its delay to each window open since it began: two tables — by the waiter's stack (the block
//! profile) and by the holders' acquisition sites (the mutex profile, as Go charges it since
//! 1.22, a wait on several holders split evenly between them). Closing the window builds both
//! profiles with the same [`ProfileWriter`] the viewer's `export --format pprof` uses.
//!
//! Cost: when no window is open, one relaxed load on the contended path; while one is open, a
//! stack walk per contended wait and a short internal lock at its end. The tables hold at most
//! [`MAX_KEYS`] entries each; waits past that are charged to one `(other)` entry, so the totals
//! stay right, and counted.

use crate::format::pprof::{ProfileWriter, gzip, split_site};
use crate::raw::RawStack;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Entries per table, past which waits share one `(other)` entry.
pub(crate) const MAX_KEYS: usize = 16_384;
/// Holders noted per wait (a shared lock's readers past these are not charged).
const HOLDERS: usize = 4;

/// Windows open at once, at most.
pub(crate) const SLOTS: usize = 4;

/// Open windows.
static OPEN: AtomicUsize = AtomicUsize::new(0);
static SLOT_TABLES: Mutex<Slots> = Mutex::new(Slots {
    next_serial: 1,
    slots: [const { None }; SLOTS],
});

struct Slots {
    next_serial: u64,
    /// (serial, tables) of each open window.
    slots: [Option<(u64, Tables)>; SLOTS],
}

/// Whether a profile window is open (one relaxed load, for the contended path).
#[inline]
pub(crate) fn active() -> bool {
    OPEN.load(Relaxed) != 0
}

/// What a wait that began in a window carries to its end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pending {
    stack: u64,
    holders: [(u64, Option<&'static Location<'static>>); HOLDERS],
    n: usize,
    /// The serial of the window in each slot when the wait began (0: none): a wait is
    /// charged only to windows open since before it began.
    windows: [u64; SLOTS],
}

/// Notes, at a wait's start, its stack and the holders of `lock` with their sites. `None`
/// when no window is open. Boxed: only a window's waits pay for it, and a wait (which an
/// async lock's future carries across `.await`) stays small.
pub(crate) fn wait_begins(lock: u64, stack: Option<&RawStack>) -> Option<Box<Pending>> {
    if !active() {
        return None;
    }
    let mut p = Pending {
        stack: 0,
        holders: [(0, None); HOLDERS],
        n: 0,
        windows: [0; SLOTS],
    };
    // A holder between taking the lock and listing its hold (or between unlisting and
    // unlocking) is not seen: a few more looks usually find it.
    for _ in 0..8 {
        crate::actor::holds_of(lock, |actor, site| {
            if p.n < HOLDERS {
                p.holders[p.n] = (actor, Some(site));
                p.n += 1;
            }
        });
        if p.n > 0 {
            break;
        }
        for _ in 0..32 {
            std::hint::spin_loop();
        }
    }
    p.stack = stack.map_or(0, RawStack::id);
    let mut slots = SLOT_TABLES.lock();
    for (i, slot) in slots.slots.iter_mut().enumerate() {
        let Some((serial, t)) = slot else { continue };
        p.windows[i] = *serial;
        if let Some(st) = stack
            && t.stacks.len() < MAX_KEYS
        {
            t.stacks
                .entry(p.stack)
                .or_insert_with(|| st.frames().into());
        }
    }
    Some(Box::new(p))
}

/// Adds a wait that lasted `delay_ns` to the open window: by `waiter`'s stack, and (a lock
/// wait, not a condition wait) by its holders' sites.
pub(crate) fn wait_ends(p: &Pending, class: u32, waiter: u64, lock_wait: bool, delay_ns: u64) {
    let mut slots = SLOT_TABLES.lock();
    for (slot, &began_in) in slots.slots.iter_mut().zip(&p.windows) {
        if let Some((serial, t)) = slot
            && *serial == began_in
        {
            t.charge(p, class, waiter, lock_wait, delay_ns);
        }
    }
}

/// (class, raw stack id, waiter actor) and (class, holder's site, holder actor).
type BlockKey = (u32, u64, u64);
type MutexKey = (u32, Option<&'static Location<'static>>, u64);

#[derive(Default)]
struct Tables {
    block: HashMap<BlockKey, [i64; 2]>,
    mutex: HashMap<MutexKey, [i64; 2]>,
    stacks: HashMap<u64, Box<[usize]>>,
    /// Waits charged to `(other)` because a table was full.
    overflow: u64,
}

/// The key that stands for every entry past [`MAX_KEYS`].
const OTHER: u32 = u32::MAX;

impl Tables {
    /// Adds one wait: by the waiter's stack, and (a lock wait, not a condition wait) by its
    /// holders' sites, its delay split evenly between them.
    fn charge(&mut self, p: &Pending, class: u32, waiter: u64, lock_wait: bool, delay_ns: u64) {
        let delay = i64::try_from(delay_ns).unwrap_or(i64::MAX);
        self.add_block((class, p.stack, waiter), delay);
        if !lock_wait {
            return;
        }
        if p.n == 0 {
            self.add_mutex((class, None, 0), 1, delay);
            return;
        }
        let n = p.n as i64;
        for (i, &(holder, site)) in p.holders[..p.n].iter().enumerate() {
            // The remainder goes to the first holders, so the shares add up to the delay.
            let share = delay / n + i64::from((i as i64) < delay % n);
            self.add_mutex((class, site, holder), 1, share);
        }
    }

    fn add_block(&mut self, mut key: BlockKey, delay: i64) {
        if self.block.len() >= MAX_KEYS && !self.block.contains_key(&key) {
            key = (OTHER, 0, 0);
            self.overflow += 1;
        }
        let v = self.block.entry(key).or_default();
        v[0] += 1;
        v[1] = v[1].saturating_add(delay);
    }

    fn add_mutex(&mut self, mut key: MutexKey, count: i64, delay: i64) {
        if self.mutex.len() >= MAX_KEYS && !self.mutex.contains_key(&key) {
            key = (OTHER, None, 0);
            self.overflow += 1;
        }
        let v = self.mutex.entry(key).or_default();
        v[0] += count;
        v[1] = v[1].saturating_add(delay);
    }
}

/// An open profile window.
pub(crate) struct Window {
    slot: usize,
    serial: u64,
    started: Instant,
    unix_ns: i64,
}

/// The two profiles of a closed window, gzip-compressed pprof.
pub(crate) struct Profiles {
    pub(crate) mutex: Vec<u8>,
    pub(crate) block: Vec<u8>,
}

impl Window {
    /// Opens a window, or `None` when [`SLOTS`] are open already.
    pub(crate) fn open() -> Option<Window> {
        let mut slots = SLOT_TABLES.lock();
        let slot = slots.slots.iter().position(Option::is_none)?;
        let serial = slots.next_serial;
        slots.next_serial += 1;
        slots.slots[slot] = Some((serial, Tables::default()));
        OPEN.fetch_add(1, Relaxed);
        drop(slots);
        let unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(0));
        Some(Window {
            slot,
            serial,
            started: Instant::now(),
            unix_ns,
        })
    }

    /// Closes the window and builds its mutex and block profiles.
    pub(crate) fn close(self) -> std::io::Result<Profiles> {
        let t = self.take();
        let duration = i64::try_from(self.started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        let comment = format!(
            "lockscope, pid {}: contended waits in a {:.1} s window{}",
            std::process::id(),
            duration as f64 / 1e9,
            if t.overflow > 0 {
                format!(
                    "; {} waits past {MAX_KEYS} entries charged to (other)",
                    t.overflow
                )
            } else {
                String::new()
            }
        );
        let finish = |w: ProfileWriter| w.finish(self.unix_ns, duration, Some(&comment));
        Ok(Profiles {
            mutex: gzip(&finish(mutex_profile(&t)))?,
            block: gzip(&finish(block_profile(&t)))?,
        })
    }

    /// Takes this window's tables out of its slot (empty ones if already taken).
    fn take(&self) -> Tables {
        let mut slots = SLOT_TABLES.lock();
        let slot = &mut slots.slots[self.slot];
        if slot
            .as_ref()
            .is_some_and(|(serial, _)| *serial == self.serial)
        {
            OPEN.fetch_sub(1, Relaxed);
            return slot.take().map(|(_, t)| t).unwrap_or_default();
        }
        Tables::default()
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // A window dropped without `close` (an unwinding request) still frees its slot.
        drop(self.take());
    }
}

const TYPES: [(&str, &str); 2] = [("contentions", "count"), ("delay", "nanoseconds")];

fn writer() -> ProfileWriter {
    ProfileWriter::new(&TYPES, "delay")
}

/// Class names and the leaf frame every stack ends in, so `-top` ranks locks.
fn lock_location(w: &mut ProfileWriter, names: &mut HashMap<u32, String>, class: u32) -> u64 {
    let name = names.entry(class).or_insert_with(|| {
        if class == OTHER {
            return "(other)".to_owned();
        }
        crate::class::by_id(class).map_or_else(|| format!("class-{class}"), |c| c.label.clone())
    });
    let frame = format!("lock {name}");
    w.location(&frame, "", 0)
}

fn block_profile(t: &Tables) -> ProfileWriter {
    let mut w = writer();
    let mut names = HashMap::new();
    let mut stacks: HashMap<u64, Vec<u64>> = HashMap::new();
    for (&(class, stack, waiter), &[count, delay]) in &t.block {
        let mut ids = vec![lock_location(&mut w, &mut names, class)];
        let frames = stacks.entry(stack).or_insert_with(|| {
            let ips = t.stacks.get(&stack).map_or(&[][..], |s| &s[..]);
            crate::symbols::stack_frames(ips)
                .iter()
                .map(|(name, file, line)| {
                    let line = line.map_or(0, i64::from);
                    w.location(name, file.as_deref().unwrap_or(""), line)
                })
                .collect()
        });
        if frames.is_empty() {
            ids.push(w.location("(stack not captured)", "", 0));
        }
        ids.extend_from_slice(frames);
        let lock = names[&class].clone();
        let thread = if waiter == 0 {
            String::new()
        } else {
            crate::actor::name_of(waiter)
        };
        w.add(
            ids,
            &[("lock", &lock), ("thread", &thread)],
            &[count, delay],
        );
    }
    w
}

fn mutex_profile(t: &Tables) -> ProfileWriter {
    let mut w = writer();
    let mut names = HashMap::new();
    for (&(class, site, holder), &[count, delay]) in &t.mutex {
        let lock_id = lock_location(&mut w, &mut names, class);
        let at = if let Some(site) = site {
            let text = crate::class::site_text(site, class);
            let (file, line) = split_site(&text);
            w.location(&text, file, line)
        } else {
            w.location("(holder not recorded)", "", 0)
        };
        let lock = names[&class].clone();
        let thread = if holder == 0 {
            String::new()
        } else {
            crate::actor::name_of(holder)
        };
        w.add(
            vec![lock_id, at],
            &[("lock", &lock), ("thread", &thread)],
            &[count, delay],
        );
    }
    w
}

/// This module's internal lock, for the fork hooks: a leaf, taken under no other.
pub(crate) fn fork_lock() -> &'static dyn crate::raw::ForkLock {
    &SLOT_TABLES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(holders: &[(u64, &'static Location<'static>)]) -> Pending {
        let mut p = Pending {
            stack: 7,
            holders: [(0, None); HOLDERS],
            n: holders.len(),
            windows: [0; SLOTS],
        };
        for (slot, &(a, site)) in p.holders.iter_mut().zip(holders) {
            *slot = (a, Some(site));
        }
        p
    }

    #[test]
    fn a_wait_on_several_holders_is_split_between_them_and_adds_up() {
        let mut t = Tables::default();
        let (a, b) = (Location::caller(), Location::caller());
        t.charge(&pending(&[(1, a), (2, b), (3, a)]), 5, 9, true, 100);
        let total: i64 = t.mutex.values().map(|v| v[1]).sum();
        assert_eq!(total, 100);
        assert_eq!(t.mutex[&(5, Some(a), 1)], [1, 34]);
        assert_eq!(t.mutex[&(5, Some(b), 2)], [1, 33]);
        assert_eq!(t.block[&(5, 7, 9)], [1, 100]);
        // No holder seen: charged to "(holder not recorded)"; a condition wait: block only.
        t.charge(&pending(&[]), 5, 9, true, 10);
        assert_eq!(t.mutex[&(5, None, 0)], [1, 10]);
        t.charge(&pending(&[(1, a)]), 6, 9, false, 10);
        assert!(!t.mutex.keys().any(|k| k.0 == 6));
        assert_eq!(t.block[&(6, 7, 9)], [1, 10]);
    }

    #[test]
    fn full_tables_charge_one_other_entry_and_count_it() {
        let mut t = Tables::default();
        for class in 0..MAX_KEYS as u32 + 5 {
            t.add_block((class, 0, 0), 2);
        }
        assert_eq!(t.block.len(), MAX_KEYS + 1);
        assert_eq!(t.block[&(OTHER, 0, 0)], [5, 10]);
        assert_eq!(t.overflow, 5);
        let total: i64 = t.block.values().map(|v| v[1]).sum();
        assert_eq!(total, 2 * (MAX_KEYS as i64 + 5));
    }
}
