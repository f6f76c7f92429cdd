//! Causal experiments: progress points count; experiments pick held classes and speedups,
//! pause the other threads by the sped-up share of each hold, and reach the trace; a bad
//! `LOCKSCOPE_CAUSAL` is named. Each run is a child process: the experiments are process-wide.

mod support;

use lockscope::Mutex;
use lockscope::format::{self, Record};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};
use support::*;

#[test]
fn progress_points_count_by_name_whatever_the_names_address() {
    const NAME: &str = "progress_points_count_by_name_whatever_the_names_address";
    if is_child(NAME) {
        for _ in 0..1000 {
            lockscope::progress("jobs");
        }
        // The same text at another address counts with the first.
        let copy: &'static str = String::from("jobs").leak();
        for _ in 0..10 {
            lockscope::progress(copy);
            lockscope::progress("pages");
        }
        let mut counts = lockscope::causal::progress_counts();
        counts.sort();
        assert_eq!(counts, [("jobs", 1010), ("pages", 10)]);
        assert!(
            lockscope::causal::experiments().is_empty(),
            "none run unless asked"
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

/// Two workers take `hot` for ~20 µs per unit of work; one `idle` lock is taken now and then.
fn workload(run_for: Duration) {
    let hot = Arc::new(Mutex::named("hot", 0u64));
    let idle = Arc::new(Mutex::named("idle", 0u64));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let (hot, idle, stop) = (hot.clone(), idle.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        {
                            let _h = hot.lock();
                            let t = Instant::now();
                            while t.elapsed() < Duration::from_micros(20) {
                                black_box(0);
                            }
                        }
                        n += 1;
                        if n.is_multiple_of(100) {
                            *idle.lock() += 1;
                        }
                        lockscope::progress("units");
                    }
                })
                .unwrap()
        })
        .collect();
    std::thread::sleep(run_for);
    stop.store(true, Relaxed);
    workers.into_iter().for_each(|w| w.join().unwrap());
}

const RUN: &str = "experiments_speed_up_held_classes_and_reach_the_trace";

#[test]
fn experiments_speed_up_held_classes_and_reach_the_trace() {
    if is_child(RUN) {
        let path = std::env::var("CAUSAL_TRACE").unwrap();
        let rec = lockscope::Recorder::to_file(&path).unwrap().start();
        workload(Duration::from_millis(1500));
        lockscope::causal::stop();
        let done = lockscope::causal::experiments();
        println!("EXPERIMENTS {}", done.len());
        rec.stop();
        return;
    }
    let path = trace_path("causal-run");
    let out = run_child(
        RUN,
        &[
            ("LOCKSCOPE_CAUSAL", "1"),
            ("LOCKSCOPE_CAUSAL_MS", "20"),
            ("CAUSAL_TRACE", path.to_str().unwrap()),
        ],
    );
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("causal experiments on (20 ms each)"),
        "it says so: {stderr}"
    );
    let t = format::decode(&std::fs::read(&path).unwrap()).unwrap();
    let hot = class_named(&t, "hot");
    let mut speedups = BTreeSet::new();
    let mut experiments = 0;
    // Over every experiment that sped up `hot`: the pauses inserted, and the pauses a `hot`
    // held all the time would call for (its speedup's share of the window).
    let (mut paused, mut called_for) = (0u64, 0u64);
    // Baselines, and those during which the workers got work done.
    let (mut baselines, mut working) = (0, 0);
    for r in &t.records {
        let Record::Causal {
            class,
            speedup_pct,
            duration_ns,
            delay_ns,
            progress,
            count,
            ..
        } = r
        else {
            continue;
        };
        experiments += 1;
        assert_eq!(progress, "units");
        assert!(*duration_ns >= 20_000_000, "a 20 ms window: {duration_ns}");
        assert!([0, 25, 50, 75, 100].contains(speedup_pct), "{speedup_pct}");
        if *speedup_pct == 0 {
            assert_eq!(*delay_ns, 0, "a baseline pauses nobody");
            baselines += 1;
            working += usize::from(*count > 0);
        }
        if *class == hot && *speedup_pct > 0 {
            paused += delay_ns;
            called_for += duration_ns * speedup_pct / 100;
            speedups.insert(*speedup_pct);
        }
    }
    assert!(experiments >= 20, "about one every 20 ms: {experiments}");
    // Every baseline counts work on an idle machine; on a loaded one a 20 ms window can pass
    // with the workers never scheduled.
    assert!(
        baselines > 0 && working * 2 >= baselines,
        "work went on during most baselines: {working} of {baselines}"
    );
    assert!(!speedups.is_empty(), "some experiments sped up hot");
    // `hot` is held most of the time its workers run, so its experiments pause the other
    // threads for a large share of their windows: on an idle machine about a tenth of what a
    // lock held all the time would call for. A loaded machine runs the workers (and so their
    // holds) less, so the bound is a quarter of that, over all of hot's experiments at once.
    assert!(
        paused * 40 >= called_for,
        "hot's experiments paused {paused} ns, against {called_for} ns for a lock held throughout"
    );
}

#[test]
fn a_bad_causal_setting_is_named_and_nothing_runs() {
    const NAME: &str = "a_bad_causal_setting_is_named_and_nothing_runs";
    if is_child(NAME) {
        let m = Mutex::new(0);
        *m.lock() += 1;
        assert!(!lockscope::causal::running());
        return;
    }
    let out = run_child(NAME, &[("LOCKSCOPE_CAUSAL", "maybe")]);
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOCKSCOPE_CAUSAL=\"maybe\" is not understood"),
        "{stderr}"
    );
}
