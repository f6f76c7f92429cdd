//! Recorded tokio runs: a task's waits and holds in the trace under its own actor, and a
//! pool's records for the tasks that used it.

use super::support::tasks::*;
use super::support::*;
use lockscope::format::{self, ActorKind, Outcome, PoolEvent, Record};
use lockscope::tokio::{Mutex, Semaphore, name_task, spawn_named};
use std::sync::Arc;
use tokio::sync::oneshot;

#[test]
fn a_recorded_tokio_run_has_task_actors_with_their_waits_and_holds() {
    const NAME: &str = concat!(
        "recorded::",
        "a_recorded_tokio_run_has_task_actors_with_their_waits_and_holds"
    );
    let path = trace_path(NAME);
    if is_child(NAME) {
        lockscope::set_hold_sample_period(1);
        record_run(&path, 4, async {
            let m = Arc::new(Mutex::named("recorded-async", 0u64));
            let (locked_tx, locked_rx) = oneshot::channel();
            let holder = {
                let m = m.clone();
                tokio::spawn(name_task("async-holder", async move {
                    let mut g = m.lock().await;
                    locked_tx.send(()).unwrap();
                    // Held across `.await` until the probe counts the waiter.
                    while m.stats().waiters == 0 {
                        tokio::task::yield_now().await;
                    }
                    *g += 1;
                }))
            };
            locked_rx.await.unwrap();
            let waiter = {
                let m = m.clone();
                spawn_named("async-waiter", async move { *m.lock().await += 1 })
            };
            holder.await.unwrap();
            waiter.await.unwrap();
            assert_eq!(*m.lock().await, 2);
        });
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete());
    let task_actor = |name: &str| -> u64 {
        t.records
            .iter()
            .find_map(|r| match r {
                // (`identity.rs` checks the rest of a task's record: tokio id, spawn site.)
                Record::Actor {
                    actor,
                    kind: ActorKind::Task,
                    name: n,
                    ..
                } if string(&t, *n) == Some(name) => Some(*actor),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no task actor named {name}"))
    };
    let (holder, waiter) = (task_actor("async-holder"), task_actor("async-waiter"));
    let lock = locks_of(&t, class_named(&t, "recorded-async"))[0];
    let begins: Vec<(u64, Vec<u64>)> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitBegin {
                actor,
                lock: l,
                holders,
                ..
            } if *l == lock => Some((*actor, holders.clone())),
            _ => None,
        })
        .collect();
    // On a mismatch, the evidence.
    assert_eq!(
        begins,
        vec![(waiter, vec![holder])],
        "waiter {waiter}, holder {holder}, lock {lock}: {}",
        evidence(&t, &path, lock, &[waiter, holder])
    );
    assert!(t.records.iter().any(|r| matches!(r,
        Record::WaitEnd { actor, lock: l, outcome: Outcome::Acquired, .. } if *actor == waiter && *l == lock)));
    let holds: Vec<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Hold { actor, lock: l, .. } if *l == lock => Some(*actor),
            _ => None,
        })
        .collect();
    assert!(holds.contains(&holder), "the holder's hold: {holds:?}");
    assert!(holds.contains(&waiter), "the waiter's hold: {holds:?}");
    let stats = last_stats(&t, class_named(&t, "recorded-async")).expect("class figures");
    let Record::ClassStats {
        acquisitions,
        contentions,
        ..
    } = stats
    else {
        unreachable!()
    };
    assert_eq!((*acquisitions, *contentions), (3, 1));
}

#[test]
fn a_recorded_tokio_pool_writes_pool_records_for_its_tasks() {
    const NAME: &str = concat!(
        "recorded::",
        "a_recorded_tokio_pool_writes_pool_records_for_its_tasks"
    );
    let path = trace_path(NAME);
    if is_child(NAME) {
        record_run(&path, 2, async {
            let pool = Arc::new(Semaphore::named("recorded-pool", 1));
            let (taken_tx, taken_rx) = oneshot::channel();
            let first = {
                let pool = pool.clone();
                spawn_named("pool-first", async move {
                    let _p = pool.acquire().await.unwrap();
                    taken_tx.send(()).unwrap();
                    while pool.stats().waiters == 0 {
                        tokio::task::yield_now().await;
                    }
                })
            };
            taken_rx.await.unwrap();
            let second = {
                let pool = pool.clone();
                spawn_named("pool-second", async move {
                    drop(pool.acquire().await.unwrap());
                })
            };
            first.await.unwrap();
            second.await.unwrap();
            // A wait that ends because the pool closes.
            let closed = Arc::new(Semaphore::named("closing-pool", 0));
            let waiter = {
                let closed = closed.clone();
                spawn_named(
                    "pool-closed-out",
                    async move { closed.acquire().await.is_err() },
                )
            };
            while closed.stats().waiters == 0 {
                tokio::task::yield_now().await;
            }
            closed.close();
            assert!(waiter.await.unwrap(), "a closed pool fails the wait");
            assert_eq!(closed.stats().waiters, 0);
        });
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let (first, second) = (
        actor_named(&t, "pool-first"),
        actor_named(&t, "pool-second"),
    );
    let lock = locks_of(&t, class_named(&t, "recorded-pool"))[0];
    let events: Vec<(u64, PoolEvent)> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Pool {
                lock: l,
                actor,
                event,
                ..
            } if *l == lock => Some((*actor, *event)),
            _ => None,
        })
        .collect();
    for want in [
        (first, PoolEvent::Acquire),
        (second, PoolEvent::Wait),
        (second, PoolEvent::Acquire),
        (first, PoolEvent::Release),
        (second, PoolEvent::Release),
    ] {
        assert!(events.contains(&want), "{want:?} in {events:?}");
    }
    let out = actor_named(&t, "pool-closed-out");
    let closing = locks_of(&t, class_named(&t, "closing-pool"))[0];
    assert!(t.records.iter().any(|r| matches!(r,
        Record::WaitEnd { actor, lock, outcome: Outcome::Closed, .. } if *actor == out && *lock == closing)));
}
