//! Chaos mode: a latent ABBA deadlock, which the plain schedule seldom meets, happens under
//! chaos mode and its report names the seed; a seed repeats its decisions; ordered and gated
//! locks raise nothing under it; a bad seed is named; the trace keeps what was injected.
//! Every run is a child process: chaos mode and the deadlock are process-wide.

mod support;

use lockscope::Mutex;
use lockscope::format::{self, Record};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

fn work(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        black_box(0);
    }
}

/// The latent ABBA: `restocker` takes `inventory` then `orders` on every batch; `reporter`
/// takes `orders` then `inventory` once, 1.5 ms after the restocker's tenth batch. Prints `COMPLETED` when the run
/// ends without a deadlock; a deadlock prints its report and exits.
fn latent_abba() {
    report_and_exit();
    let inventory = Arc::new(Mutex::named("inventory", 0u64));
    let orders = Arc::new(Mutex::named("orders", 0u64));
    let published = Arc::new(Mutex::named("published", 0u64));
    let (i1, o1) = (inventory.clone(), orders.clone());
    // The reporter reports on a running store: it starts after the restocker's first batches.
    let batches = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = batches.clone();
    let restocker = std::thread::Builder::new()
        .name("restocker".into())
        .spawn(move || {
            for _ in 0..400 {
                {
                    let mut i = i1.lock();
                    *i += 1;
                    *o1.lock() += *i;
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                work(Duration::from_micros(100));
            }
        })
        .unwrap();
    let reporter = std::thread::Builder::new()
        .name("reporter".into())
        .spawn(move || {
            while batches.load(std::sync::atomic::Ordering::Relaxed) < 10 {
                std::thread::yield_now();
            }
            *published.lock() += 1; // its first lock: the thread's registration is done here
            work(Duration::from_micros(1_500));
            let o = orders.lock();
            black_box(*inventory.lock() + *o);
        })
        .unwrap();
    restocker.join().unwrap();
    reporter.join().unwrap();
    println!("COMPLETED");
}

const LATENT: &str = "a_latent_abba_deadlocks_under_chaos_mode_and_the_report_names_the_seed";

#[test]
fn a_latent_abba_deadlocks_under_chaos_mode_and_the_report_names_the_seed() {
    if is_child(LATENT) {
        latent_abba();
        return;
    }
    let seeds = 1..=20u64;
    let mut deadlocked = Vec::new();
    for seed in seeds.clone() {
        let out = run_child(LATENT, &[("LOCKSCOPE_CHAOS", &seed.to_string())]);
        assert_child_ok(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("chaos mode on, seed {seed}")),
            "chaos mode says so on stderr:\n{stderr}"
        );
        let Some(json) = stdout
            .lines()
            .find_map(|l| l.split_once("REPORT ").map(|(_, j)| j))
        else {
            assert!(stdout.contains("COMPLETED"), "{stdout}\n{stderr}");
            continue;
        };
        let r: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(r["kind"], "deadlock");
        assert_eq!(r["chaos_seed"], seed, "the report names the seed: {r}");
        assert_eq!(
            participant_names(&r, "name"),
            ["reporter", "restocker"],
            "{r}"
        );
        deadlocked.push(seed);
    }
    assert!(
        deadlocked.len() >= 19,
        "chaos mode made the latent deadlock happen in {} of 20 runs (seeds {deadlocked:?}); the target is 95 %",
        deadlocked.len()
    );
}

/// One thread named `solo` takes `outer` then `inner` 300 times; prints what chaos mode
/// injected.
fn solo_nesting() {
    let outer = Mutex::named("outer", 0u64);
    let inner = Mutex::named("inner", 0u64);
    in_thread("solo", move || {
        for _ in 0..300 {
            let _o = outer.lock();
            *inner.lock() += 1;
        }
    });
    print_stats();
}

/// In a child: prints what chaos mode injected, for [`stats_of`].
fn print_stats() {
    let s = lockscope::chaos::stats();
    println!(
        "STATS {} {} {} {} {}",
        s.seed, s.delays, s.delay_ns, s.yields, s.inversion_delays
    );
}

fn stats_of(out: &std::process::Output) -> Vec<u64> {
    assert_child_ok(out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("STATS ").map(|(_, s)| s))
        .unwrap_or_else(|| panic!("no stats in:\n{stdout}"));
    line.split(' ').map(|n| n.parse().unwrap()).collect()
}

const REPEAT: &str = "a_seed_repeats_its_decisions_and_the_trace_keeps_what_was_injected";

#[test]
fn a_seed_repeats_its_decisions_and_the_trace_keeps_what_was_injected() {
    if is_child(REPEAT) {
        let path = std::env::var("CHAOS_TRACE").unwrap();
        let rec = lockscope::Recorder::to_file(&path).unwrap().start();
        solo_nesting();
        rec.stop();
        return;
    }
    let run = |seed: &str, trace: &str| {
        let path = trace_path(trace);
        let out = run_child(
            REPEAT,
            &[
                ("LOCKSCOPE_CHAOS", seed),
                ("CHAOS_TRACE", path.to_str().unwrap()),
            ],
        );
        (stats_of(&out), path)
    };
    let (first, path) = run("5", "chaos-seed-5-a");
    let (again, _) = run("5", "chaos-seed-5-b");
    let (other, _) = run("6", "chaos-seed-6");
    assert_eq!(first[0], 5);
    assert!(
        first[1] > 0,
        "300 nested acquisitions drew some delays: {first:?}"
    );
    assert_eq!(
        first, again,
        "seed 5 twice: the same delays, lengths and yields"
    );
    assert_ne!(first[1..], other[1..], "seed 6 decides otherwise");
    assert_eq!(first[4], 0, "one thread in one order closes no cycle");

    let bytes = std::fs::read(&path).unwrap();
    let t = format::decode(&bytes).unwrap();
    let last = t
        .records
        .iter()
        .rev()
        .find_map(|r| match r {
            Record::Chaos {
                seed,
                delays,
                delay_ns,
                yields,
                inversion_delays,
                ..
            } => Some(vec![*seed, *delays, *delay_ns, *yields, *inversion_delays]),
            _ => None,
        })
        .expect("a chaos record in the trace");
    assert_eq!(
        last, first,
        "the trace's last chaos record is the run's figures"
    );
}

/// Four threads take `a` then `b` in one order, and two take `x` and `y` in opposite orders
/// under a common gate lock: nothing can deadlock, so chaos mode must raise nothing.
fn ordered_and_gated() {
    report_and_exit();
    let a = Arc::new(Mutex::named("a", 0u64));
    let b = Arc::new(Mutex::named("b", 0u64));
    let gate = Arc::new(Mutex::named("gate", ()));
    let x = Arc::new(Mutex::named("x", 0u64));
    let y = Arc::new(Mutex::named("y", 0u64));
    let mut hs = Vec::new();
    for i in 0..4 {
        let (a, b) = (a.clone(), b.clone());
        hs.push(
            std::thread::Builder::new()
                .name(format!("ordered-{i}"))
                .spawn(move || {
                    for _ in 0..200 {
                        let _a = a.lock();
                        *b.lock() += 1;
                    }
                })
                .unwrap(),
        );
    }
    for flip in [false, true] {
        let (gate, x, y) = (gate.clone(), x.clone(), y.clone());
        hs.push(
            std::thread::Builder::new()
                .name(format!("gated-{flip}"))
                .spawn(move || {
                    for _ in 0..100 {
                        let _g = gate.lock();
                        let (first, second) = if flip { (&y, &x) } else { (&x, &y) };
                        let _f = first.lock();
                        *second.lock() += 1;
                    }
                })
                .unwrap(),
        );
    }
    hs.into_iter().for_each(|h| h.join().unwrap());
    print_stats();
    println!("INVERSIONS {}", lockscope::lock_order_reports().len());
}

const QUIET: &str = "chaos_mode_raises_nothing_on_ordered_and_gated_locks";

#[test]
fn chaos_mode_raises_nothing_on_ordered_and_gated_locks() {
    if is_child(QUIET) {
        ordered_and_gated();
        return;
    }
    for seed in ["11", "12", "13"] {
        let out = run_child(QUIET, &[("LOCKSCOPE_CHAOS", seed)]);
        let s = stats_of(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("REPORT "), "a false deadlock: {stdout}");
        assert!(
            stdout.contains("INVERSIONS 0"),
            "a false inversion: {stdout}"
        );
        assert!(
            s[1] > 0 && s[4] > 0,
            "chaos mode acted (delays, some at the gated pair's reversed order): {s:?}"
        );
    }
}

const BAD: &str = "a_bad_seed_is_named_and_chaos_mode_stays_off";

#[test]
fn a_bad_seed_is_named_and_chaos_mode_stays_off() {
    if is_child(BAD) {
        solo_nesting();
        assert_eq!(lockscope::chaos::seed(), None);
        lockscope::chaos::enable(9);
        assert_eq!(lockscope::chaos::seed(), Some(9));
        lockscope::chaos::enable(0);
        assert_eq!(lockscope::chaos::seed(), None, "enable(0) switches it off");
        return;
    }
    let out = run_child(BAD, &[("LOCKSCOPE_CHAOS", "banana")]);
    let s = stats_of(&out);
    assert_eq!(s, [0, 0, 0, 0, 0], "nothing injected");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOCKSCOPE_CHAOS=\"banana\" is not a seed; chaos mode stays off"),
        "{stderr}"
    );
}
