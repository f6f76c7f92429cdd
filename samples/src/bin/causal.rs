//! Which lock should you fix first? Two locks, and the one with the most wait is not the one
//! that limits the program.
//!
//! Request workers take `queue` on every request (a ~20 µs critical section) and then work
//! ~20 µs outside it; each finished request is `lockscope::progress("requests")`. Two
//! janitors take turns on `stats`, holding it ~500 µs each time: `stats` tops the wait table,
//! but no request ever waits for it.
//!
//! With `--causal` (or `LOCKSCOPE_CAUSAL=1`) lockscope runs virtual-speedup experiments during
//! the run; `lockscope report` then ranks `queue` above `stats` by the throughput a faster
//! critical section would buy. `--shorter` halves `queue`'s critical section for real, to
//! compare the prediction with what happens.
//!
//! ```text
//! cargo run -p lockscope-samples --bin causal -- --causal --duration 10
//! cargo run --bin lockscope -- report causal.lstrace
//! ```

use anyhow::Result;
use clap::Parser;
use lockscope::Mutex;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "A lock on every request's path, and a busier one no request waits for")]
struct Args {
    /// Run causal experiments (as LOCKSCOPE_CAUSAL=1 does).
    #[arg(long)]
    causal: bool,
    /// Each experiment's length, milliseconds.
    #[arg(long, default_value_t = 50)]
    window_ms: u64,
    /// Halve `queue`'s critical section.
    #[arg(long)]
    shorter: bool,
    /// Seconds to run.
    #[arg(long, default_value_t = 4.0)]
    duration: f64,
    /// Request workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Trace file to record.
    #[arg(long, default_value = "causal.lstrace")]
    trace: PathBuf,
}

/// Busy work for about `d`.
fn work(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        black_box(0);
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    if args.causal {
        lockscope::causal::start(Duration::from_millis(args.window_ms));
    }
    let queue = Arc::new(Mutex::named("queue", 0u64));
    let stats = Arc::new(Mutex::named("stats", 0u64));
    let stop = Arc::new(AtomicBool::new(false));
    let section = Duration::from_micros(if args.shorter { 10 } else { 20 });
    let mut threads = Vec::new();
    for i in 0..args.workers {
        let (queue, stop) = (queue.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    while !stop.load(Relaxed) {
                        {
                            let mut q = queue.lock();
                            *q += 1;
                            work(section);
                        }
                        work(Duration::from_micros(20));
                        lockscope::progress("requests");
                    }
                })?,
        );
    }
    for i in 0..2 {
        let (stats, stop) = (stats.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("janitor-{i}"))
                .spawn(move || {
                    while !stop.load(Relaxed) {
                        let mut s = stats.lock();
                        *s += 1;
                        std::thread::sleep(Duration::from_micros(500));
                    }
                })?,
        );
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(args.duration));
    stop.store(true, Relaxed);
    for t in threads {
        t.join().expect("thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = *queue.lock();
    println!(
        "done: {done} requests in {elapsed:.2} s, {:.0} requests/s{}",
        done as f64 / elapsed,
        if args.causal {
            format!(
                " (under {} causal experiments, which slow it on purpose)",
                lockscope::causal::experiments().len()
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
