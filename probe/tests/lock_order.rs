//! Potential deadlocks (lock-order inversions), and silence where there is no deadlock to
//! find. Each test runs in a child process: the lock-order graph is process-wide.

mod support;

use lockscope::{Condvar, Mutex};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::*;

/// Counts deadlock reports; the child fails if any arrives.
fn count_deadlocks() -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let k = n.clone();
    lockscope::on_deadlock(move |r| {
        eprintln!("{r}");
        k.fetch_add(1, Relaxed);
    });
    n
}

#[test]
fn sequential_abba_completes_but_reports_the_inversion() {
    const NAME: &str = "sequential_abba_completes_but_reports_the_inversion";
    if is_child(NAME) {
        let a = Arc::new(Mutex::named("alpha", 0));
        let b = Arc::new(Mutex::named("beta", 0));
        let (a1, b1) = (a.clone(), b.clone());
        in_thread("first", move || {
            let _a = a1.lock();
            *b1.lock() += 1;
        });
        let (a2, b2) = (a.clone(), b.clone());
        in_thread("second", move || {
            let _b = b2.lock();
            *a2.lock() += 1;
        });
        let reports = lockscope::lock_order_reports();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let r = &reports[0];
        let mut locks = r.locks.clone();
        locks.sort();
        assert_eq!(locks, vec!["alpha", "beta"]);
        let mut threads = r.actors.clone();
        threads.sort();
        assert_eq!(threads, vec!["first", "second"]);
        for e in &r.edges {
            assert!(
                e.from_site.contains("lock_order.rs") && e.to_site.contains("lock_order.rs"),
                "{e:?}"
            );
        }
        let text = r.to_string();
        assert!(
            text.contains("possible unsafe scenario")
                && text.contains("lock(alpha)")
                && text.contains("lock(beta)")
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["kind"], "lock_order_inversion");
        return;
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LOCK ORDER INVERSION"),
        "reported on stderr too"
    );
}

#[test]
fn three_lock_cycle_across_three_threads_is_reported() {
    const NAME: &str = "three_lock_cycle_across_three_threads_is_reported";
    if is_child(NAME) {
        let locks: Arc<Vec<Mutex<()>>> =
            Arc::new((0..3).map(|i| Mutex::named(format!("c{i}"), ())).collect());
        for i in 0..3 {
            let l = locks.clone();
            in_thread(&format!("t{i}"), move || {
                let _x = l[i].lock();
                let _y = l[(i + 1) % 3].lock();
            });
        }
        let reports = lockscope::lock_order_reports();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!(reports[0].edges.len(), 3);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn an_inversion_three_locks_deep_is_found_after_its_mirror_chain() {
    const NAME: &str = "an_inversion_three_locks_deep_is_found_after_its_mirror_chain";
    if is_child(NAME) {
        let gate = Arc::new(Mutex::named("gate", ()));
        let b = Arc::new(Mutex::named("deep-b", ()));
        let c = Arc::new(Mutex::named("deep-c", ()));
        let (b1, c1) = (b.clone(), c.clone());
        in_thread("forward", move || {
            let _b = b1.lock();
            let _c = c1.lock();
        });
        // The same thread walks gate, b, c and then gate, c, b: the second chain differs from
        // the first only in the order of its last two classes, and must still be checked.
        in_thread("mirror", move || {
            {
                let _g = gate.lock();
                let _b = b.lock();
                let _c = c.lock();
            }
            let _g = gate.lock();
            let _c = c.lock();
            let _b = b.lock();
        });
        let reports = lockscope::lock_order_reports();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let mut locks = reports[0].locks.clone();
        locks.sort();
        assert_eq!(locks, vec!["deep-b", "deep-c"]);
        let mut threads = reports[0].actors.clone();
        threads.sort();
        assert_eq!(threads, vec!["forward", "mirror"]);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn one_thread_walking_both_orders_is_not_reported() {
    const NAME: &str = "one_thread_walking_both_orders_is_not_reported";
    if is_child(NAME) {
        let a = Mutex::named("solo-a", ());
        let b = Mutex::named("solo-b", ());
        {
            let _a = a.lock();
            let _b = b.lock();
        }
        {
            let _b = b.lock();
            let _a = a.lock();
        }
        assert!(lockscope::lock_order_reports().is_empty());
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn suppressed_classes_are_not_reported() {
    const NAME: &str = "suppressed_classes_are_not_reported";
    if is_child(NAME) {
        lockscope::suppress_lock_order("quiet-a");
        let a = Arc::new(Mutex::named("quiet-a", ()));
        let b = Arc::new(Mutex::named("quiet-b", ()));
        let (a1, b1) = (a.clone(), b.clone());
        in_thread("x", move || {
            let _a = a1.lock();
            let _b = b1.lock();
        });
        let (a2, b2) = (a.clone(), b.clone());
        in_thread("y", move || {
            let _b = b2.lock();
            let _a = a2.lock();
        });
        // The env var suppresses too.
        let c = Arc::new(Mutex::named("env-quiet", ()));
        let (a3, c3) = (a.clone(), c.clone());
        in_thread("z", move || {
            let _c = c3.lock();
            let _a = a3.lock();
        });
        let (b4, c4) = (b.clone(), c.clone());
        in_thread("w", move || {
            let _b = b4.lock();
            let _c = c4.lock();
        });
        assert!(
            lockscope::lock_order_reports().is_empty(),
            "{:?}",
            lockscope::lock_order_reports()
        );
        return;
    }
    assert_child_ok(&run_child(
        NAME,
        &[("LOCKSCOPE_SUPPRESS_LOCK_ORDER", "env-quiet")],
    ));
}

#[test]
fn no_false_positives_on_safe_patterns() {
    const NAME: &str = "no_false_positives_on_safe_patterns";
    if is_child(NAME) {
        let deadlocks = count_deadlocks();

        // Consistent ordering under contention.
        let abc: Arc<Vec<Mutex<u64>>> = Arc::new(
            (0..3)
                .map(|i| Mutex::named(format!("ordered-{i}"), 0))
                .collect(),
        );
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let abc = abc.clone();
                thread::spawn(move || {
                    for _ in 0..2_000 {
                        let mut a = abc[0].lock();
                        let mut b = abc[1].lock();
                        let mut c = abc[2].lock();
                        *a += 1;
                        *b += 1;
                        *c += 1;
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());

        // ABBA made safe by try_lock with back-off, and by try_lock_for with back-off.
        let x = Arc::new(Mutex::named("backoff-x", 0));
        let y = Arc::new(Mutex::named("backoff-y", 0));
        let start = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|t| {
                let (x, y, start) = (x.clone(), y.clone(), start.clone());
                thread::spawn(move || {
                    let (first, second) = if t == 0 { (&x, &y) } else { (&y, &x) };
                    start.wait();
                    let mut done = 0;
                    while done < 500 {
                        let _f = first.lock();
                        let got = if done % 2 == 0 {
                            second.try_lock()
                        } else {
                            second.try_lock_for(Duration::from_micros(50))
                        };
                        if let Some(mut s) = got {
                            *s += 1;
                            done += 1;
                        } else {
                            drop(_f);
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());

        // Re-acquiring after release: no nesting at all.
        let p = Mutex::named("again-p", ());
        let q = Mutex::named("again-q", ());
        for _ in 0..100 {
            drop(p.lock());
            drop(q.lock());
            drop(p.lock());
        }

        // ABBA under a common gate lock.
        let gate = Arc::new(Mutex::named("gate", ()));
        let (g1, g2) = (
            Arc::new(Mutex::named("gated-1", ())),
            Arc::new(Mutex::named("gated-2", ())),
        );
        let hs: Vec<_> = (0..2)
            .map(|t| {
                let (gate, g1, g2) = (gate.clone(), g1.clone(), g2.clone());
                thread::spawn(move || {
                    for _ in 0..200 {
                        let _g = gate.lock();
                        let (first, second) = if t == 0 { (&g1, &g2) } else { (&g2, &g1) };
                        let _f = first.lock();
                        let _s = second.lock();
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());

        // A condvar producer/consumer.
        let queue = Arc::new((
            Mutex::named("queue", Vec::new()),
            Condvar::named("not-empty"),
        ));
        let qp = queue.clone();
        let producer = thread::spawn(move || {
            for i in 0..1_000 {
                qp.0.lock().push(i);
                qp.1.notify_one();
            }
        });
        let mut got = 0;
        while got < 1_000 {
            let mut items = queue.0.lock();
            while items.is_empty() {
                queue.1.wait(&mut items);
            }
            got += items.drain(..).count();
        }
        producer.join().unwrap();

        // 10 000 random acquisitions over 50 locks by 8 threads, always in index order.
        let many: Arc<Vec<Mutex<u64>>> = Arc::new(
            (0..50)
                .map(|i| Mutex::named(format!("many-{i}"), 0))
                .collect(),
        );
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let many = many.clone();
                thread::spawn(move || {
                    let mut rng = StdRng::seed_from_u64(t);
                    for _ in 0..10_000 / 8 {
                        let mut picks: Vec<usize> = (0..rng.random_range(1..5))
                            .map(|_| rng.random_range(0..50))
                            .collect();
                        picks.sort_unstable();
                        picks.dedup();
                        let mut guards: Vec<_> = picks.iter().map(|&i| many[i].lock()).collect();
                        guards.iter_mut().for_each(|g| **g += 1);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());

        assert_eq!(deadlocks.load(Relaxed), 0);
        assert!(
            lockscope::lock_order_reports().is_empty(),
            "{:#?}",
            lockscope::lock_order_reports()
        );
        return;
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("lockscope:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
