//! Task deadlocks on real multi-thread runtimes: cycles of 2 and 3 tasks, a task and a thread,
//! a pool, two upgraders and a read behind a queued writer, each reported with every task named.
//! Each runs in a child process whose `on_deadlock` callback prints the report and exits.

#![cfg(feature = "tokio")]

mod support;

use lockscope::tokio::{Mutex, RwLock, Semaphore, spawn_named};
use std::sync::Arc;
use support::tasks::*;
use support::*;
use tokio::sync::{Barrier, oneshot};

/// `n` tasks, `n` mutexes in a ring: task i holds lock i, then awaits lock i+1.
fn task_ring(n: usize) -> ! {
    report_and_exit();
    let rt = runtime(4);
    rt.block_on(async {
        let locks: Arc<Vec<Mutex<()>>> = Arc::new(
            (0..n)
                .map(|i| Mutex::named(format!("task-ring-{i}"), ()))
                .collect(),
        );
        let all_hold = Arc::new(Barrier::new(n));
        let hs: Vec<_> = (0..n)
            .map(|i| {
                let (locks, all_hold) = (locks.clone(), all_hold.clone());
                spawn_named(format!("ring-task-{i}"), async move {
                    let _mine = locks[i].lock().await;
                    all_hold.wait().await;
                    let _next = locks[(i + 1) % n].lock().await;
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    unreachable!("the ring deadlocks");
}

fn check_task_ring(name: &str, n: usize) {
    let r = deadlock_report(name);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        (0..n)
            .map(|i| (format!("ring-task-{i}"), "task".to_owned()))
            .collect::<Vec<_>>()
    );
    for p in r["participants"].as_array().unwrap() {
        let i: usize = p["name"].as_str().unwrap()["ring-task-".len()..]
            .parse()
            .unwrap();
        assert_eq!(p["waits_for"]["name"], format!("task-ring-{}", (i + 1) % n));
        assert_eq!(p["waits_for"]["mode"], "exclusive");
        let site = p["waits_for"]["site"].as_str().unwrap();
        assert!(
            site.contains("tests/tokio_deadlocks.rs"),
            "the wait site: {site}"
        );
        let holds: Vec<&str> = p["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(holds, vec![format!("task-ring-{i}")]);
        assert!(
            !p["stack"].as_array().unwrap().is_empty(),
            "the wait stack is captured: {p}"
        );
    }
}

#[test]
fn two_task_cycle_on_a_multi_thread_runtime_is_reported_with_every_task_named() {
    const NAME: &str = "two_task_cycle_on_a_multi_thread_runtime_is_reported_with_every_task_named";
    if is_child(NAME) {
        task_ring(2);
    }
    check_task_ring(NAME, 2);
}

#[test]
fn three_task_cycle_is_reported() {
    const NAME: &str = "three_task_cycle_is_reported";
    if is_child(NAME) {
        task_ring(3);
    }
    check_task_ring(NAME, 3);
}

#[test]
fn a_cycle_of_a_task_and_a_thread_is_reported() {
    const NAME: &str = "a_cycle_of_a_task_and_a_thread_is_reported";
    if is_child(NAME) {
        report_and_exit();
        let rt = runtime(2);
        let m1 = Arc::new(Mutex::named("mixed-1", ()));
        let m2 = Arc::new(RwLock::named("mixed-2", ()));
        let both = Arc::new(Barrier::new(2));
        let handle = rt.handle().clone();
        let (t1, t2, tb) = (m1.clone(), m2.clone(), both.clone());
        let _thread = std::thread::Builder::new()
            .name("mixed-thread".into())
            .spawn(move || {
                let _g1 = t1.blocking_lock();
                handle.block_on(tb.wait());
                let _g2 = t2.blocking_write();
            })
            .unwrap();
        rt.block_on(async move {
            spawn_named("mixed-task", async move {
                let _g2 = m2.read().await;
                both.wait().await;
                let _g1 = m1.lock().await;
            })
            .await
            .unwrap();
        });
        unreachable!("the task and the thread deadlock");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        vec![
            ("mixed-task".to_owned(), "task".to_owned()),
            ("mixed-thread".to_owned(), "thread".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        let (waits, holds) = if p["kind"] == "task" {
            (("mixed-1", "exclusive"), ("mixed-2", "shared"))
        } else {
            (("mixed-2", "exclusive"), ("mixed-1", "exclusive"))
        };
        assert_eq!(p["waits_for"]["name"], waits.0);
        assert_eq!(p["waits_for"]["mode"], waits.1);
        assert_eq!(p["holds"][0]["name"], holds.0);
        assert_eq!(p["holds"][0]["mode"], holds.1);
    }
}

#[test]
fn a_pool_whose_every_permit_holder_waits_is_a_task_deadlock() {
    const NAME: &str = "a_pool_whose_every_permit_holder_waits_is_a_task_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let rt = runtime(2);
        rt.block_on(async {
            let pool = Arc::new(Semaphore::named("conn-pool", 2));
            let all_hold = Arc::new(Barrier::new(2));
            let hs: Vec<_> = (0..2)
                .map(|i| {
                    let (pool, all_hold) = (pool.clone(), all_hold.clone());
                    spawn_named(format!("pool-worker-{i}"), async move {
                        let _first = pool.acquire().await.unwrap();
                        all_hold.wait().await;
                        let _second = pool.acquire().await.unwrap();
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        unreachable!("both workers wait for a second connection");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        vec![
            ("pool-worker-0".to_owned(), "task".to_owned()),
            ("pool-worker-1".to_owned(), "task".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        assert_eq!(p["waits_for"]["name"], "conn-pool");
        assert_eq!(p["waits_for"]["kind"], "semaphore");
    }
}

#[test]
fn two_tasks_both_upgrading_a_tokio_rwlock_deadlock() {
    const NAME: &str = "two_tasks_both_upgrading_a_tokio_rwlock_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let rt = runtime(2);
        rt.block_on(async {
            let l = Arc::new(RwLock::named("settings", 0));
            let both_read = Arc::new(Barrier::new(2));
            let hs: Vec<_> = (0..2)
                .map(|i| {
                    let (l, both_read) = (l.clone(), both_read.clone());
                    spawn_named(format!("upgrader-{i}"), async move {
                        let _r = l.read().await;
                        both_read.wait().await;
                        let _w = l.write().await;
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        unreachable!("both readers wait to write");
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participants(&r),
        vec![
            ("upgrader-0".to_owned(), "task".to_owned()),
            ("upgrader-1".to_owned(), "task".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        assert_eq!(p["waits_for"]["mode"], "exclusive");
        assert_eq!(p["holds"][0]["mode"], "shared");
    }
}

#[test]
fn a_task_reading_again_behind_a_queued_writer_deadlocks() {
    const NAME: &str = "a_task_reading_again_behind_a_queued_writer_deadlocks";
    if is_child(NAME) {
        report_and_exit();
        let rt = runtime(2);
        rt.block_on(async {
            let l = Arc::new(RwLock::named("routes", 0));
            let (read_tx, read_rx) = oneshot::channel();
            let reader = {
                let l = l.clone();
                spawn_named("reader", async move {
                    let _first = l.read().await;
                    read_tx.send(()).unwrap();
                    // Until the writer is queued in tokio's lock, not only counted as waiting
                    // (lockscope counts a waiter just before its future first polls): a
                    // queued writer is what makes a new read fail.
                    while l.try_read().is_ok() {
                        tokio::task::yield_now().await;
                    }
                    // tokio's RwLock is fair: this read queues behind the waiting writer.
                    let _second = l.read().await;
                })
            };
            read_rx.await.unwrap();
            let writer = {
                let l = l.clone();
                spawn_named("writer", async move { *l.write().await += 1 })
            };
            reader.await.unwrap();
            writer.await.unwrap();
        });
        unreachable!("the second read waits behind the writer, which waits for the first");
    }
    let r = deadlock_report(NAME);
    assert_eq!(
        participants(&r),
        vec![
            ("reader".to_owned(), "task".to_owned()),
            ("writer".to_owned(), "task".to_owned()),
        ]
    );
}

#[cfg(feature = "tracing")]
#[test]
fn an_unnamed_task_is_named_after_its_tracing_span() {
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;
    const NAME: &str = "an_unnamed_task_is_named_after_its_tracing_span";
    if is_child(NAME) {
        report_and_exit();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(lockscope::tracing::layer()),
        )
        .unwrap();
        let rt = runtime(2);
        rt.block_on(async {
            let (a, b) = (
                Arc::new(Mutex::named("from-account", ())),
                Arc::new(Mutex::named("to-account", ())),
            );
            let both = Arc::new(Barrier::new(2));
            let hs: Vec<_> = [(a.clone(), b.clone()), (b, a)]
                .into_iter()
                .map(|(first, then)| {
                    let both = both.clone();
                    tokio::spawn(
                        async move {
                            let _f = first.lock().await;
                            both.wait().await;
                            let _t = then.lock().await;
                        }
                        .instrument(tracing::info_span!("POST /transfer")),
                    )
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        unreachable!("the transfers deadlock");
    }
    let r = deadlock_report(NAME);
    for (name, kind) in participants(&r) {
        assert!(
            name.starts_with("POST /transfer #"),
            "named after the span: {name}"
        );
        assert_eq!(kind, "task");
    }
}

#[test]
fn a_task_waiting_for_a_once_cell_whose_filler_needs_its_lock_is_a_deadlock() {
    const NAME: &str = "a_task_waiting_for_a_once_cell_whose_filler_needs_its_lock_is_a_deadlock";
    if is_child(NAME) {
        report_and_exit();
        let rt = runtime(2);
        rt.block_on(async {
            let cell = Arc::new(lockscope::tokio::OnceCell::<u32>::named("app-config"));
            let registry = Arc::new(Mutex::named("registry", 0u32));
            let both = Arc::new(Barrier::new(2));
            let (c, r, b) = (cell.clone(), registry.clone(), both.clone());
            // The loader fills the cell; its initialiser needs the registry.
            let loader = spawn_named("config-loader", async move {
                *c.get_or_init(|| async move {
                    b.wait().await;
                    *r.lock().await + 1
                })
                .await
            });
            // The warmer holds the registry and then needs the config.
            let warmer = spawn_named("cache-warmer", async move {
                let _reg = registry.lock().await;
                both.wait().await;
                *cell.get_or_init(|| async { 0 }).await
            });
            let _ = (loader.await, warmer.await);
        });
        unreachable!("the filler and the waiter deadlock");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        vec![
            ("cache-warmer".to_owned(), "task".to_owned()),
            ("config-loader".to_owned(), "task".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        let (waits, holds) = if p["name"] == "cache-warmer" {
            ("app-config", "registry")
        } else {
            ("registry", "app-config")
        };
        assert_eq!(p["waits_for"]["name"], waits, "{p}");
        assert_eq!(p["holds"][0]["name"], holds, "{p}");
    }
}

/// The hang no other tool reports: a task that holds a lock sends into a full channel whose
/// consumer needs that lock before it receives again.
#[test]
fn a_send_into_a_full_channel_whose_consumer_needs_the_senders_lock_is_a_deadlock() {
    const NAME: &str =
        "a_send_into_a_full_channel_whose_consumer_needs_the_senders_lock_is_a_deadlock";
    if is_child(NAME) {
        report_and_exit();
        runtime(2).block_on(async {
            let (tx, mut rx) = lockscope::tokio::mpsc::channel_named::<u32>("jobs", 1);
            let ledger = Arc::new(Mutex::named("ledger", 0u32));
            let both = Arc::new(Barrier::new(2));
            let (l, b) = (ledger.clone(), both.clone());
            let consumer = spawn_named("job-worker", async move {
                let first = rx.recv().await; // the worker owns the receiving end now
                b.wait().await;
                *l.lock().await += first.unwrap_or(0); // needs the ledger before it receives again
                rx.recv().await
            });
            let producer = spawn_named("job-producer", async move {
                tx.send(1).await.unwrap();
                let _books = ledger.lock().await;
                both.wait().await;
                tx.send(2).await.unwrap(); // fills the channel
                tx.send(3).await.unwrap(); // waits for room, holding the ledger
            });
            let _ = (consumer.await, producer.await);
        });
        unreachable!("the producer and the worker deadlock");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        vec![
            ("job-producer".to_owned(), "task".to_owned()),
            ("job-worker".to_owned(), "task".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        // The producer holds the ledger (and, as a sender, the receiving side); the worker
        // owns the receiver, so it holds the room the producer waits for.
        let (waits, holds) = if p["name"] == "job-producer" {
            ("jobs", "ledger")
        } else {
            ("ledger", "jobs")
        };
        assert_eq!(p["waits_for"]["name"], waits, "{p}");
        assert!(held_names(p).contains(&holds), "{p}");
        // The channel's sides are marked as such: the producer waits for room, the worker
        // holds the room as the receiver's owner, the producer holds the items as a sender.
        let (wait_side, hold_side) = if p["name"] == "job-producer" {
            (Some("room"), Some("items"))
        } else {
            (None, Some("room"))
        };
        assert_eq!(p["waits_for"]["channel"].as_str(), wait_side, "{p}");
        let sides: Vec<Option<&str>> = p["holds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["channel"].as_str())
            .collect();
        assert!(sides.contains(&hold_side), "{p}");
        let top = p["stack"][0].as_str().unwrap();
        assert!(
            top.contains("tokio_deadlocks"),
            "the user's frame first: {top}"
        );
    }
}

/// The receiving twin: a consumer waits for an item while it holds what the only producer
/// needs before it sends.
#[test]
fn a_receive_from_an_empty_channel_whose_only_sender_needs_the_receivers_lock_is_a_deadlock() {
    const NAME: &str =
        "a_receive_from_an_empty_channel_whose_only_sender_needs_the_receivers_lock_is_a_deadlock";
    if is_child(NAME) {
        report_and_exit();
        runtime(2).block_on(async {
            let (tx, mut rx) = lockscope::tokio::mpsc::channel_named::<u32>("events", 8);
            let state = Arc::new(Mutex::named("state", 0u32));
            let both = Arc::new(Barrier::new(2));
            let (s, b) = (state.clone(), both.clone());
            let consumer = spawn_named("event-loop", async move {
                let first = rx.recv().await.unwrap_or(0);
                let mut st = s.lock().await;
                b.wait().await;
                *st += first + rx.recv().await.unwrap_or(0); // waits for an item, holding the state
            });
            let producer = spawn_named("event-source", async move {
                tx.send(1).await.unwrap(); // the source owns its sender now
                both.wait().await;
                let n = *state.lock().await; // needs the state before it sends again
                tx.send(n).await.unwrap();
            });
            let _ = (consumer.await, producer.await);
        });
        unreachable!("the loop and the source deadlock");
    }
    let r = deadlock_report(NAME);
    assert_eq!(r["kind"], "deadlock", "{r}");
    assert_eq!(
        participants(&r),
        vec![
            ("event-loop".to_owned(), "task".to_owned()),
            ("event-source".to_owned(), "task".to_owned()),
        ]
    );
    for p in r["participants"].as_array().unwrap() {
        let (waits, holds) = if p["name"] == "event-loop" {
            ("events (recv)", "state")
        } else {
            ("state", "events (recv)")
        };
        assert_eq!(p["waits_for"]["name"], waits, "{p}");
        assert!(held_names(p).contains(&holds), "{p}");
    }
}

/// The names of what a participant holds.
fn held_names(p: &serde_json::Value) -> Vec<&str> {
    p["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect()
}
