//! A connection pool of two: each worker takes one connection, then asks for a second for a
//! nested query. Both hold one and wait for the other's: every permit is held inside the
//! cycle, a deadlock. `--fix` takes both connections at once (`acquire_many(2)`).

use anyhow::Result;
use clap::Parser;
use lockscope::Semaphore;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

#[derive(Parser, Debug)]
#[command(about = "Connection-pool deadlock")]
struct Args {
    /// Take both connections in one acquire.
    #[arg(long)]
    fix: bool,
    /// Trace file to record.
    #[arg(long, default_value = "pool_deadlock.lstrace")]
    trace: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let pool = Arc::new(Semaphore::named("db-pool", 2));
    let both_hold = Arc::new(Barrier::new(2));
    let hs: Vec<_> = (0..2)
        .map(|i| {
            let (pool, both_hold, fix) = (pool.clone(), both_hold.clone(), args.fix);
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    if fix {
                        let _both = pool.acquire_many(2);
                    } else {
                        let _outer = pool.acquire();
                        both_hold.wait();
                        let _nested = pool.acquire();
                    }
                })
        })
        .collect::<Result<_, _>>()?;
    for h in hs {
        h.join().expect("worker");
    }
    println!("done: {} connections free", pool.available_permits());
    Ok(())
}
