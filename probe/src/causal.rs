//! Causal experiments on lock critical sections: which lock, made faster, would make the
//! program faster, and by how much.
//!
//! The method is causal profiling's virtual speedup (Coz), applied to lock holds. While an
//! experiment runs, it picks one lock class and a speedup `s` (0 to 100 %). Each time a thread
//! releases a hold of that class that lasted `h`, every *other* thread owes a pause of `s·h`:
//! the releaser adds it to a global count and to its own, and the others pay what they owe at
//! their next lock boundary or progress point (paid in sleeps of at least [`MIN_PAUSE_NS`],
//! measured, so an overshoot counts as paid). Pausing everyone else by
//! `s·h` is, in relative time, the same as the hold having taken `(1 - s)·h`. A thread that
//! waited for a lock skips what was owed while it waited: the release that woke it would have
//! come that much sooner in the faster program: it takes over its waker's account, as Coz
//! does. Each experiment starts every account square, so none pays for another's speedup.
//!
//! [`progress`] counts units of finished work. An experiment's effective length is its wall
//! time minus the pauses inserted, and the progress rate over it against the baseline
//! experiments' (speedup 0) is the predicted throughput change. Experiments are handed to the
//! recorder (at most [`MAX_EXPERIMENTS`] kept; more are counted and dropped); the report
//! aggregates them with confidence intervals.
//!
//! What it assumes: work is done by threads that take lockscope's blocking locks or call
//! [`progress`] (a thread that never reaches either is never paused, which overstates a
//! speedup's effect on work it does); holds are the critical sections to speed up; the
//! program's workload is steady over the run.

use crate::class;
use crate::settings;
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};
use std::time::{Duration, Instant};

/// A pause is paid once at least this much is owed (shorter sleeps overshoot by more than
/// they pay).
pub const MIN_PAUSE_NS: u64 = 100_000;

/// The longest single pause: a debt beyond it (a thread that slept through many experiments)
/// is forgiven rather than paid at once.
const MAX_PAUSE_NS: u64 = 50_000_000;

/// Experiments kept for the recorder.
pub const MAX_EXPERIMENTS: usize = 65_536;

/// The speedups tried; 0 (the baseline) comes up twice as often as each other one.
const SPEEDUPS: [u64; 6] = [0, 0, 25, 50, 75, 100];

// ----- progress points -----

const POINTS: usize = 64;

struct Point {
    /// The address of the name this slot was claimed with (0: free).
    key: AtomicUsize,
    count: AtomicU64,
}

static POINT: [Point; POINTS] = [const {
    Point {
        key: AtomicUsize::new(0),
        count: AtomicU64::new(0),
    }
}; POINTS];

/// Names of the claimed slots, by slot.
static NAMES: Mutex<Vec<(usize, &'static str)>> = Mutex::new(Vec::new());

/// Marks one unit of work done at progress point `name` ("requests", "jobs"): one relaxed add
/// once the point is known, plus, while causal experiments run, paying any pause owed. Up to
/// 64 points; more are ignored (and said so once on stderr).
#[inline]
pub fn progress(name: &'static str) {
    let key = name.as_ptr() as usize ^ name.len();
    let home = (key.wrapping_mul(0x9e37_79b9) >> 7) % POINTS;
    if POINT[home].key.load(Relaxed) == key {
        POINT[home].count.fetch_add(1, Relaxed);
    } else {
        progress_slow(name, key, home);
    }
    if settings::state() & settings::CAUSAL != 0 {
        catch_up();
    }
}

#[cold]
#[inline(never)]
fn progress_slow(name: &'static str, key: usize, home: usize) {
    let mut names = NAMES.lock();
    // The same name at another address (another crate's copy of the literal) counts in the
    // slot its text was first claimed with.
    if let Some(&(i, _)) = names.iter().find(|(_, n)| *n == name) {
        POINT[i].count.fetch_add(1, Relaxed);
        return;
    }
    let free = (0..POINTS)
        .map(|d| (home + d) % POINTS)
        .find(|&i| POINT[i].key.load(Relaxed) == 0);
    match free {
        Some(i) => {
            POINT[i].count.fetch_add(1, Relaxed);
            POINT[i].key.store(key, Relaxed);
            names.push((i, name));
        }
        None if names.len() == POINTS => {
            crate::diag::warn(&format!(
                "progress point {name:?} ignored: at most {POINTS} progress points are counted"
            ));
            names.push((usize::MAX, name));
        }
        None => {}
    }
}

/// Every progress point's name and count so far.
pub fn progress_counts() -> Vec<(&'static str, u64)> {
    NAMES
        .lock()
        .iter()
        .filter(|(i, _)| *i < POINTS)
        .map(|&(i, n)| (n, POINT[i].count.load(Relaxed)))
        .collect()
}

// ----- the experiment under way -----

/// The experiment under way, in one word so that a release reads it whole: its number (bumped
/// as each begins; a thread whose account is from an earlier one starts square, so no
/// experiment pays for another's speedup), the speedup and the class sped up (0: none).
/// Read apart, a release preempted between the reads could charge one experiment's class with
/// another's speedup.
static STATE: AtomicU64 = AtomicU64::new(0);

const NUMBER_SHIFT: u32 = 40;
const SPEEDUP_SHIFT: u32 = 32;

fn pack(number: u64, speedup: u64, class: u32) -> u64 {
    (number << NUMBER_SHIFT) | (speedup << SPEEDUP_SHIFT) | u64::from(class)
}

/// The experiment's number, speedup and class.
fn unpack(state: u64) -> (u64, u64, u32) {
    (
        state >> NUMBER_SHIFT,
        (state >> SPEEDUP_SHIFT) & 0xff,
        state as u32,
    )
}

/// The pause inserted during the experiment under way: its number in the top 24 bits, the
/// nanoseconds below (saturating). A release adds to it only while the number is its own, and
/// the experiment's end swaps it out, so a release that read the state just before an
/// experiment ended and added just after can never charge the next one.
static DELAY: AtomicU64 = AtomicU64::new(0);

const DELAY_NS: u64 = (1 << NUMBER_SHIFT) - 1;

/// Pause owed to every thread since the experiments began, nanoseconds.
static OWED: AtomicU64 = AtomicU64::new(0);

/// Adds `pause` to experiment `number`'s delay, unless it has ended.
fn charge(number: u64, pause: u64) -> bool {
    DELAY
        .fetch_update(Relaxed, Relaxed, |d| {
            (d >> NUMBER_SHIFT == number)
                .then(|| (d & !DELAY_NS) | ((d & DELAY_NS).saturating_add(pause)).min(DELAY_NS))
        })
        .is_ok()
}

thread_local! {
    /// This thread's account: the epoch it is from, and what it has paid (or been credited)
    /// of [`OWED`].
    static PAID: Cell<(u64, u64)> = const { Cell::new((u64::MAX, 0)) };
}

/// The last releaser's account per lock (direct-mapped by lock id): a waiter the release
/// woke takes it over, as Coz does, instead of paying for the time it spent blocked.
static HANDOFF: [(AtomicU64, AtomicU64); 256] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 256];

/// Runs `f` on this thread's account (paid so far, within the current epoch).
fn account<R>(f: impl FnOnce(&mut u64) -> R) -> Option<R> {
    PAID.try_with(|p| {
        let (epoch, mut paid) = p.get();
        let now = unpack(STATE.load(Acquire)).0;
        if epoch != now {
            paid = OWED.load(Relaxed);
        }
        let r = f(&mut paid);
        p.set((now, paid));
        r
    })
    .ok()
}

/// This thread released lock `lock`, of class `class`, after holding it `hold_ns` (called on
/// the release's slow path, which every hold takes while experiments run).
pub(crate) fn released(lock: u64, class: u32, hold_ns: u64) {
    let (number, speedup, sped_up) = unpack(STATE.load(Acquire));
    let mut pause = if class != 0 && sped_up == class {
        hold_ns.saturating_mul(speedup) / 100
    } else {
        0
    };
    if pause > 0 {
        if charge(number, pause) {
            OWED.fetch_add(pause, Relaxed);
        } else {
            pause = 0; // the experiment ended meanwhile
        }
    }
    // The releaser is the one sped up: it owes nothing for its own hold.
    if let Some(paid) = account(|paid| {
        *paid = paid.saturating_add(pause);
        *paid
    }) {
        let slot = &HANDOFF[(lock % 256) as usize];
        slot.1.store(paid, Relaxed);
        slot.0.store(lock, Relaxed);
    }
}

/// Pays what this thread owes (at a lock boundary or a progress point).
#[cold]
#[inline(never)]
pub(crate) fn catch_up() {
    let owed = OWED.load(Relaxed);
    account(|paid| {
        let Some(debt) = owed.checked_sub(*paid) else {
            return; // credit: a longer sleep than owed, paid back by later pauses
        };
        if debt < MIN_PAUSE_NS {
            return;
        }
        if debt > MAX_PAUSE_NS {
            *paid = owed;
            return;
        }
        let t = Instant::now();
        std::thread::sleep(Duration::from_nanos(debt));
        let slept = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        *paid = paid.saturating_add(slept);
    });
}

/// This thread's wait for lock `lock` ended: it takes over the account of the release that
/// woke it, when that is ahead of its own.
#[cold]
pub(crate) fn woke(lock: u64) {
    let slot = &HANDOFF[(lock % 256) as usize];
    let theirs = slot.1.load(Relaxed);
    if slot.0.load(Relaxed) == lock {
        account(|paid| *paid = (*paid).max(theirs));
    }
}

// ----- experiments -----

/// One finished experiment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Experiment {
    /// When it ended, nanoseconds since the trace epoch.
    pub ts_ns: u64,
    /// The lock class sped up.
    pub class: u32,
    /// The virtual speedup, percent (0: a baseline).
    pub speedup_pct: u64,
    /// Its wall-clock length.
    pub duration_ns: u64,
    /// The pause inserted into every other thread meanwhile.
    pub delay_ns: u64,
    /// Each progress point's count during the experiment.
    pub progress: Vec<(&'static str, u64)>,
}

struct Log {
    done: Vec<Experiment>,
    dropped: u64,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    done: Vec::new(),
    dropped: 0,
});

/// Experiments from `from` on (an index into all kept so far), and how many were dropped.
pub(crate) fn experiments_since(from: usize) -> (Vec<Experiment>, u64) {
    let log = LOG.lock();
    (log.done.get(from..).unwrap_or(&[]).to_vec(), log.dropped)
}

/// Every experiment kept so far.
pub fn experiments() -> Vec<Experiment> {
    experiments_since(0).0
}

static RUNNING: AtomicU32 = AtomicU32::new(0);
static WINDOW_MS: AtomicU64 = AtomicU64::new(50);

/// Starts causal experiments: one every `window` (10 ms to 10 s), on a thread of their own,
/// until [`stop`]. Every hold is timed while they run. Says so on stderr. Also
/// `LOCKSCOPE_CAUSAL=1` (and `LOCKSCOPE_CAUSAL_MS` for the window).
pub fn start(window: Duration) {
    let ms = u64::try_from(window.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(10, 10_000);
    WINDOW_MS.store(ms, Relaxed);
    if RUNNING.swap(1, Relaxed) == 1 {
        return;
    }
    crate::diag::warn(&format!(
        "causal experiments on ({ms} ms each): holds of one lock class at a time are virtually sped up by pausing the other threads, so the program runs slower on purpose"
    ));
    settings::set_causal(true);
    let spawned = std::thread::Builder::new()
        .name("lockscope-causal".into())
        .spawn(run);
    if let Err(e) = spawned {
        crate::diag::warn(&format!(
            "causal experiments could not start their thread ({e}); none will run"
        ));
        stop();
    }
}

/// Stops the experiments after the one under way; what was measured is kept.
pub fn stop() {
    RUNNING.store(0, Relaxed);
}

/// Whether experiments are running.
pub fn running() -> bool {
    RUNNING.load(Relaxed) == 1
}

fn run() {
    let mut rng = crate::clock::now_ns() | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut number = unpack(STATE.load(Relaxed)).0;
    while running() {
        let window = Duration::from_millis(WINDOW_MS.load(Relaxed));
        // Classes that have been held: the candidates.
        let classes: Vec<u32> = class::all()
            .iter()
            .filter(|c| c.counters.acquisitions.load(Relaxed) > 0)
            .map(|c| c.id)
            .collect();
        if classes.is_empty() {
            std::thread::sleep(window);
            continue;
        }
        let class = classes[(next() % classes.len() as u64) as usize];
        let speedup = SPEEDUPS[(next() % SPEEDUPS.len() as u64) as usize];
        let before = progress_counts();
        // Numbered from 1 (wrapping back to 1), so the closed delay (0) is no experiment's.
        number = number % (u64::MAX >> NUMBER_SHIFT) + 1;
        // The delay is opened under the new number before the state names it (release store,
        // acquire load in `released`), so a charge under that number always finds it.
        DELAY.store(number << NUMBER_SHIFT, Relaxed);
        let t0 = crate::clock::now_ns();
        STATE.store(pack(number, speedup, class), Release);
        std::thread::sleep(window);
        STATE.store(pack(number, 0, 0), Release);
        let t1 = crate::clock::now_ns();
        let delay_ns = DELAY.swap(0, Relaxed) & DELAY_NS;
        let after = progress_counts();
        let progress = after
            .iter()
            .map(|&(name, n)| {
                let was = before.iter().find(|(b, _)| *b == name).map_or(0, |b| b.1);
                (name, n - was)
            })
            .collect();
        let mut log = LOG.lock();
        if log.done.len() < MAX_EXPERIMENTS {
            log.done.push(Experiment {
                ts_ns: t1,
                class,
                speedup_pct: speedup,
                duration_ns: t1 - t0,
                delay_ns,
                progress,
            });
        } else {
            log.dropped += 1;
        }
    }
    settings::set_causal(false);
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(crate) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 2] {
    [&NAMES, &LOG]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reads_back_whole() {
        let max = u64::MAX >> NUMBER_SHIFT;
        for (n, s, c) in [(1, 0, 0), (7, 25, 3), (max, 100, u32::MAX)] {
            assert_eq!(unpack(pack(n, s, c)), (n, s, c));
        }
    }

    #[test]
    fn a_release_charges_only_the_experiment_it_read() {
        // The only test here that touches the delay; no experiments run in this binary.
        DELAY.store(5 << NUMBER_SHIFT, Relaxed);
        assert!(charge(5, 1_000));
        assert!(!charge(4, 2_000), "a release from the experiment before");
        assert_eq!(DELAY.load(Relaxed) & DELAY_NS, 1_000);
        assert!(charge(5, u64::MAX), "saturates");
        assert_eq!(DELAY.swap(0, Relaxed), (5 << NUMBER_SHIFT) | DELAY_NS);
        assert!(!charge(5, 1), "the experiment ended");
        assert_eq!(DELAY.load(Relaxed), 0);
    }
}
