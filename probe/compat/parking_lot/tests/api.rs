//! parking_lot 0.12's public API, used as its documentation shows, on the drop-in: every
//! type, constructor and guard operation a program written against parking_lot reaches, with
//! the holds lockscope sees checked through `lockscope::dump()`.

use parking_lot::{
    Condvar, FairMutex, MappedMutexGuard, Mutex, MutexGuard, Once, OnceState, ReentrantMutex,
    RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard, const_fair_mutex,
    const_mutex, const_reentrant_mutex, const_rwlock,
};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

static COUNTER: Mutex<u64> = const_mutex(0);
static TABLE: RwLock<Vec<u32>> = const_rwlock(Vec::new());
static FAIR: FairMutex<u8> = const_fair_mutex(0);
static NESTED: ReentrantMutex<u8> = const_reentrant_mutex(0);

/// How many locks the calling thread holds, as lockscope sees it.
fn held_here() -> usize {
    let me = thread::current().name().unwrap_or_default().to_owned();
    lockscope::dump()
        .actors
        .into_iter()
        .filter(|a| a.name == me)
        .map(|a| a.holds.len())
        .sum()
}

fn named(name: &str, f: impl FnOnce() + Send + 'static) {
    thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn statics_and_guards_behave_as_parking_lot_documents() {
    named("pl-statics", || {
        *COUNTER.lock() += 2;
        {
            let g: MutexGuard<'_, u64> = COUNTER.lock();
            let mapped: MappedMutexGuard<'_, u64> = MutexGuard::map(g, |v| v);
            assert_eq!(*mapped, 2);
            assert_eq!(held_here(), 1);
        }
        assert_eq!(held_here(), 0);
        assert!(COUNTER.try_lock_for(Duration::from_millis(1)).is_some());
        TABLE.write().push(1);
        {
            let up: RwLockUpgradableReadGuard<'_, Vec<u32>> = TABLE.upgradable_read();
            let mut w: RwLockWriteGuard<'_, Vec<u32>> = RwLockUpgradableReadGuard::upgrade(up);
            w.push(2);
            let r: RwLockReadGuard<'_, Vec<u32>> = RwLockWriteGuard::downgrade(w);
            assert_eq!(*r, vec![1, 2]);
            let again = TABLE.read_recursive();
            assert_eq!(again.len(), 2);
            assert_eq!(held_here(), 2);
        }
        assert_eq!(held_here(), 0);
        *FAIR.lock() += 1;
        let a = NESTED.lock();
        let b = NESTED.lock();
        assert_eq!(*a + *b, 0);
        assert_eq!(held_here(), 1, "re-entry is not a second hold");
    });
}

#[test]
fn a_condvar_and_once_work_across_threads() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let p = pair.clone();
            thread::spawn(move || {
                *p.0.lock() += 1;
                p.1.notify_all();
            })
        })
        .collect();
    let mut done = pair.0.lock();
    pair.1.wait_while(&mut done, |n| *n < 4);
    assert_eq!(*done, 4);
    drop(done);
    workers.into_iter().for_each(|w| w.join().unwrap());

    static INIT: Once = Once::new();
    let mut runs = 0;
    INIT.call_once(|| runs += 1);
    INIT.call_once(|| runs += 1);
    assert_eq!(runs, 1);
    assert_eq!(INIT.state(), OnceState::Done);
}

#[test]
fn check_deadlock_sees_a_deadlock_between_drop_in_mutexes() {
    // Found before the deadlock forms: nothing.
    assert!(parking_lot::deadlock::check_deadlock().is_empty());
    let locks = Arc::new((Mutex::new(()), Mutex::new(())));
    let both = Arc::new(std::sync::Barrier::new(2));
    for (name, flip) in [("pl-abba-a", false), ("pl-abba-b", true)] {
        let (locks, both) = (locks.clone(), both.clone());
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let (first, second) = if flip {
                    (&locks.1, &locks.0)
                } else {
                    (&locks.0, &locks.1)
                };
                let _f = first.lock();
                both.wait();
                let _s = second.lock(); // never returns: the two threads stay blocked
            })
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let cycles = loop {
        let found = parking_lot::deadlock::check_deadlock();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            break found;
        }
        thread::yield_now();
    };
    assert_eq!(cycles.len(), 1);
    let mut names: Vec<String> = cycles[0]
        .iter()
        .map(|t| t.backtrace().name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["pl-abba-a", "pl-abba-b"]);
}
