//! System signals: pools (every semaphore's use over time, saturation alerts) and cache
//! stampedes (duplicate fills of a warm key, herds behind a fill).

mod support;

use lockscope::format::{self, PoolEvent, Record};
use lockscope::{Alert, Mutex, Recorder, Semaphore};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::*;

/// Alerts whose `locks` name `name`, as they are raised.
fn alerts_naming(name: &'static str) -> Receiver<Alert> {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    lockscope::on_alert(move |a| {
        if a.locks.iter().any(|l| l == name) {
            let _ = tx.lock().unwrap().send(a.clone());
        }
    });
    rx
}

/// Waits until `sem` counts `n` waiters (the probe's own count, so no sleep guesses).
fn until_waiters(sem: &Semaphore, n: u64) {
    while sem.stats().waiters < n {
        thread::yield_now();
    }
}

#[test]
fn pool_records_follow_a_barrier_driven_schedule_exactly() {
    const NAME: &str = "pool_records_follow_a_barrier_driven_schedule_exactly";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let sem = Arc::new(Semaphore::named("db-pool", 2));
        let a = sem.acquire(); // in use 1
        let b = sem.acquire(); // in use 2
        let (got_tx, got_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let s2 = sem.clone();
        let waiter = thread::Builder::new()
            .name("waiter".into())
            .spawn(move || {
                let p = s2.acquire(); // waits with 2 in use, then takes b's permit
                got_tx.send(()).unwrap();
                done_rx.recv().unwrap();
                drop(p); // in use 0
            })
            .unwrap();
        until_waiters(&sem, 1);
        drop(b); // in use 1, then the waiter's acquisition makes it 2
        got_rx.recv().unwrap();
        drop(a); // in use 1
        done_tx.send(()).unwrap();
        waiter.join().unwrap();
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let waiter = actor_named(&t, "waiter");
    let pool = locks_of(&t, class_named(&t, "db-pool"))[0];
    // The test's own thread took the first permit.
    let main = t
        .records
        .iter()
        .find_map(|r| match r {
            Record::Pool { lock, actor, .. } if *lock == pool => Some(*actor),
            _ => None,
        })
        .expect("pool records");
    assert_ne!(main, waiter);
    let events = |who: u64| -> Vec<(PoolEvent, u64, u64, u64, u64)> {
        t.records
            .iter()
            .filter_map(|r| match r {
                Record::Pool {
                    lock,
                    actor,
                    event,
                    in_use,
                    waiters,
                    capacity,
                    duration_ns,
                    ..
                } if *lock == pool && *actor == who => {
                    Some((*event, *in_use, *waiters, *capacity, *duration_ns))
                }
                _ => None,
            })
            .collect()
    };
    let m = events(main);
    let shape: Vec<_> = m.iter().map(|e| (e.0, e.1, e.3)).collect();
    assert_eq!(
        shape,
        [
            (PoolEvent::Acquire, 1, 2),
            (PoolEvent::Acquire, 2, 2),
            (PoolEvent::Release, 1, 2),
            (PoolEvent::Release, 1, 2),
        ],
        "main's events: {m:?}"
    );
    assert_eq!((m[0].4, m[1].4), (0, 0), "free permits: no wait");
    assert!(m[2].4 > 0 && m[3].4 > m[2].4, "hold times: {m:?}");
    let w = events(waiter);
    let shape: Vec<_> = w.iter().map(|e| (e.0, e.1, e.2)).collect();
    assert_eq!(
        shape,
        [
            (PoolEvent::Wait, 2, 1),
            (PoolEvent::Acquire, 2, 0),
            (PoolEvent::Release, 0, 0),
        ],
        "waiter's events: {w:?}"
    );
    assert!(w[1].4 > 0, "the waiter's acquisition records its wait");
}

#[test]
fn a_starved_pool_raises_a_saturation_alert_naming_it() {
    lockscope::set_pool_starved_threshold(Duration::from_millis(20));
    let alerts = alerts_naming("tiny-pool");
    let sem = Arc::new(Semaphore::named("tiny-pool", 1));
    let held = sem.acquire();
    let s2 = sem.clone();
    let waiter = thread::Builder::new()
        .name("starved-caller".into())
        .spawn(move || drop(s2.acquire()))
        .unwrap();
    until_waiters(&sem, 1);
    // The work done with the permit: the caller is starved meanwhile.
    thread::sleep(Duration::from_millis(40));
    drop(held);
    waiter.join().unwrap();
    // (The leak test's threshold may also report this permit as a leak: look past that.)
    let a = std::iter::from_fn(|| alerts.recv_timeout(Duration::from_secs(10)).ok())
        .find(|a| a.kind == "pool_saturation")
        .expect("a pool_saturation alert");
    assert_eq!(a.kind, "pool_saturation");
    assert!(
        a.text.contains("tiny-pool") && a.text.contains("capacity 1"),
        "{}",
        a.text
    );
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert!(json["starved_ns"].as_u64().unwrap() >= 20_000_000, "{json}");
}

#[cfg(feature = "tokio")]
#[test]
fn a_full_channel_raises_a_saturation_alert_naming_it_and_its_receiver() {
    lockscope::set_pool_starved_threshold(Duration::from_millis(20));
    let alerts = alerts_naming("tiny-channel");
    let (tx, mut rx) = lockscope::tokio::mpsc::channel_named::<u32>("tiny-channel", 1);
    tx.blocking_send(0).unwrap(); // full now
    let t2 = tx.clone();
    let sender = thread::Builder::new()
        .name("eager-sender".into())
        .spawn(move || t2.blocking_send(1).unwrap())
        .unwrap();
    while tx.stats().waiters == 0 {
        thread::yield_now();
    }
    let receiver = thread::Builder::new()
        .name("slow-receiver".into())
        .spawn(move || {
            // The work before receiving: the sender waits for room meanwhile.
            thread::sleep(Duration::from_millis(40));
            // The receiver goes back to the test, alive: dropped, it would no longer be the
            // channel's receiver when a descheduled sender raises the alert.
            ((rx.blocking_recv(), rx.blocking_recv()), rx)
        })
        .unwrap();
    sender.join().unwrap();
    let (got, _rx) = receiver.join().unwrap();
    assert_eq!(got, (Some(0), Some(1)));
    let a = std::iter::from_fn(|| alerts.recv_timeout(Duration::from_secs(10)).ok())
        .find(|a| a.kind == "pool_saturation")
        .expect("a pool_saturation alert");
    assert!(
        a.text
            .contains("channel \"tiny-channel\" (capacity 1) was full with senders waiting")
            && a.text.contains("receiver now: slow-receiver"),
        "{}",
        a.text
    );
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert_eq!(json["channel"], true, "{json}");
    assert!(json["starved_ns"].as_u64().unwrap() >= 20_000_000, "{json}");
}

#[test]
fn a_pool_with_enough_permits_stays_silent() {
    let alerts = alerts_naming("roomy-pool");
    let sem = Arc::new(Semaphore::named("roomy-pool", 4));
    let go = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (sem, go) = (sem.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                for _ in 0..1000 {
                    drop(sem.acquire());
                }
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(sem.stats().contentions, 0);
    assert!(alerts.try_recv().is_err());
}

/// `n` threads fill `key` at once: each enters the fill, then all leave together.
fn overlapping_fills(key: &'static str, n: usize) {
    let inside = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let inside = inside.clone();
            thread::Builder::new()
                .name(format!("filler-{i}"))
                .spawn(move || {
                    let _fill = lockscope::cache_fill_debug(key);
                    inside.wait();
                })
                .unwrap()
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn duplicate_fills_of_a_warm_key_are_a_stampede() {
    let alerts = alerts_naming("\"user:42\"");
    drop(lockscope::cache_fill_debug("user:42")); // the first fill: the key is warm now
    overlapping_fills("user:42", 4);
    let a = alerts
        .recv_timeout(Duration::from_secs(10))
        .expect("a stampede alert");
    assert_eq!(a.kind, "stampede");
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert_eq!(json["rule"], "duplicate_fills");
    assert_eq!(json["duplicate_fills"], 3);
    assert_eq!(a.actors.len(), 4, "{:?}", a.actors);
    assert!(a.text.contains("\"user:42\""), "{}", a.text);
    assert!(json["wasted_ns"].as_u64().unwrap() > 0);
}

#[test]
fn a_stampede_names_the_key_by_its_debug_text_and_fillers_that_exited_by_their_thread_names() {
    let alerts = alerts_naming("\"moved-key\"");
    drop(lockscope::cache_fill(&"moved-key")); // warm
    // Three threads begin fills and hand their guards over before they exit, so the alert is
    // raised after every filler's thread has ended (and, once another thread starts, after
    // their actor slots were reused).
    let (tx, rx) = mpsc::channel();
    for i in 0..3 {
        let tx = tx.clone();
        thread::Builder::new()
            .name(format!("mover-{i}"))
            .spawn(move || tx.send(lockscope::cache_fill(&"moved-key")).unwrap())
            .unwrap()
            .join()
            .unwrap();
    }
    let guards: Vec<_> = rx.iter().take(3).collect();
    thread::spawn(|| drop(Mutex::new(()).lock()))
        .join()
        .unwrap();
    drop(guards);
    let a = alerts
        .recv_timeout(Duration::from_secs(10))
        .expect("a stampede alert");
    let mut actors = a.actors.clone();
    actors.sort();
    assert_eq!(actors, ["mover-0", "mover-1", "mover-2"], "{}", a.text);
    assert!(a.text.contains("cache key \"moved-key\""), "{}", a.text);
}

#[test]
fn a_key_without_debug_is_named_by_its_hash() {
    #[derive(Hash)]
    struct Opaque(u32);
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    lockscope::on_alert(move |a| {
        if a.text.contains("by 3 actors") && a.locks.iter().any(|l| l.starts_with("key#")) {
            let _ = tx.lock().unwrap().send(a.clone());
        }
    });
    drop(lockscope::cache_fill_hashed(&Opaque(7)));
    let inside = Arc::new(Barrier::new(3));
    let fillers: Vec<_> = (0..3)
        .map(|_| {
            let inside = inside.clone();
            thread::spawn(move || {
                let _fill = lockscope::cache_fill_hashed(&Opaque(7));
                inside.wait();
            })
        })
        .collect();
    fillers.into_iter().for_each(|f| f.join().unwrap());
    let a = rx.recv_timeout(Duration::from_secs(10)).expect("an alert");
    assert!(a.locks[0].len() == "key#".len() + 16, "{:?}", a.locks);
}

#[test]
fn cold_starts_serial_refills_and_one_actors_retries_are_not_stampedes() {
    let cold = alerts_naming("\"cold-key\"");
    overlapping_fills("cold-key", 4);
    assert!(cold.try_recv().is_err(), "a cold start is not a stampede");

    let serial = alerts_naming("\"serial-key\"");
    for i in 0..5 {
        thread::Builder::new()
            .name(format!("refiller-{i}"))
            .spawn(|| drop(lockscope::cache_fill_debug("serial-key")))
            .unwrap()
            .join()
            .unwrap();
    }
    assert!(serial.try_recv().is_err(), "serial refills do not overlap");

    let retries = alerts_naming("\"retry-key\"");
    drop(lockscope::cache_fill_debug("retry-key"));
    {
        let _first = lockscope::cache_fill_debug("retry-key");
        let _second = lockscope::cache_fill_debug("retry-key");
        let _third = lockscope::cache_fill_debug("retry-key");
    }
    assert!(
        retries.try_recv().is_err(),
        "one actor's retries count once"
    );
}

#[test]
fn a_herd_waiting_for_a_lock_held_through_a_fill_is_a_stampede() {
    let alerts = alerts_naming("cache-map");
    let cache = Arc::new(Mutex::named("cache-map", 0u64));
    let (filling_tx, filling_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let c = cache.clone();
    let filler = thread::Builder::new()
        .name("refresher".into())
        .spawn(move || {
            let mut map = c.lock();
            let _fill = lockscope::cache_fill_debug("front-page");
            filling_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            *map += 1;
        })
        .unwrap();
    filling_rx.recv().unwrap();
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let c = cache.clone();
            thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || *c.lock())
                .unwrap()
        })
        .collect();
    let a = alerts
        .recv_timeout(Duration::from_secs(10))
        .expect("a herd alert while the fill holds the lock");
    release_tx.send(()).unwrap();
    filler.join().unwrap();
    readers.into_iter().for_each(|r| {
        r.join().unwrap();
    });
    assert_eq!(a.kind, "stampede");
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert_eq!(json["rule"], "herd");
    assert_eq!(json["waiters"], 3);
    assert!(
        a.text.contains("refresher") && a.text.contains("\"front-page\""),
        "{}",
        a.text
    );
}

#[inline(never)]
fn take_a_connection_and_forget_it(pool: &Semaphore) -> lockscope::SemaphorePermit<'_> {
    pool.acquire()
}

#[test]
fn a_permit_held_past_the_leak_threshold_is_reported_with_the_stack_that_took_it() {
    lockscope::set_pool_leak_threshold(Duration::from_millis(50));
    let alerts = alerts_naming("leaky-pool");
    let quick = alerts_naming("quick-pool");
    let pool = Semaphore::named("leaky-pool", 3);
    let permit = take_a_connection_and_forget_it(&pool);
    // Returned in time: never reported, even once the watchdog has looked past the threshold.
    let quick_pool = Semaphore::named("quick-pool", 1);
    drop(quick_pool.acquire());
    let a = alerts
        .recv_timeout(Duration::from_secs(10))
        .expect("a pool_leak alert from the watchdog");
    drop(permit);
    assert!(quick.try_recv().is_err(), "a returned permit was reported");
    assert_eq!(a.kind, "pool_leak");
    assert!(
        a.text.contains("leaky-pool") && a.text.contains("signals.rs"),
        "{}",
        a.text
    );
    assert!(
        a.text.contains("take_a_connection_and_forget_it"),
        "the stack that took the permit:\n{}",
        a.text
    );
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert!(json["held_ns"].as_u64().unwrap() >= 50_000_000);
}

#[test]
fn a_thread_that_exits_during_a_recording_leaves_its_final_switch_counts() {
    const NAME: &str = "a_thread_that_exits_during_a_recording_leaves_its_final_switch_counts";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let m = Arc::new(Mutex::named("ping-pong", 0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let m2 = m.clone();
        let worker = thread::Builder::new()
            .name("ponger".into())
            .spawn(move || {
                for _ in 0..20 {
                    *m2.lock() += 1;
                    ready_tx.send(()).unwrap();
                    go_rx.recv().unwrap(); // usually blocks: a voluntary switch
                }
                // The receives need not block when the other thread is quick; a sleep always
                // gives up the CPU, so the count is not zero. (Not synchronisation: the very
                // thing this test measures.)
                thread::sleep(Duration::from_micros(100));
                // What the kernel counts for this thread now; its exit record comes later.
                let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
                let v = status
                    .lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                    .unwrap()
                    .trim()
                    .to_owned();
                println!("ponger-voluntary={v}");
            })
            .unwrap();
        for _ in 0..20 {
            ready_rx.recv().unwrap();
            go_tx.send(()).unwrap();
        }
        worker.join().unwrap();
        drop(rec);
        return;
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    let seen: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split("ponger-voluntary=").nth(1))
        .expect("the child printed the thread's count")
        .parse()
        .unwrap();
    let t = format::read_file(&path).unwrap();
    let ponger = actor_named(&t, "ponger");
    // The latest sample (samples from different threads' buffers are not in time order).
    let last = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::ThreadSched {
                ts_ns,
                actor,
                voluntary,
                cpu_ns,
                ..
            } if *actor == ponger => Some((*ts_ns, *voluntary, *cpu_ns)),
            _ => None,
        })
        .max_by_key(|s| s.0)
        .map(|(_, v, c)| (v, c))
        .expect("the exiting thread wrote its figures");
    // Written as the thread exited: at least what the thread itself saw just before.
    assert!(seen > 0, "the ponger blocked on its channel");
    assert!(
        last.0 >= seen,
        "voluntary switches {last:?}, thread saw {seen}"
    );
    assert!(last.1 > 0);
}

#[test]
fn a_thread_sampled_before_its_first_lock_stays_one_actor() {
    const NAME: &str = "a_thread_sampled_before_its_first_lock_stays_one_actor";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        // A sampler round while this thread has taken no lock yet, as the main thread of a
        // program usually has not when its recording starts: the round defines it.
        let mut tracker = lockscope::SamplerTracker::default();
        assert!(lockscope::sampler_bench_round(&mut tracker) > 0);
        // Now it takes a lock and becomes one of lockscope's actors.
        let m = Mutex::named("after-sampling", 0);
        *m.lock() += 1;
        drop(rec);
        let me = std::fs::read_link("/proc/thread-self").unwrap();
        println!("sampled-tid={}", me.file_name().unwrap().to_str().unwrap());
        return;
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    let tid: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split("sampled-tid=").nth(1))
        .expect("the child printed its thread id")
        .trim()
        .parse()
        .unwrap();
    let t = format::read_file(&path).unwrap();
    let ids: std::collections::BTreeSet<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Actor { actor, os_id, .. } if *os_id == tid => Some(*actor),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "one actor for thread {tid}, not {ids:?}");
    // And that actor holds the lock taken after the sampling.
    let class = class_named(&t, "after-sampling");
    let locks: Vec<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Lock { lock, class: c, .. } if *c == class => Some(*lock),
            _ => None,
        })
        .collect();
    assert!(
        t.records.iter().any(|r| matches!(r,
            Record::Hold { actor, lock, .. } if ids.contains(actor) && locks.contains(lock))),
        "the lock's hold is the same actor's"
    );
}
