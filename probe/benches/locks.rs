//! lockscope against std and parking_lot, side by side in one run: uncontended Mutex,
//! RwLock read and write, a nested pair, Semaphore acquire+release, 2 and 4 threads on one
//! Mutex with an empty and a ~50 ns critical section, and 2 readers + 1 writer on one RwLock. "off" is recording switched off at runtime; "on" is the default (figures,
//! holders, held lists and both deadlock detectors; events buffered only while a trace
//! records). Peers: parking_lot with its `deadlock_detection` feature, and tracing-mutex's
//! always-tracing Mutex (its `stdsync::Mutex` is plain std in release builds). "drop-in" is
//! the `parking_lot` drop-in's lock (lock_api 0.4 over `lockscope::lockapi`), recording on.
//!
//! `cargo bench -p lockscope --bench locks`

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn variants(
    g: &mut BenchmarkGroup<'_, WallTime>,
    mut f: impl FnMut(&mut BenchmarkGroup<'_, WallTime>, &str),
) {
    for name in ["lockscope-off", "lockscope-on"] {
        lockscope::set_enabled(name == "lockscope-on");
        f(g, name);
    }
    lockscope::set_enabled(true);
}

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex_lock_unlock");
    let s = std::sync::Mutex::new(0u64);
    g.bench_function("std", |b| b.iter(|| *black_box(&s).lock().unwrap() += 1));
    let p = parking_lot::Mutex::new(0u64);
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&p).lock() += 1));
    let d = parking_lot_dd::Mutex::new(0u64);
    g.bench_function("parking_lot-deadlock_detection", |b| {
        b.iter(|| *black_box(&d).lock() += 1)
    });
    let t = tracing_mutex::stdsync::tracing::Mutex::new(0u64);
    g.bench_function("tracing-mutex", |b| {
        b.iter(|| *black_box(&t).lock().unwrap() += 1)
    });
    let l = lockscope::Mutex::new(0u64);
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| b.iter(|| *black_box(&l).lock() += 1));
    });
    let d = DropInMutex::new(0u64);
    g.bench_function(DROP_IN, |b| b.iter(|| *black_box(&d).lock() += 1));
    g.finish();
}

/// The `parking_lot` drop-in's types: lock_api 0.4 over lockscope's raw locks, recording on.
type DropInMutex<T> = lock_api04::Mutex<lockscope::lockapi::RawMutex, T>;
type DropInRwLock<T> = lock_api04::RwLock<lockscope::lockapi::RawRwLock, T>;
const DROP_IN: &str = "lockscope-drop-in";

/// A new lock's first acquisition: lockscope's own `Mutex` finds its class from its creation
/// site; a drop-in lock (made by lock_api's `INIT`) walks the stack once for it.
fn new_lock(c: &mut Criterion) {
    let mut g = c.benchmark_group("new_lock_first_acquisition");
    g.bench_function("parking_lot", |b| {
        b.iter(|| *black_box(parking_lot::Mutex::new(0u64)).lock() += 1)
    });
    g.bench_function("lockscope-on", |b| {
        b.iter(|| *black_box(lockscope::Mutex::new(0u64)).lock() += 1)
    });
    g.bench_function(DROP_IN, |b| {
        b.iter(|| *black_box(DropInMutex::new(0u64)).lock() += 1)
    });
    g.finish();
}

fn rwlock(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwlock_read");
    let s = std::sync::RwLock::new(1u64);
    g.bench_function("std", |b| b.iter(|| *black_box(&s).read().unwrap()));
    let p = parking_lot::RwLock::new(1u64);
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&p).read()));
    let l = lockscope::RwLock::new(1u64);
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| b.iter(|| *black_box(&l).read()));
    });
    let d = DropInRwLock::new(1u64);
    g.bench_function(DROP_IN, |b| b.iter(|| *black_box(&d).read()));
    g.finish();

    let mut g = c.benchmark_group("rwlock_write");
    g.bench_function("std", |b| b.iter(|| *black_box(&s).write().unwrap() += 1));
    g.bench_function("parking_lot", |b| b.iter(|| *black_box(&p).write() += 1));
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| b.iter(|| *black_box(&l).write() += 1));
    });
    g.bench_function(DROP_IN, |b| b.iter(|| *black_box(&d).write() += 1));
    g.finish();
}

fn nested_pair(c: &mut Criterion) {
    let mut g = c.benchmark_group("nested_a_then_b");
    let (sa, sb) = (std::sync::Mutex::new(0u64), std::sync::Mutex::new(0u64));
    g.bench_function("std", |b| {
        b.iter(|| {
            let mut x = sa.lock().unwrap();
            let mut y = sb.lock().unwrap();
            *x += 1;
            *y += 1;
        })
    });
    let (pa, pb) = (parking_lot::Mutex::new(0u64), parking_lot::Mutex::new(0u64));
    g.bench_function("parking_lot", |b| {
        b.iter(|| {
            let mut x = pa.lock();
            let mut y = pb.lock();
            *x += 1;
            *y += 1;
        })
    });
    let (da, db) = (
        parking_lot_dd::Mutex::new(0u64),
        parking_lot_dd::Mutex::new(0u64),
    );
    g.bench_function("parking_lot-deadlock_detection", |b| {
        b.iter(|| {
            let mut x = da.lock();
            let mut y = db.lock();
            *x += 1;
            *y += 1;
        })
    });
    let (ta, tb) = (
        tracing_mutex::stdsync::tracing::Mutex::new(0u64),
        tracing_mutex::stdsync::tracing::Mutex::new(0u64),
    );
    g.bench_function("tracing-mutex", |b| {
        b.iter(|| {
            let mut x = ta.lock().unwrap();
            let mut y = tb.lock().unwrap();
            *x += 1;
            *y += 1;
        })
    });
    let (la, lb) = (lockscope::Mutex::new(0u64), lockscope::Mutex::new(0u64));
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut x = la.lock();
                let mut y = lb.lock();
                *x += 1;
                *y += 1;
            })
        });
    });
    g.finish();
}

/// The semaphore most std users write: a counter under a Mutex plus a Condvar.
struct StdSemaphore {
    permits: std::sync::Mutex<usize>,
    cv: std::sync::Condvar,
}

impl StdSemaphore {
    fn acquire(&self) {
        let mut p = self.permits.lock().unwrap();
        while *p == 0 {
            p = self.cv.wait(p).unwrap();
        }
        *p -= 1;
    }
    fn release(&self) {
        *self.permits.lock().unwrap() += 1;
        self.cv.notify_one();
    }
}

fn semaphore(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore_acquire_release");
    let s = StdSemaphore {
        permits: std::sync::Mutex::new(4),
        cv: std::sync::Condvar::new(),
    };
    g.bench_function("std-mutex-condvar", |b| {
        b.iter(|| {
            s.acquire();
            s.release();
        })
    });
    let l = lockscope::Semaphore::new(4);
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| b.iter(|| drop(black_box(&l).acquire())));
    });
    g.finish();
}

/// A critical section of about 50 ns: a dependent chain of xor-shift-multiply steps, which
/// the optimiser can neither drop nor fold into a closed form (`critical_section/50ns`
/// measures it alone).
#[inline(never)]
fn work(v: &mut u64) {
    let mut x = black_box(*v);
    for _ in 0..32 {
        x ^= x >> 29;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    *v = x;
}

fn critical_section(c: &mut Criterion) {
    let mut g = c.benchmark_group("critical_section");
    let mut v = 1u64;
    g.bench_function("50ns", |b| b.iter(|| work(black_box(&mut v))));
    g.finish();
}

/// `threads` threads, one lock, `iters` operations in total: time per operation.
fn contended<L: Send + Sync + 'static>(
    lock: Arc<L>,
    threads: u64,
    iters: u64,
    op: fn(&L),
) -> Duration {
    let start = Arc::new(Barrier::new(threads as usize + 1));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, start) = (lock.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..iters / threads {
                    op(&lock);
                }
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.elapsed()
}

/// One contended-Mutex group: `threads` threads, an empty or a ~50 ns critical section.
fn mutex_contended_group(c: &mut Criterion, group: &str, threads: u64, busy: bool) {
    let mut g = c.benchmark_group(group);
    // The operation on lock `l` of type `$t`, whose guard `$guard` derefs to the counter.
    macro_rules! op {
        ($t:ty, $l:ident => $guard:expr) => {{
            let op: fn(&$t) = if busy {
                |$l| work(&mut $guard)
            } else {
                |$l| *$guard += 1
            };
            op
        }};
    }
    g.bench_function("std", |b| {
        let l = Arc::new(std::sync::Mutex::new(0u64));
        let op = op!(std::sync::Mutex<u64>, l => l.lock().unwrap());
        b.iter_custom(|n| contended(l.clone(), threads, n, op))
    });
    g.bench_function("parking_lot", |b| {
        let l = Arc::new(parking_lot::Mutex::new(0u64));
        let op = op!(parking_lot::Mutex<u64>, l => l.lock());
        b.iter_custom(|n| contended(l.clone(), threads, n, op))
    });
    g.bench_function("parking_lot-deadlock_detection", |b| {
        let l = Arc::new(parking_lot_dd::Mutex::new(0u64));
        let op = op!(parking_lot_dd::Mutex<u64>, l => l.lock());
        b.iter_custom(|n| contended(l.clone(), threads, n, op))
    });
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| {
            let l = Arc::new(lockscope::Mutex::new(0u64));
            let op = op!(lockscope::Mutex<u64>, l => l.lock());
            b.iter_custom(|n| contended(l.clone(), threads, n, op))
        });
    });
    g.bench_function(DROP_IN, |b| {
        let l = Arc::new(DropInMutex::new(0u64));
        let op = op!(DropInMutex<u64>, l => l.lock());
        b.iter_custom(|n| contended(l.clone(), threads, n, op))
    });
    g.finish();
}

fn mutex_contended(c: &mut Criterion) {
    mutex_contended_group(c, "mutex_2_threads_contended", 2, false);
    mutex_contended_group(c, "mutex_4_threads_contended", 4, false);
    mutex_contended_group(c, "mutex_2_threads_50ns", 2, true);
    mutex_contended_group(c, "mutex_4_threads_50ns", 4, true);
}

/// Two readers and one writer on one RwLock, each section ~50 ns: time per operation.
fn readers_and_writer<L: Send + Sync + 'static>(
    lock: Arc<L>,
    iters: u64,
    read: fn(&L),
    write: fn(&L),
) -> Duration {
    let start = Arc::new(Barrier::new(4));
    let hs: Vec<_> = (0..3)
        .map(|i| {
            let (lock, start) = (lock.clone(), start.clone());
            let op = if i == 2 { write } else { read };
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..iters / 3 {
                    op(&lock);
                }
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.elapsed()
}

fn rwlock_mixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwlock_2_readers_1_writer");
    g.bench_function("std", |b| {
        let l = Arc::new(std::sync::RwLock::new(1u64));
        b.iter_custom(|n| {
            readers_and_writer(
                l.clone(),
                n,
                |l| work(&mut black_box(*l.read().unwrap())),
                |l| work(&mut l.write().unwrap()),
            )
        })
    });
    g.bench_function("parking_lot", |b| {
        let l = Arc::new(parking_lot::RwLock::new(1u64));
        b.iter_custom(|n| {
            readers_and_writer(
                l.clone(),
                n,
                |l| work(&mut black_box(*l.read())),
                |l| work(&mut l.write()),
            )
        })
    });
    variants(&mut g, |g, name| {
        g.bench_function(name, |b| {
            let l = Arc::new(lockscope::RwLock::new(1u64));
            b.iter_custom(|n| {
                readers_and_writer(
                    l.clone(),
                    n,
                    |l| work(&mut black_box(*l.read())),
                    |l| work(&mut l.write()),
                )
            })
        });
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// A progress point (`lockscope::progress`) against the relaxed add it is meant to cost.
fn progress_point(c: &mut Criterion) {
    let mut g = c.benchmark_group("progress_point");
    let n = std::sync::atomic::AtomicU64::new(0);
    g.bench_function("atomic-fetch-add", |b| {
        b.iter(|| black_box(&n).fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    });
    g.bench_function("lockscope-progress", |b| {
        b.iter(|| lockscope::progress(black_box("requests")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = mutex_uncontended, new_lock, rwlock, nested_pair, semaphore, critical_section, mutex_contended,
        rwlock_mixed, progress_point
}
criterion_main!(benches);
