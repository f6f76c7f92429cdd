//! Waits that no holder explains, and fills, inside tokio tasks: `Notify` and `Barrier` waits
//! recorded as condition waits, a task asleep on one while holding what its waker needs
//! reported `stuck`, and `cache_fill` counting the task, not its worker thread.

use super::support::tasks::*;
use super::support::*;
use lockscope::Alert;
use lockscope::format::{self, Outcome, Record};
use lockscope::tokio::{Mutex, name_task, spawn_named};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;
use tokio::sync::{Barrier, oneshot};

/// Every alert `keep` accepts, as raised.
fn alerts(keep: impl Fn(&Alert) -> bool + Send + Sync + 'static) -> Receiver<Alert> {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    lockscope::on_alert(move |a| {
        if keep(a) {
            let _ = tx.lock().unwrap().send(a.clone());
        }
    });
    rx
}

/// For a `stuck` test named `name`: in the parent, runs it as a child process and returns
/// `None`; in the child, a 100 ms stuck threshold, the stuck alerts as raised, and a runtime.
fn stuck_child(name: &str) -> Option<(Receiver<Alert>, tokio::runtime::Runtime)> {
    if !is_child(name) {
        assert_child_ok(&run_child(name, &[]));
        return None;
    }
    lockscope::set_stuck_threshold(Duration::from_millis(100));
    Some((alerts(|a| a.kind == "stuck"), runtime(2)))
}

#[test]
fn a_stampede_of_tasks_names_every_task_not_the_two_workers_they_ran_on() {
    let rx = alerts(|a| a.locks.iter().any(|l| l == "\"tasks-key\""));
    drop(lockscope::cache_fill(&"tasks-key")); // the first fill: the key is warm now
    runtime(2).block_on(async {
        // Sixteen tasks on two workers each begin a refill, and all hold it across an
        // `.await` until every one has begun.
        let inside = Arc::new(Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let inside = inside.clone();
                spawn_named(format!("refill-{i}"), async move {
                    let _fill = lockscope::cache_fill(&"tasks-key");
                    inside.wait().await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let a = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a stampede alert");
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert_eq!(json["duplicate_fills"], 15, "{}", a.text);
    let mut names = a.actors.clone();
    names.sort();
    let mut want: Vec<String> = (0..16).map(|i| format!("refill-{i}")).collect();
    want.sort();
    assert_eq!(names, want, "every filling task by its name: {}", a.text);
}

#[test]
fn a_task_waiting_for_a_notify_is_recorded_with_how_long_it_waited() {
    const NAME: &str = concat!(
        "conditions::",
        "a_task_waiting_for_a_notify_is_recorded_with_how_long_it_waited"
    );
    let path = trace_path(NAME);
    if is_child(NAME) {
        record_run(&path, 2, async {
            let ready = Arc::new(lockscope::tokio::Notify::named("config-loaded"));
            // A notification stored before anyone waits is taken at once: no wait.
            ready.notify_one();
            ready.notified().await;
            assert_eq!(ready.stats().contentions, 0);
            let r = ready.clone();
            let sleeper = spawn_named("sleeper", async move { r.notified().await });
            while ready.stats().waiters == 0 {
                tokio::task::yield_now().await;
            }
            ready.notify_one();
            sleeper.await.unwrap();
            let s = ready.stats();
            assert_eq!((s.acquisitions, s.contentions, s.waiters), (2, 1, 0));
            // A wait given up (the future dropped) is withdrawn.
            let r = ready.clone();
            let gave_up = spawn_named("impatient", async move {
                tokio::time::timeout(Duration::from_millis(1), r.notified()).await
            });
            assert!(gave_up.await.unwrap().is_err());
            assert_eq!(ready.stats().waiters, 0);
            // `enable` registers a future before its first poll, as tokio's does, so a
            // `notify_waiters` sent before it is polled still wakes it.
            let early = ready.notified();
            tokio::pin!(early);
            assert!(!early.as_mut().enable());
            ready.notify_waiters();
            early.await;
        });
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let notify = locks_of(&t, class_named(&t, "config-loaded"))[0];
    let (sleeper, impatient) = (actor_named(&t, "sleeper"), actor_named(&t, "impatient"));
    // (Threads' buffers reach the file in any order: sorted by actor.)
    let mut outcomes: Vec<(u64, Outcome)> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitEnd {
                actor,
                lock,
                outcome,
                ..
            } if *lock == notify => Some((*actor, *outcome)),
            _ => None,
        })
        .collect();
    outcomes.sort_by_key(|o| o.0);
    let mut want = [(sleeper, Outcome::Acquired), (impatient, Outcome::TimedOut)];
    want.sort_by_key(|o| o.0);
    assert_eq!(outcomes, want);
    let begins = t
        .records
        .iter()
        .filter(|r| matches!(r, Record::WaitBegin { lock, mode: format::Mode::Condvar, holders, .. } if *lock == notify && holders.is_empty()))
        .count();
    assert_eq!(begins, 2, "two waits, on a condition: no holder to blame");
}

#[test]
fn a_task_asleep_on_a_notify_while_holding_what_its_notifier_needs_is_stuck() {
    const NAME: &str = concat!(
        "conditions::",
        "a_task_asleep_on_a_notify_while_holding_what_its_notifier_needs_is_stuck"
    );
    let Some((rx, rt)) = stuck_child(NAME) else {
        return;
    };
    let inventory = Arc::new(Mutex::named("inventory", 0u32));
    let restocked = Arc::new(lockscope::tokio::Notify::named("restocked"));
    let (locked_tx, locked_rx) = oneshot::channel();
    let sleeper = {
        let (inventory, restocked) = (inventory.clone(), restocked.clone());
        rt.spawn(name_task("sleeper", async move {
            let _held = inventory.lock().await;
            locked_tx.send(()).unwrap();
            restocked.notified().await;
        }))
    };
    rt.block_on(locked_rx).unwrap();
    let notifier = {
        let (inventory, restocked) = (inventory.clone(), restocked.clone());
        rt.spawn(name_task("notifier", async move {
            *inventory.lock().await += 1;
            restocked.notify_one();
        }))
    };
    // Well past the threshold and the watchdog's period: a timeout, not synchronisation.
    let alert = rx.recv_timeout(Duration::from_secs(5));
    restocked.notify_one(); // wake the sleeper: both tasks finish
    rt.block_on(async {
        sleeper.await.unwrap();
        notifier.await.unwrap();
    });
    let a = alert.expect("a stuck alert");
    assert!(a.actors.iter().any(|n| n == "sleeper"), "{}", a.text);
    assert!(a.actors.iter().any(|n| n == "notifier"), "{}", a.text);
    assert!(a.locks.iter().any(|l| l == "inventory"), "{}", a.text);
}

#[test]
fn a_barrier_records_who_waited_and_a_party_holding_what_the_last_one_needs_is_stuck() {
    const NAME: &str = concat!(
        "conditions::",
        "a_barrier_records_who_waited_and_a_party_holding_what_the_last_one_needs_is_stuck"
    );
    let Some((rx, rt)) = stuck_child(NAME) else {
        return;
    };
    let start = Arc::new(lockscope::tokio::Barrier::named("start-line", 2));
    // Two parties: the first waits (recorded), the last does not.
    let s = start.clone();
    let early = rt.spawn(name_task(
        "early",
        async move { s.wait().await.is_leader() },
    ));
    while start.stats().waiters == 0 {
        std::thread::yield_now();
    }
    let late_leads = rt.block_on(start.wait()).is_leader();
    assert!(rt.block_on(early).unwrap() != late_leads, "one leader");
    let st = start.stats();
    assert_eq!((st.acquisitions, st.contentions, st.waiters), (2, 1, 0));

    // A party that holds `ledger` while it waits for the last one, which needs `ledger` to
    // arrive: no wait-for edge shows it; the stuck check does.
    let ledger = Arc::new(Mutex::named("ledger", 0u32));
    let both = Arc::new(lockscope::tokio::Barrier::named("settled", 2));
    let (locked_tx, locked_rx) = oneshot::channel();
    let holder = {
        let (ledger, both) = (ledger.clone(), both.clone());
        rt.spawn(name_task("settler", async move {
            let _held = ledger.lock().await;
            locked_tx.send(()).unwrap();
            both.wait().await;
        }))
    };
    rt.block_on(locked_rx).unwrap();
    let (l, b) = (ledger.clone(), both.clone());
    let last = rt.spawn(name_task("auditor", async move {
        *l.lock().await += 1;
        b.wait().await;
    }));
    // Well past the threshold and the watchdog's period: a timeout, not synchronisation.
    let alert = rx.recv_timeout(Duration::from_secs(5));
    // Unstick it: a third party cannot arrive, so the test drops the auditor's lock wait by
    // aborting it and arrives in its place.
    last.abort();
    rt.block_on(both.wait());
    rt.block_on(holder).unwrap();
    let a = alert.expect("a stuck alert");
    assert!(a.actors.iter().any(|n| n == "settler"), "{}", a.text);
    assert!(a.actors.iter().any(|n| n == "auditor"), "{}", a.text);
    assert!(a.locks.iter().any(|l| l == "ledger"), "{}", a.text);
}

/// A channel's wait points at the senders' owners; a sender moved into a task that has not
/// sent with it yet still counts for the task that made it. A consumer waiting on the channel
/// while it holds what that producer needs is then a hang no edge shows: a `stuck` alert.
#[test]
fn a_task_waiting_on_a_channel_while_holding_what_an_unlisted_producer_needs_is_stuck() {
    const NAME: &str = concat!(
        "conditions::",
        "a_task_waiting_on_a_channel_while_holding_what_an_unlisted_producer_needs_is_stuck"
    );
    let Some((rx, rt)) = stuck_child(NAME) else {
        return;
    };
    let state = Arc::new(Mutex::named("shared-state", 0u32));
    // Made here: the sender counts for this thread until the producer sends with it.
    let (tx, mut events) = lockscope::tokio::mpsc::channel_named::<u32>("updates", 4);
    let (locked_tx, locked_rx) = oneshot::channel();
    let consumer = {
        let state = state.clone();
        rt.spawn(name_task("consumer", async move {
            let mut st = state.lock().await;
            locked_tx.send(()).unwrap();
            *st += events.recv().await.unwrap_or(0);
        }))
    };
    rt.block_on(locked_rx).unwrap();
    let producer = {
        let state = state.clone();
        rt.spawn(name_task("producer", async move {
            let n = *state.lock().await; // needs the state before its first send
            tx.send(n + 1).await.unwrap();
        }))
    };
    // Well past the threshold and the watchdog's period: a timeout, not synchronisation.
    let alert = rx.recv_timeout(Duration::from_secs(5));
    let a = alert.expect("a stuck alert");
    assert!(
        a.text.contains("waits on channel \"updates (recv)\""),
        "{}",
        a.text
    );
    assert!(a.actors.iter().any(|n| n == "consumer"), "{}", a.text);
    assert!(a.actors.iter().any(|n| n == "producer"), "{}", a.text);
    assert!(a.locks.iter().any(|l| l == "shared-state"), "{}", a.text);
    // The hang is real: end it from outside (the runtime's shutdown drops both tasks).
    drop((consumer, producer));
    rt.shutdown_background();
}

/// `let g = m.lock().await; m.lock().await` in a task: the deadlock graph cannot tell it from a
/// `join!` branch holding the guard, so it is a `stuck` alert once it lasts, saying both.
#[test]
fn a_task_awaiting_a_lock_it_holds_itself_is_stuck_once_it_lasts() {
    const NAME: &str = concat!(
        "conditions::",
        "a_task_awaiting_a_lock_it_holds_itself_is_stuck_once_it_lasts"
    );
    let Some((rx, rt)) = stuck_child(NAME) else {
        return;
    };
    let m = Arc::new(Mutex::named("session-table", 0u32));
    let task = rt.spawn(name_task("relocker", async move {
        let _g = m.lock().await;
        let _again = m.lock().await; // never: the task holds it
    }));
    // Well past the threshold and the watchdog's period: a timeout, not synchronisation.
    let a = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("a stuck alert");
    assert_eq!(a.actors, vec!["relocker".to_owned()], "{}", a.text);
    assert_eq!(a.locks, vec!["session-table".to_owned()], "{}", a.text);
    assert!(a.text.contains("which it holds itself"), "{}", a.text);
    assert!(
        a.text.contains("join!"),
        "says what else it may be: {}",
        a.text
    );
    task.abort();
    rt.shutdown_background();
}
