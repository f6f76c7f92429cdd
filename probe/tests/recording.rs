//! What a recording contains: exact wait events with wait-for edges, holds, class figures;
//! the `LOCKSCOPE_TRACE` start-up path; traces left by crashes and cut short.
//! Each test records in a fresh child process: recording state is process-wide.

mod support;

use lockscope::format::{self, Mode, Outcome, Record};
use lockscope::{Mutex, Recorder, RwLock};
use std::sync::{Arc, mpsc};
use std::thread;
use support::*;

#[test]
fn forced_contention_records_exactly_one_wait_with_waiter_and_holder() {
    const NAME: &str = "forced_contention_records_exactly_one_wait_with_waiter_and_holder";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let m = Arc::new(Mutex::named("contended", 0));
        forced_contention(&m);
        assert_eq!(*m.lock(), 2);
        drop(m);
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete(), "trace should end cleanly");
    let (holder, waiter) = (actor_named(&t, "holder"), actor_named(&t, "waiter"));
    let class = class_named(&t, "contended");
    let locks = locks_of(&t, class);
    assert_eq!(locks.len(), 1);
    let lock = locks[0];
    let begins: Vec<_> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitBegin {
                ts_ns,
                actor,
                lock: l,
                mode,
                holders,
                site,
                ..
            } if *l == lock => Some((*ts_ns, *actor, *mode, holders.clone(), *site)),
            _ => None,
        })
        .collect();
    // On a mismatch, the evidence (a `WaitBegin` went missing once in CI under load).
    assert_eq!(
        begins.len(),
        1,
        "exactly one wait: {begins:?}; holder {holder}, waiter {waiter}, lock {lock}: {}",
        evidence(&t, &path, lock, &[waiter, holder])
    );
    let (begin_ts, actor, mode, holders, site) = begins[0].clone();
    assert_eq!(
        (actor, mode, holders),
        (waiter, Mode::Exclusive, vec![holder])
    );
    assert!(
        string(&t, site).unwrap().contains("tests/support/mod.rs"),
        "wait site is the caller's (the `lock()` in `forced_contention`)"
    );
    let ends: Vec<_> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitEnd {
                ts_ns,
                actor,
                lock: l,
                outcome,
            } if *l == lock => Some((*ts_ns, *actor, *outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 1);
    assert_eq!((ends[0].1, ends[0].2), (waiter, Outcome::Acquired));
    assert!(ends[0].0 >= begin_ts);
    let hold = t
        .records
        .iter()
        .find_map(|r| match r {
            Record::Hold {
                actor,
                lock: l,
                contended_ns,
                end_ns,
                ..
            } if *l == lock && *actor == holder => Some((*contended_ns, *end_ns)),
            _ => None,
        })
        .expect("the holder's hold is recorded because someone waited");
    assert!(
        hold.0 >= begin_ts && hold.0 <= hold.1,
        "held-while-contended span {hold:?} starts at the wait"
    );
    assert!(
        hold.1 <= ends[0].0,
        "the holder released before the waiter got the lock"
    );
    match last_stats(&t, class) {
        Some(Record::ClassStats {
            acquisitions,
            contentions,
            max_waiters,
            wait,
            instances,
            ..
        }) => {
            assert_eq!(
                (*acquisitions, *contentions, *max_waiters, *instances),
                (3, 1, 1, 1)
            );
            assert_eq!(wait.count(), 1);
            assert!(wait.max() >= ends[0].0 - begin_ts - 1_000, "{wait:?}");
        }
        other => panic!("no class stats: {other:?}"),
    }
}

#[test]
fn rwlock_writer_waiting_on_readers_lists_every_reader() {
    const NAME: &str = "rwlock_writer_waiting_on_readers_lists_every_reader";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let l = Arc::new(RwLock::named("table", 0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let (l, ready_tx) = (l.clone(), ready_tx.clone());
                thread::Builder::new()
                    .name(format!("reader-{i}"))
                    .spawn(move || {
                        let _g = l.read();
                        ready_tx.send(()).unwrap();
                        while l.stats().waiters == 0 {
                            thread::yield_now();
                        }
                    })
                    .unwrap()
            })
            .collect();
        ready_rx.recv().unwrap();
        ready_rx.recv().unwrap();
        let lw = l.clone();
        let writer = thread::Builder::new()
            .name("writer".into())
            .spawn(move || *lw.write() += 1)
            .unwrap();
        readers.into_iter().for_each(|h| h.join().unwrap());
        writer.join().unwrap();
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let writer = actor_named(&t, "writer");
    let mut expect = vec![actor_named(&t, "reader-0"), actor_named(&t, "reader-1")];
    expect.sort();
    let mut holders = t
        .records
        .iter()
        .find_map(|r| match r {
            Record::WaitBegin {
                actor,
                holders,
                mode: Mode::Exclusive,
                ..
            } if *actor == writer => Some(holders.clone()),
            _ => None,
        })
        .expect("the writer waited");
    holders.sort();
    assert_eq!(holders, expect);
}

#[test]
fn env_var_with_unwritable_path_warns_and_the_program_runs_on() {
    const NAME: &str = "env_var_with_unwritable_path_warns_and_the_program_runs_on";
    if is_child(NAME) {
        let m = Mutex::new(1);
        *m.lock() += 1;
        println!("child still running: {}", *m.lock());
        return;
    }
    let bad = "/nonexistent-lockscope-dir/trace.lstrace";
    let out = run_child(NAME, &[("LOCKSCOPE_TRACE", bad)]);
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOCKSCOPE_TRACE") && stderr.contains(bad),
        "{stderr}"
    );
    assert!(
        stderr.contains("writable"),
        "the message says how to fix it: {stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("child still running: 2"));
}

#[test]
fn env_var_records_without_code_changes_and_finishes_at_exit() {
    const NAME: &str = "env_var_records_without_code_changes_and_finishes_at_exit";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let m = Arc::new(Mutex::named("env-recorded", 0));
        forced_contention(&m);
        return; // no guard to drop: the exit hook must finish the trace
    }
    assert_child_ok(&run_child(
        NAME,
        &[("LOCKSCOPE_TRACE", path.to_str().unwrap())],
    ));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete(), "exit hook wrote the end marker");
    let lock = locks_of(&t, class_named(&t, "env-recorded"))[0];
    assert!(
        t.records
            .iter()
            .any(|r| matches!(r, Record::WaitBegin { lock: l, .. } if *l == lock))
    );
}

#[test]
fn a_process_that_panics_and_aborts_leaves_a_readable_trace() {
    const NAME: &str = "a_process_that_panics_and_aborts_leaves_a_readable_trace";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path)
            .unwrap()
            .flush_interval(std::time::Duration::from_millis(100))
            .start();
        std::mem::forget(rec);
        let m = Arc::new(Mutex::named("before-crash", 0));
        forced_contention(&m);
        let _ = thread::spawn(|| panic!("worker died")).join();
        std::process::abort(); // no unwinding, no exit hooks
    }
    let out = run_child(NAME, &[]);
    assert!(!out.status.success());
    let t = format::read_file(&path).unwrap();
    assert!(!t.is_complete(), "no end marker after an abort");
    let lock = locks_of(&t, class_named(&t, "before-crash"))[0];
    assert!(
        t.records
            .iter()
            .any(|r| matches!(r, Record::WaitEnd { lock: l, .. } if *l == lock))
    );
}

#[test]
fn a_real_trace_cut_anywhere_decodes_a_prefix() {
    const NAME: &str = "a_real_trace_cut_anywhere_decodes_a_prefix";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let m = Arc::new(Mutex::named("cut", 0));
        for _ in 0..20 {
            forced_contention(&m);
        }
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let bytes = std::fs::read(&path).unwrap();
    let full = format::decode(&bytes).unwrap();
    assert!(full.is_complete());
    for cut in (format::HEADER_LEN..bytes.len()).step_by(97) {
        let t = format::decode(&bytes[..cut]).unwrap();
        assert!(t.records.len() <= full.records.len());
        assert_eq!(
            t.records[..],
            full.records[..t.records.len()],
            "cut at {cut}"
        );
    }
}

#[test]
fn dropping_an_old_recording_does_not_stop_the_new_one() {
    const NAME: &str = "dropping_an_old_recording_does_not_stop_the_new_one";
    let (old, new) = (trace_path("old-recording"), trace_path(NAME));
    if is_child(NAME) {
        let first = Recorder::to_file(&old).unwrap().start();
        let second = Recorder::to_file(&new).unwrap().start();
        drop(first);
        let m = Arc::new(Mutex::named("after-old-dropped", 0));
        forced_contention(&m);
        drop(second);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&new).unwrap();
    let lock = locks_of(&t, class_named(&t, "after-old-dropped"))[0];
    assert!(
        t.records
            .iter()
            .any(|r| matches!(r, Record::WaitBegin { lock: l, .. } if *l == lock))
    );
    assert!(t.is_complete());
}

#[test]
fn a_second_recording_defines_every_stack_it_uses() {
    const NAME: &str = "a_second_recording_defines_every_stack_it_uses";
    let (first, second) = (trace_path("first-session"), trace_path(NAME));
    if is_child(NAME) {
        let m = Arc::new(Mutex::named("two-sessions", 0));
        for path in [&first, &second] {
            let rec = Recorder::to_file(path).unwrap().start();
            forced_contention(&m);
            drop(rec);
        }
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&second).unwrap();
    let defined: Vec<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Stack { stack, .. } => Some(*stack),
            _ => None,
        })
        .collect();
    let used: Vec<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitBegin { stack, .. } if *stack != 0 => Some(*stack),
            _ => None,
        })
        .collect();
    assert!(!used.is_empty());
    assert!(
        used.iter().all(|s| defined.contains(s)),
        "used {used:?}, defined {defined:?}"
    );
}

#[test]
fn a_forked_child_exits_at_once_and_leaves_the_parent_trace_alone() {
    const NAME: &str = "a_forked_child_exits_at_once_and_leaves_the_parent_trace_alone";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let m = Arc::new(Mutex::named("before-fork", 0));
        forced_contention(&m);
        // SAFETY: the forked child only locks, prints and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            *m.lock() += 1;
            std::process::exit(0); // runs the exit hooks, which must not wait for a recorder
        }
        let started = std::time::Instant::now();
        let mut status = 0;
        // SAFETY: waiting for the child we just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_millis(1500),
            "the forked child took {took:?} to exit"
        );
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete(), "the parent's trace is intact");
}

#[test]
fn a_wait_begun_before_the_recording_started_leaves_no_unmatched_end() {
    const NAME: &str = "a_wait_begun_before_the_recording_started_leaves_no_unmatched_end";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let m = Arc::new(Mutex::named("spans-the-start", 0u32));
        let blocked = |name: &str, g| {
            let m2 = m.clone();
            let waiter = thread::Builder::new()
                .name(name.into())
                .spawn(move || *m2.lock() += 1)
                .unwrap();
            while m.stats().waiters < 1 {
                thread::yield_now();
            }
            (waiter, g)
        };
        // Waiting before the recording starts, acquiring after.
        let (early, g) = blocked("early-waiter", m.lock());
        let rec = Recorder::to_file(&path).unwrap().start();
        drop(g);
        early.join().unwrap();
        // A wait wholly inside the recording, for comparison.
        let (late, g) = blocked("late-waiter", m.lock());
        drop(g);
        late.join().unwrap();
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let lock = locks_of(&t, class_named(&t, "spans-the-start"))[0];
    let waits = |kind_end: bool| -> Vec<u64> {
        t.records
            .iter()
            .filter_map(|r| match r {
                Record::WaitBegin { actor, lock: l, .. } if !kind_end && *l == lock => Some(*actor),
                Record::WaitEnd { actor, lock: l, .. } if kind_end && *l == lock => Some(*actor),
                _ => None,
            })
            .collect()
    };
    let late = actor_named(&t, "late-waiter");
    assert_eq!(
        waits(false),
        [late],
        "only the late wait began in the trace"
    );
    assert_eq!(waits(true), [late], "an end without its begin was recorded");
}

#[test]
fn while_a_trace_records_every_timed_wait_is_written_to_it() {
    const NAME: &str = "while_a_trace_records_every_timed_wait_is_written_to_it";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let rec = Recorder::to_file(&path).unwrap().start();
        let m = Arc::new(Mutex::named("busy", 0u32));
        forced_contention(&m); // at least one wait, whatever the schedule
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    for _ in 0..50_000 {
                        let mut g = m.lock();
                        for _ in 0..20 {
                            *g = std::hint::black_box(*g).wrapping_add(1);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        drop(m);
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete());
    assert!(
        !t.records
            .iter()
            .any(|r| matches!(r, Record::Dropped { .. })),
        "nothing dropped, so the trace can hold every wait"
    );
    let locks = locks_of(&t, class_named(&t, "busy"));
    // Each actor's waits are sequential: pair each end with that actor's last begin.
    let mut begun = std::collections::HashMap::new();
    let (mut waits, mut total) = (0u64, 0u64);
    for r in &t.records {
        match r {
            Record::WaitBegin {
                ts_ns, actor, lock, ..
            } if locks.contains(lock) => {
                begun.insert(*actor, *ts_ns);
            }
            Record::WaitEnd {
                ts_ns, actor, lock, ..
            } if locks.contains(lock) => {
                waits += 1;
                total += ts_ns - begun.remove(actor).expect("an end follows its begin");
            }
            _ => {}
        }
    }
    let Some(Record::ClassStats { wait, .. }) = last_stats(&t, class_named(&t, "busy")) else {
        panic!("no class stats");
    };
    // A wait that ended within the yields after the brief spin is timed without records; while
    // a trace records there are none such, so the class's wait figures are the trace's.
    assert!(waits >= 1);
    assert_eq!((wait.count(), wait.total()), (waits, total));
}
