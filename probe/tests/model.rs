//! Model checks of lockscope's own lock-free protocols, with loom: the per-thread double
//! buffer every recorded event goes through, and the held list (a sequence lock) that the
//! deadlock detector, `dump()` and the profiles read from other threads. These are the probe's
//! own source files, compiled here over loom's atomics and cell (through the probe's
//! `raw::shim`), so loom runs them under every interleaving and every weak-memory outcome it
//! models, within a preemption bound; a protocol bug fails these tests. (The lock word itself
//! is parking_lot's raw lock, which lockscope does not change.)

use loom::sync::Arc;
use loom::thread;

mod raw {
    pub(crate) mod shim {
        pub(crate) use loom::cell::UnsafeCell;
        pub(crate) use loom::sync::atomic::{
            AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
        };

        pub(crate) fn spin_loop() {
            loom::hint::spin_loop();
        }

        pub(crate) fn yield_now() {
            loom::thread::yield_now();
        }
    }
}

#[allow(dead_code)]
#[path = "../src/raw/double.rs"]
mod double;

#[allow(dead_code)]
#[path = "../src/actor/held_list.rs"]
mod held_list;

use double::DoubleBuf;
use held_list::{HeldList, Slot};

/// Every interleaving with at most this many preemptions (loom's advice: 2 or 3 finds the
/// bugs; more explodes the search).
fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn the_double_buffer_hands_every_write_to_the_collector_once() {
    check(|| {
        let buf = Arc::new(DoubleBuf::new(Vec::new(), Vec::new()));
        let w = buf.clone();
        let writer = thread::spawn(move || {
            for i in 1..=3u32 {
                w.write(|half| half.push(i));
            }
        });
        // The collector runs while the writer writes: loom reports any moment both touch
        // one half.
        let mut got = Vec::new();
        buf.collect(|half| got.append(half));
        writer.join().unwrap();
        for _ in 0..2 {
            buf.collect(|half| got.append(half));
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3], "each write collected exactly once");
    });
}

/// The four words of a slot holding `lock`: each derived from it, so a slot read half from
/// one hold and half from another is caught.
fn entry(lock: u64) -> [u64; 4] {
    [lock, lock * 10, lock * 100, lock * 1_000]
}

fn push(list: &HeldList, lock: u64) {
    let [l, cm, site, since] = entry(lock);
    list.push(l, cm, site as usize, since);
}

/// What a reader sees of `list`, when it gets a consistent read.
fn read(list: &HeldList) -> Option<Vec<[u64; 4]>> {
    list.read_consistent(|d| list.held[..d].iter().map(Slot::read).collect())
}

/// Runs `owner` on its own thread while this thread reads the list once; the read must be
/// one of `states` (each a list of held locks, innermost last, as [`entry`] writes them).
fn reader_sees_only(owner: fn(&HeldList), states: &'static [&'static [u64]]) {
    let states = states
        .iter()
        .map(|s| s.iter().map(|&k| entry(k)).collect())
        .collect();
    reader_sees_only_slots(owner, states);
}

/// [`reader_sees_only`] with each state given slot by slot.
fn reader_sees_only_slots(owner: fn(&HeldList), states: Vec<Vec<[u64; 4]>>) {
    check(move || {
        let list = Arc::new(HeldList::new());
        let l = list.clone();
        let t = thread::spawn(move || owner(&l));
        // A scheduling point before the read, so that the owner may run first.
        thread::yield_now();
        if let Some(seen) = read(&list) {
            assert!(
                states.contains(&seen),
                "a state the list was never in: {seen:?}"
            );
        }
        t.join().unwrap();
        assert_eq!(
            read(&list).as_ref(),
            states.last(),
            "the final state, once the owner is done"
        );
    });
}

#[test]
fn a_reader_never_sees_a_slot_reused_by_a_push_after_a_pop_half_written() {
    // Slot 1 holds B, is popped (a sequence bump) and reused for C (no bump of its own).
    reader_sees_only(
        |l| {
            push(l, 1);
            push(l, 2);
            l.pop(2);
            push(l, 3);
        },
        &[&[], &[1], &[1, 2], &[1, 3]],
    );
}

#[test]
fn a_reader_never_sees_a_pop_from_the_middle_half_done() {
    // Releasing the outer lock first shifts the inner one down inside the sequence lock.
    reader_sees_only(
        |l| {
            push(l, 1);
            push(l, 2);
            l.pop(1);
        },
        &[&[], &[1], &[1, 2], &[2]],
    );
}

#[test]
fn a_slot_reused_by_an_untimed_hold_never_shows_the_old_time() {
    // An untimed push leaves the slot's old time in place and no stamp flag: a reader must
    // see it untimed, never with the time of the timed hold that used the slot before.
    reader_sees_only_slots(
        |l| {
            push(l, 1);
            l.pop(1);
            l.push(2, 20, 200, 0);
        },
        vec![vec![], vec![entry(1)], vec![[2, 20, 200, 0]]],
    );
}

#[test]
fn the_wait_slot_is_read_whole() {
    check(|| {
        let list = Arc::new(HeldList::new());
        let l = list.clone();
        let t = thread::spawn(move || {
            let [a, b, c, d] = entry(7);
            l.write(|l| l.waiting.write(a, b, c as usize, d));
        });
        thread::yield_now();
        if let Some(w) = list.read_consistent(|_| list.waiting.read()) {
            assert!([[0; 4], entry(7)].contains(&w), "a torn wait: {w:?}");
        }
        t.join().unwrap();
    });
}
