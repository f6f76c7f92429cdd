//! `lockscope::tokio::mpsc` under ordinary use: back-pressure is recorded as waits and never
//! taken for a deadlock; a cancelled, timed-out or closed wait ends and leaves nothing behind;
//! unbounded and blocking receives are recorded too.

use super::support::tasks::*;
use super::{let_the_watchdog_look, reports};
use lockscope::tokio::mpsc;
use lockscope::tokio::spawn_named;
use std::time::Duration;

/// Yields until `f` holds.
async fn until(mut f: impl FnMut() -> bool) {
    while !f() {
        tokio::task::yield_now().await;
    }
}

#[test]
fn back_pressure_is_recorded_as_waits_for_the_receiver_and_is_no_deadlock() {
    const ITEMS: u64 = 50;
    let seen = reports();
    let (tx, mut rx) = mpsc::channel_named::<u64>("backlog", 2);
    let probe = tx.clone();
    runtime(2).block_on(async move {
        let producer = spawn_named("backlog-producer", async move {
            for i in 0..ITEMS {
                tx.send(i).await.unwrap();
            }
        });
        // The producer fills the channel and waits for room.
        until(|| probe.stats().waiters == 1).await;
        let_the_watchdog_look().await;
        let mut got = Vec::new();
        for _ in 0..ITEMS {
            got.push(rx.recv().await.expect("an item"));
        }
        producer.await.unwrap();
        assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
        let room = probe.stats();
        assert_eq!(room.acquisitions, ITEMS, "every send counted: {room:?}");
        assert!(
            room.contentions >= 1,
            "the send that met a full channel waited: {room:?}"
        );
        assert_eq!(room.waiters, 0);
        let items = rx.stats();
        assert_eq!(
            items.acquisitions, ITEMS,
            "every receive counted: {items:?}"
        );
        assert_eq!(items.waiters, 0);
    });
    assert!(
        seen.lock().iter().all(|r| !r.contains("backlog")),
        "back-pressure is no deadlock: {:?}",
        seen.lock()
    );
}

#[test]
fn a_cancelled_timed_out_or_closed_send_ends_its_wait() {
    runtime(2).block_on(async {
        let (tx, rx) = mpsc::channel_named::<u32>("full-then-closed", 1);
        tx.send(0).await.unwrap(); // full now
        // Cancelled by a timeout around it.
        let cancelled = tokio::time::timeout(Duration::from_millis(20), tx.send(1)).await;
        assert!(cancelled.is_err());
        assert_eq!(tx.stats().waiters, 0, "the cancelled send left no wait");
        // Given up by `send_timeout` itself.
        let timed = tx.send_timeout(2, Duration::from_millis(20)).await;
        assert!(matches!(
            timed,
            Err(mpsc::error::SendTimeoutError::Timeout(2))
        ));
        assert_eq!(tx.stats().waiters, 0);
        // Closed while it waits: the receiver goes away.
        let t2 = tx.clone();
        let waiting = spawn_named("closed-sender", async move { t2.send(3).await });
        until(|| tx.stats().waiters == 1).await;
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(mpsc::error::SendError(3)));
        let s = tx.stats();
        assert_eq!(
            (s.waiters, s.contentions),
            (0, 3),
            "three waits, all ended: {s:?}"
        );
        assert_eq!(s.acquisitions, 1, "only the first send got through: {s:?}");
    });
}

#[test]
fn unbounded_and_blocking_receives_are_recorded_waits() {
    let (tx, mut rx) = mpsc::unbounded_channel_named::<&'static str>("inbox");
    runtime(2).block_on(async {
        let t = tx.clone();
        let sender = spawn_named("inbox-writer", async move {
            t.send("hello").unwrap();
        });
        assert_eq!(rx.recv().await, Some("hello"));
        sender.await.unwrap();
    });
    // A plain thread blocks on an empty channel until another thread sends.
    let (btx, mut brx) = mpsc::channel_named::<u8>("handoff", 4);
    let reader = std::thread::spawn(move || {
        let v = brx.blocking_recv();
        (v, brx.stats())
    });
    while tx.strong_count() > 1 {
        std::thread::yield_now(); // the writer task's clone is gone
    }
    btx.blocking_send(7).unwrap();
    let (v, s) = reader.join().unwrap();
    assert_eq!(v, Some(7));
    assert_eq!(s.acquisitions, 1);
    assert!(s.contentions <= 1, "{s:?}");
    drop(btx);
    let s = rx.stats();
    assert_eq!(s.acquisitions, 1, "the unbounded receive counted: {s:?}");
    assert_eq!(s.waiters, 0);
    // An unbounded channel has only its receiving side in the figures.
    let names: Vec<String> = lockscope::class_stats()
        .into_iter()
        .map(|c| c.name)
        .filter(|n| n.starts_with("inbox"))
        .collect();
    assert_eq!(names, vec!["inbox (recv)".to_owned()]);
}
