//! parking_lot 0.12's API on lockscope's own types: a parking_lot user swaps the `use` line and
//! everything compiles and behaves as parking_lot documents, while the locks stay recorded and
//! the detectors see through every kind of guard.

mod support;

use lockscope::{
    ArcMutexGuard, Condvar, FairMutex, MappedMutexGuard, MappedRwLockReadGuard,
    MappedRwLockWriteGuard, Mutex, MutexGuard, Once, OnceState, ReentrantMutex, RwLock,
    RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use support::*;

/// The locks the calling thread holds right now, by name, as `lockscope::dump()` sees them.
fn my_holds() -> Vec<String> {
    holds_here().into_iter().map(|(name, _)| name).collect()
}

#[derive(Debug, Default)]
struct Account {
    id: u32,
    balance: i64,
}

#[test]
fn a_mapped_guard_keeps_the_mutex_locked_and_recorded_until_it_drops() {
    let m = Mutex::named("api-map", Account { id: 7, balance: 10 });
    let mut balance: MappedMutexGuard<'_, i64> = MutexGuard::map(m.lock(), |a| &mut a.balance);
    *balance += 5;
    assert!(m.is_locked());
    assert!(
        m.try_lock().is_none(),
        "the mapped guard still holds the whole mutex"
    );
    assert_eq!(my_holds(), vec!["api-map"]);
    let id_only = MappedMutexGuard::try_map(balance, |_| None::<&mut u32>);
    let balance = id_only.expect_err("declined: the guard comes back");
    assert_eq!(*balance, 15);
    drop(balance);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());

    let declined = MutexGuard::try_map(m.lock(), |_| None::<&mut u8>);
    let mut g = declined.expect_err("declined: the original guard comes back");
    g.id += 1;
    drop(g);
    let id = MutexGuard::try_map(m.lock(), |a| Some(&mut a.id)).unwrap();
    assert_eq!(*id, 8);
    drop(id);
    assert_eq!(m.stats().acquisitions, 3);
}

#[test]
fn unlocked_lets_another_thread_in_and_relocks_before_returning() {
    let m = Arc::new(Mutex::named("api-unlocked", 0));
    let mut g = m.lock();
    *g = 1;
    let m2 = m.clone();
    let seen = MutexGuard::unlocked(&mut g, || {
        assert!(!m2.is_locked());
        thread::spawn(move || {
            let mut g = m2.lock();
            *g += 10;
            *g
        })
        .join()
        .unwrap()
    });
    assert_eq!(seen, 11);
    assert_eq!(
        *g, 11,
        "the guard is valid again, and sees the other thread's write"
    );
    assert!(m.is_locked());
    assert_eq!(my_holds(), vec!["api-unlocked"]);
    MutexGuard::unlocked_fair(&mut g, || ());
    assert_eq!(
        m.stats().acquisitions,
        4,
        "first lock, the other thread, two re-locks"
    );
    MutexGuard::unlock_fair(g);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());
}

#[test]
fn unlocked_relocks_when_the_closure_panics() {
    let m = Mutex::named("api-unlocked-panic", 0);
    let mut g = m.lock();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        MutexGuard::unlocked(&mut g, || panic!("inside unlocked"))
    }));
    assert!(r.is_err());
    assert!(m.is_locked(), "unwinding re-locked the mutex for the guard");
    *g += 1;
    drop(g);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());
}

#[test]
fn bump_hands_the_mutex_to_a_waiting_thread_and_takes_it_back() {
    let m = Arc::new(Mutex::named("api-bump", 0u32));
    let mut g = m.lock();
    MutexGuard::bump(&mut g); // nobody waits: a no-op
    assert_eq!(m.stats().acquisitions, 1);
    let m2 = m.clone();
    let waiter = thread::spawn(move || *m2.lock() += 1);
    // The probe counts the waiter once its wait is recorded; that is the moment to bump.
    while m.stats().waiters == 0 {
        thread::yield_now();
    }
    // A bump yields to a thread parked on the mutex; the waiter may still be spinning before
    // it parks, so bump until it has had its turn. Without a working bump it never would.
    let mut bumps = 0;
    while *g == 0 {
        assert!(
            bumps < 1_000_000,
            "the waiter never got the mutex from bump"
        );
        MutexGuard::bump(&mut g);
        bumps += 1;
    }
    assert_eq!(*g, 1, "the waiter ran inside a bump");
    drop(g);
    waiter.join().unwrap();
}

#[test]
fn a_leaked_guard_holds_until_force_unlock() {
    let m = Mutex::named("api-leak", String::new());
    let s: &mut String = MutexGuard::leak(m.lock());
    s.push_str("kept");
    assert!(m.is_locked());
    assert_eq!(
        my_holds(),
        vec!["api-leak"],
        "a leaked guard's hold stays recorded"
    );
    // SAFETY: the mutex is locked by the leaked guard, which is never used again.
    unsafe { m.force_unlock() };
    assert!(!m.is_locked());
    assert!(my_holds().is_empty(), "force_unlock ends the recorded hold");
    assert_eq!(*m.lock(), "kept");
    std::mem::forget(m.lock());
    // SAFETY: as above, for the forgotten guard.
    unsafe { m.force_unlock_fair() };
    assert!(!m.is_locked());
    assert!(!m.data_ptr().is_null());
}

#[test]
fn arc_guards_live_without_a_borrow_and_give_the_arc_back() {
    let m = Arc::new(Mutex::named("api-arc", vec![1]));
    let mut g: ArcMutexGuard<Vec<i32>> = m.lock_arc();
    g.push(2);
    assert!(Arc::ptr_eq(ArcMutexGuard::mutex(&g), &m));
    assert!(m.try_lock_arc().is_none());
    // The guard is 'static: it can be kept in a structure with no lifetime.
    let kept: Vec<ArcMutexGuard<Vec<i32>>> = vec![g];
    assert_eq!(my_holds(), vec!["api-arc"]);
    let back = ArcMutexGuard::into_arc(kept.into_iter().next().unwrap());
    assert!(!back.is_locked());
    let g = back
        .try_lock_arc_for(std::time::Duration::from_millis(10))
        .unwrap();
    assert_eq!(*g, vec![1, 2]);
    ArcMutexGuard::unlock_fair(g);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());
    assert_eq!(
        Arc::strong_count(&m),
        2,
        "the guards gave their clones back"
    );
}

#[test]
fn a_fair_mutex_is_a_recorded_mutex_and_works_with_condvar() {
    let pair = Arc::new((FairMutex::named("api-fair", false), Condvar::new()));
    let p = pair.clone();
    let t = thread::spawn(move || {
        *p.0.lock() = true;
        p.1.notify_one();
    });
    let mut ready = pair.0.lock();
    while !*ready {
        pair.1.wait(&mut ready);
    }
    drop(ready);
    t.join().unwrap();
    assert!(pair.0.stats().acquisitions >= 2);
    let class = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == "api-fair")
        .expect("the fair mutex has a class");
    assert_eq!(class.kind, lockscope::format::LockKind::Mutex);
}

#[test]
fn a_deadlock_through_mapped_and_arc_guards_is_reported() {
    const NAME: &str = "a_deadlock_through_mapped_and_arc_guards_is_reported";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(Mutex::named("mapped-a", (0u8, 0u8)));
        let b = Arc::new(Mutex::named("arc-b", 0u8));
        let (a2, b2) = (a.clone(), b.clone());
        deadlock_pair(
            ("maps-a", move |both| {
                let _part = MutexGuard::map(a2.lock(), |p| &mut p.0);
                both.wait();
                let _b = b2.lock();
            }),
            ("arcs-b", move |both| {
                let _g = b.lock_arc();
                both.wait();
                let _a = a.lock();
            }),
        );
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        holds_and_waits(&r),
        vec![
            "arcs-b holds arc-b waits mapped-a",
            "maps-a holds mapped-a waits arc-b"
        ]
    );
}

#[test]
fn an_upgradable_read_shares_with_readers_and_excludes_writers_and_upgraders() {
    let rw = RwLock::named("api-upgradable", 1);
    let up = rw.upgradable_read();
    assert_eq!(
        *rw.try_read()
            .expect("readers share with an upgradable read"),
        1
    );
    assert!(rw.try_write().is_none());
    assert!(rw.try_upgradable_read().is_none());
    let reader = rw.read();
    let up = RwLockUpgradableReadGuard::try_upgrade(up).expect_err("a reader is still inside");
    drop(reader);
    let mut w = RwLockUpgradableReadGuard::try_upgrade(up).expect("the last reader left");
    *w += 1;
    assert!(rw.is_locked_exclusive());
    assert_eq!(
        holds_here(),
        vec![("api-upgradable".into(), "exclusive".into())]
    );
    let up = RwLockWriteGuard::downgrade_to_upgradable(w);
    assert!(!rw.is_locked_exclusive());
    assert!(rw.try_read().is_some());
    let r = RwLockUpgradableReadGuard::downgrade(up);
    assert!(
        rw.try_upgradable_read().is_some(),
        "a plain read lets an upgrader in"
    );
    drop(r);
    let w = RwLockUpgradableReadGuard::upgrade(rw.upgradable_read());
    let r = RwLockWriteGuard::downgrade(w);
    assert!(rw.try_write().is_none());
    assert_eq!(*r, 2);
    assert_eq!(
        holds_here(),
        vec![("api-upgradable".into(), "shared".into())]
    );
    drop(r);
    assert!(!rw.is_locked());
    assert!(my_holds().is_empty());
}

#[test]
fn with_upgraded_writes_and_leaves_the_guard_upgradable() {
    let rw = RwLock::named("api-with-upgraded", vec![1]);
    let mut up = rw.upgradable_read();
    let len = up.with_upgraded(|v| {
        v.push(2);
        v.len()
    });
    assert_eq!(len, 2);
    assert!(
        rw.try_upgradable_read().is_none(),
        "still upgradable-locked"
    );
    assert!(rw.try_read().is_some(), "and readers are welcome again");
    let reader = rw.read();
    assert_eq!(
        up.try_with_upgraded(|v| v.push(3)),
        None,
        "a reader is inside"
    );
    drop(reader);
    assert_eq!(up.try_with_upgraded(|v| v.len()), Some(2));
    assert_eq!(
        *RwLockUpgradableReadGuard::rwlock(&up).try_read().unwrap(),
        vec![1, 2]
    );
    drop(up);
    assert!(my_holds().is_empty());
}

#[test]
fn read_recursive_passes_a_queued_writer_that_a_plain_read_would_wait_behind() {
    let rw = Arc::new(RwLock::named("api-recursive", 0));
    let first = rw.read();
    let rw2 = rw.clone();
    let writer = thread::spawn(move || *rw2.write() += 1);
    // The writer queues: it claims the lock and waits for the reader to leave, and from then
    // on a plain read is refused (it would wait behind the writer, and we behind it).
    while rw.try_read().is_some() {
        thread::yield_now();
    }
    assert!(!rw.is_locked_exclusive(), "the writer waits: we still read");
    let second = rw.read_recursive();
    assert_eq!(*second, 0);
    assert_eq!(
        holds_here(),
        vec![
            ("api-recursive".into(), "shared".into()),
            ("api-recursive".into(), "shared".into())
        ]
    );
    drop(second);
    drop(first);
    writer.join().unwrap();
    assert_eq!(*rw.read(), 1);
}

#[test]
fn mapped_rwlock_guards_hold_the_whole_lock() {
    let rw = RwLock::named("api-rw-map", Account { id: 1, balance: 5 });
    let mut bal: MappedRwLockWriteGuard<'_, i64> =
        RwLockWriteGuard::map(rw.write(), |a| &mut a.balance);
    *bal -= 2;
    assert!(rw.try_read().is_none());
    MappedRwLockWriteGuard::unlock_fair(bal);
    let id: MappedRwLockReadGuard<'_, u32> = RwLockReadGuard::map(rw.read(), |a| &a.id);
    assert!(rw.try_write().is_none());
    assert!(rw.try_read().is_some());
    assert_eq!(*id, 1);
    let none = MappedRwLockReadGuard::try_map(id, |_| None::<&u8>);
    drop(none.expect_err("declined"));
    assert!(!rw.is_locked());
    assert_eq!(rw.read().balance, 3);
    assert!(my_holds().is_empty());
}

#[test]
fn forgotten_rwlock_guards_are_undone_by_force_unlock() {
    let rw = RwLock::named("api-rw-force", 0);
    std::mem::forget(rw.read());
    assert_eq!(my_holds(), vec!["api-rw-force"]);
    // SAFETY: the forgotten read guard holds the lock and is never used again.
    unsafe { rw.force_unlock_read() };
    assert!(!rw.is_locked());
    std::mem::forget(rw.write());
    // SAFETY: as above, for the forgotten write guard.
    unsafe { rw.force_unlock_write_fair() };
    assert!(!rw.is_locked());
    assert!(my_holds().is_empty());
    let mut w = rw.write();
    RwLockWriteGuard::unlocked(&mut w, || assert!(!rw.is_locked()));
    RwLockWriteGuard::bump(&mut w);
    *w += 1;
    drop(w);
    assert_eq!(*rw.read(), 1);
}

#[test]
fn two_upgradable_readers_waiting_on_each_other_deadlock() {
    const NAME: &str = "two_upgradable_readers_waiting_on_each_other_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(RwLock::named("up-a", 0));
        let b = Arc::new(RwLock::named("up-b", 0));
        let (a2, b2) = (a.clone(), b.clone());
        deadlock_pair(
            ("upgrades-a", move |both| {
                let _a = a2.upgradable_read();
                both.wait();
                let _b = b2.upgradable_read();
            }),
            ("upgrades-b", move |both| {
                let _b = b.upgradable_read();
                both.wait();
                // A plain read would pass the other's upgradable read; this one may not.
                let _a = a.upgradable_read();
            }),
        );
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participant_names(&r, "name"),
        vec!["upgrades-a", "upgrades-b"]
    );
}

#[test]
fn a_reentrant_mutex_relocked_by_its_holder_is_no_deadlock_and_records_one_hold() {
    let m = Arc::new(ReentrantMutex::named(
        "api-reentrant",
        std::cell::Cell::new(0),
    ));
    let outer = m.lock();
    let inner = m.lock();
    inner.set(inner.get() + 1);
    assert!(m.is_owned_by_current_thread());
    assert_eq!(
        my_holds(),
        vec!["api-reentrant"],
        "one recorded hold for both levels"
    );
    let m2 = m.clone();
    assert!(
        thread::spawn(move || m2.try_lock().is_none())
            .join()
            .unwrap(),
        "another thread is kept out"
    );
    drop(outer);
    assert!(m.is_locked(), "the inner level still holds it");
    drop(inner);
    assert!(!m.is_locked());
    assert!(my_holds().is_empty());
    assert_eq!(m.stats().acquisitions, 1, "re-entries are not acquisitions");
}

#[test]
fn two_reentrant_mutexes_taken_in_opposite_orders_deadlock() {
    const NAME: &str = "two_reentrant_mutexes_taken_in_opposite_orders_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(ReentrantMutex::named("re-a", ()));
        let b = Arc::new(ReentrantMutex::named("re-b", ()));
        let (a2, b2) = (a.clone(), b.clone());
        deadlock_pair(
            ("re-ab", move |both| {
                let _a = a2.lock();
                let _again = a2.lock(); // re-entry: fine
                both.wait();
                let _b = b2.lock();
            }),
            ("re-ba", move |both| {
                let _b = b.lock();
                both.wait();
                let _a = a.lock();
            }),
        );
    }
    let r = deadlock_report(NAME);
    assert_eq!(participant_names(&r, "name"), vec!["re-ab", "re-ba"]);
}

#[test]
fn once_runs_one_closure_and_poisons_on_panic() {
    let once = Once::named("api-once");
    assert_eq!(once.state(), OnceState::New);
    let panicked = std::panic::catch_unwind(|| once.call_once(|| panic!("init failed")));
    assert!(panicked.is_err());
    assert!(once.state().poisoned());
    assert!(my_holds().is_empty(), "the panicking closure's hold ended");
    let again = std::panic::catch_unwind(|| once.call_once(|| {}));
    assert!(again.is_err(), "call_once on a poisoned Once panics");
    let mut seen = None;
    once.call_once_force(|st| seen = Some(st));
    assert_eq!(seen, Some(OnceState::Poisoned));
    assert!(once.state().done());
    once.call_once_force(|_| unreachable!("done: no second run"));
    assert_eq!(once.stats().acquisitions, 2, "two closures ran");
}

#[test]
fn threads_blocked_on_a_running_once_are_recorded_waiters() {
    let once = Arc::new(Once::named("api-once-wait"));
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let o = once.clone();
    let runner = thread::spawn(move || {
        o.call_once(|| {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        })
    });
    started_rx.recv().unwrap();
    let o = once.clone();
    let waiter = thread::spawn(move || o.call_once(|| unreachable!("the runner's closure ran")));
    while once.stats().waiters == 0 {
        thread::yield_now();
    }
    assert_eq!(once.state(), OnceState::InProgress);
    go_tx.send(()).unwrap();
    runner.join().unwrap();
    waiter.join().unwrap();
    assert!(once.state().done());
    assert_eq!(once.stats().contentions, 1);
}

#[test]
fn a_once_called_again_from_its_own_closure_is_reported() {
    const NAME: &str = "a_once_called_again_from_its_own_closure_is_reported";
    if is_child(NAME) {
        report_and_exit();
        let once = Once::named("self-once");
        once.call_once(|| once.call_once(|| {}));
        unreachable!("the inner call waits for itself");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["participants"].as_array().unwrap().len(), 1);
    assert_eq!(r["participants"][0]["waits_for"]["name"], "self-once");
}
