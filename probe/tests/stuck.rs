//! Hangs no wait-for edge shows: a thread asleep on a condition variable while it holds a lock
//! another thread waits for is a `stuck` alert; the producer/consumer twin that holds nothing
//! while it waits stays quiet. Each runs in its own child process (the threshold is
//! process-wide).

mod support;

use lockscope::{Alert, Condvar, Mutex};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::*;

/// Every `stuck` alert, as raised.
fn stuck_alerts() -> Receiver<Alert> {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    lockscope::on_alert(move |a| {
        if a.kind == "stuck" {
            let _ = tx.lock().unwrap().send(a.clone());
        }
    });
    rx
}

/// A sleeper takes `inventory`, then waits on `restock` (with its own mutex) while a thread
/// named `notifier` blocks on `inventory`. With `hold_through_wait` false the sleeper lets go of
/// `inventory` before waiting and this thread holds it instead, blocked on a channel rather than
/// a condition variable: the notifier waits just as long, but nobody sleeps on a condition
/// while holding what it waits for. Returns what was alerted before the sleeper was woken.
fn sleeper_and_notifier(hold_through_wait: bool) -> Option<Alert> {
    lockscope::set_stuck_threshold(Duration::from_millis(100));
    let alerts = stuck_alerts();
    let inventory = Arc::new(Mutex::named("inventory", 0u32));
    let state = Arc::new((
        Mutex::named("restock-state", false),
        Condvar::named("restock"),
    ));
    let asleep = Arc::new(Barrier::new(2));
    let sleeper = {
        let (inventory, state, asleep) = (inventory.clone(), state.clone(), asleep.clone());
        thread::Builder::new()
            .name("sleeper".into())
            .spawn(move || {
                let held = inventory.lock();
                let held = if hold_through_wait {
                    Some(held)
                } else {
                    drop(held);
                    None
                };
                let (m, cv) = &*state;
                let mut ready = m.lock();
                asleep.wait();
                while !*ready {
                    cv.wait(&mut ready);
                }
                drop(held);
            })
            .unwrap()
    };
    asleep.wait();
    let ours = (!hold_through_wait).then(|| inventory.lock());
    let notifier = {
        let inventory = inventory.clone();
        thread::Builder::new()
            .name("notifier".into())
            .spawn(move || *inventory.lock() += 1)
            .unwrap()
    };
    // Well past the threshold and the watchdog's period: a timeout, not synchronisation.
    let alert = alerts.recv_timeout(Duration::from_secs(3)).ok();
    drop(ours);
    let (m, cv) = &*state;
    *m.lock() = true;
    cv.notify_all();
    sleeper.join().unwrap();
    notifier.join().unwrap();
    alert
}

#[test]
fn a_thread_asleep_on_a_condvar_while_holding_a_lock_another_waits_for_is_stuck() {
    const NAME: &str =
        "a_thread_asleep_on_a_condvar_while_holding_a_lock_another_waits_for_is_stuck";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    let a = sleeper_and_notifier(true).expect("a stuck alert");
    assert_eq!(a.locks, ["inventory", "restock"], "{}", a.text);
    assert_eq!(a.actors, ["sleeper", "notifier"], "{}", a.text);
    assert!(
        a.text.contains("sleeper sleeps on condition variable"),
        "{}",
        a.text
    );
    let json: serde_json::Value = serde_json::from_str(&a.json).unwrap();
    assert!(
        json["longest_wait_ns"].as_u64().unwrap() >= 100_000_000,
        "{json}"
    );
    assert!(
        json["held_site"].as_str().unwrap().contains("stuck.rs"),
        "{json}"
    );
}

#[test]
fn a_condvar_wait_that_holds_nothing_else_is_not_stuck() {
    const NAME: &str = "a_condvar_wait_that_holds_nothing_else_is_not_stuck";
    if !is_child(NAME) {
        assert_child_ok(&run_child(NAME, &[]));
        return;
    }
    assert!(sleeper_and_notifier(false).is_none());
}
