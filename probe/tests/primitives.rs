//! std-style smoke tests for every primitive: mutual exclusion, try/timeouts, condvar
//! wake-ups, reader/writer exclusion, permit limits, poisoning.

mod support;

use lockscope::{Condvar, Mutex, RwLock, Semaphore, stdsync};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

#[test]
fn mutex_excludes_under_many_threads() {
    const THREADS: usize = 8;
    const ITERS: usize = 10_000;
    let m = Arc::new(Mutex::new(0usize));
    let inside = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let (m, inside) = (m.clone(), inside.clone());
            thread::spawn(move || {
                for _ in 0..ITERS {
                    let mut g = m.lock();
                    assert_eq!(
                        inside.fetch_add(1, SeqCst),
                        0,
                        "two threads inside the mutex"
                    );
                    *g += 1;
                    inside.fetch_sub(1, SeqCst);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*m.lock(), THREADS * ITERS);
    let s = m.stats();
    assert_eq!(s.acquisitions, (THREADS * ITERS + 1) as u64);
    assert!(s.contentions <= s.acquisitions);
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let m = Mutex::new(());
    let g = m.lock();
    assert!(m.try_lock().is_none());
    assert!(m.is_locked());
    drop(g);
    assert!(m.try_lock().is_some());
}

#[test]
fn try_lock_for_times_out_while_another_thread_holds() {
    let m = Arc::new(Mutex::new(1));
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let m2 = m.clone();
    let holder = thread::spawn(move || {
        let _g = m2.lock();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    locked_rx.recv().unwrap();
    assert!(m.try_lock_for(Duration::from_millis(20)).is_none());
    let s = m.stats();
    assert_eq!(s.contentions, 1, "a timed-out wait is still a contention");
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(
        *m.try_lock_for(Duration::from_secs(5)).expect("free now"),
        1
    );
}

#[test]
fn condvar_loses_no_wake_ups() {
    const ITEMS: usize = 2_000;
    let q = Arc::new((Mutex::new(Vec::<usize>::new()), Condvar::new()));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..ITEMS / 2 {
                    q.0.lock().push(p * ITEMS + i);
                    q.1.notify_one();
                }
            })
        })
        .collect();
    let mut got = 0;
    let mut g = q.0.lock();
    while got < ITEMS {
        while g.is_empty() {
            q.1.wait(&mut g);
        }
        got += g.drain(..).count();
    }
    drop(g);
    producers.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(got, ITEMS);
}

#[test]
fn condvar_wait_for_times_out_without_notification() {
    let m = Mutex::new(());
    let c = Condvar::new();
    let mut g = m.lock();
    assert!(c.wait_for(&mut g, Duration::from_millis(5)).timed_out());
    assert!(m.is_locked(), "the guard is re-acquired after a timeout");
    assert_eq!(c.stats().acquisitions, 1, "the condvar counts its waits");
}

#[test]
fn rwlock_allows_many_readers_or_one_writer() {
    let l = Arc::new(RwLock::new(0u64));
    let readers = Arc::new(AtomicUsize::new(0));
    let writers = Arc::new(AtomicUsize::new(0));
    let max_readers = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(6));
    let hs: Vec<_> = (0..6)
        .map(|t| {
            let (l, readers, writers, max_readers, start) = (
                l.clone(),
                readers.clone(),
                writers.clone(),
                max_readers.clone(),
                start.clone(),
            );
            thread::spawn(move || {
                start.wait();
                for i in 0..3_000 {
                    if t == 0 && i % 10 == 0 {
                        let mut g = l.write();
                        assert_eq!(writers.fetch_add(1, SeqCst), 0);
                        assert_eq!(readers.load(SeqCst), 0, "a reader inside while writing");
                        *g += 1;
                        writers.fetch_sub(1, SeqCst);
                    } else {
                        let _g = l.read();
                        let r = readers.fetch_add(1, SeqCst) + 1;
                        max_readers.fetch_max(r, SeqCst);
                        assert_eq!(writers.load(SeqCst), 0, "a writer inside while reading");
                        readers.fetch_sub(1, SeqCst);
                    }
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*l.read(), 300);
    // Two readers at once is what makes it a reader-writer lock; with 5 reading threads on
    // 2 cores this shows up in practice, but it is not something the lock guarantees.
    assert!(max_readers.load(SeqCst) >= 1);
}

#[test]
fn rwlock_try_variants_respect_holders() {
    let l = RwLock::new(5);
    let r = l.read();
    assert!(l.try_read().is_some());
    assert!(l.try_write().is_none());
    assert!(l.try_write_for(Duration::from_millis(2)).is_none());
    drop(r);
    let w = l.try_write().expect("free");
    assert!(l.try_read().is_none());
    drop(w);
    assert_eq!(*l.try_read_for(Duration::from_millis(2)).unwrap(), 5);
}

#[test]
fn semaphore_never_exceeds_its_permits() {
    const PERMITS: usize = 3;
    let s = Arc::new(Semaphore::new(PERMITS));
    let in_use = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let (s, in_use, peak) = (s.clone(), in_use.clone(), peak.clone());
            thread::spawn(move || {
                for _ in 0..2_000 {
                    let _p = s.acquire();
                    let n = in_use.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(n, SeqCst);
                    assert!(n <= PERMITS, "{n} permits in use");
                    in_use.fetch_sub(1, SeqCst);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert!(peak.load(SeqCst) <= PERMITS);
    assert_eq!(s.available_permits(), PERMITS);
}

#[test]
fn semaphore_timeout_and_many_permits() {
    let s = Semaphore::new(2);
    let two = s.acquire_many(2);
    assert_eq!(two.num_permits(), 2);
    assert!(s.try_acquire().is_none());
    assert!(s.acquire_timeout(Duration::from_millis(5)).is_none());
    drop(two);
    assert!(s.acquire_timeout(Duration::from_millis(5)).is_some());
    let p = s.acquire();
    p.forget();
    assert_eq!(s.capacity(), 1);
    s.add_permits(1);
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn semaphore_wakes_a_blocked_acquirer() {
    let s = Arc::new(Semaphore::new(1));
    let held = s.acquire();
    let s2 = s.clone();
    let waiter = thread::spawn(move || {
        let _p = s2.acquire();
    });
    // The waiter is parked (or about to be); releasing must wake it.
    while s.stats().waiters == 0 {
        thread::yield_now();
    }
    drop(held);
    waiter.join().unwrap();
    assert_eq!(s.stats().contentions, 1);
}

#[test]
fn stdsync_mutex_poisons_like_std() {
    let m = Arc::new(stdsync::Mutex::new(1));
    let m2 = m.clone();
    let r = thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("poison it");
    })
    .join();
    assert!(r.is_err());
    assert!(m.is_poisoned());
    let g = m.lock().unwrap_err().into_inner();
    assert_eq!(*g, 1);
    drop(g);
    assert!(matches!(
        m.try_lock(),
        Err(stdsync::TryLockError::Poisoned(_))
    ));
    m.clear_poison();
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn stdsync_rwlock_and_condvar_mirror_std() {
    let l = stdsync::RwLock::new(vec![1]);
    l.write().unwrap().push(2);
    assert_eq!(l.read().unwrap().len(), 2);
    assert!(l.try_write().is_ok());
    let pair = Arc::new((stdsync::Mutex::new(false), stdsync::Condvar::new()));
    let p = pair.clone();
    let t = thread::spawn(move || {
        *p.0.lock().unwrap() = true;
        p.1.notify_all();
    });
    let g = pair
        .1
        .wait_while(pair.0.lock().unwrap(), |ready| !*ready)
        .unwrap();
    assert!(*g);
    drop(g);
    t.join().unwrap();
    let (g, r) = pair
        .1
        .wait_timeout_while(pair.0.lock().unwrap(), Duration::from_millis(2), |r| !*r)
        .unwrap();
    assert!(
        *g && !r.timed_out(),
        "condition already true: no wait, no timeout"
    );
    let (_g, r) = pair.1.wait_timeout(g, Duration::from_millis(2)).unwrap();
    assert!(r.timed_out());
}

#[test]
fn recording_off_skips_bookkeeping_and_guards_taken_off_release_cleanly() {
    // The switch is process-wide: run in a child so concurrent tests are not affected.
    const NAME: &str = "recording_off_skips_bookkeeping_and_guards_taken_off_release_cleanly";
    if !support::is_child(NAME) {
        support::assert_child_ok(&support::run_child(NAME, &[]));
        return;
    }
    let m = Mutex::new(0);
    lockscope::set_enabled(false);
    let g = m.lock();
    lockscope::set_enabled(true);
    drop(g); // taken while off: releases without touching the held list
    lockscope::set_enabled(false);
    *m.lock() += 1;
    lockscope::set_enabled(true);
    assert_eq!(m.stats().acquisitions, 0);
    *m.lock() += 1;
    assert_eq!(m.stats().acquisitions, 1);
    assert_eq!(*m.lock(), 2);
}

#[test]
fn class_acquisitions_are_exact_once_instances_drop() {
    {
        let locks: Vec<_> = (0..3)
            .map(|_| Mutex::named("exact-count-class", ()))
            .collect();
        for _ in 0..1_000 {
            for l in &locks {
                drop(l.lock());
            }
        }
        let live = lockscope::class_stats()
            .into_iter()
            .find(|c| c.name == "exact-count-class")
            .unwrap();
        assert_eq!(live.instances, 3);
        let period = lockscope::hold_sample_period();
        assert!(
            live.acquisitions <= 3_000 && live.acquisitions + 3 * period >= 3_000,
            "{live:?}"
        );
    }
    let done = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == "exact-count-class")
        .unwrap();
    assert_eq!(done.acquisitions, 3_000);
    assert!(done.hold_ns.p50 > 0, "sampled holds were timed");
}

#[test]
fn a_new_lock_s_first_hold_is_sampled_like_any_other() {
    // With no trace recording, a lock's first acquisition is timed only when it falls in the
    // sample: at the phase its id sets, one new lock in each period, not every one.
    const NAME: &str = "first-holds-class";
    let period = lockscope::hold_sample_period();
    let hold_total = || {
        lockscope::class_stats()
            .into_iter()
            .find(|c| c.name == NAME)
            .map_or(0, |c| c.hold_ns.total)
    };
    let (mut timed, mut in_sample) = (0, 0);
    let mut before = hold_total();
    for _ in 0..period {
        let m = Mutex::named(NAME, 0);
        let g = m.lock();
        thread::sleep(Duration::from_millis(1));
        drop(g);
        let id = m.stats().id;
        assert_ne!(id, 0, "registered at its first acquisition");
        if id.is_multiple_of(period) {
            in_sample += 1;
        }
        let now = hold_total();
        if now != before {
            timed += 1;
        }
        before = now;
    }
    assert_eq!(timed, in_sample, "first holds timed: {timed} of {period}");
    let class = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == NAME)
        .unwrap();
    assert_eq!(
        class.acquisitions, period,
        "every first acquisition counted"
    );
}

#[test]
fn huge_timeouts_wait_forever_instead_of_panicking() {
    let m = Mutex::new(1);
    assert!(m.try_lock_for(Duration::MAX).is_some());
    let l = RwLock::new(1);
    assert!(l.try_read_for(Duration::MAX).is_some());
    assert!(l.try_write_for(Duration::MAX).is_some());
    let s = Semaphore::new(1);
    assert!(s.acquire_timeout(Duration::MAX).is_some());
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = pair.clone();
    let mut g = pair.0.lock();
    let t = thread::spawn(move || {
        *p.0.lock() = true;
        p.1.notify_one();
    });
    while !*g {
        assert!(!pair.1.wait_for(&mut g, Duration::MAX).timed_out());
    }
    drop(g);
    t.join().unwrap();
    let sm = stdsync::Mutex::new(true);
    let sc = stdsync::Condvar::new();
    let (_g, r) = sc
        .wait_timeout_while(sm.lock().unwrap(), Duration::MAX, |ready| !*ready)
        .unwrap();
    assert!(!r.timed_out());
}

/// A lock and the fields every acquisition touches share one 64-byte cache line: an unnamed
/// `Mutex<u64>` is no bigger than that, the figures kept off the fast path live apart.
#[test]
fn a_mutex_of_a_word_fits_one_cache_line() {
    use std::mem::size_of;
    println!(
        "Mutex<u64> {} B, RwLock<u64> {} B, Semaphore {} B, Condvar {} B, parking_lot::Mutex<u64> {} B",
        size_of::<Mutex<u64>>(),
        size_of::<RwLock<u64>>(),
        size_of::<Semaphore>(),
        size_of::<Condvar>(),
        size_of::<parking_lot::Mutex<u64>>(),
    );
    assert!(size_of::<Mutex<u64>>() <= 64);
    assert!(size_of::<lockscope::FairMutex<u64>>() <= 64);
    assert!(size_of::<RwLock<u64>>() <= 64);
}
