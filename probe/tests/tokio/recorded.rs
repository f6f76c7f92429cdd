//! Recorded tokio runs: a task's waits and holds in the trace under its own actor, a pool's
//! records for the tasks that used it, and a bounded channel recorded as a pool of its slots.

use super::support::tasks::*;
use super::support::*;
use lockscope::format::{self, ActorKind, Outcome, PoolEvent, Record};
use lockscope::tokio::{Mutex, Semaphore, mpsc, name_task, spawn_named};
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

#[test]
fn a_recorded_bounded_channel_is_a_pool_of_its_slots_and_its_polled_waits_are_recorded() {
    const NAME: &str = concat!(
        "recorded::",
        "a_recorded_bounded_channel_is_a_pool_of_its_slots_and_its_polled_waits_are_recorded"
    );
    const SENT: u32 = 5;
    let path = trace_path(NAME);
    if is_child(NAME) {
        record_run(&path, 2, async {
            let (tx, mut rx) = mpsc::channel_named::<u32>("recorded-jobs", 2);
            let probe = tx.clone();
            let producer = spawn_named("jobs-producer", async move {
                for i in 0..SENT {
                    tx.send(i).await.unwrap();
                }
                tx
            });
            // The producer fills the channel and waits for room.
            while probe.stats().waiters == 0 {
                tokio::task::yield_now().await;
            }
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let (sent_tx, sent_rx) = oneshot::channel::<()>();
            let consumer = spawn_named("jobs-consumer", async move {
                // The first messages without waiting, so the only recorded wait on the empty
                // channel is the polled one.
                let mut got = Vec::new();
                while got.len() < SENT as usize {
                    match rx.try_recv() {
                        Ok(v) => got.push(v),
                        Err(_) => tokio::task::yield_now().await,
                    }
                }
                // A hand-written poll on the empty channel: the sender is told to send only
                // once the first poll has found nothing, so the wait is certain.
                let mut go = Some(go_tx);
                let last = std::future::poll_fn(|cx| {
                    let polled = rx.poll_recv(cx);
                    if polled.is_pending()
                        && let Some(go) = go.take()
                    {
                        go.send(()).unwrap();
                    }
                    polled
                })
                .await;
                got.push(last.unwrap());
                // Queued before this receive starts: it takes the message without a wait.
                sent_rx.await.unwrap();
                got.push(rx.recv().await.unwrap());
                got
            });
            let tx = producer.await.unwrap();
            go_rx.await.unwrap();
            tx.send(SENT).await.unwrap();
            tx.send(SENT + 1).await.unwrap();
            sent_tx.send(()).unwrap();
            assert_eq!(consumer.await.unwrap(), (0..=SENT + 1).collect::<Vec<_>>());
            drop(probe);
        });
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    let room = locks_of(&t, class_named(&t, "recorded-jobs"))[0];
    let items = locks_of(&t, class_named(&t, "recorded-jobs (recv)"))[0];
    assert!(
        t.records.contains(&Record::Channel { room, items }),
        "the trace pairs the channel's sides"
    );
    let (producer, consumer) = (
        actor_named(&t, "jobs-producer"),
        actor_named(&t, "jobs-consumer"),
    );
    let pool: Vec<(u64, PoolEvent, u64, u64)> = (t.records.iter())
        .filter_map(|r| match r {
            Record::Pool {
                lock,
                actor,
                event,
                in_use,
                capacity,
                ..
            } if *lock == room => Some((*actor, *event, *in_use, *capacity)),
            _ => None,
        })
        .collect();
    let count = |e: PoolEvent| pool.iter().filter(|p| p.1 == e).count();
    let sent = SENT as usize + 2;
    assert_eq!(count(PoolEvent::Acquire), sent, "a slot per send: {pool:?}");
    assert_eq!(
        count(PoolEvent::Release),
        sent,
        "a slot freed per receive: {pool:?}"
    );
    assert!(
        pool.contains(&(producer, PoolEvent::Wait, 2, 2)),
        "the producer waited on the full channel: {pool:?}"
    );
    assert!(
        (pool.iter()).all(|p| p.3 == 2 && p.2 <= 2),
        "two slots, never more in use: {pool:?}"
    );
    assert!(
        (pool.iter()).any(|p| p.0 == consumer && p.1 == PoolEvent::Release),
        "the consumer's receives free slots: {pool:?}"
    );
    let sites: Vec<&str> = (t.records.iter())
        .filter_map(|r| match r {
            Record::WaitBegin {
                actor, lock, site, ..
            } if *actor == consumer && *lock == items => string(&t, *site),
            _ => None,
        })
        .collect();
    assert!(
        sites.len() == 1 && sites[0].starts_with("probe/tests/tokio/recorded.rs"),
        "the empty channel's poll is the one recorded wait, at the poll's site: {sites:?}"
    );
    assert!(
        (t.records.iter()).any(|r| matches!(r,
            Record::WaitEnd { actor, lock, outcome: Outcome::Acquired, .. }
                if *actor == consumer && *lock == items)),
        "and it ended with the message"
    );
}
