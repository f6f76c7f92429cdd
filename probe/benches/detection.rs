//! Deadlock detection latency: from the moment the last edge of a cycle forms (the second
//! thread starts waiting) to the moment the `on_deadlock` callback runs. One of the waits is
//! timed (`try_lock_for`), so each cycle breaks by itself after a few milliseconds and the
//! threads can be joined.
//!
//! `cargo bench -p lockscope --bench detection`

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

static FIRED: OnceLock<parking_lot::Mutex<Option<std::sync::mpsc::SyncSender<Instant>>>> =
    OnceLock::new();

fn callback() -> Receiver<Instant> {
    let (tx, rx) = sync_channel(16);
    let slot = FIRED.get_or_init(|| {
        lockscope::on_deadlock(|_| {
            if let Some(tx) = FIRED.get().and_then(|s| s.lock().clone()) {
                let _ = tx.try_send(Instant::now());
            }
        });
        parking_lot::Mutex::new(None)
    });
    *slot.lock() = Some(tx);
    rx
}

/// One ABBA cycle; returns the time from the closing wait's start to the alert.
fn one_cycle(fired: &Receiver<Instant>) -> Duration {
    let a = Arc::new(lockscope::Mutex::new(()));
    let b = Arc::new(lockscope::Mutex::new(()));
    let both = Arc::new(Barrier::new(2));
    let (a2, b2, both2) = (a.clone(), b.clone(), both.clone());
    let first = std::thread::spawn(move || {
        let _a = a2.lock();
        both2.wait();
        let _b = b2.try_lock_for(Duration::from_millis(5));
    });
    let _b = b.lock();
    both.wait();
    // Let the first thread reach its wait, so this one closes the cycle.
    while a.stats().waiters == 0 && b.stats().waiters == 0 {
        std::hint::spin_loop();
    }
    let closed = Instant::now();
    drop(a.lock());
    let at = fired
        .recv_timeout(Duration::from_secs(5))
        .expect("the deadlock was reported");
    first.join().unwrap();
    at.saturating_duration_since(closed)
}

fn detection_latency(c: &mut Criterion) {
    let fired = callback();
    let mut g = c.benchmark_group("deadlock_alert_latency");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("lockscope-2-thread-cycle", |bench| {
        bench.iter_custom(|n| (0..n).map(|_| one_cycle(&fired)).sum())
    });
    g.finish();
}

criterion_group!(benches, detection_latency);
criterion_main!(benches);
