//! `OnceCell` as the single flight it is: one fill, every other caller a recorded wait for the
//! filler (never a herd), a cancelled filler handing the fill to the next caller with no
//! phantom wait left behind.

use super::support::tasks::*;
use lockscope::tokio::{OnceCell, spawn_named};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use tokio::sync::oneshot;

/// Waits (yielding) until `cell` has `n` callers waiting for its fill.
async fn until_waiting(cell: &OnceCell<String>, n: u64) {
    while cell.stats().waiters < n {
        tokio::task::yield_now().await;
    }
}

#[test]
fn one_fill_serves_every_caller_and_each_waiter_is_recorded_waiting_for_the_filler() {
    const CALLERS: usize = 8;
    let cell = Arc::new(OnceCell::named("once-config"));
    let runs = Arc::new(AtomicUsize::new(0));
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let values = runtime(2).block_on(async {
        let c = cell.clone();
        let r = runs.clone();
        // The first caller fills, and holds the fill open until told to finish.
        let filler = spawn_named("config-loader", async move {
            c.get_or_init(|| async move {
                r.fetch_add(1, SeqCst);
                go_rx.await.unwrap();
                "loaded".to_string()
            })
            .await
            .clone()
        });
        while cell.stats().holder == 0 {
            tokio::task::yield_now().await;
        }
        let followers: Vec<_> = (1..CALLERS)
            .map(|i| {
                let (c, r) = (cell.clone(), runs.clone());
                spawn_named(format!("reader-{i}"), async move {
                    c.get_or_init(|| async move {
                        r.fetch_add(1, SeqCst);
                        "filled twice".to_string()
                    })
                    .await
                    .clone()
                })
            })
            .collect();
        until_waiting(&cell, (CALLERS - 1) as u64).await;
        let during = cell.stats();
        go_tx.send(()).unwrap();
        let mut values = vec![filler.await.unwrap()];
        for f in followers {
            values.push(f.await.unwrap());
        }
        (during, values)
    });
    let (during, values) = values;
    assert_eq!(runs.load(SeqCst), 1, "one initialiser ran");
    assert!(values.iter().all(|v| v == "loaded"), "{values:?}");
    assert_eq!(during.waiters, (CALLERS - 1) as u64);
    assert_ne!(during.holder, 0, "the filler holds the cell while it fills");
    let after = cell.stats();
    assert_eq!(
        after.acquisitions, CALLERS as u64,
        "one fill plus every caller it served"
    );
    assert_eq!(
        after.contentions,
        (CALLERS - 1) as u64,
        "every follower waited"
    );
    assert_eq!(
        (after.waiters, after.holder),
        (0, 0),
        "nothing left waiting or held"
    );
    // The class line says the same, under the cell's name.
    let row = lockscope::class_stats()
        .into_iter()
        .find(|c| c.name == "once-config")
        .expect("the cell's class");
    assert_eq!(row.acquisitions, CALLERS as u64);
    assert_eq!(row.contentions, (CALLERS - 1) as u64);
    assert!(
        row.wait_ns.max > 0,
        "the waits are timed: {:?}",
        row.wait_ns
    );
    // A filled cell answers at once, with nothing counted.
    let cell2 = cell.clone();
    let again = runtime(1)
        .block_on(async move { cell2.get_or_init(|| async { unreachable!() }).await.clone() });
    assert_eq!(again, "loaded");
}

#[test]
fn a_cancelled_fill_hands_over_to_a_waiter_and_leaves_nothing_waiting() {
    let cell = Arc::new(OnceCell::named("once-cancelled"));
    let out = runtime(2).block_on(async {
        let c = cell.clone();
        // The first filler never finishes: it is aborted while a follower waits.
        let stuck = spawn_named("doomed-filler", async move {
            c.get_or_init(std::future::pending::<String>).await.clone()
        });
        while cell.stats().holder == 0 {
            tokio::task::yield_now().await;
        }
        let c = cell.clone();
        let next = spawn_named("next-filler", async move {
            c.get_or_init(|| async { "second".to_string() })
                .await
                .clone()
        });
        until_waiting(&cell, 1).await;
        stuck.abort();
        assert!(stuck.await.unwrap_err().is_cancelled());
        next.await.unwrap()
    });
    assert_eq!(out, "second", "the waiter filled the cell itself");
    let s = cell.stats();
    assert_eq!(
        (s.waiters, s.holder),
        (0, 0),
        "no phantom wait or hold: {s:?}"
    );
    assert_eq!(s.acquisitions, 2, "two fills began: {s:?}");
    assert_eq!(s.contentions, 1, "one caller waited: {s:?}");
}

#[test]
fn try_init_errors_leave_the_cell_empty_for_the_next_caller() {
    let cell: OnceCell<u32> = OnceCell::new();
    runtime(1).block_on(async {
        let e = cell
            .get_or_try_init(|| async { Err::<u32, _>("db down") })
            .await;
        assert_eq!(e, Err("db down"));
        assert!(!cell.initialized());
        let v = cell.get_or_try_init(|| async { Ok::<_, &str>(7) }).await;
        assert_eq!(v, Ok(&7));
    });
    assert_eq!(cell.get(), Some(&7));
    assert!(cell.set(8).unwrap_err().is_already_init_err());
    assert_eq!(cell.stats().acquisitions, 2, "two fills, one failed");
}
