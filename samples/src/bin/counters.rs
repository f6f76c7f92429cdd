//! One hot counter, three ways: N threads increment one `AtomicU64`, one `Mutex<u64>`, or
//! striped locks (16 mutexes, each thread on its own stripe, summed at the end). Prints the
//! throughput per thread count as a table. The trace shows the single mutex's contention and
//! the stripes' absence of it.

use anyhow::{Result, ensure};
use clap::Parser;
use lockscope::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(about = "Atomic vs one Mutex vs striped locks for a hot counter")]
struct Args {
    /// Increments per thread.
    #[arg(long, default_value_t = 200_000)]
    iterations: u64,
    /// Largest thread count (the table doubles from 1 up to it).
    #[arg(long, default_value_t = 8)]
    max_threads: usize,
    /// Trace file to record.
    #[arg(long, default_value = "counters.lstrace")]
    trace: PathBuf,
}

const STRIPES: usize = 16;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Atomic,
    OneMutex,
    Striped,
}

struct Counters {
    atomic: AtomicU64,
    one: Mutex<u64>,
    stripes: Vec<Mutex<u64>>,
}

/// Runs `threads` threads of `iterations` increments; returns millions of increments/s.
fn run(kind: Kind, threads: usize, iterations: u64) -> Result<f64> {
    let c = Arc::new(Counters {
        atomic: AtomicU64::new(0),
        one: Mutex::named("one-counter", 0),
        stripes: (0..STRIPES)
            .map(|_| Mutex::named("counter-stripe", 0))
            .collect(),
    });
    let go = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (c, go) = (c.clone(), go.clone());
            std::thread::Builder::new()
                .name(format!("incr-{t}"))
                .spawn(move || {
                    go.wait();
                    for _ in 0..iterations {
                        match kind {
                            Kind::Atomic => {
                                c.atomic.fetch_add(1, Relaxed);
                            }
                            Kind::OneMutex => *c.one.lock() += 1,
                            Kind::Striped => *c.stripes[t % STRIPES].lock() += 1,
                        }
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    let start = Instant::now();
    go.wait();
    for h in handles {
        h.join().expect("incrementer");
    }
    let secs = start.elapsed().as_secs_f64();
    let total = match kind {
        Kind::Atomic => c.atomic.load(Relaxed),
        Kind::OneMutex => *c.one.lock(),
        Kind::Striped => c.stripes.iter().map(|s| *s.lock()).sum(),
    };
    ensure!(
        total == threads as u64 * iterations,
        "{kind:?} lost increments: {total}"
    );
    Ok(total as f64 / secs / 1e6)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    println!("| threads | atomic (M/s) | one Mutex (M/s) | {STRIPES} striped Mutexes (M/s) |");
    println!("|---:|---:|---:|---:|");
    let mut threads = 1;
    while threads <= args.max_threads.max(1) {
        let a = run(Kind::Atomic, threads, args.iterations)?;
        let m = run(Kind::OneMutex, threads, args.iterations)?;
        let s = run(Kind::Striped, threads, args.iterations)?;
        println!("| {threads} | {a:.1} | {m:.1} | {s:.1} |");
        threads *= 2;
    }
    println!("done");
    Ok(())
}
