//! lockscope's raw locks under lock_api 0.4 (`lockscope::lockapi`), what the `parking_lot`
//! drop-in is made of: every mode's hold is begun and ended in pairs, the detectors see
//! through them, and a lock made by `INIT` is named by the code that first uses it.

mod support;

use lockscope::lockapi::lock_api;
use lockscope::lockapi::{Condvar, RawMutex, RawRwLock, RawThreadId, check_deadlock};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::*;

type Mutex<T> = lock_api::Mutex<RawMutex, T>;
type RwLock<T> = lock_api::RwLock<RawRwLock, T>;
type ReentrantMutex<T> = lock_api::ReentrantMutex<RawMutex, RawThreadId, T>;

#[test]
fn every_rwlock_mode_begins_and_ends_its_hold() {
    in_thread("rw-modes", || {
        let lock = RwLock::new(1);
        {
            let r1 = lock.read();
            let r2 = lock.read_recursive();
            assert_eq!(*r1 + *r2, 2);
            let holds = holds_here();
            assert_eq!(holds.len(), 2, "{holds:?}");
            assert!(holds.iter().all(|(_, m)| m == "shared"), "{holds:?}");
        }
        assert!(holds_here().is_empty());
        {
            let up = lock.upgradable_read();
            assert_eq!(holds_here().len(), 1);
            let mut w = lock_api::RwLockUpgradableReadGuard::upgrade(up);
            *w = 5;
            assert_eq!(holds_here()[0].1, "exclusive");
            let up = lock_api::RwLockWriteGuard::downgrade_to_upgradable(w);
            assert_eq!(holds_here()[0].1, "shared");
            let r = lock_api::RwLockUpgradableReadGuard::downgrade(up);
            assert_eq!(*r, 5);
            assert_eq!(holds_here().len(), 1);
        }
        assert!(holds_here().is_empty());
        {
            let up = lock.upgradable_read();
            let w = lock_api::RwLockUpgradableReadGuard::try_upgrade_for(up, Duration::ZERO)
                .expect("no reader is left, so the upgrade succeeds at once");
            let r = lock_api::RwLockWriteGuard::downgrade(w);
            let modes: Vec<String> = holds_here().into_iter().map(|(_, m)| m).collect();
            assert_eq!(modes, ["shared"]);
            drop(r);
        }
        assert!(holds_here().is_empty());
        // A class found from the first user's frame: this file.
        let w = lock.write();
        let class = &holds_here()[0].0;
        assert!(class.contains("lockapi.rs:"), "{class}");
        drop(w);
        assert_eq!(
            lock.try_read_for(Duration::from_millis(1)).map(|g| *g),
            Some(5)
        );
        assert!(holds_here().is_empty());
    });
}

#[test]
fn each_new_lock_is_named_by_the_line_that_first_uses_it_when_its_callers_were_seen() {
    // Four threads at once, each naming new locks at two lines, three rounds: the first
    // lookups race to resolve the same frames, and later rounds find them known and must still
    // tell the two lines apart.
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let start = start.clone();
            thread::Builder::new()
                .name(format!("first-users-{i}"))
                .spawn(move || {
                    let class_of_hold = || holds_here()[0].0.clone();
                    let mut rounds = Vec::new();
                    start.wait();
                    for _ in 0..3 {
                        let (a, b) = (Mutex::new(()), Mutex::new(()));
                        let (g, line_a) = (a.lock(), line!());
                        let class_a = class_of_hold();
                        drop(g);
                        let (g, line_b) = (b.lock(), line!());
                        let class_b = class_of_hold();
                        drop(g);
                        assert!(
                            class_a.ends_with(&format!("lockapi.rs:{line_a}")),
                            "{class_a}"
                        );
                        assert!(
                            class_b.ends_with(&format!("lockapi.rs:{line_b}")),
                            "{class_b}"
                        );
                        rounds.push((class_a, class_b));
                    }
                    rounds
                })
                .unwrap()
        })
        .collect();
    let rounds: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(rounds.len(), 12);
    assert!(rounds.windows(2).all(|w| w[0] == w[1]), "{rounds:?}");
}

#[test]
fn a_fair_mutex_and_a_reentrant_mutex_record_their_holds() {
    in_thread("fair-reentrant", || {
        let fair = lock_api::Mutex::<lockscope::lockapi::RawFairMutex, u32>::new(0);
        {
            let mut g = fair.lock();
            *g += 1;
            lock_api::MutexGuard::bump(&mut g);
            assert_eq!(holds_here().len(), 1);
            lock_api::MutexGuard::unlock_fair(g);
        }
        assert!(holds_here().is_empty());
        let re = ReentrantMutex::new(7);
        {
            let a = re.lock();
            let b = re.lock(); // re-entry never reaches the raw lock: no wait, no second hold
            assert_eq!(*a + *b, 14);
            assert_eq!(holds_here().len(), 1);
        }
        assert!(holds_here().is_empty());
    });
}

#[test]
fn a_condvar_wait_releases_the_mutex_and_takes_it_back() {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (tx, rx) = mpsc::channel();
    let p = pair.clone();
    let waiter = thread::Builder::new()
        .name("cv-waiter".into())
        .spawn(move || {
            let mut ready = p.0.lock();
            tx.send(()).unwrap();
            p.1.wait_while(&mut ready, |r| !*r);
            assert_eq!(holds_here().len(), 1, "the mutex is held again");
            let timed = p.1.wait_for(&mut ready, Duration::from_millis(1));
            assert!(timed.timed_out());
            assert_eq!(holds_here().len(), 1);
        })
        .unwrap();
    rx.recv().unwrap();
    // The waiter is inside `wait_while` (or about to be) once this lock is ours.
    *pair.0.lock() = true;
    pair.1.notify_all();
    waiter.join().unwrap();
}

#[test]
fn a_lock_order_inversion_between_lock_api_mutexes_is_reported() {
    const NAME: &str = "a_lock_order_inversion_between_lock_api_mutexes_is_reported";
    if is_child(NAME) {
        let a = Arc::new(Mutex::from_raw(RawMutex::named("api-alpha"), 0));
        let b = Arc::new(Mutex::from_raw(RawMutex::named("api-beta"), 0));
        let (a1, b1) = (a.clone(), b.clone());
        in_thread("api-first", move || {
            let _a = a1.lock();
            *b1.lock() += 1;
        });
        in_thread("api-second", move || {
            let _b = b.lock();
            *a.lock() += 1;
        });
        let reports = lockscope::lock_order_reports();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let mut locks = reports[0].locks.clone();
        locks.sort();
        assert_eq!(locks, vec!["api-alpha", "api-beta"]);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

/// Two threads take two lock_api mutexes in opposite orders and block for ever.
fn abba(make: impl Fn() -> Mutex<()>) {
    let locks = Arc::new((make(), make()));
    let both_hold = Arc::new(Barrier::new(2));
    for (name, first) in [("api-abba-0", 0), ("api-abba-1", 1)] {
        let (locks, both_hold) = (locks.clone(), both_hold.clone());
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let (mine, other) = if first == 0 {
                    (&locks.0, &locks.1)
                } else {
                    (&locks.1, &locks.0)
                };
                let _m = mine.lock();
                both_hold.wait();
                let _o = other.lock();
                unreachable!("ABBA deadlocks");
            })
            .unwrap();
    }
}

#[test]
fn an_abba_deadlock_between_lock_api_mutexes_names_both_threads_and_the_calling_code() {
    const NAME: &str =
        "an_abba_deadlock_between_lock_api_mutexes_names_both_threads_and_the_calling_code";
    if is_child(NAME) {
        report_and_exit();
        abba(|| Mutex::new(()));
        loop {
            thread::park();
        }
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock");
    assert_eq!(participant_names(&r, "name"), ["api-abba-0", "api-abba-1"]);
    for p in r["participants"].as_array().unwrap() {
        // The class and the sites are this file's lines, where the locks are taken: lock_api
        // gave no creation site, so the first caller frame outside the lock crates names them.
        for field in ["name", "site"] {
            let v = p["waits_for"][field].as_str().unwrap();
            assert!(v.contains("lockapi.rs:"), "{field}: {v}");
        }
        let held = p["holds"][0]["site"].as_str().unwrap();
        assert!(held.contains("lockapi.rs:"), "{held}");
        // The stack starts in this file: lock_api's and lockscope's frames are trimmed.
        let top = p["stack"][0].as_str().unwrap_or_default();
        assert!(top.contains("lockapi.rs:"), "{p}");
    }
}

#[test]
fn check_deadlock_returns_each_cycle_once() {
    const NAME: &str = "check_deadlock_returns_each_cycle_once";
    if is_child(NAME) {
        abba(|| Mutex::new(()));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let found = loop {
            let found = check_deadlock();
            if !found.is_empty() || std::time::Instant::now() > deadline {
                break found;
            }
            thread::yield_now();
        };
        assert_eq!(found.len(), 1, "one cycle");
        let mut names: Vec<String> = found[0]
            .iter()
            .map(|t| t.backtrace().name.clone())
            .collect();
        names.sort();
        assert_eq!(names, ["api-abba-0", "api-abba-1"]);
        assert!(found[0].iter().all(|t| t.thread_id() != 0));
        assert!(check_deadlock().is_empty(), "a cycle is returned once");
        println!("CHECKED");
        std::process::exit(0);
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("CHECKED"));
}

#[test]
fn relocking_a_lock_api_mutex_on_its_own_thread_is_reported_at_once() {
    const NAME: &str = "relocking_a_lock_api_mutex_on_its_own_thread_is_reported_at_once";
    if is_child(NAME) {
        report_and_exit();
        let m = Mutex::from_raw(RawMutex::named("api-reentered"), 0);
        let _a = m.lock();
        let _b = m.lock();
        unreachable!("a plain mutex relocked by its holder never returns");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["participants"].as_array().unwrap().len(), 1);
    let p = &r["participants"][0];
    assert_eq!(p["waits_for"]["name"], "api-reentered");
    assert_eq!(p["holds"][0]["name"], "api-reentered");
    assert_eq!(r["detected_by"], "wait");
}

#[test]
fn two_lock_api_readers_both_writing_deadlock_with_their_modes_named() {
    const NAME: &str = "two_lock_api_readers_both_writing_deadlock_with_their_modes_named";
    if is_child(NAME) {
        report_and_exit();
        let l = Arc::new(RwLock::from_raw(RawRwLock::named("api-config"), 0));
        let both = Arc::new(Barrier::new(2));
        for i in 0..2 {
            let (l, both) = (l.clone(), both.clone());
            thread::Builder::new()
                .name(format!("api-upgrader-{i}"))
                .spawn(move || {
                    let _r = l.read();
                    both.wait();
                    let _w = l.write();
                })
                .unwrap();
        }
        loop {
            thread::park();
        }
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participant_names(&r, "name"),
        ["api-upgrader-0", "api-upgrader-1"]
    );
    for p in r["participants"].as_array().unwrap() {
        assert_eq!(p["waits_for"]["mode"], "exclusive");
        assert_eq!(p["holds"][0]["mode"], "shared");
    }
}

#[test]
fn reads_past_the_token_stack_end_unrecorded_and_leave_no_stale_hold() {
    in_thread("many-reads", || {
        let locks: Vec<RwLock<u32>> = (0..20).map(RwLock::new).collect();
        let guards: Vec<_> = locks.iter().map(|l| l.read()).collect();
        // Each read is listed while held (the held list itself is longer than the stack).
        assert_eq!(holds_here().len(), 20);
        drop(guards);
        // The 4 reads whose tokens did not fit ended unrecorded; none stays listed.
        assert!(holds_here().is_empty(), "{:?}", holds_here());
        // And the stack works as before afterwards.
        let r = locks[0].read();
        assert_eq!(holds_here().len(), 1);
        drop(r);
        assert!(holds_here().is_empty());
    });
}

#[test]
fn a_timed_read_keeps_its_token_to_its_release_and_an_untimed_one_needs_none() {
    in_thread("timed-reads", || {
        let lock: RwLock<u32> = lock_api::RwLock::from_raw(RawRwLock::named("dropin-reads"), 7);
        let hold = |name: &str| {
            lockscope::class_stats()
                .into_iter()
                .find(|c| c.name == name)
                .map(|c| c.hold_ns)
        };
        // One read in each sampling period is timed: its token waits on this thread for the
        // release, which records the hold (the sleep is the hold being measured). The others
        // are listed while held, unlisted at release, and record no hold.
        let period = lockscope::hold_sample_period();
        assert!(period > 1, "the default period samples");
        let mut timed = 0;
        let mut before = hold("dropin-reads").map_or(0, |h| h.total);
        for _ in 0..period {
            let r = lock.read();
            assert_eq!(holds_here().len(), 1);
            std::thread::sleep(Duration::from_millis(2));
            drop(r);
            assert!(holds_here().is_empty(), "{:?}", holds_here());
            let now = hold("dropin-reads").expect("the class is registered");
            if now.total != before {
                timed += 1;
                assert!(now.max >= 2_000_000, "{now:?}");
            }
            before = now.total;
        }
        assert_eq!(timed, 1, "one read in {period} timed");
    });
}

#[test]
fn drop_in_reads_end_their_holds_across_the_recording_switch() {
    // The switch is process-wide: run in a child so concurrent tests are not affected.
    const NAME: &str = "drop_in_reads_end_their_holds_across_the_recording_switch";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    in_thread("switch-reads", || {
        let lock = RwLock::new(0);
        let other = Mutex::new(());
        drop(lock.read()); // the first acquisition, timed; the reads below are untimed
        // Taken while recording, released after it stopped: the hold still ends.
        let r = lock.read();
        assert_eq!(holds_here().len(), 1);
        lockscope::set_enabled(false);
        drop(r);
        lockscope::set_enabled(true);
        assert!(holds_here().is_empty(), "{:?}", holds_here());
        // Taken while not recording, released while recording beside a listed lock: the
        // release ends nothing of the thread's.
        lockscope::set_enabled(false);
        let r = lock.read();
        lockscope::set_enabled(true);
        let o = other.lock();
        drop(r);
        assert_eq!(holds_here().len(), 1, "{:?}", holds_here());
        drop(o);
        assert!(holds_here().is_empty(), "{:?}", holds_here());
    });
}
