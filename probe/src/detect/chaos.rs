//! Chaos mode: perturbs the schedule at lock boundaries so that latent deadlocks happen in
//! testing instead of once in a thousand runs in production.
//!
//! Switched on by `LOCKSCOPE_CHAOS=SEED` or [`enable`]. At each acquisition of a recorded lock
//! (before it tries the lock) and each release (before it lets go), the calling thread draws
//! one number from its own stream: the seed, the thread's name and how many draws the thread
//! made before it, so a run repeats its decisions as far as its threads repeat their lock
//! operations. What the draw does depends on where the thread is:
//!
//! - taking a lock while holding others, when the order graph already has the reverse order
//!   (the acquisition would close a lock-order cycle): a delay of up to 10 ms, every time,
//!   ended as soon as another thread waits for one of the locks this one holds. This is where
//!   an ABBA deadlock forms: the thread sits on its outer lock until the other order's thread
//!   has taken its own outer one and blocks on this thread's, or the 10 ms run out. (A fixed
//!   short delay missed threads that a busy machine did not schedule in time.)
//! - taking a lock under others in an order no actor has taken yet (the graph has no edge
//!   from what it holds to it): a delay of 1 to 5 ms, every time. A latent deadlock's rare
//!   order is often the first of its kind, and the other order may not have run yet either;
//!   both sit on their outer locks long enough to meet. Once the order is in the graph, later
//!   acquisitions in it are the next case.
//! - any other nested acquisition: a delay of 20 to 200 µs, one time in four;
//! - an outermost acquisition: a yield, one time in sixteen;
//! - a release while others wait for the lock: a yield, one time in two; a sampled release
//!   (one in 64 by default) that nobody waits for: one time in sixteen.
//!
//! Every delay is a bounded sleep of the calling thread, taken while it holds none of
//! lockscope's internal locks; nothing else about the program changes. Off, the lock paths pay
//! nothing beyond the load of the recording flag they already make (the chaos bit shares its
//! byte). Chaos mode acts on the blocking `lockscope` locks (`Mutex`, `FairMutex`, `RwLock`,
//! `ReentrantMutex`, `Semaphore` and the `parking_lot` drop-in) while recording is on; the
//! async locks are left alone, since a sleep there would stall a runtime worker.

use super::order::Nesting;
use crate::actor;
use crate::settings;
use crate::stats::CHAOS;
pub use crate::stats::ChaosStats;
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The longest delay chaos mode injects at once.
pub const MAX_DELAY: Duration = Duration::from_millis(10);

/// Switches chaos mode on with `seed` (0 switches it off, as [`disable`] does). Says so on
/// stderr: a program under chaos mode runs slower on purpose. Also `LOCKSCOPE_CHAOS=SEED`.
pub fn enable(seed: u64) {
    if seed == 0 {
        disable();
        return;
    }
    crate::diag::warn(&format!(
        "chaos mode on, seed {seed}: lock acquisitions and releases are delayed and yielded on purpose to make latent deadlocks happen (LOCKSCOPE_CHAOS={seed} repeats these decisions)"
    ));
    settings::set_chaos_seed(seed);
}

/// Switches chaos mode off.
pub fn disable() {
    settings::set_chaos_seed(0);
}

/// The seed while chaos mode is on.
pub fn seed() -> Option<u64> {
    Some(settings::chaos_seed()).filter(|&s| s != 0)
}

/// What chaos mode has injected so far (counts keep their values after it is switched off).
pub fn stats() -> ChaosStats {
    crate::stats::chaos_stats()
}

thread_local! {
    /// This thread's stream: its key (from its name; 0 until first used) and draws so far.
    static STREAM: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// splitmix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The calling thread's next draw under `seed`.
fn draw(seed: u64) -> u64 {
    let (key, n) = STREAM
        .try_with(|s| {
            let (mut key, n) = s.get();
            if key == 0 {
                let name = std::thread::current();
                let name = name.name().unwrap_or("");
                key = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                }) | 1;
            }
            s.set((key, n + 1));
            (key, n)
        })
        .unwrap_or((1, 0));
    mix(seed ^ mix(key) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// The calling thread's next draw, while chaos mode is on.
fn draw_now() -> Option<u64> {
    Some(settings::chaos_seed())
        .filter(|&seed| seed != 0)
        .map(draw)
}

/// A number in `lo..hi` from the draw's high bits.
fn within(r: u64, lo: u64, hi: u64) -> u64 {
    lo + ((r >> 32) % (hi - lo).max(1))
}

fn delay(ns: u64) {
    std::thread::sleep(Duration::from_nanos(ns));
    CHAOS.delays.fetch_add(1, Relaxed);
    CHAOS.delay_ns.fetch_add(ns, Relaxed);
}

/// Sits on what thread `me` holds for up to [`MAX_DELAY`], and stops early once another
/// thread waits for one of those locks: checked every quarter millisecond, with no internal
/// lock held while sleeping.
fn delay_until_waited_for(me: &actor::ActorShared) {
    let mut held = [0u64; 8];
    let mut n = 0;
    me.each_held_lock(|l| {
        if n < held.len() && l != 0 {
            held[n] = l;
            n += 1;
        }
    });
    let held = &held[..n];
    let start = std::time::Instant::now();
    // The thread itself waits for nothing while it is here, so only others can match.
    loop {
        let left = MAX_DELAY.saturating_sub(start.elapsed());
        if left.is_zero() || actor::any_waits_for(held) {
            break;
        }
        std::thread::sleep(left.min(Duration::from_micros(250)));
    }
    let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    CHAOS.delays.fetch_add(1, Relaxed);
    CHAOS.delay_ns.fetch_add(ns, Relaxed);
}

fn yield_now() {
    std::thread::yield_now();
    CHAOS.yields.fetch_add(1, Relaxed);
}

/// Before a blocking acquisition of a lock of class `class` (its id; 0 before the class is
/// known) by the calling thread, while chaos mode is on.
#[cold]
#[inline(never)]
pub(crate) fn before_acquire(class: u32) {
    let Some(r) = draw_now() else { return };
    let me = actor::current();
    if me.depth() == 0 {
        if r & 15 == 0 {
            yield_now();
        }
        return;
    }
    let mut held = [0u32; 8];
    let mut n = 0;
    me.each_held_class(|c| {
        if n < held.len() {
            held[n] = c;
            n += 1;
        }
    });
    match super::order::nesting(&held[..n], class) {
        Nesting::ClosesCycle => {
            CHAOS.inversion_delays.fetch_add(1, Relaxed);
            delay_until_waited_for(me);
        }
        Nesting::Novel => delay(within(r, 1_000_000, 5_000_001)),
        Nesting::Known if r & 3 == 0 => delay(within(r, 20_000, 200_001)),
        Nesting::Known => {}
    }
}

/// Before the release of a recorded hold by the calling thread, while chaos mode is on;
/// `waited_for`: someone waits for the lock.
#[cold]
#[inline(never)]
pub(crate) fn before_release(waited_for: bool) {
    let Some(r) = draw_now() else { return };
    if (waited_for && r & 1 == 0) || r & 15 == 0 {
        yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threads_draws_depend_on_the_seed_its_name_and_its_count_only() {
        let run = |seed: u64, name: &str| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || (0..64).map(|_| draw(seed)).collect::<Vec<u64>>())
                .unwrap()
                .join()
                .unwrap()
        };
        let a = run(7, "worker");
        assert_eq!(
            a,
            run(7, "worker"),
            "the same seed and thread repeat their draws"
        );
        assert_ne!(a, run(8, "worker"), "another seed draws otherwise");
        assert_ne!(a, run(7, "auditor"), "another thread draws otherwise");
        let delays = a.iter().filter(|&&r| r & 3 == 0).count();
        assert!(
            (4..=32).contains(&delays),
            "about one in four: {delays} of 64"
        );
    }

    #[test]
    fn delays_stay_within_their_bounds() {
        for r in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
            let ns = within(r, 2_000_000, 10_000_001);
            assert!((2_000_000..=10_000_000).contains(&ns));
            assert!(Duration::from_nanos(ns) <= MAX_DELAY);
        }
    }
}
