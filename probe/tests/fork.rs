//! Fork safety: a child forked while other threads keep lockscope's internal locks busy (new
//! lock classes, new threads, a recording) can take new locks, create threads and exit.

#![cfg(unix)]

mod support;

use lockscope::{Mutex, Recorder};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

const FORKS: usize = 1000;
/// How long one child may take before it counts as hung (it normally takes milliseconds).
const CHILD_LIMIT: Duration = Duration::from_secs(10);

/// What a forked child does: a new lock class, a new thread taking another, then exit. Never
/// returns; exit status 0 when all went well.
fn child_body(i: usize) -> ! {
    let ok = std::panic::catch_unwind(|| {
        let m = Mutex::named(format!("forked-child-{i}"), 0u32);
        *m.lock() += 1;
        let t = thread::spawn(|| {
            let inner = Mutex::named("forked-child-thread", 0u32);
            *inner.lock() += 1;
        });
        t.join().is_ok()
    })
    .unwrap_or(false);
    // SAFETY: `_exit` ends the child at once without running the parent's atexit handlers or
    // destructors, which a forked child must not run twice.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

/// Waits for child `pid`; its exit status, or `None` when it outlived [`CHILD_LIMIT`] (then it
/// is killed).
fn wait_child(pid: libc::pid_t) -> Option<i32> {
    let deadline = Instant::now() + CHILD_LIMIT;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; WNOHANG makes the call return at once.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            });
        }
        assert!(
            r == 0,
            "waitpid failed: {}",
            std::io::Error::last_os_error()
        );
        if Instant::now() > deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        // A watchdog's poll interval, not synchronisation: the child's exit is what is awaited.
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_child_forked_while_other_threads_hammer_new_lock_classes_can_lock_spawn_and_exit() {
    const NAME: &str =
        "a_child_forked_while_other_threads_hammer_new_lock_classes_can_lock_spawn_and_exit";
    if !is_child(NAME) {
        let out = run_child(NAME, &[]);
        assert_child_ok(&out);
        return;
    }
    let rec = Recorder::to_file(trace_path(NAME)).unwrap().start();
    let stop = Arc::new(AtomicBool::new(false));
    // The first fork waits until every hammer is past its start-up (see below).
    let started = Arc::new(std::sync::Barrier::new(4));
    let hammers: Vec<_> = (0..3)
        .map(|t| {
            let (stop, started) = (stop.clone(), started.clone());
            thread::spawn(move || {
                let mut i = 0u64;
                drop(Mutex::named(format!("hammer-{t}-start"), 0u64).lock());
                started.wait();
                while !stop.load(Relaxed) {
                    // A new class (and its definitions) each time for the first 4096 rounds,
                    // then the same ones again (so memory stays bounded and forks stay cheap),
                    // and a new lock instance every time. (The parent starts no threads while
                    // it forks, hence the barrier: std's own thread start-up takes a lock of
                    // std's that a child forked at that moment inherits held, with or without
                    // lockscope.)
                    let m = Mutex::named(format!("hammer-{t}-{}", i % 4096), i);
                    *m.lock() += 1;
                    i += 1;
                }
            })
        })
        .collect();
    started.wait();
    let mut hung = Vec::new();
    let mut failed = Vec::new();
    for i in 0..FORKS {
        // SAFETY: the child runs only `child_body`, which ends in `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
        if pid == 0 {
            child_body(i);
        }
        match wait_child(pid) {
            Some(0) => {}
            Some(code) => failed.push((i, code)),
            None => hung.push(i),
        }
    }
    stop.store(true, Relaxed);
    hammers.into_iter().for_each(|h| h.join().unwrap());
    drop(rec);
    assert!(
        hung.is_empty() && failed.is_empty(),
        "of {FORKS} forked children, {} hung (first: {:?}) and {} failed (first: {:?})",
        hung.len(),
        hung.first(),
        failed.len(),
        failed.first()
    );
}
