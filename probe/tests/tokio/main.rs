//! The tokio primitives on real multi-thread runtimes: no false positives for guards moved
//! between threads or held across `.await`, cancelled waits, recorded traces with task actors
//! and pool records, exact counts, and Send/Sync parity with tokio. Deadlock cycles are in
//! `tokio_deadlocks.rs`; here too: conditions (`Notify`, `Barrier`) and fills in tasks,
//! `OnceCell`, task identity, lock order across tasks, and recorded runs (`recorded.rs`).

#![cfg(feature = "tokio")]

mod channels;
mod conditions;
mod identity;
mod once_cell;
mod order;
mod recorded;
#[path = "../support/mod.rs"]
mod support;

use lockscope::format::{self, Outcome, Record};
use lockscope::tokio::{Mutex, RwLock, Semaphore, spawn_named};
use std::sync::Arc;
use std::time::Duration;
use support::tasks::*;
use support::*;
use tokio::sync::{Barrier, Notify, oneshot};

/// Collects every deadlock report of this (test) process.
fn reports() -> Arc<parking_lot::Mutex<Vec<String>>> {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let s = seen.clone();
    lockscope::on_deadlock(move |r| s.lock().push(r.to_string()));
    seen
}

/// Long enough for the detector's watchdog (every 100 ms) to look at the state at least twice.
async fn let_the_watchdog_look() {
    tokio::time::sleep(Duration::from_millis(350)).await;
}

#[test]
fn guards_moved_across_threads_or_held_across_await_without_a_cycle_are_not_deadlocks() {
    const NAME: &str =
        "guards_moved_across_threads_or_held_across_await_without_a_cycle_are_not_deadlocks";
    if is_child(NAME) {
        let seen = reports();
        let rt = runtime(3);
        rt.block_on(async {
            // 1. A task takes an owned guard, sends it to a plain thread, and waits for the
            //    same mutex: by the records it "holds" what it waits for, but the thread does.
            let m = Arc::new(Mutex::named("moved", 0));
            let g = m.clone().lock_owned().await;
            let (tx, rx) = std::sync::mpsc::channel::<lockscope::tokio::OwnedMutexGuard<i32>>();
            let release = Arc::new(Notify::new());
            let rel = release.clone();
            let handle = tokio::runtime::Handle::current();
            let thread = std::thread::Builder::new()
                .name("guard-keeper".into())
                .spawn(move || {
                    let mut g = rx.recv().unwrap();
                    *g += 1;
                    handle.block_on(rel.notified());
                })
                .unwrap();
            tx.send(g).unwrap();
            let waiter = {
                let m = m.clone();
                spawn_named("same-lock-again", async move { *m.lock().await += 1 })
            };
            while m.stats().waiters == 0 {
                tokio::task::yield_now().await;
            }
            let_the_watchdog_look().await;
            release.notify_one();
            thread.join().unwrap();
            waiter.await.unwrap();
            assert_eq!(*m.lock().await, 2);

            // 2. A guard held across `.await` while another task waits for it, and a branch
            //    of the same task (join!) waiting for a lock its other branch holds.
            let a = Arc::new(Mutex::named("held-across-await", ()));
            let go = Arc::new(Notify::new());
            let holder = {
                let (a, go) = (a.clone(), go.clone());
                spawn_named("holder", async move {
                    let _g = a.lock().await;
                    go.notified().await;
                })
            };
            while a.try_lock().is_ok() {
                tokio::task::yield_now().await;
            }
            let waiter = {
                let a = a.clone();
                spawn_named("waits-for-holder", async move { drop(a.lock().await) })
            };
            let b = Arc::new(Mutex::named("joined-branches", ()));
            let go_branch = Arc::new(Notify::new());
            let joined = {
                let (b, go_branch) = (b.clone(), go_branch.clone());
                spawn_named("joined", async move {
                    tokio::join!(
                        async {
                            let _g = b.lock().await;
                            go_branch.notified().await;
                        },
                        async {
                            tokio::task::yield_now().await;
                            drop(b.lock().await);
                        },
                    );
                })
            };
            while a.stats().waiters == 0 || b.stats().waiters == 0 {
                tokio::task::yield_now().await;
            }
            let_the_watchdog_look().await;
            go.notify_one();
            go_branch.notify_one();
            holder.await.unwrap();
            waiter.await.unwrap();
            joined.await.unwrap();

            // 3. The bounded-concurrency loop: permits taken by one task, moved into the tasks
            //    it spawns, then that task waits for a permit again.
            let pool = Arc::new(Semaphore::named("spawn-loop", 2));
            let done = Arc::new(Notify::new());
            let mut workers = Vec::new();
            for i in 0..3 {
                let permit = pool.clone().acquire_owned().await.unwrap();
                if i == 2 {
                    break;
                }
                let until = done.clone();
                workers.push(tokio::spawn(async move {
                    let _permit = permit;
                    until.notified().await;
                }));
                if i == 1 {
                    // The loop's next acquire waits: give the watchdog a look, then let the
                    // workers finish.
                    let p = pool.clone();
                    let next = tokio::spawn(async move {
                        let _p = p.acquire_owned().await.unwrap();
                    });
                    while pool.stats().waiters == 0 {
                        tokio::task::yield_now().await;
                    }
                    let_the_watchdog_look().await;
                    done.notify_waiters();
                    next.await.unwrap();
                }
            }
            for w in workers {
                w.await.unwrap();
            }
        });
        let seen = seen.lock();
        assert!(
            seen.is_empty(),
            "false deadlock reports:\n{}",
            seen.join("\n")
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_cancelled_wait_ends_and_leaves_no_edge() {
    const NAME: &str = "a_cancelled_wait_ends_and_leaves_no_edge";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let seen = reports();
        record_run(&path, 2, async {
            let m1 = Arc::new(Mutex::named("cancel-1", ()));
            let m2 = Arc::new(Mutex::named("cancel-2", ()));
            let (b_holds_tx, b_holds_rx) = oneshot::channel();
            let a_holds = Arc::new(Notify::new());
            let finish = Arc::new(Notify::new());
            // B holds m1 throughout, and later waits for m2.
            let b = {
                let (m1, m2, a_holds, finish) =
                    (m1.clone(), m2.clone(), a_holds.clone(), finish.clone());
                spawn_named("task-b", async move {
                    let _g1 = m1.lock().await;
                    b_holds_tx.send(()).unwrap();
                    a_holds.notified().await;
                    let _g2 = m2.lock().await;
                    finish.notified().await;
                })
            };
            b_holds_rx.await.unwrap();
            // A waits for m1, gives up (the future is dropped), then takes m2.
            let a = {
                let (m1, m2, a_holds) = (m1.clone(), m2.clone(), a_holds.clone());
                spawn_named("task-a", async move {
                    let stop = Notify::new();
                    tokio::select! {
                        _ = m1.lock() => unreachable!("task-b holds it"),
                        _ = async {
                            while m1.stats().waiters == 0 {
                                tokio::task::yield_now().await;
                            }
                            stop.notify_one();
                            stop.notified().await;
                        } => {}
                    }
                    assert_eq!(m1.stats().waiters, 0, "the cancelled wait is withdrawn");
                    let g2 = m2.lock().await;
                    a_holds.notify_one();
                    while m2.stats().waiters == 0 {
                        tokio::task::yield_now().await;
                    }
                    // B now waits for m2 (held by A) while holding m1: had A's wait for m1
                    // stayed, this would look like a cycle.
                    let_the_watchdog_look().await;
                    let d = lockscope::dump();
                    let me = d
                        .actors
                        .iter()
                        .find(|x| x.name == "task-a")
                        .expect("A holds m2");
                    assert!(me.waiting.is_none(), "A waits for nothing: {d}");
                    assert_eq!(me.holds[0].name, "cancel-2");
                    drop(g2);
                })
            };
            a.await.unwrap();
            finish.notify_one();
            b.await.unwrap();
        });
        let seen = seen.lock();
        assert!(
            seen.is_empty(),
            "false deadlock reports:\n{}",
            seen.join("\n")
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let a = actor_named(&t, "task-a");
    let lock = locks_of(&t, class_named(&t, "cancel-1"))[0];
    let ends: Vec<Outcome> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitEnd {
                actor,
                lock: l,
                outcome,
                ..
            } if *actor == a && *l == lock => Some(*outcome),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        vec![Outcome::TimedOut],
        "the cancelled wait ended without the lock"
    );
}

#[test]
fn mutex_rwlock_and_semaphore_count_acquisitions_across_tasks() {
    let rt = runtime(4);
    let m = Arc::new(Mutex::named("tokio-counter", 0u64));
    let l = Arc::new(RwLock::named("tokio-table", 0u64));
    let s = Arc::new(Semaphore::named("tokio-pool", 3));
    rt.block_on(async {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (m, l, s) = (m.clone(), l.clone(), s.clone());
                tokio::spawn(async move {
                    for i in 0..500 {
                        let _p = s.acquire().await.unwrap();
                        let mut g = m.lock().await;
                        *g += 1;
                        tokio::task::yield_now().await;
                        drop(g);
                        if i % 10 == 0 {
                            *l.write().await += 1;
                        } else {
                            let _r = l.read().await;
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(*m.blocking_lock(), 4000);
    assert_eq!(*l.blocking_read(), 400);
    let ms = m.stats();
    assert_eq!((ms.acquisitions, ms.holder, ms.waiters), (4001, 0, 0));
    assert_eq!(l.stats().acquisitions, 4001);
    assert_eq!(s.stats().acquisitions, 4000);
    assert_eq!(s.available_permits(), 3);
    // Only this test's locks: the other tests in this binary run beside it and hold theirs.
    let ours = ["tokio-counter", "tokio-table", "tokio-pool"];
    let dump = lockscope::dump();
    let left: Vec<_> = (dump.actors.iter())
        .flat_map(|a| a.holds.iter().map(move |h| (&a.name, h)))
        .filter(|(_, h)| ours.contains(&h.name.as_str()))
        .collect();
    assert!(
        left.is_empty(),
        "holds left after every task ended: {left:?}"
    );
}

#[test]
fn a_pool_with_more_holders_than_are_listed_is_not_taken_for_a_deadlock() {
    const NAME: &str = "a_pool_with_more_holders_than_are_listed_is_not_taken_for_a_deadlock";
    if is_child(NAME) {
        let seen = reports();
        let rt = runtime(2);
        rt.block_on(async {
            // 40 holders; lockscope lists 32 of them per lock. The first 32 (listed) then wait
            // for a second permit; the other 8 hold theirs until told: no deadlock, though
            // every listed holder waits.
            const LISTED: usize = 32;
            let pool = Arc::new(Semaphore::named("wide-pool", LISTED + 8));
            let second = Arc::new(Barrier::new(LISTED + 1));
            let release = Arc::new(Notify::new());
            let mut tasks = Vec::new();
            for i in 0..LISTED {
                let (pool, second) = (pool.clone(), second.clone());
                tasks.push(spawn_named(format!("listed-{i}"), async move {
                    let _first = pool.acquire().await.unwrap();
                    second.wait().await;
                    let _second = pool.acquire().await.unwrap();
                }));
            }
            // The unlisted take theirs once every listed holder has one.
            while pool.available_permits() > 8 {
                tokio::task::yield_now().await;
            }
            let all_unlisted = Arc::new(Barrier::new(9));
            for i in 0..8 {
                let (pool, release, all) = (pool.clone(), release.clone(), all_unlisted.clone());
                tasks.push(spawn_named(format!("unlisted-{i}"), async move {
                    let _p = pool.acquire().await.unwrap();
                    all.wait().await;
                    release.notified().await;
                }));
            }
            all_unlisted.wait().await;
            second.wait().await;
            while pool.stats().waiters < LISTED as u64 {
                tokio::task::yield_now().await;
            }
            let_the_watchdog_look().await;
            release.notify_waiters();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let seen = seen.lock();
        assert!(seen.is_empty(), "false reports:\n{}", seen.join("\n"));
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn the_types_and_their_futures_are_send_and_sync_where_tokio_s_are() {
    fn send_sync<T: Send + Sync>() {}
    fn spawnable<F: std::future::Future + Send + 'static>(f: F) -> F {
        f
    }
    // tokio's Mutex and RwLock are Sync for a `T` that is only Send.
    send_sync::<Mutex<std::cell::Cell<u8>>>();
    send_sync::<lockscope::tokio::MutexGuard<'static, u8>>();
    send_sync::<lockscope::tokio::OwnedMutexGuard<u8>>();
    send_sync::<RwLock<u8>>();
    send_sync::<lockscope::tokio::RwLockReadGuard<'static, u8>>();
    send_sync::<lockscope::tokio::OwnedRwLockWriteGuard<u8>>();
    send_sync::<Semaphore>();
    send_sync::<lockscope::tokio::SemaphorePermit<'static>>();
    send_sync::<lockscope::tokio::OwnedSemaphorePermit>();
    send_sync::<lockscope::tokio::OnceCell<u8>>();
    static CELL: lockscope::tokio::OnceCell<u8> = lockscope::tokio::OnceCell::const_new();
    let local = 1u8;
    let fill = spawnable(CELL.get_or_init(|| async { 1 }));
    // Like tokio's, the initialiser may borrow what lives shorter than the cell.
    let borrowed = CELL.get_or_init(|| async { local });
    let (m, l, s) = (
        Arc::new(Mutex::new(0)),
        Arc::new(RwLock::new(0)),
        Arc::new(Semaphore::new(1)),
    );
    let rt = runtime(2);
    rt.block_on(async move {
        let task = spawnable(async move {
            let _p = s.clone().acquire_owned().await.unwrap();
            let g = m.clone().lock_owned().await;
            tokio::task::yield_now().await; // held across `.await` in a spawned task
            *l.write().await += *g;
            drop(g);
            *m.lock().await += 1;
            *l.read().await + *m.lock().await
        });
        assert_eq!(tokio::spawn(task).await.unwrap(), 1);
        assert_eq!(*tokio::spawn(fill).await.unwrap(), 1);
        assert_eq!(*borrowed.await, 1);
    });
}

/// What a recorded wait adds to a future stays small: the wait's state is boxed when a wait
/// begins, so a future keeps one pointer for it. Past 128 bytes a future is moved with a call
/// to `memcpy` at every `.await` of it; tokio's `Notified` and receive futures are under that
/// size, and lockscope's must be too, or an uncontended `notified().await` pays for it.
#[test]
fn the_futures_and_the_mutex_guard_stay_small() {
    let word = std::mem::size_of::<usize>();
    let (ours, theirs) = (lockscope::tokio::Notify::new(), tokio::sync::Notify::new());
    let notified = std::mem::size_of_val(&ours.notified());
    assert!(
        notified <= std::mem::size_of_val(&theirs.notified()) + 5 * word && notified <= 128,
        "Notified is {notified} bytes"
    );
    let (_tx, mut rx) = lockscope::tokio::mpsc::unbounded_channel::<u64>();
    let recv = std::mem::size_of_val(&rx.recv());
    assert!(recv <= 128, "an unbounded receive is {recv} bytes");
    let (_btx, mut brx) = lockscope::tokio::mpsc::channel::<u64>(4);
    let brecv = std::mem::size_of_val(&brx.recv());
    assert!(brecv <= 128, "a bounded receive is {brecv} bytes");
    let (m, tm) = (Mutex::new(0u64), tokio::sync::Mutex::new(0u64));
    let lock = std::mem::size_of_val(&m.lock());
    assert!(
        lock <= std::mem::size_of_val(&tm.lock()) + 6 * word,
        "a Mutex's lock future is {lock} bytes"
    );
    // A guard of two words comes back from the lock future's poll in registers; a bigger one
    // goes through memory and is copied at every `lock().await` (see `held_here.rs`).
    let guard = std::mem::size_of::<lockscope::tokio::MutexGuard<'_, u64>>();
    assert!(guard <= 2 * word, "a MutexGuard is {guard} bytes");
    // A permit is tokio's plus six words at most (it was eleven words in all).
    let permit = std::mem::size_of::<lockscope::tokio::SemaphorePermit<'_>>();
    let owned = std::mem::size_of::<lockscope::tokio::OwnedSemaphorePermit>();
    let tk = std::mem::size_of::<tokio::sync::SemaphorePermit<'_>>();
    assert!(
        permit <= tk + 6 * word && owned == permit,
        "a SemaphorePermit is {permit} bytes, an owned one {owned}"
    );
}

/// A borrowing guard's hold is kept in the mutex while it is held: it is the task's, with the
/// site it was taken at, through `map`, and a guard that drops on another thread (here a plain
/// thread, outside any task) releases it there, leaving the mutex free and unlisted.
#[test]
fn a_mapped_guard_keeps_its_task_hold_until_it_drops_on_another_thread() {
    let m: &'static Mutex<(u64, u64)> = Box::leak(Box::new(Mutex::named("mapped-async", (0, 0))));
    let rt = runtime(2);
    let (guard_tx, guard_rx) = std::sync::mpsc::channel();
    let (end_tx, end_rx) = oneshot::channel::<()>();
    let task = rt.spawn(lockscope::tokio::name_task("mapper", async move {
        let (g, taken_at) = (m.lock().await, line!());
        let part = lockscope::tokio::MutexGuard::map(g, |p| &mut p.1);
        guard_tx.send((part, taken_at)).unwrap();
        end_rx.await.unwrap();
    }));
    let (mut part, taken_at) = guard_rx.recv().unwrap();
    *part += 5;
    let holders_of = |d: &lockscope::Dump| -> Vec<(String, String)> {
        d.actors
            .iter()
            .flat_map(|a| a.holds.iter().map(move |h| (a, h)))
            .filter(|(_, h)| h.name == "mapped-async")
            .map(|(a, h)| (a.name.clone(), h.site.clone()))
            .collect()
    };
    let held = holders_of(&lockscope::dump());
    let at = format!("main.rs:{taken_at}:");
    assert!(
        held.len() == 1 && held[0].0 == "mapper" && held[0].1.contains(&at),
        "the task's hold taken at {at}: {held:?}"
    );
    assert!(m.try_lock().is_err());
    std::thread::spawn(move || drop(part)).join().unwrap();
    assert_eq!(holders_of(&lockscope::dump()), vec![]);
    assert_eq!(m.try_lock().expect("free again").1, 5);
    assert_eq!(m.stats().acquisitions, 2);
    end_tx.send(()).unwrap();
    rt.block_on(task).unwrap();
}

/// A permit's `split`, `merge` and `forget` keep tokio's arithmetic (lockscope returns the
/// permits itself), and each hold that ends is unlisted: once every permit is gone, no task is
/// shown holding the semaphore.
#[test]
fn permits_split_merge_and_forget_as_tokio_counts_them() {
    let rt = runtime(1);
    let listed = || -> Vec<String> {
        lockscope::dump()
            .actors
            .iter()
            .flat_map(|a| a.holds.iter().map(move |h| (a, h)))
            .filter(|(_, h)| h.name == "arith")
            .map(|(a, _)| a.name.clone())
            .collect()
    };
    let sem = Arc::new(Semaphore::named("arith", 10));
    let s = sem.clone();
    let task = rt.spawn(lockscope::tokio::name_task("counter", async move {
        let mut a = s.acquire_many(4).await.unwrap();
        let b = s.clone().acquire_many_owned(2).await.unwrap();
        assert_eq!(s.available_permits(), 4);
        assert_eq!(listed(), ["counter", "counter"]);
        assert!(a.split(5).is_none(), "more than it holds");
        let part = a.split(3).unwrap();
        assert_eq!((a.num_permits(), part.num_permits()), (1, 3));
        drop(part);
        assert_eq!(s.available_permits(), 7);
        let c = s.acquire_many(2).await.unwrap();
        a.merge(c);
        assert_eq!((a.num_permits(), s.available_permits()), (3, 5));
        assert_eq!(listed().len(), 2, "the merged permit's hold ended");
        a.forget();
        assert_eq!(
            s.available_permits(),
            5,
            "forgotten permits never come back"
        );
        drop(b);
        assert_eq!(s.available_permits(), 7);
    }));
    rt.block_on(task).unwrap();
    assert_eq!(listed(), Vec::<String>::new());
    assert_eq!(sem.stats().acquisitions, 3);
    let other = Semaphore::new(1);
    let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut mine = sem.try_acquire().unwrap();
        mine.merge(other.try_acquire().unwrap());
    }));
    assert!(merged.is_err(), "permits of two semaphores do not merge");
    assert_eq!((sem.available_permits(), other.available_permits()), (7, 1));
}
