//! Packing must lose nothing, and filtered views must find what the whole model finds.

use std::num::NonZeroU64;

use lockscope_format::{Mode, Record};

use crate::model::Filter;
use crate::model::tests_support::{begin, definitions, end, hold, model, two_locks};

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
