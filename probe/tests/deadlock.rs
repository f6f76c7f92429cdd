//! Actual deadlocks (wait-for cycles) and their reports. Each deadlock is forced with barriers
//! in a child process whose `on_deadlock` callback prints the JSON report and exits: the
//! deadlocked threads never return.

mod support;

use lockscope::{Mutex, RwLock, Semaphore};
use serde_json::Value;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::*;

/// `n` threads, `n` mutexes in a ring: thread i holds lock i and then asks for lock i+1.
fn ring(n: usize) {
    report_and_exit();
    ring_without_callback(n);
}

fn ring_without_callback(n: usize) {
    let locks: Arc<Vec<Mutex<()>>> = Arc::new(
        (0..n)
            .map(|i| Mutex::named(format!("ring-lock-{i}"), ()))
            .collect(),
    );
    let all_hold = Arc::new(Barrier::new(n));
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let (locks, all_hold) = (locks.clone(), all_hold.clone());
            thread::Builder::new()
                .name(format!("ring-{i}"))
                .spawn(move || {
                    let _mine = locks[i].lock();
                    all_hold.wait();
                    let _next = locks[(i + 1) % n].lock();
                })
                .unwrap()
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    unreachable!("the ring deadlocks");
}

fn check_ring(name: &str, n: usize) {
    let r = deadlock_report(name);
    assert_eq!(r["kind"], "deadlock");
    assert_eq!(r["resolves_by_timeout"], false);
    assert_eq!(
        participant_names(&r, "name"),
        (0..n).map(|i| format!("ring-{i}")).collect::<Vec<_>>()
    );
    for p in r["participants"].as_array().unwrap() {
        let i: usize = p["name"].as_str().unwrap()[5..].parse().unwrap();
        assert_eq!(p["waits_for"]["name"], format!("ring-lock-{}", (i + 1) % n));
        assert_eq!(p["waits_for"]["mode"], "exclusive");
        assert!(
            p["waits_for"]["site"]
                .as_str()
                .unwrap()
                .contains("deadlock.rs")
        );
        let holds: Vec<&str> = p["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(holds, vec![format!("ring-lock-{i}")]);
        assert!(
            !p["stack"].as_array().unwrap().is_empty(),
            "the wait stack is captured: {p}"
        );
    }
    assert_eq!(r["actors"].as_array().unwrap().len(), n);
}

#[test]
fn two_thread_cycle_is_reported_with_every_participant() {
    const NAME: &str = "two_thread_cycle_is_reported_with_every_participant";
    if is_child(NAME) {
        ring(2);
    }
    check_ring(NAME, 2);
}

#[test]
fn three_thread_cycle_is_reported() {
    const NAME: &str = "three_thread_cycle_is_reported";
    if is_child(NAME) {
        ring(3);
    }
    check_ring(NAME, 3);
}

#[test]
fn five_thread_cycle_is_reported() {
    const NAME: &str = "five_thread_cycle_is_reported";
    if is_child(NAME) {
        ring(5);
    }
    check_ring(NAME, 5);
}

#[test]
fn relocking_a_mutex_on_the_same_thread_is_reported_at_once() {
    const NAME: &str = "relocking_a_mutex_on_the_same_thread_is_reported_at_once";
    if is_child(NAME) {
        report_and_exit();
        let m = Mutex::named("reentered", 0);
        let _a = m.lock();
        let _b = m.lock();
        unreachable!();
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["participants"].as_array().unwrap().len(), 1);
    let p = &r["participants"][0];
    assert_eq!(p["waits_for"]["name"], "reentered");
    assert_eq!(p["holds"][0]["name"], "reentered");
    assert_eq!(r["detected_by"], "wait");
}

#[test]
fn two_readers_both_upgrading_deadlock() {
    const NAME: &str = "two_readers_both_upgrading_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let l = Arc::new(RwLock::named("config", 0));
        let b = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (l, b) = (l.clone(), b.clone());
                thread::Builder::new()
                    .name(format!("upgrader-{i}"))
                    .spawn(move || {
                        let _r = l.read();
                        b.wait();
                        let _w = l.write();
                    })
                    .unwrap()
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        unreachable!();
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participant_names(&r, "name"),
        vec!["upgrader-0", "upgrader-1"]
    );
    for p in r["participants"].as_array().unwrap() {
        assert_eq!(p["waits_for"]["mode"], "exclusive");
        assert_eq!(p["holds"][0]["mode"], "shared");
    }
}

#[test]
fn a_second_read_behind_a_queued_writer_deadlocks() {
    const NAME: &str = "a_second_read_behind_a_queued_writer_deadlocks";
    if is_child(NAME) {
        report_and_exit();
        let l = Arc::new(RwLock::named("table", 0));
        let first = l.read();
        let lw = l.clone();
        let _writer = thread::Builder::new()
            .name("writer".into())
            .spawn(move || *lw.write() += 1)
            .unwrap();
        // The writer is queued inside parking_lot once a new reader can no longer get in.
        while l.try_read().is_some() {
            thread::yield_now();
        }
        let _second = l.read(); // parking_lot is task-fair: this queues behind the writer
        drop(first);
        unreachable!();
    }
    let r = deadlock_report(NAME);
    let mut kinds: Vec<String> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["waits_for"]["mode"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["exclusive", "shared"]);
    assert!(participant_names(&r, "name").contains(&"writer".to_owned()));
}

#[test]
fn mixed_mutex_and_rwlock_cycle_is_reported() {
    const NAME: &str = "mixed_mutex_and_rwlock_cycle_is_reported";
    if is_child(NAME) {
        report_and_exit();
        let m = Arc::new(Mutex::named("orders", ()));
        let l = Arc::new(RwLock::named("stock", ()));
        let b = Arc::new(Barrier::new(2));
        let (m2, l2, b2) = (m.clone(), l.clone(), b.clone());
        let t = thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let _r = l2.read();
                b2.wait();
                let _m = m2.lock();
            })
            .unwrap();
        let _g = m.lock();
        b.wait();
        let _w = l.write();
        t.join().unwrap();
        unreachable!();
    }
    let r = deadlock_report(NAME);
    let mut locks: Vec<String> = r["locks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    locks.sort();
    assert_eq!(locks, vec!["orders", "stock"]);
}

#[test]
fn pool_deadlock_every_permit_held_inside_the_cycle() {
    const NAME: &str = "pool_deadlock_every_permit_held_inside_the_cycle";
    if is_child(NAME) {
        report_and_exit();
        let pool = Arc::new(Semaphore::named("db-pool", 2));
        let b = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (pool, b) = (pool.clone(), b.clone());
                thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn(move || {
                        let _one = pool.acquire();
                        b.wait();
                        let _two = pool.acquire();
                    })
                    .unwrap()
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        unreachable!();
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock");
    assert_eq!(participant_names(&r, "name"), vec!["worker-0", "worker-1"]);
    assert_eq!(r["participants"][0]["waits_for"]["kind"], "semaphore");
}

#[test]
fn pool_cycle_with_a_permit_outside_is_starvation_not_deadlock() {
    const NAME: &str = "pool_cycle_with_a_permit_outside_is_starvation_not_deadlock";
    if is_child(NAME) {
        let kinds = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let k = kinds.clone();
        let (starved_tx, starved_rx) = std::sync::mpsc::channel();
        lockscope::on_deadlock(move |r| {
            k.lock().push(r.kind.clone());
            let _ = starved_tx.send(());
        });
        let pool = Arc::new(Semaphore::named("conn-pool", 2));
        let cache = Arc::new(Mutex::named("cache", ()));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first_taken = Arc::new(Barrier::new(3));
        // Holds the second permit outside the cycle: parked on a channel, not on a lock.
        let (p, b) = (pool.clone(), first_taken.clone());
        let outside = thread::spawn(move || {
            let _permit = p.acquire();
            b.wait();
            release_rx.recv().unwrap();
        });
        // Holds a permit, waits for the cache.
        let (p, c, b) = (pool.clone(), cache.clone(), first_taken.clone());
        let a = thread::spawn(move || {
            let _permit = p.acquire();
            b.wait();
            let _c = c.lock();
        });
        // Holds the cache, waits for a permit: a cycle through the pool, but `outside` can
        // still give its permit back.
        let (p, c, b) = (pool.clone(), cache.clone(), first_taken.clone());
        let cb = thread::spawn(move || {
            let _c = c.lock();
            b.wait();
            let _permit = p.acquire();
        });
        starved_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("starvation reported");
        release_tx.send(()).unwrap();
        outside.join().unwrap();
        cb.join().unwrap();
        a.join().unwrap();
        assert_eq!(*kinds.lock(), vec!["starvation".to_owned()]);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_timed_wait_in_a_cycle_is_a_deadlock_that_resolves_by_timeout() {
    const NAME: &str = "a_timed_wait_in_a_cycle_is_a_deadlock_that_resolves_by_timeout";
    if is_child(NAME) {
        report_and_exit();
        let a = Arc::new(Mutex::named("left", ()));
        let b = Arc::new(Mutex::named("right", ()));
        let bar = Arc::new(Barrier::new(2));
        let (a2, b2, bar2) = (a.clone(), b.clone(), bar.clone());
        let t = thread::spawn(move || {
            let _r = b2.lock();
            bar2.wait();
            let _l = a2.try_lock_for(Duration::from_secs(30));
        });
        let _l = a.lock();
        bar.wait();
        let _r = b.lock();
        t.join().unwrap();
        unreachable!();
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock");
    assert_eq!(r["resolves_by_timeout"], true);
}

#[test]
fn exit_policy_prints_the_report_and_exits_86() {
    const NAME: &str = "exit_policy_prints_the_report_and_exits_86";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let _rec = lockscope::Recorder::to_file(&path).unwrap().start();
        ring_without_callback(2);
    }
    let out = run_child(NAME, &[("LOCKSCOPE_ON_DEADLOCK", "exit")]);
    assert_eq!(out.status.code(), Some(lockscope::DEADLOCK_EXIT_CODE));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DEADLOCK") && stderr.contains("ring-0") && stderr.contains("ring-lock-1"),
        "{stderr}"
    );
    let t = lockscope::format::read_file(&path).unwrap();
    assert!(t.is_complete(), "the exit policy finishes the trace");
    let alert = t.records.iter().find_map(|r| match r {
        lockscope::format::Record::Alert { kind, json, .. } => Some((kind.clone(), json.clone())),
        _ => None,
    });
    let (kind, json) = alert.expect("the alert is in the trace");
    assert_eq!(kind, "deadlock");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["actors"].as_array().unwrap().len(), 2);
}

#[test]
fn unknown_policy_value_is_named_and_logging_stays_on() {
    const NAME: &str = "unknown_policy_value_is_named_and_logging_stays_on";
    if is_child(NAME) {
        let m = Mutex::new(());
        drop(m.lock());
        return;
    }
    let out = run_child(NAME, &[("LOCKSCOPE_ON_DEADLOCK", "explode")]);
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOCKSCOPE_ON_DEADLOCK=\"explode\"") && stderr.contains("log, panic, exit"),
        "{stderr}"
    );
}

#[test]
fn panic_policy_panics_in_a_thread_of_the_cycle() {
    const NAME: &str = "panic_policy_panics_in_a_thread_of_the_cycle";
    if is_child(NAME) {
        let a = Arc::new(Mutex::named("panic-a", ()));
        let b = Arc::new(Mutex::named("panic-b", ()));
        let both = Arc::new(Barrier::new(2));
        let (tx, rx) = std::sync::mpsc::channel();
        // Two participants; whichever wait closes the cycle (they race) panics, and its
        // unwinding releases its lock, so the other one completes.
        for (name, first, second) in [("p1", a.clone(), b.clone()), ("p2", b.clone(), a.clone())] {
            let (both, tx) = (both.clone(), tx.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let _f = first.lock();
                    both.wait();
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        drop(second.lock())
                    }));
                    tx.send((name, r.is_err())).unwrap();
                })
                .unwrap();
        }
        let outcomes: Vec<(&str, bool)> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(
            outcomes.iter().filter(|(_, panicked)| *panicked).count(),
            1,
            "{outcomes:?}"
        );
        println!("PANICKED AS ASKED");
        return;
    }
    let out = run_child(NAME, &[("LOCKSCOPE_ON_DEADLOCK", "panic")]);
    assert_child_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("PANICKED AS ASKED"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEADLOCK"));
}

#[test]
fn detection_goes_on_after_the_first_deadlock() {
    const NAME: &str = "detection_goes_on_after_the_first_deadlock";
    if is_child(NAME) {
        let (tx, rx) = std::sync::mpsc::channel();
        lockscope::on_deadlock(move |r| {
            let _ = tx.send(r.locks.clone());
        });
        for round in 0..2 {
            let a = Arc::new(Mutex::named(format!("round-{round}-a"), ()));
            let b = Arc::new(Mutex::named(format!("round-{round}-b"), ()));
            let both = Arc::new(Barrier::new(2));
            for (first, second) in [(a.clone(), b.clone()), (b.clone(), a.clone())] {
                let both = both.clone();
                // Deadlocked for good: these threads are never joined.
                thread::spawn(move || {
                    let _f = first.lock();
                    both.wait();
                    let _s = second.lock();
                });
            }
            let mut locks = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a report for every round");
            locks.sort();
            assert_eq!(
                locks,
                vec![format!("round-{round}-a"), format!("round-{round}-b")]
            );
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "each cycle is reported once"
        );
        std::process::exit(0);
    }
    assert_child_ok(&run_child(NAME, &[]));
}
