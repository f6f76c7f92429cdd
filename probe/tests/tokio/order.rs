//! Lock-order checks for the async locks: held-lock chains per task, the same class graph as
//! threads, and lockdep's exceptions. Each test runs in a child process: the graph is
//! process-wide.

use super::support::tasks::runtime;
use super::support::{assert_child_ok, is_child, run_child};
use lockscope::tokio::{Mutex, RwLock, spawn_named};
use std::sync::Arc;

/// Runs `f` as a task named `name` to its end.
async fn task_named<F>(name: &str, f: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    spawn_named(name.to_owned(), f).await.unwrap();
}

#[test]
fn tasks_taking_two_async_locks_in_opposite_orders_are_an_inversion_though_they_never_overlapped() {
    const NAME: &str = concat!(
        "order::",
        "tasks_taking_two_async_locks_in_opposite_orders_are_an_inversion_though_they_never_overlapped"
    );
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let rt = runtime(2);
    rt.block_on(async {
        let a = Arc::new(Mutex::named("accounts", 0u64));
        let b = Arc::new(RwLock::named("audit-log", 0u64));
        let (a1, b1) = (a.clone(), b.clone());
        task_named("transfer", async move {
            let mut g = a1.lock().await;
            tokio::task::yield_now().await; // held across an await, maybe onto another worker
            *b1.write().await += 1;
            *g += 1;
        })
        .await;
        assert!(
            lockscope::lock_order_reports().is_empty(),
            "one order so far"
        );
        let (a2, b2) = (a.clone(), b.clone());
        task_named("auditor", async move {
            let _log = b2.read().await;
            *a2.lock().await += 1;
        })
        .await;
    });
    let reports = lockscope::lock_order_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let r = &reports[0];
    let mut locks = r.locks.clone();
    locks.sort();
    assert_eq!(locks, ["accounts", "audit-log"]);
    let mut actors = r.actors.clone();
    actors.sort();
    assert_eq!(actors, ["auditor", "transfer"]);
    assert!(r.edges.iter().all(|e| e.task), "{r:?}");
    assert!(
        r.edges.iter().all(|e| e.from_site.contains("order.rs")),
        "sites are the acquisitions: {r:?}"
    );
    let text = r.to_string();
    assert!(
        text.contains("task \"transfer\" takes accounts")
            && text.contains("these threads and tasks"),
        "{text}"
    );
    assert!(r.to_json().contains("\"task\":true"), "{}", r.to_json());
}

#[test]
fn try_locks_gate_locks_one_class_and_one_task_walking_both_orders_are_not_inversions() {
    const NAME: &str = concat!(
        "order::",
        "try_locks_gate_locks_one_class_and_one_task_walking_both_orders_are_not_inversions"
    );
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let rt = runtime(2);
    rt.block_on(async {
        // A try-lock cannot block, so it orders nothing.
        let (c, d) = (
            Arc::new(Mutex::named("c", 0)),
            Arc::new(Mutex::named("d", 0)),
        );
        let (c1, d1) = (c.clone(), d.clone());
        task_named("c-then-d", async move {
            let _c = c1.lock().await;
            *d1.lock().await += 1;
        })
        .await;
        let (c2, d2) = (c.clone(), d.clone());
        task_named("d-then-try-c", async move {
            let _d = d2.lock().await;
            if let Ok(mut g) = c2.try_lock() {
                *g += 1;
            }
        })
        .await;
        // One gate lock held on both orders serialises them.
        let gate = Arc::new(Mutex::named("gate", ()));
        let (e, f) = (
            Arc::new(Mutex::named("e", 0)),
            Arc::new(Mutex::named("f", 0)),
        );
        for (name, first, second) in [("e-then-f", &e, &f), ("f-then-e", &f, &e)] {
            let (g, x, y) = (gate.clone(), first.clone(), second.clone());
            task_named(name, async move {
                let _g = g.lock().await;
                let _x = x.lock().await;
                *y.lock().await += 1;
            })
            .await;
        }
        // Two locks of one class (made at one site) nested either way: not ordered by class.
        let shard = || Arc::new(Mutex::named("shard", 0));
        let (s1, s2) = (shard(), shard());
        for (name, first, second) in [("shard-1-2", &s1, &s2), ("shard-2-1", &s2, &s1)] {
            let (x, y) = (first.clone(), second.clone());
            task_named(name, async move {
                let _x = x.lock().await;
                *y.lock().await += 1;
            })
            .await;
        }
        // One task walking both orders cannot deadlock with itself.
        let (h, i) = (
            Arc::new(Mutex::named("h", 0)),
            Arc::new(Mutex::named("i", 0)),
        );
        task_named("both-ways", async move {
            {
                let _h = h.lock().await;
                *i.lock().await += 1;
            }
            let _i = i.lock().await;
            *h.lock().await += 1;
        })
        .await;
    });
    let reports = lockscope::lock_order_reports();
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn a_chain_many_tasks_walked_still_closes_a_cycle_with_the_reverse_order() {
    const NAME: &str = concat!(
        "order::",
        "a_chain_many_tasks_walked_still_closes_a_cycle_with_the_reverse_order"
    );
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let rt = runtime(2);
    rt.block_on(async {
        let (a, b) = (
            Arc::new(Mutex::named("sessions", 0)),
            Arc::new(Mutex::named("users", 0)),
        );
        // One task per request, all in one order: past the edge's witnesses the chain is
        // known to add nothing, and later tasks skip the graph.
        for i in 0..20 {
            let (a, b) = (a.clone(), b.clone());
            task_named(&format!("request-{i}"), async move {
                let _s = a.lock().await;
                *b.lock().await += 1;
            })
            .await;
        }
        assert!(lockscope::lock_order_reports().is_empty());
        task_named("cleanup", async move {
            let _u = b.lock().await;
            *a.lock().await += 1;
        })
        .await;
    });
    let reports = lockscope::lock_order_reports();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].actors.contains(&"cleanup".to_owned()),
        "{reports:?}"
    );
}
