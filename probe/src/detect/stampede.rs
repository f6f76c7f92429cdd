//! Cache-stampede detection over `cache_fill` marks.
//!
//! Two rules, with defaults set by `LOCKSCOPE_STAMPEDE_MIN` (K, default 3):
//!
//! - **S1, duplicate fills.** At least K distinct actors fill the same key in one episode of
//!   overlapping fills, and the key had been filled before (so not a cold start). Reported when
//!   the episode ends, with the number of duplicate fills and the fill time they wasted (every
//!   fill's time but the first one's). Serial refills never overlap and one actor's retries
//!   count once, so neither is reported; an early refresh by one actor while others read the
//!   old value is one fill.
//! - **S2, a herd behind a fill.** At least K distinct actors start waiting for one lock while
//!   its holder is inside a fill: the fill runs under a lock every caller needs, so every caller
//!   stalls for the refill. Waits on a condition variable (how a single-flight follower waits
//!   for its leader) do not count.
//!
//! Nothing here runs on a lock's uncontended path; a lock wait checks one atomic counter unless
//! a fill is in flight.

use super::alert::{Alert, raise};
use crate::format::Record;
use crate::{actor, clock, settings, sink};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// Fills in flight anywhere: lock waits look at the fill table only when this is non-zero.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

#[derive(Default)]
struct KeyState {
    text: Option<String>,
    /// Fills of this key that finished.
    filled: u64,
    /// Fills in flight: (fill id, actor, begin).
    active: Vec<(u64, u64, u64)>,
    episode: Option<Episode>,
    /// When this key's last stampede was reported (0: never), and the stampedes since
    /// then that were not (one report per key per `REPORT_EVERY_NS`).
    reported_ns: u64,
    unreported: u64,
}

/// A key stampeding at every expiry is reported once per this long, with a count of the
/// stampedes in between.
const REPORT_EVERY_NS: u64 = 10_000_000_000;

struct Episode {
    warm: bool,
    actors: Vec<u64>,
    /// The fillers' names, taken as each joined (a task's name goes when the task ends,
    /// which may be before the episode does).
    names: HashMap<u64, String>,
    /// Durations of the finished fills of the episode, first-begun first.
    durations: Vec<(u64, u64)>,
    first_fill: u64,
}

/// A lock wait behind a fill: the lock and the fill's holder.
#[derive(Default)]
struct Herd {
    waiters: Vec<u64>,
    alerted: bool,
}

#[derive(Default)]
struct Table {
    keys: HashMap<u64, KeyState>,
    /// Actor -> (fill id, key) of the fills it is inside, innermost last.
    filling: HashMap<u64, Vec<(u64, u64)>>,
    /// (lock, fill id) -> who started waiting for that lock during that fill.
    herds: HashMap<(u64, u64), Herd>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);
static NEXT_FILL: AtomicU64 = AtomicU64::new(1);

/// Marks the caller as filling cache key `key` until the guard drops (see
/// [`cache_fill`](crate::cache_fill)).
#[must_use = "the fill lasts until the guard drops"]
#[derive(Debug)]
pub struct FillGuard {
    fill: u64,
    key: u64,
    actor: u64,
    /// The thread a task's fill began on (0: the filler is that thread): a blocking lock the
    /// task holds through the fill names the thread as its holder.
    thread: u64,
    begin_ns: u64,
    site: &'static Location<'static>,
}

fn hash_key<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// Starts a fill of `key`; `text` names the key (its `Debug` text, formatted once per key,
/// after the table's lock is let go: later fills take the lock once and format nothing).
pub(crate) fn begin<K: Hash + ?Sized>(
    key: &K,
    text: Option<&dyn std::fmt::Debug>,
    site: &'static Location<'static>,
) -> FillGuard {
    let key = hash_key(key);
    let fill = NEXT_FILL.fetch_add(1, Relaxed);
    if !settings::enabled() {
        return FillGuard {
            fill: 0,
            key,
            actor: 0,
            thread: 0,
            begin_ns: 0,
            site,
        };
    }
    // Inside a tokio task the task fills (its guard may be held across `.await` and dropped
    // on another worker): sixteen tasks on two workers are sixteen fillers, not two.
    let actor = filler();
    let thread = Some(actor::current().id.load(Relaxed)).filter(|&t| t != actor);
    let begin_ns = clock::now_ns();
    IN_FLIGHT.fetch_add(1, Relaxed);
    let mut guard = TABLE.lock();
    let t = guard.get_or_insert_with(Table::default);
    let k = t.keys.entry(key).or_default();
    let unnamed = k.text.is_none();
    if k.active.is_empty() {
        k.episode = Some(Episode {
            warm: k.filled > 0,
            actors: Vec::new(),
            names: HashMap::new(),
            durations: Vec::new(),
            first_fill: fill,
        });
    }
    k.active.push((fill, actor, begin_ns));
    let mut newcomer = false;
    if let Some(e) = &mut k.episode
        && !e.actors.contains(&actor)
    {
        e.actors.push(actor);
        newcomer = true;
    }
    for a in std::iter::once(actor).chain(thread) {
        t.filling.entry(a).or_default().push((fill, key));
    }
    drop(guard);
    if newcomer {
        // Named outside the table's lock (naming takes the actors' locks).
        let name = actor::name_of(actor);
        let mut guard = TABLE.lock();
        let episode = guard
            .as_mut()
            .and_then(|t| t.keys.get_mut(&key)?.episode.as_mut());
        if let Some(e) = episode {
            e.names.insert(actor, name);
        }
    }
    // A key's first fill names it; the user's `Debug` runs under none of lockscope's locks.
    if let Some(d) = text.filter(|_| unnamed) {
        let text = format!("{d:?}");
        if let Some(k) = TABLE.lock().as_mut().and_then(|t| t.keys.get_mut(&key)) {
            k.text.get_or_insert(text);
        }
    }
    FillGuard {
        fill,
        key,
        actor,
        thread: thread.unwrap_or(0),
        begin_ns,
        site,
    }
}

impl Drop for FillGuard {
    fn drop(&mut self) {
        if self.fill == 0 || self.begin_ns == 0 {
            return;
        }
        let end_ns = clock::now_ns();
        IN_FLIGHT.fetch_sub(1, Relaxed);
        let (report, text) = {
            let mut guard = TABLE.lock();
            let Some(t) = guard.as_mut() else { return };
            for a in [self.actor, self.thread] {
                if let Some(list) = t.filling.get_mut(&a) {
                    list.retain(|&(f, _)| f != self.fill);
                    if list.is_empty() {
                        t.filling.remove(&a);
                    }
                }
            }
            let fill = self.fill;
            t.herds.retain(|&(_, f), _| f != fill);
            let Some(k) = t.keys.get_mut(&self.key) else {
                return;
            };
            k.active.retain(|&(f, _, _)| f != self.fill);
            k.filled += 1;
            let dur = end_ns.saturating_sub(self.begin_ns);
            if let Some(e) = &mut k.episode {
                e.durations.push((self.fill, dur));
            }
            let mut report = if k.active.is_empty() {
                k.episode.take().and_then(|e| {
                    let min = settings::stampede_min_actors();
                    (e.warm && e.actors.len() >= min).then_some(e)
                })
            } else {
                None
            };
            let mut earlier = 0;
            if report.is_some() {
                if k.reported_ns != 0 && end_ns.saturating_sub(k.reported_ns) < REPORT_EVERY_NS {
                    k.unreported += 1;
                    report = None;
                } else {
                    k.reported_ns = end_ns;
                    earlier = std::mem::take(&mut k.unreported);
                }
            }
            (report.map(|e| (e, earlier)), k.text.clone())
        };
        if sink::recording() {
            // A task's definition may not be in the trace yet: its `Fill` names it.
            #[cfg(feature = "tokio")]
            actor::task::define(self.actor);
            let key_text = text.as_deref().map_or(0, sink::intern);
            let site = sink::site_id(self.site);
            let (begin_ns, actor, key) = (self.begin_ns, self.actor, self.key);
            actor::current().sink.emit(|b| {
                Record::Fill {
                    begin_ns,
                    end_ns,
                    actor,
                    key,
                    key_text,
                    site,
                }
                .encode(b)
            });
        }
        if let Some((e, earlier)) = report {
            duplicate_fills(self.key, text.as_deref(), &e, earlier);
        }
    }
}

/// The actor filling: the current tokio task, else the calling thread.
fn filler() -> u64 {
    #[cfg(feature = "tokio")]
    return actor::task::current_actor();
    #[cfg(not(feature = "tokio"))]
    actor::current().id.load(Relaxed)
}

fn key_name(key: u64, text: Option<&str>) -> String {
    text.map_or_else(|| format!("key#{key:016x}"), str::to_owned)
}

fn actor_names(ids: &[u64]) -> Vec<String> {
    ids.iter().map(|&a| actor::name_of(a)).collect()
}

fn duplicate_fills(key: u64, text: Option<&str>, e: &Episode, earlier: u64) {
    let name = key_name(key, text);
    let fills = e.durations.len();
    let wasted: u64 = e
        .durations
        .iter()
        .filter(|&&(f, _)| f != e.first_fill)
        .map(|&(_, d)| d)
        .sum();
    let actors: Vec<String> = (e.actors.iter())
        .map(|a| {
            e.names
                .get(a)
                .cloned()
                .unwrap_or_else(|| actor::name_of(*a))
        })
        .collect();
    let mut text = format!(
        "lockscope: STAMPEDE: cache key {name} was refilled {fills} times at once by {} actors ({} duplicate fills wasting {:.3} ms of fill time)\n  fillers: {}\n  fix: let one caller refill while the others wait for it (single-flight) or keep serving the old value, and refresh before expiry (probabilistic early expiration, XFetch)\n",
        actors.len(),
        fills.saturating_sub(1),
        wasted as f64 / 1e6,
        actors.join(", "),
    );
    if earlier > 0 {
        text.push_str(&format!(
            "  {earlier} more stampedes on this key since its last report\n"
        ));
    }
    let details = serde_json::json!({
        "rule": "duplicate_fills",
        "unreported_before": earlier,
        "key": name,
        "fills": fills,
        "duplicate_fills": fills.saturating_sub(1),
        "wasted_ns": wasted,
    });
    eprint!("{text}");
    raise(&Alert::with_details(
        "stampede",
        text,
        vec![name],
        actors,
        details,
    ));
}

/// A lock wait began on `lock`, held exclusively by `holder` (0: unknown or shared).
#[inline]
pub(crate) fn on_lock_wait(
    lock: u64,
    holder: u64,
    waiter: u64,
    lock_name: impl FnOnce() -> String,
) {
    if IN_FLIGHT.load(Relaxed) == 0 || holder == 0 || holder == waiter {
        return;
    }
    herd_wait(lock, holder, waiter, lock_name);
}

#[cold]
fn herd_wait(lock: u64, holder: u64, waiter: u64, lock_name: impl FnOnce() -> String) {
    let found = {
        let mut guard = TABLE.lock();
        let Some(t) = guard.as_mut() else { return };
        let Some(&(fill, key)) = t.filling.get(&holder).and_then(|l| l.last()) else {
            return;
        };
        let herd = t.herds.entry((lock, fill)).or_default();
        if !herd.waiters.contains(&waiter) {
            herd.waiters.push(waiter);
        }
        let min = settings::stampede_min_actors();
        if herd.alerted || herd.waiters.len() < min {
            return;
        }
        herd.alerted = true;
        let waiters = herd.waiters.clone();
        let text = t.keys.get(&key).and_then(|k| k.text.clone());
        (key, text, waiters)
    };
    let (key, text, waiters) = found;
    let name = key_name(key, text.as_deref());
    let lock_name = lock_name();
    let holder_name = actor_names(&[holder]).remove(0);
    let waiter_names = actor_names(&waiters);
    let text = format!(
        "lockscope: STAMPEDE: a herd of {} actors waits for lock {lock_name:?} while {holder_name} holds it to refill cache key {name}\n  waiting: {}\n  fix: refill outside the lock (single-flight per key, or serve the old value while one caller refreshes)\n",
        waiters.len(),
        waiter_names.join(", "),
    );
    let mut actors = vec![holder_name];
    actors.extend(waiter_names);
    let details = serde_json::json!({
        "rule": "herd",
        "key": name,
        "lock": lock_name,
        "waiters": waiters.len(),
    });
    eprint!("{text}");
    raise(&Alert::with_details(
        "stampede",
        text,
        vec![lock_name, name],
        actors,
        details,
    ));
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&TABLE]
}
