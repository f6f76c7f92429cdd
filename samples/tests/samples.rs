//! Every deadlock sample deadlocks for real and exits 86 with a report naming every thread;
//! every fix completes with no alert at all.

use std::process::{Command, Output};

fn run(exe: &str, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("lockscope-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = std::path::Path::new(exe)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let trace = dir.join(format!("{name}-{}.lstrace", args.join("-")));
    Command::new(exe)
        .args(args)
        .arg("--trace")
        .arg(&trace)
        .env("LOCKSCOPE_ON_DEADLOCK", "exit")
        .output()
        .expect("run sample")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_deadlocks(exe: &str, threads: &[&str]) {
    let o = run(exe, &[]);
    assert_eq!(
        o.status.code(),
        Some(86),
        "{exe} should deadlock; stderr:\n{}",
        stderr(&o)
    );
    let e = stderr(&o);
    assert!(e.contains("DEADLOCK"), "{e}");
    for t in threads {
        assert!(
            e.contains(&format!("thread \"{t}\"")),
            "{t} missing from:\n{e}"
        );
    }
}

fn assert_silent(exe: &str, args: &[&str]) {
    let o = run(exe, args);
    assert!(o.status.success(), "{exe} {args:?} failed: {}", stderr(&o));
    assert!(
        !stderr(&o).contains("lockscope:"),
        "{exe} {args:?} raised an alert:\n{}",
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("done"));
}

#[test]
fn abba_deadlocks_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_abba");
    assert_deadlocks(exe, &["teller-a", "teller-b"]);
    assert_silent(exe, &["--fix"]);
}

#[test]
fn sequential_abba_completes_but_reports_the_inversion() {
    let o = run(env!("CARGO_BIN_EXE_abba"), &["--sequential"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("LOCK ORDER INVERSION") && e.contains("checking") && e.contains("savings"),
        "{e}"
    );
    assert!(!e.contains("DEADLOCK"));
}

#[test]
fn dining_philosophers_deadlock_and_both_fixes_are_silent() {
    let exe = env!("CARGO_BIN_EXE_philosophers");
    assert_deadlocks(
        exe,
        &[
            "philosopher-0",
            "philosopher-1",
            "philosopher-2",
            "philosopher-3",
            "philosopher-4",
        ],
    );
    assert_silent(exe, &["--fix", "order"]);
    assert_silent(exe, &["--fix", "backoff"]);
}

#[test]
fn rwlock_upgrade_deadlocks_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_rwlock_upgrade");
    assert_deadlocks(exe, &["loader-0", "loader-1"]);
    assert_silent(exe, &["--fix"]);
}

#[test]
fn pool_deadlock_is_reported_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_pool_deadlock");
    assert_deadlocks(exe, &["worker-0", "worker-1"]);
    assert_silent(exe, &["--fix"]);
}

/// Runs a sample and decodes the trace it recorded.
/// Where [`run_traced`] has `exe` with `args` write its trace.
fn traced_path(exe: &str, args: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lockscope-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = std::path::Path::new(exe)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    dir.join(format!("{name}-traced-{}.lstrace", args.join("-")))
}

fn run_traced(exe: &str, args: &[&str]) -> (Output, lockscope::format::Trace) {
    let trace = traced_path(exe, args);
    let o = Command::new(exe)
        .args(args)
        .arg("--trace")
        .arg(&trace)
        .output()
        .expect("run sample");
    assert!(o.status.success(), "{exe} {args:?} failed: {}", stderr(&o));
    let t = lockscope::format::read_file(&trace).expect("the sample's trace decodes");
    (o, t)
}

fn records(t: &lockscope::format::Trace) -> impl Iterator<Item = &lockscope::format::Record> {
    t.records.iter()
}

/// The actors that filled a cache key in `t`.
fn fillers(t: &lockscope::format::Trace) -> std::collections::HashSet<u64> {
    records(t)
        .filter_map(|r| match r {
            lockscope::format::Record::Fill { actor, .. } => Some(*actor),
            _ => None,
        })
        .collect()
}

#[test]
fn ttl_cache_stampedes_and_both_fixes_are_silent() {
    use lockscope::format::Record;
    let exe = env!("CARGO_BIN_EXE_ttl_cache");
    let (o, t) = run_traced(exe, &["--duration-ms", "500"]);
    let e = stderr(&o);
    assert!(
        e.contains("STAMPEDE") && e.contains("\"front-page\""),
        "{e}"
    );
    // The picture: fills of the hot key by many readers at once.
    let fillers = fillers(&t);
    assert!(fillers.len() >= 10, "{} fillers", fillers.len());
    assert!(
        t.records
            .iter()
            .any(|r| matches!(r, Record::Alert { kind, .. } if kind == "stampede")),
        "the alert is in the trace"
    );
    for fix in ["--xfetch", "--single-flight"] {
        let (o, _) = run_traced(exe, &[fix, "--duration-ms", "500"]);
        assert!(!stderr(&o).contains("lockscope:"), "{fix}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("done"));
    }
}

#[test]
fn a_small_pool_saturates_and_the_sized_pool_is_silent() {
    use lockscope::format::{PoolEvent, Record};
    let exe = env!("CARGO_BIN_EXE_pool_size");
    let (o, t) = run_traced(exe, &[]);
    let e = stderr(&o);
    assert!(
        e.contains("POOL SATURATION") && e.contains("db-pool"),
        "{e}"
    );
    // The picture: the pool full with callers waiting.
    assert!(records(&t).any(|r| matches!(
        r,
        Record::Pool { event: PoolEvent::Wait, in_use, capacity, waiters, .. }
            if in_use == capacity && *waiters >= 1
    )));
    let (o, t) = run_traced(exe, &["--fix"]);
    assert!(!stderr(&o).contains("lockscope:"), "{}", stderr(&o));
    assert!(!records(&t).any(|r| matches!(
        r,
        Record::Pool {
            event: PoolEvent::Wait,
            ..
        }
    )));
}

/// "the writer waited X ms of the readers' Y ms run" -> (X, Y).
fn writer_wait(o: &Output) -> (f64, f64) {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("the writer waited"))
        .expect("summary line");
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

#[test]
fn readers_starve_the_writer_until_the_fair_lock_lets_it_in() {
    let exe = env!("CARGO_BIN_EXE_writer_starvation");
    let (o, _) = run_traced(exe, &["--duration-ms", "400"]);
    let (waited, run) = writer_wait(&o);
    assert!(
        waited >= run / 2.0,
        "the naive writer waited only {waited} of {run} ms"
    );
    let (o, _) = run_traced(exe, &["--fix", "--duration-ms", "400"]);
    let (waited, run) = writer_wait(&o);
    assert!(
        waited < run / 2.0,
        "the fair writer waited {waited} of {run} ms"
    );
}

#[test]
fn the_bounded_queue_shows_backpressure_on_its_condvar() {
    use lockscope::format::{Mode, Record};
    let exe = env!("CARGO_BIN_EXE_bounded_queue");
    let (o, t) = run_traced(exe, &["--items", "30"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("120 items"));
    let producer_waits = |t: &lockscope::format::Trace| {
        let producers: Vec<u64> = records(t)
            .filter_map(|r| match r {
                Record::Actor { actor, name, .. }
                    if t.records.iter().any(|s| matches!(s, Record::String { id, text } if id == name && text.starts_with("producer-"))) =>
                {
                    Some(*actor)
                }
                _ => None,
            })
            .collect();
        records(t)
            .filter(|r| matches!(r, Record::WaitBegin { actor, mode: Mode::Condvar, .. } if producers.contains(actor)))
            .count()
    };
    assert!(
        producer_waits(&t) >= 10,
        "producers waited {} times",
        producer_waits(&t)
    );
    let (_, fixed) = run_traced(exe, &["--items", "30", "--fix"]);
    assert!(producer_waits(&fixed) < producer_waits(&t));
}

#[test]
fn the_bounded_queue_as_a_channel_is_a_pool_that_runs_full_with_producers_waiting() {
    use lockscope_viewer::model::pools::LEAK_THRESHOLD_NS;
    let exe = env!("CARGO_BIN_EXE_bounded_queue");
    let channel = |args: &[&str]| {
        let (o, _) = run_traced(exe, args);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("120 items through a channel"),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let m = lockscope_viewer::model::load(&traced_path(exe, args)).unwrap();
        let rows = m.pool_rows(LEAK_THRESHOLD_NS);
        (rows.into_iter())
            .find(|p| p.name == "work-channel")
            .expect("the channel is a pool")
    };
    let slow = channel(&["--items", "30", "--channel"]);
    assert!(slow.channel);
    assert_eq!((slow.capacity, slow.acquisitions), (8, 120), "{slow:?}");
    assert_eq!(slow.max_in_use, 8, "it filled: {slow:?}");
    assert!(
        slow.waited >= 10 && slow.max_waiters >= 2,
        "producers waited for room: {slow:?}"
    );
    assert!(
        slow.saturated_ns > slow.empty_ns,
        "one consumer keeps it full more than empty: {slow:?}"
    );
    let fixed = channel(&["--items", "30", "--channel", "--fix"]);
    assert!(
        fixed.waited < slow.waited,
        "four consumers keep up: {} sends waited against {}",
        fixed.waited,
        slow.waited
    );
}

#[test]
fn the_counter_table_has_every_strategy_and_loses_no_increment() {
    let (o, _) = run_traced(
        env!("CARGO_BIN_EXE_counters"),
        &["--iterations", "20000", "--max-threads", "4"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("| threads | atomic"), "{out}");
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| threads"))
        .collect();
    assert_eq!(rows.len(), 3, "1, 2 and 4 threads:\n{out}");
}

#[test]
fn the_service_deadlocks_under_load_with_the_flag_and_runs_clean_without() {
    use lockscope::format::Record;
    use std::collections::BTreeSet;
    let exe = env!("CARGO_BIN_EXE_service");
    let began = std::time::Instant::now();
    let o = run(exe, &["--deadlock", "--duration", "30", "--rps", "0"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(86), "{e}");
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "the deadlock stops the load test long before its 30 s"
    );
    assert!(
        e.contains("DEADLOCK") && e.contains("checking") && e.contains("savings"),
        "{e}"
    );
    // A cycle of request tasks, each named after its endpoint.
    assert!(
        e.contains("2 tasks wait for each other")
            && e.contains("task \"POST /transfer\"")
            && e.contains("task \"POST /refund\""),
        "{e}"
    );

    let (o, t) = run_traced(exe, &["--duration", "1.5", "--rps", "0"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && !stderr(&o).contains("lockscope:"),
        "{}",
        stderr(&o)
    );
    assert!(
        out.contains(" req/s) ") && out.contains(", 0 errors"),
        "{out}"
    );
    // The hot lock's waits, broken down by the endpoint span each waiter was in.
    let string = |id: u64| {
        records(&t).find_map(|r| match r {
            Record::String { id: i, text } if *i == id => Some(text.as_str()),
            _ => None,
        })
    };
    let stats = records(&t)
        .find_map(|r| match r {
            Record::Class { class, name, .. } if string(*name) == Some("stats") => Some(*class),
            _ => None,
        })
        .expect("the stats lock is in the trace");
    let locks: Vec<u64> = records(&t)
        .filter_map(|r| match r {
            Record::Lock { lock, class, .. } if *class == stats => Some(*lock),
            _ => None,
        })
        .collect();
    let span_name = |id: u64| {
        records(&t).find_map(|r| match r {
            Record::Span { span, name, .. } if *span == id => string(*name),
            _ => None,
        })
    };
    let endpoints: BTreeSet<&str> = records(&t)
        .filter_map(|r| match r {
            Record::WaitBegin { lock, span, .. } if locks.contains(lock) => span_name(*span),
            _ => None,
        })
        .collect();
    assert!(
        endpoints.len() >= 3
            && endpoints
                .iter()
                .all(|e| e.starts_with("GET /") || e.starts_with("POST /")),
        "waits on stats by endpoint: {endpoints:?}"
    );
}

#[test]
fn the_channel_deadlock_names_both_tasks_and_its_fix_is_silent() {
    let exe = env!("CARGO_BIN_EXE_channel_deadlock");
    let o = run(exe, &[]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(86), "should deadlock; stderr:\n{e}");
    assert!(e.contains("DEADLOCK"), "{e}");
    for t in ["event-loop", "event-source"] {
        assert!(
            e.contains(&format!("task \"{t}\"")),
            "{t} missing from:\n{e}"
        );
    }
    // The loop's wait is for an event, through the channel.
    assert!(e.contains("waits for events (recv)"), "{e}");
    assert_silent(exe, &["--fix"]);
}

/// The `N fills of the hot key over about M expiries` line.
fn fills_and_expiries(o: &Output) -> (u64, u64) {
    let out = String::from_utf8_lossy(&o.stdout);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = |w: &str| {
        let i = words.iter().position(|x| *x == w).expect(w);
        words[i - 1].parse::<u64>().expect("a count")
    };
    (at("fills"), at("expiries;"))
}

#[test]
fn the_async_ttl_cache_stampedes_by_task_and_the_once_cell_fills_once_per_expiry() {
    let exe = env!("CARGO_BIN_EXE_async_ttl_cache");
    let (o, t) = run_traced(exe, &["--duration-ms", "500"]);
    let e = stderr(&o);
    assert!(
        e.contains("STAMPEDE") && e.contains("\"front-page\""),
        "{e}"
    );
    let fillers = fillers(&t);
    // Tasks, not the two worker threads they run on.
    assert!(fillers.len() >= 10, "{} fillers", fillers.len());
    let (o, _) = run_traced(exe, &["--once-cell", "--duration-ms", "500"]);
    assert!(!stderr(&o).contains("lockscope:"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("done"));
    let (fills, expiries) = fills_and_expiries(&o);
    assert!(
        fills <= expiries + 2,
        "{fills} fills over {expiries} expiries"
    );
}

#[test]
fn the_latent_deadlock_happens_under_chaos_mode_and_its_fix_stays_silent_under_it() {
    let exe = env!("CARGO_BIN_EXE_latent_deadlock");
    // Chaos mode makes it deadlock in nearly every run (the rate is the probe's chaos test's
    // to assert); of three seeds, the first that does must name itself.
    let mut tried = Vec::new();
    let (seed, o) = (7..=9)
        .find_map(|seed: u32| {
            let o = run(exe, &["--chaos", &seed.to_string()]);
            tried.push(stderr(&o));
            (o.status.code() == Some(86)).then_some((seed, o))
        })
        .unwrap_or_else(|| {
            panic!(
                "no deadlock under chaos seeds 7 to 9:\n{}",
                tried.join("\n")
            )
        });
    let e = stderr(&o);
    assert!(e.contains("DEADLOCK"), "{e}");
    assert!(
        e.contains(&format!(
            "found under chaos mode, seed {seed}: LOCKSCOPE_CHAOS={seed}"
        )),
        "the report names the seed:\n{e}"
    );
    for t in ["restocker", "reporter"] {
        assert!(e.contains(&format!("thread \"{t}\"")), "{t} missing:\n{e}");
    }
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains(&format!("chaos seed {seed} (rerun with --chaos {seed}")),
        "{out}"
    );

    let o = run(exe, &["--chaos", "7", "--fix"]);
    let e = stderr(&o);
    assert!(
        o.status.success(),
        "the fix completes under chaos mode:\n{e}"
    );
    let alerts: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("lockscope:") && !l.contains("chaos mode on, seed 7"))
        .collect();
    assert!(alerts.is_empty(), "the fix raised {alerts:?}");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("done") && out.contains("delays"), "{out}");
}
