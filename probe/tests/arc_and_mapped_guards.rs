//! The rest of parking_lot 0.12's API on lockscope's own types: the `Arc` guards of `RwLock`
//! and `ReentrantMutex`, the reentrant mutex's mapped guard, the `try_map_or_err` family, the
//! timed `with_upgraded`s, `Condvar::wait_while_for`/`_until` and the `const_*` constructors.
//! Each behaves as parking_lot documents, and the locks stay recorded and seen by the deadlock
//! detector through every one of them.

mod support;

use lockscope::{
    ArcReentrantMutexGuard, ArcRwLockReadGuard, ArcRwLockUpgradableReadGuard, ArcRwLockWriteGuard,
    Condvar, MappedReentrantMutexGuard, MappedRwLockReadGuard, Mutex, MutexGuard, ReentrantMutex,
    ReentrantMutexGuard, RwLock, RwLockReadGuard, RwLockUpgradableReadGuard,
};
use std::cell::Cell;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// The locks the calling thread holds right now, by name, as `lockscope::dump()` sees them.
fn my_holds() -> Vec<String> {
    holds_here().into_iter().map(|(name, _)| name).collect()
}

/// Whether another thread could take `rw` for writing right now.
fn writable_elsewhere<T: Send + Sync + 'static>(rw: &Arc<RwLock<T>>) -> bool {
    let rw = rw.clone();
    thread::spawn(move || rw.try_write().is_some())
        .join()
        .unwrap()
}

#[test]
fn rwlock_arc_guards_hold_and_record_like_borrowing_ones() {
    let rw = Arc::new(RwLock::named("api-rw-arc", 1));
    let r: ArcRwLockReadGuard<i32> = rw.read_arc();
    assert!(Arc::ptr_eq(ArcRwLockReadGuard::rwlock(&r), &rw));
    assert_eq!(my_holds(), vec!["api-rw-arc"]);
    assert!(rw.try_write_arc().is_none(), "a reader keeps writers out");
    let second = rw.try_read_arc().expect("readers share");
    // The guards are 'static: they can be kept in a structure with no lifetime.
    let kept: Vec<ArcRwLockReadGuard<i32>> = vec![r, second];
    assert_eq!(kept.iter().map(|g| **g).sum::<i32>(), 2);
    drop(kept);
    assert!(!rw.is_locked());
    assert!(my_holds().is_empty());

    let mut w: ArcRwLockWriteGuard<i32> = rw.write_arc();
    *w += 1;
    assert!(rw.is_locked_exclusive());
    assert!(rw.try_read_arc_for(Duration::from_millis(5)).is_none());
    let r = ArcRwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 2);
    assert!(!rw.is_locked_exclusive(), "the downgrade made it a read");
    assert!(rw.try_read_recursive_arc().is_some(), "readers get in");
    assert!(!writable_elsewhere(&rw), "writers still do not");
    let back = ArcRwLockReadGuard::into_arc(r);
    assert!(Arc::ptr_eq(&back, &rw));
    assert!(!rw.is_locked());
    assert!(writable_elsewhere(&rw));
    drop(back);
    assert_eq!(
        Arc::strong_count(&rw),
        1,
        "the guards gave their clones back"
    );
    // read_arc, try_read_arc, write_arc, the downgrade (which ends the write's hold and begins
    // a read's), try_read_recursive_arc, and the other thread's successful try_write.
    assert_eq!(rw.stats().acquisitions, 6);
}

#[test]
fn an_arc_upgradable_read_excludes_upgraders_and_upgrades_in_place() {
    let rw = Arc::new(RwLock::named("api-rw-arc-up", 10));
    let mut up: ArcRwLockUpgradableReadGuard<i32> = rw.upgradable_read_arc();
    assert!(
        rw.try_upgradable_read_arc().is_none(),
        "one upgrader at a time"
    );
    let reader = rw
        .try_read_arc()
        .expect("an upgradable read shares with readers");

    // While a reader is inside, a timed upgrade gives up and leaves the guard as it was.
    let called = Cell::new(false);
    let got = up.try_with_upgraded_for(Duration::from_millis(10), |v| {
        called.set(true);
        *v += 1;
    });
    assert_eq!(got, None);
    assert!(!called.get(), "f runs only on the write hold");
    assert!(rw.try_upgradable_read_arc().is_none(), "still upgradable");
    drop(reader);

    let doubled = up.try_with_upgraded_until(Instant::now() + Duration::from_secs(60), |v| {
        *v *= 2;
        *v
    });
    assert_eq!(doubled, Some(20));
    assert!(!rw.is_locked_exclusive(), "back to the upgradable read");
    assert!(rw.try_read_arc().is_some());
    up.with_upgraded(|v| *v += 1);
    assert_eq!(*up, 21);

    let w = ArcRwLockUpgradableReadGuard::upgrade(up);
    assert!(rw.is_locked_exclusive());
    let up = ArcRwLockWriteGuard::downgrade_to_upgradable(w);
    let r = ArcRwLockUpgradableReadGuard::downgrade(up);
    assert!(
        rw.try_upgradable_read_arc().is_some(),
        "a plain read lets an upgrader in"
    );
    drop(r);
    assert!(!rw.is_locked());
    assert!(my_holds().is_empty());
}

#[test]
fn a_borrowed_upgradable_read_has_the_timed_with_upgraded_too() {
    let rw = RwLock::named("api-rw-up-timed", 1);
    let mut up = rw.upgradable_read();
    let reader = rw.read();
    assert_eq!(
        RwLockUpgradableReadGuard::try_with_upgraded_for(&mut up, Duration::from_millis(5), |v| {
            *v = 0
        }),
        None
    );
    drop(reader);
    let until = Instant::now() + Duration::from_secs(60);
    assert_eq!(up.try_with_upgraded_until(until, |v| *v + 1), Some(2));
    assert!(rw.try_upgradable_read().is_none(), "still upgradable");
    drop(up);
    assert_eq!(*rw.read(), 1);
}

#[test]
fn a_deadlock_through_rwlock_arc_guards_is_reported() {
    const NAME: &str = "a_deadlock_through_rwlock_arc_guards_is_reported";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(RwLock::named("arc-rw-a", 0));
        let b = Arc::new(RwLock::named("arc-rw-b", 0));
        let (a2, b2) = (a.clone(), b.clone());
        deadlock_pair(
            ("writes-a", move |both| {
                let _a = a2.write_arc();
                both.wait();
                let _b = b2.read_arc();
            }),
            ("writes-b", move |both| {
                let _b = b.write_arc();
                both.wait();
                let _a = a.upgradable_read_arc();
            }),
        );
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        holds_and_waits(&r),
        vec![
            "writes-a holds arc-rw-a waits arc-rw-b",
            "writes-b holds arc-rw-b waits arc-rw-a"
        ]
    );
}

#[test]
fn a_reentrant_mutex_s_mapped_and_arc_guards_keep_their_level() {
    let m = Arc::new(ReentrantMutex::named(
        "api-re-guards",
        (Cell::new(1), String::from("name")),
    ));
    let kept_out = |m: &Arc<ReentrantMutex<(Cell<i32>, String)>>| {
        let m = m.clone();
        thread::spawn(move || m.try_lock_arc().is_none())
            .join()
            .unwrap()
    };
    let name: MappedReentrantMutexGuard<'_, String> = ReentrantMutexGuard::map(m.lock(), |p| &p.1);
    assert_eq!(*name, "name");
    assert!(kept_out(&m), "the mapped guard holds the mutex");
    m.lock().0.set(2); // its holder may still re-enter
    assert_eq!(my_holds(), vec!["api-re-guards"]);
    let first = MappedReentrantMutexGuard::map(name, |s| &s[..1]);
    assert_eq!(&*first, "n");
    drop(first);
    assert!(!m.is_locked());

    let (g, why) = ReentrantMutexGuard::try_map_or_err(m.lock(), |_| Err::<&u8, _>("no"))
        .expect_err("declined with a reason");
    assert_eq!(why, "no");
    assert_eq!(g.0.get(), 2, "the guard came back");
    drop(g);

    let outer: ArcReentrantMutexGuard<_> = m.lock_arc();
    let inner = m
        .try_lock_arc_for(Duration::from_millis(5))
        .expect("re-entry by the holder");
    assert!(kept_out(&m));
    let back = ArcReentrantMutexGuard::into_arc(inner);
    assert!(back.is_locked(), "the outer level still holds it");
    drop(outer);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());

    std::mem::forget(m.lock());
    // SAFETY: this thread holds the level whose guard was forgotten.
    unsafe { m.force_unlock_fair() };
    assert!(!m.is_locked());
    assert!(my_holds().is_empty(), "the forgotten hold ended with it");
    drop(back);
    assert_eq!(Arc::strong_count(&m), 1);
}

#[test]
fn two_reentrant_arc_guards_taken_in_opposite_orders_deadlock() {
    const NAME: &str = "two_reentrant_arc_guards_taken_in_opposite_orders_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(ReentrantMutex::named("re-arc-a", ()));
        let b = Arc::new(ReentrantMutex::named("re-arc-b", ()));
        let (a2, b2) = (a.clone(), b.clone());
        deadlock_pair(
            ("re-arc-ab", move |both| {
                let _a = a2.lock_arc();
                let _again = ReentrantMutexGuard::map(a2.lock(), |u| u); // re-entry: fine
                both.wait();
                let _b = b2.lock_arc();
            }),
            ("re-arc-ba", move |both| {
                let _b = b.lock_arc();
                both.wait();
                let _a = a.lock();
            }),
        );
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participant_names(&r, "name"),
        vec!["re-arc-ab", "re-arc-ba"]
    );
}

#[test]
fn a_fair_mutex_in_an_arc_locks_through_it() {
    let fm = Arc::new(lockscope::FairMutex::named("api-fair-arc", vec![1]));
    let mut g = fm.lock_arc();
    g.push(2);
    let held = Arc::as_ptr(lockscope::ArcMutexGuard::mutex(&g)).cast::<u8>();
    assert_eq!(
        held,
        Arc::as_ptr(&fm).cast::<u8>(),
        "the guard keeps this very mutex"
    );
    assert_eq!(Arc::strong_count(&fm), 2);
    assert_eq!(my_holds(), vec!["api-fair-arc"]);
    assert!(fm.try_lock_arc().is_none());
    let other = fm.clone();
    assert!(
        thread::spawn(move || other.try_lock_arc_for(Duration::from_millis(5)).is_none())
            .join()
            .unwrap()
    );
    drop(g);
    let g = fm
        .try_lock_arc_until(Instant::now() + Duration::from_secs(60))
        .unwrap();
    assert_eq!(*g, vec![1, 2]);
    drop(g);
    assert!(!fm.is_locked());
    assert!(my_holds().is_empty());
    assert_eq!(
        Arc::strong_count(&fm),
        1,
        "the guards gave their clones back"
    );
    assert_eq!(fm.stats().acquisitions, 2, "the two that got it");
}

#[test]
fn try_map_or_err_gives_the_guard_back_with_the_reason() {
    let m = Mutex::named("api-map-or-err", (1u8, 2u8));
    let (g, why) =
        MutexGuard::try_map_or_err(m.lock(), |_| Err::<&mut u8, _>(7)).expect_err("declined");
    assert_eq!((why, g.0), (7, 1));
    drop(g);
    let mut second = MutexGuard::try_map_or_err(m.lock(), |p| Ok::<_, ()>(&mut p.1)).unwrap();
    *second += 1;
    assert!(m.is_locked(), "the mapped guard holds the whole mutex");
    drop(second);
    assert_eq!(m.lock().1, 3);

    let rw = RwLock::named("api-rw-map-or-else", [1, 2, 3]);
    let part = RwLockReadGuard::map(rw.read(), |a| &a[1..]);
    let (part, why) = MappedRwLockReadGuard::try_map_or_else(part, |s| s.get(5).ok_or("short"))
        .expect_err("declined");
    assert_eq!((why, part.len()), ("short", 2));
    assert!(rw.try_write().is_none(), "the mapped read still holds");
    drop(part);
    assert!(rw.try_write().is_some());
}

#[test]
fn wait_while_for_times_out_while_the_condition_holds_and_returns_when_it_clears() {
    let pair = Arc::new((Mutex::named("api-wait-while", false), Condvar::new()));
    let mut ready = pair.0.lock();
    let r = pair
        .1
        .wait_while_for(&mut ready, |r| !*r, Duration::from_millis(10));
    assert!(r.timed_out());
    assert!(!*ready, "the condition still holds after a timeout");

    let p = pair.clone();
    let setter = thread::spawn(move || {
        // Gets the mutex only once the main thread waits on the condvar and so releases it.
        *p.0.lock() = true;
        p.1.notify_all();
    });
    let until = Instant::now() + Duration::from_secs(60);
    let r = pair.1.wait_while_until(&mut ready, |r| !*r, until);
    assert!(!r.timed_out());
    assert!(*ready);
    let r = pair.1.wait_while_for(&mut ready, |r| !*r, Duration::ZERO);
    assert!(!r.timed_out(), "a condition already false returns at once");
    drop(ready);
    setter.join().unwrap();
    assert!(pair.1.stats().acquisitions >= 2, "each wait is counted");
    assert!(my_holds().is_empty());
}

static CONST_MUTEX: Mutex<u32> = lockscope::const_mutex(0);
static CONST_RWLOCK: RwLock<u32> = lockscope::const_rwlock(0);
static CONST_FAIR: lockscope::FairMutex<u32> = lockscope::const_fair_mutex(0);
static CONST_REENTRANT: ReentrantMutex<u32> = lockscope::const_reentrant_mutex(0);

#[test]
fn const_constructors_make_recorded_statics_named_by_their_line() {
    *CONST_MUTEX.lock() += 1;
    *CONST_RWLOCK.write() += 1;
    *CONST_FAIR.lock() += 1;
    assert_eq!(*CONST_REENTRANT.lock(), 0);
    let sites: Vec<String> = lockscope::class_stats()
        .into_iter()
        .filter(|c| c.site.contains("arc_and_mapped_guards.rs"))
        .map(|c| c.site)
        .collect();
    let line_of = |name: &str| {
        let src = include_str!("arc_and_mapped_guards.rs");
        let n = src
            .lines()
            .position(|l| l.starts_with(&format!("static {name}:")))
            .unwrap();
        format!("arc_and_mapped_guards.rs:{}:", n + 1)
    };
    for name in [
        "CONST_MUTEX",
        "CONST_RWLOCK",
        "CONST_FAIR",
        "CONST_REENTRANT",
    ] {
        let line = line_of(name);
        assert!(
            sites.iter().any(|s| s.contains(&line)),
            "{name}'s class is its line {line}; classes here: {sites:?}"
        );
    }
}
