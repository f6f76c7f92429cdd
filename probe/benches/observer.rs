//! The observer effect: how much lockscope changes the waits it measures, and how its own
//! figures compare with a stopwatch held from outside.
//!
//! The same workload runs on parking_lot's Mutex and on lockscope's (recording on): 4 threads,
//! each taking one lock for a ~50 ns critical section and then doing ~200 ns of work of its
//! own. Every `lock()` call is timed from outside with `Instant`. The table compares
//! - the outside timings on parking_lot (the workload as it is),
//! - the outside timings on lockscope (the workload as lockscope makes it), and
//! - what lockscope recorded about its own waits (`class_stats`: waits that were not over
//!   within the brief spin).
//!
//! Waits longer than 1 µs are shown apart: they are the ones that parked, which both the
//! outside stopwatch and lockscope see as waits.
//!
//! `cargo bench -p lockscope --bench observer` (under `cargo test --benches` it runs a few
//! thousand acquisitions only, to check it works).

use lockscope::format::Histogram;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

const THREADS: usize = 4;

/// ~50 ns inside the lock, ~200 ns outside it (xor-shift-multiply chains the optimiser keeps).
fn spin(v: &mut u64, steps: u32) {
    let mut x = black_box(*v);
    for _ in 0..steps {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    *v = x;
}

/// The outside stopwatch's view: every acquisition, and the ones that took over 1 µs.
#[derive(Default)]
struct Outside {
    all: Histogram,
    parked: Histogram,
}

impl Outside {
    fn merge(&mut self, other: &Outside) {
        self.all.merge(&other.all);
        self.parked.merge(&other.parked);
    }
}

fn run(per_thread: u64, lock: impl Fn() -> Box<dyn FnMut(&mut u64) + Send>) -> Outside {
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let start = start.clone();
            let mut take = lock();
            std::thread::Builder::new()
                .name(format!("observer-{i}"))
                .spawn(move || {
                    let mut out = Outside::default();
                    let mut own = i as u64 + 1;
                    start.wait();
                    for _ in 0..per_thread {
                        let t0 = Instant::now();
                        take(&mut own);
                        let ns = t0.elapsed().as_nanos() as u64;
                        out.all.record(ns);
                        if ns > 1_000 {
                            out.parked.record(ns);
                        }
                        spin(&mut own, 128);
                    }
                    out
                })
                .unwrap()
        })
        .collect();
    let mut total = Outside::default();
    for h in handles {
        total.merge(&h.join().unwrap());
    }
    total
}

fn row(name: &str, count: u64, of: u64, h: &Histogram) {
    println!(
        "| {name} | {count} of {of} ({:.1} %) | {} | {} | {} |",
        count as f64 * 100.0 / of.max(1) as f64,
        h.quantile(0.5),
        h.quantile(0.99),
        h.max(),
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let per_thread: u64 = if full { 250_000 } else { 2_000 };
    let acquisitions = per_thread * THREADS as u64;

    // Lock hold: ~50 ns (32 steps); the time between two acquisitions of a thread: ~200 ns.
    let pl = Arc::new(parking_lot::Mutex::new(0u64));
    let plain = run(per_thread, || {
        let l = pl.clone();
        Box::new(move |own: &mut u64| {
            let mut g = l.lock();
            spin(&mut g, 32);
            *own ^= *g;
        })
    });

    lockscope::set_enabled(true);
    let ls = Arc::new(lockscope::Mutex::named("observer-bench", 0u64));
    let observed = run(per_thread, || {
        let l = ls.clone();
        Box::new(move |own: &mut u64| {
            let mut g = l.lock();
            spin(&mut g, 32);
            *own ^= *g;
        })
    });
    let recorded = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == "observer-bench")
        .expect("lockscope recorded the benchmark's lock");

    println!(
        "observer effect: {THREADS} threads, {acquisitions} acquisitions each run, ~50 ns held, ~200 ns between (ns)"
    );
    println!();
    println!("| what | acquisitions | p50 | p99 | max |");
    println!("|---|---|---:|---:|---:|");
    row(
        "parking_lot, stopwatch, every acquisition",
        plain.all.count(),
        acquisitions,
        &plain.all,
    );
    row(
        "parking_lot, stopwatch, waits over 1 µs",
        plain.parked.count(),
        acquisitions,
        &plain.parked,
    );
    row(
        "lockscope, stopwatch, every acquisition",
        observed.all.count(),
        acquisitions,
        &observed.all,
    );
    row(
        "lockscope, stopwatch, waits over 1 µs",
        observed.parked.count(),
        acquisitions,
        &observed.parked,
    );
    println!(
        "| lockscope, as it recorded its waits | {} of {} ({:.1} %) | {} | {} | {} |",
        recorded.contentions,
        recorded.acquisitions,
        recorded.contentions as f64 * 100.0 / recorded.acquisitions.max(1) as f64,
        recorded.wait_ns.p50,
        recorded.wait_ns.p99,
        recorded.wait_ns.max,
    );
    assert_eq!(plain.all.count(), acquisitions);
    assert_eq!(observed.all.count(), acquisitions);
}
