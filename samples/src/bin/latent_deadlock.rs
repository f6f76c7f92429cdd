//! A latent deadlock, the kind that passes every test and hangs in production once a month.
//! The restocker locks `inventory`, then `orders`, on every batch; the reporter locks `orders`,
//! then `inventory`, once a run. Their windows seldom meet, so most runs complete (and
//! lockscope reports the lock-order inversion that could deadlock); now and then a run hangs
//! for good.
//!
//! `--chaos` runs it under lockscope's chaos mode, which delays a thread that is about to close
//! a lock-order cycle while it holds its outer lock: the deadlock then happens nearly every
//! run, and the report names the seed (`--chaos SEED` or `LOCKSCOPE_CHAOS=SEED` repeats it).
//! `--fix` makes the reporter take the locks in the restocker's order: no inversion, no
//! deadlock, with chaos mode or without.
//!
//! ```text
//! cargo run -p lockscope-samples --bin latent_deadlock -- --chaos
//! ```

use anyhow::Result;
use clap::Parser;
use lockscope::Mutex;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "A latent ABBA deadlock that chaos mode makes happen")]
struct Args {
    /// Run under chaos mode with this seed; without a value, a seed from the clock (printed).
    #[arg(long, num_args = 0..=1, default_missing_value = "0", value_name = "SEED")]
    chaos: Option<u64>,
    /// The reporter takes `inventory` before `orders`, as the restocker does.
    #[arg(long)]
    fix: bool,
    /// Batches the restocker runs.
    #[arg(long, default_value_t = 400)]
    batches: u32,
    /// Reports the reporter writes, 1.5 ms apart.
    #[arg(long, default_value_t = 1)]
    reports: u32,
    /// Trace file to record.
    #[arg(long, default_value = "latent_deadlock.lstrace")]
    trace: PathBuf,
}

struct Store {
    inventory: Mutex<Vec<u64>>,
    orders: Mutex<Vec<u64>>,
    /// The reports written so far.
    published: Mutex<Vec<u64>>,
    /// Batches the restocker has finished: the reporter starts once the store is busy.
    batches_done: AtomicU64,
}

/// Busy work for about `d`: the code between lock operations.
fn work(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        black_box(0);
    }
}

fn restock(store: &Store, batches: u32) {
    for batch in 0..u64::from(batches) {
        {
            let mut inventory = store.inventory.lock();
            let n = inventory.len() as u64;
            inventory[(batch % n) as usize] += 1;
            let mut orders = store.orders.lock();
            orders.retain(|&o| o + 64 > batch);
            orders.push(batch);
        }
        store.batches_done.fetch_add(1, Relaxed);
        work(Duration::from_micros(100));
    }
}

fn report(store: &Store, reports: u32, fix: bool) -> u64 {
    let mut total = 0;
    // Reports are of a running store: wait for its first batches.
    while store.batches_done.load(Relaxed) < 10 {
        std::thread::yield_now();
    }
    for round in 0..u64::from(reports) {
        store.published.lock().push(round);
        work(Duration::from_micros(1_500));
        if fix {
            let inventory = store.inventory.lock();
            let orders = store.orders.lock();
            total += orders.len() as u64 + inventory.iter().sum::<u64>();
        } else {
            let orders = store.orders.lock();
            let inventory = store.inventory.lock();
            total += orders.len() as u64 + inventory.iter().sum::<u64>();
        }
    }
    total
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(seed) = args.chaos {
        let seed = match seed {
            0 => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .subsec_nanos()
                .max(1)
                .into(),
            s => s,
        };
        println!("chaos seed {seed} (rerun with --chaos {seed} to repeat its decisions)");
        lockscope::chaos::enable(seed);
    }
    let _rec = lockscope_samples::start(&args.trace)?;
    let store = Arc::new(Store {
        inventory: Mutex::named("inventory", vec![0; 16]),
        orders: Mutex::named("orders", Vec::new()),
        published: Mutex::named("published", Vec::new()),
        batches_done: AtomicU64::new(0),
    });
    let restocker = {
        let store = store.clone();
        let batches = args.batches;
        std::thread::Builder::new()
            .name("restocker".into())
            .spawn(move || restock(&store, batches))?
    };
    let reporter = {
        let store = store.clone();
        let (reports, fix) = (args.reports, args.fix);
        std::thread::Builder::new()
            .name("reporter".into())
            .spawn(move || report(&store, reports, fix))?
    };
    restocker.join().expect("restocker");
    let total = reporter.join().expect("reporter");
    let stats = lockscope::chaos::stats();
    if stats.seed != 0 {
        println!(
            "chaos: {} delays ({:.1} ms), {} yields, {} at a lock-order cycle",
            stats.delays,
            stats.delay_ns as f64 / 1e6,
            stats.yields,
            stats.inversion_delays
        );
    }
    println!("done: {total} counted over {} reports", args.reports);
    Ok(())
}
