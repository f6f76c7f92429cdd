//! Packing must lose nothing, and filtered views must find what the whole model finds.

use std::num::NonZeroU64;

use lockscope_format::{Mode, Outcome, Record};

use crate::model::tests_support::{begin, definitions, end, hold, model, two_locks};
use crate::model::{Filter, Model, WaitState, Waits};

const BIG_ACTOR: u64 = u64::MAX - 7;
const BIG_LOCK: u64 = 1 << 40;

#[test]
fn ids_above_31_bits_long_holds_and_huge_permit_counts_come_back_whole() {
    let mut r = definitions();
    let ten_s = 10_000_000_000;
    r.push(Record::WaitBegin {
        ts_ns: 100,
        actor: BIG_ACTOR,
        lock: BIG_LOCK,
        mode: Mode::Permits(u32::MAX),
        site: u64::MAX,
        stack: 1 << 35,
        holders: vec![BIG_ACTOR - 1, 2],
        span: 1 << 33,
    });
    r.push(end(ten_s, BIG_ACTOR, BIG_LOCK));
    r.push(Record::Hold {
        begin_ns: 50,
        contended_ns: 100,
        end_ns: ten_s + 50,
        actor: BIG_ACTOR - 1,
        lock: BIG_LOCK,
        mode: Mode::Permits(u32::MAX - 3),
        site: 1 << 50,
        span: u64::MAX,
    });
    // Begins after it ends: kept as recorded, not wrapped around.
    r.push(hold(900, 0, 800, 2, 11));
    let m = model(r);

    let w = m.waits.get(0).unwrap();
    assert_eq!(
        (w.actor, w.lock, w.site, w.stack),
        (BIG_ACTOR, BIG_LOCK, u64::MAX, 1 << 35)
    );
    assert_eq!((w.mode, w.span), (Mode::Permits(u32::MAX), 1 << 33));
    assert_eq!(w.holders, [BIG_ACTOR - 1, 2]);
    assert_eq!(w.duration_ns(), Some(ten_s - 100));
    assert_eq!(w.class, u64::MAX - BIG_LOCK, "its Lock record is missing");

    let h = m.holds.get(0).unwrap();
    assert_eq!(h.begin_ns, NonZeroU64::new(50));
    assert_eq!(h.contended_ns, NonZeroU64::new(100));
    assert_eq!(
        (h.end_ns, h.actor, h.lock),
        (ten_s + 50, BIG_ACTOR - 1, BIG_LOCK)
    );
    assert_eq!(
        (h.mode, h.site, h.span),
        (Mode::Permits(u32::MAX - 3), 1 << 50, u64::MAX)
    );
    let odd = m.holds.get(1).unwrap();
    assert_eq!(
        (odd.begin_ns, odd.contended_ns),
        (NonZeroU64::new(900), None)
    );
    assert_eq!((odd.end_ns, odd.class), (800, 10));

    assert_eq!(m.holder_hold(&w, BIG_ACTOR - 1), Some(h));
    assert_eq!(m.holder_hold(&w, 2), None, "t2 held alpha, not this lock");
}

#[test]
fn a_hold_that_began_after_a_long_wait_ended_did_not_cause_it() {
    let five_s = 5_000_000_000;
    let mut r = definitions();
    r.push(begin(100, 1, 11, &[2, 3]));
    r.push(end(five_s, 1, 11));
    // t2's first hold ending after the wait began started after the wait ended.
    r.push(hold(five_s + 10, 0, five_s + 20, 2, 11));
    // t3's started a moment before the end of the wait.
    r.push(hold(five_s - 10, five_s - 10, five_s + 30, 3, 11));
    let m = model(r);
    let w = m.waits.get(0).unwrap();
    assert_eq!(m.holder_hold_index(&w, 2), None);
    assert_eq!(m.holder_hold_index(&w, 3), Some(1));
}

#[test]
fn a_filtered_model_shares_events_and_points_at_its_own_positions() {
    let (m, _, b) = two_locks();
    let f = m.filtered(&Filter {
        class: Some(b),
        range_ns: None,
    });
    assert_eq!((f.waits.len(), f.holds.len()), (1, 1));
    let w = f.waits.get(0).unwrap();
    assert_eq!((w.actor, w.class, w.begin_ns), (2, b, 500));
    // In the whole model t1's hold of beta is hold 1; in the filtered one, hold 0.
    assert_eq!(m.wait_holders(1), [(1, Some(1))]);
    assert_eq!(f.wait_holders(0), [(1, Some(0))]);
    assert_eq!(f.holds.iter().map(|h| h.lock).collect::<Vec<_>>(), [21]);
    // A range that keeps the wait but not the hold: the hold is not found.
    let r = m.filtered(&Filter {
        class: None,
        range_ns: Some((160, 170)),
    });
    assert_eq!(r.waits.len(), 1);
    assert_eq!(
        r.wait_holders(0),
        [(2, Some(0))],
        "t2's hold 100..300 overlaps it"
    );
}

#[test]
fn an_actor_that_was_not_a_recorded_holder_is_still_looked_up() {
    let mut r = definitions();
    r.push(begin(150, 1, 11, &[2]));
    r.push(hold(100, 150, 200, 3, 11));
    r.push(end(200, 1, 11));
    let m = model(r);
    let w = m.waits.get(0).unwrap();
    assert_eq!(m.holder_hold_index(&w, 3), Some(0));
    assert_eq!(m.holder_hold_index(&w, 2), None);
}

#[test]
fn iterating_from_both_ends_and_counting_agree() {
    let (m, _, _) = two_locks();
    let forward: Vec<u64> = m.waits.iter().map(|w| w.begin_ns).collect();
    let mut backward: Vec<u64> = m.waits.iter().rev().map(|w| w.begin_ns).collect();
    backward.reverse();
    assert_eq!(forward, backward);
    assert_eq!(m.waits.iter().len(), 2);
    assert_eq!((&m.holds).into_iter().count(), m.holds.len());
    assert!(m.waits.get(2).is_none() && m.holds.get(2).is_none());
}

/// A deterministic mix of every shape a wait and a hold can take: ended, timed out, still
/// waiting, lost (begun again before its end), holds with and without begin or contention
/// times, holds kept whole aside (a begin after the end), and a lock with no `Lock` record.
fn mixed_events() -> Model {
    let mut r = definitions();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let locks = [11, 21, 99];
    for i in 0..3_000u64 {
        let t = 1_000 + i * 50;
        let (actor, lock) = (1 + next(3), locks[next(3) as usize]);
        match next(6) {
            0 => r.push(begin(t, actor, lock, &[])),
            1 => {
                r.push(begin(t, actor, lock, &[1]));
                r.push(Record::WaitEnd {
                    ts_ns: t + next(3_000),
                    actor,
                    lock,
                    outcome: [Outcome::Acquired, Outcome::TimedOut, Outcome::Closed]
                        [next(3) as usize],
                });
            }
            _ => {
                let end_ns = t + next(2_000);
                let begin_ns = [0, t, end_ns + 5, end_ns][next(4) as usize];
                let contended_ns = [0, t + 1][next(2) as usize];
                r.push(hold(begin_ns, contended_ns, end_ns, actor, lock));
            }
        }
    }
    model(r)
}

#[test]
fn a_filter_on_packed_fields_keeps_what_the_unpacked_test_keeps() {
    let m = mixed_events();
    let (first, last) = m.time_span();
    let classes = [None, Some(10), Some(20), Some(u64::MAX - 99), Some(7)];
    let mut ranges = vec![None, Some((0, u64::MAX)), Some((last, last + 1_000))];
    for k in 0..20 {
        let from = first + (last - first) * k / 20;
        ranges.push(Some((from, from + (last - first) / 50)));
        ranges.push(Some((from, from)));
    }
    // Ranges that end where an event starts, and start where one ends: the edges count.
    for h in m.holds.iter().step_by(97) {
        ranges.push(Some((h.start_ns() - 10, h.start_ns())));
        ranges.push(Some((h.end_ns, h.end_ns + 10)));
    }
    for w in m.waits.iter().step_by(31) {
        ranges.push(Some((w.begin_ns - 10, w.begin_ns)));
    }
    let mut kept = 0;
    for class in classes {
        for range_ns in ranges.iter().copied() {
            let f = Filter { class, range_ns };
            if f.is_empty() {
                continue;
            }
            let (a, b) = range_ns.unwrap_or((0, u64::MAX));
            let inside = |from: u64, to: u64| from <= b && to >= a;
            let of = |c: u64| class.is_none_or(|k| k == c);
            let waits = m.waits.select(|w| {
                let to = match w.state {
                    WaitState::Ended { end_ns, .. } => end_ns,
                    _ => m.end_ns,
                };
                of(w.class) && inside(w.begin_ns, to)
            });
            let holds = m
                .holds
                .select(|h| of(h.class) && inside(h.start_ns(), h.end_ns));
            let got = m.filtered(&f);
            let raws = |w: &Waits| w.iter().map(|w| w.raw).collect::<Vec<_>>();
            assert_eq!(raws(&got.waits), raws(&waits), "waits for {f:?}");
            assert_eq!(
                got.holds.iter().collect::<Vec<_>>(),
                holds.iter().collect::<Vec<_>>(),
                "holds for {f:?}"
            );
            kept += waits.len() + holds.len();
        }
    }
    assert!(
        kept > 1_000,
        "the filters kept something to compare: {kept}"
    );
}
