//! The cost of a Prometheus scrape: one `GET /metrics` over loopback TCP, for a process with
//! 1000 lock classes (each locked and contended once), answered by the `lockscope-http`
//! thread. A scrape reads each class's counters and histograms once; no lock path does any
//! work for it.
//!
//! And the cost of a Go mutex profile over HTTP, `GET /debug/pprof/mutex?seconds=1`, while
//! two threads keep contending 1000 lock classes in turn: the time past the one-second window
//! (closing it: symbolizing, building the profile, gzip, sending) and the profile's size.
//!
//! `cargo bench -p lockscope --bench http`

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

const CLASSES: usize = 1000;

fn scrape(c: &mut Criterion) {
    let locks: Vec<lockscope::Mutex<u64>> = (0..CLASSES)
        .map(|i| lockscope::Mutex::named(format!("scrape-class-{i}"), 0))
        .collect();
    for l in &locks {
        *l.lock() += 1;
    }
    let addr = lockscope::http::serve("127.0.0.1:0").expect("serve on loopback");
    let mut size = 0;
    c.bench_function("metrics_scrape_1000_classes", |b| {
        b.iter(|| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
            let mut page = Vec::with_capacity(4 << 20);
            s.read_to_end(&mut page).unwrap();
            size = page.len();
        })
    });
    println!("a /metrics page for {CLASSES} classes: {size} bytes");

    // Two threads contend each lock in turn, for as long as the benchmark runs.
    let locks: Arc<Vec<lockscope::Mutex<u64>>> = Arc::new(locks);
    let stop = Arc::new(AtomicBool::new(false));
    let (turn_tx, turn_rx) = mpsc::sync_channel::<usize>(0);
    let (l1, l2, s1) = (locks.clone(), locks.clone(), stop.clone());
    let holder = thread::spawn(move || {
        let mut i = 0;
        while !s1.load(Relaxed) {
            let l = &l1[i % CLASSES];
            let mut g = l.lock();
            if turn_tx.send(i % CLASSES).is_err() {
                break;
            }
            while l.stats().waiters == 0 && !s1.load(Relaxed) {
                thread::yield_now();
            }
            *g += 1;
            drop(g);
            i += 1;
        }
    });
    let waiter = thread::spawn(move || {
        while let Ok(i) = turn_rx.recv() {
            *l2[i].lock() += 1;
        }
    });
    let mut size = 0;
    c.bench_function("pprof_mutex_window_1000_classes", |b| {
        b.iter_custom(|iters| {
            let mut past_window = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /debug/pprof/mutex?seconds=1 HTTP/1.1\r\n\r\n")
                    .unwrap();
                let mut body = Vec::with_capacity(1 << 20);
                s.read_to_end(&mut body).unwrap();
                assert!(body.starts_with(b"HTTP/1.1 200"), "the profile was served");
                size = body.len();
                past_window += t0.elapsed().saturating_sub(Duration::from_secs(1));
            }
            past_window
        })
    });
    println!("a mutex profile of {CLASSES} contended classes: {size} bytes (gzipped)");
    stop.store(true, Relaxed);
    holder.join().unwrap();
    waiter.join().unwrap();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = scrape
}
criterion_main!(benches);
