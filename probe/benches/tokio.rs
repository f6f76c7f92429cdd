//! The async primitives uncontended, side by side with plain tokio in one run: `lock().await`
//! and drop, `acquire().await` and drop, `notify_one()` then `notified().await` (the stored
//! notification taken at once), a filled `OnceCell`'s `get_or_init().await`, a channel's `send` + `recv` (bounded and
//! unbounded; the receiver sits behind a plain tokio `Mutex`, the same in every column), inside a task on a current-thread runtime, with lockscope on
//! (the default: counters, holder, hold table) and off.
//!
//! `cargo bench -p lockscope --features tokio --bench tokio`

use criterion::{Criterion, criterion_group};
use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Times `iters` runs of `op` inside one task (the loop runs in the task, so neither the
/// runtime's block_on nor the spawn is in the figure).
fn in_task<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, op: F) -> Duration
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    rt.block_on(async move {
        tokio::spawn(async move {
            let t = Instant::now();
            for _ in 0..iters {
                op().await;
            }
            t.elapsed()
        })
        .await
        .unwrap()
    })
}

fn mutex(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio Mutex lock().await + drop");
    g.bench_function("tokio", |b| {
        let m: &'static _ = Box::leak(Box::new(tokio::sync::Mutex::new(0u64)));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                let mut g = m.lock().await;
                *g += 1;
                black_box(&mut *g);
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let m: &'static _ = Box::leak(Box::new(lockscope::tokio::Mutex::new(0u64)));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    let mut g = m.lock().await;
                    *g += 1;
                    black_box(&mut *g);
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
}

fn semaphore(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio Semaphore acquire().await + drop");
    g.bench_function("tokio", |b| {
        let s: &'static _ = Box::leak(Box::new(tokio::sync::Semaphore::new(4)));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                drop(black_box(s.acquire().await.unwrap()));
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let s: &'static _ = Box::leak(Box::new(lockscope::tokio::Semaphore::new(4)));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    drop(black_box(s.acquire().await.unwrap()));
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
}

fn notify(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio Notify notify_one() + notified().await");
    g.bench_function("tokio", |b| {
        let n: &'static _ = Box::leak(Box::new(tokio::sync::Notify::new()));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                n.notify_one();
                n.notified().await;
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let n: &'static _ = Box::leak(Box::new(lockscope::tokio::Notify::new()));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    n.notify_one();
                    n.notified().await;
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
}

/// A filled cell's `get_or_init(..).await`: the read every caller after the first makes.
fn once_cell(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio OnceCell get_or_init().await, filled");
    g.bench_function("tokio", |b| {
        let cell: &'static _ = Box::leak(Box::new(tokio::sync::OnceCell::<u64>::new()));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                black_box(*cell.get_or_init(|| async { 1 }).await);
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let cell: &'static _ = Box::leak(Box::new(lockscope::tokio::OnceCell::<u64>::new()));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    black_box(*cell.get_or_init(|| async { 1 }).await);
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
}

/// One `send().await` and one `recv().await` on a channel with room (bounded, 16) or
/// unbounded, in the same task: the pair every message costs when nobody waits.
fn channels(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("tokio mpsc send().await + recv().await, bounded");
    g.bench_function("tokio", |b| {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(16);
        let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                pair.0.send(1).await.unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let (tx, rx) = lockscope::tokio::mpsc::channel::<u64>(16);
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    pair.0.send(1).await.unwrap();
                    black_box(pair.1.try_lock().unwrap().recv().await);
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
    let mut g = c.benchmark_group("tokio mpsc send() + recv().await, unbounded");
    g.bench_function("tokio", |b| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
        b.iter_custom(|iters| {
            in_task(&rt, iters, move || async move {
                pair.0.send(1).unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        })
    });
    for (label, on) in [("lockscope on", true), ("lockscope off", false)] {
        g.bench_function(label, |b| {
            lockscope::set_enabled(on);
            let (tx, rx) = lockscope::tokio::mpsc::unbounded_channel::<u64>();
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            b.iter_custom(|iters| {
                in_task(&rt, iters, move || async move {
                    pair.0.send(1).unwrap();
                    black_box(pair.1.try_lock().unwrap().recv().await);
                })
            });
            lockscope::set_enabled(true);
        });
    }
    g.finish();
}

criterion_group!(benches, mutex, semaphore, notify, once_cell, channels);

/// `LOCKSCOPE_BENCH_COUNT=<variant>:<n>` runs `n` operations of one variant and exits, for
/// instruction counts that do not depend on the machine's load:
/// `valgrind --tool=callgrind <bench binary>` at two `n`, the difference over the `n`s.
/// Variants: `tokio-mutex`, `mutex-on`, `mutex-off`, `tokio-semaphore`, `semaphore-on`,
/// `semaphore-off`, `tokio-rwlock-read`, `rwlock-read-on`, `rwlock-read-off`, and the
/// send-and-receive pairs `tokio-channel`, `channel-on`, `channel-off` (bounded),
/// `tokio-unbounded`, `unbounded-on`, `unbounded-off`, and `notify_one()` then
/// `notified().await`: `tokio-notify`, `notify-on`, `notify-off`.
fn count_only() -> bool {
    let Ok(spec) = std::env::var("LOCKSCOPE_BENCH_COUNT") else {
        return false;
    };
    let (variant, n) = spec.split_once(':').expect("variant:n");
    let n: u64 = n.parse().expect("a count");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    lockscope::set_enabled(!variant.ends_with("-off"));
    let tm: &'static _ = Box::leak(Box::new(tokio::sync::Mutex::new(0u64)));
    let lm: &'static _ = Box::leak(Box::new(lockscope::tokio::Mutex::new(0u64)));
    let ts: &'static _ = Box::leak(Box::new(tokio::sync::Semaphore::new(4)));
    let ls: &'static _ = Box::leak(Box::new(lockscope::tokio::Semaphore::new(4)));
    let tr: &'static _ = Box::leak(Box::new(tokio::sync::RwLock::new(0u64)));
    let lr: &'static _ = Box::leak(Box::new(lockscope::tokio::RwLock::new(0u64)));
    let d = match variant {
        "tokio-mutex" => in_task(&rt, n, move || async move {
            *tm.lock().await += 1;
        }),
        "mutex-on" | "mutex-off" => in_task(&rt, n, move || async move {
            *lm.lock().await += 1;
        }),
        "tokio-semaphore" => in_task(&rt, n, move || async move {
            drop(black_box(ts.acquire().await.unwrap()));
        }),
        "semaphore-on" | "semaphore-off" => in_task(&rt, n, move || async move {
            drop(black_box(ls.acquire().await.unwrap()));
        }),
        "tokio-rwlock-read" => in_task(&rt, n, move || async move {
            black_box(*tr.read().await);
        }),
        "rwlock-read-on" | "rwlock-read-off" => in_task(&rt, n, move || async move {
            black_box(*lr.read().await);
        }),
        "tokio-channel" => {
            let (tx, rx) = tokio::sync::mpsc::channel::<u64>(16);
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            in_task(&rt, n, move || async move {
                pair.0.send(1).await.unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        }
        "channel-on" | "channel-off" => {
            let (tx, rx) = lockscope::tokio::mpsc::channel::<u64>(16);
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            in_task(&rt, n, move || async move {
                pair.0.send(1).await.unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        }
        "tokio-unbounded" => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            in_task(&rt, n, move || async move {
                pair.0.send(1).unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        }
        "unbounded-on" | "unbounded-off" => {
            let (tx, rx) = lockscope::tokio::mpsc::unbounded_channel::<u64>();
            let pair: &'static _ = Box::leak(Box::new((tx, tokio::sync::Mutex::new(rx))));
            in_task(&rt, n, move || async move {
                pair.0.send(1).unwrap();
                black_box(pair.1.try_lock().unwrap().recv().await);
            })
        }
        "tokio-notify" => {
            let tn: &'static _ = Box::leak(Box::new(tokio::sync::Notify::new()));
            in_task(&rt, n, move || async move {
                tn.notify_one();
                tn.notified().await;
            })
        }
        "notify-on" | "notify-off" => {
            let ln: &'static _ = Box::leak(Box::new(lockscope::tokio::Notify::new()));
            in_task(&rt, n, move || async move {
                ln.notify_one();
                ln.notified().await;
            })
        }
        other => panic!("unknown variant {other}"),
    };
    println!("{variant}: {n} operations in {d:?}");
    true
}

fn main() {
    if count_only() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
