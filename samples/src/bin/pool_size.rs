//! Pool saturation: a server runs `cores * 2 + 1` request threads, and every request needs a
//! database connection from a pool of 2. Most of the time every connection is taken and
//! requests queue for one: lockscope reports `pool_saturation`, and the report's `pools`
//! table shows the pool starved and the acquire latency the requests paid.
//!
//! `--fix` sizes the pool with the formula from the field (HikariCP's "connections =
//! cores * 2 + effective spindles", here `cores * 2 + 1`), the same as the request threads, so
//! no request waits for a connection.

use anyhow::Result;
use clap::Parser;
use lockscope::Semaphore;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "A connection pool too small for its server, and the sizing that fixes it")]
struct Args {
    /// Size the pool as cores * 2 + 1.
    #[arg(long)]
    fix: bool,
    /// Connections in the pool (without --fix).
    #[arg(long, default_value_t = 2)]
    pool: usize,
    /// Requests each request thread serves.
    #[arg(long, default_value_t = 60)]
    requests: usize,
    /// How long one query holds its connection, in milliseconds.
    #[arg(long, default_value_t = 3)]
    query_ms: u64,
    /// Trace file to record.
    #[arg(long, default_value = "pool_size.lstrace")]
    trace: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = cores * 2 + 1;
    let size = if args.fix { cores * 2 + 1 } else { args.pool };
    let pool = Arc::new(Semaphore::named("db-pool", size));
    let start = Instant::now();
    let threads: Vec<_> = (0..workers)
        .map(|i| {
            let pool = pool.clone();
            let (requests, query) = (args.requests, Duration::from_millis(args.query_ms));
            std::thread::Builder::new()
                .name(format!("request-{i}"))
                .spawn(move || {
                    let mut slowest = Duration::ZERO;
                    for _ in 0..requests {
                        let t = Instant::now();
                        let conn = pool.acquire();
                        slowest = slowest.max(t.elapsed());
                        std::thread::sleep(query); // the query
                        drop(conn);
                    }
                    slowest
                })
        })
        .collect::<std::io::Result<_>>()?;
    let slowest = threads
        .into_iter()
        .map(|t| t.join().expect("request thread"))
        .max()
        .unwrap_or_default();
    println!(
        "{workers} request threads, pool of {size}: {} requests in {:.0} ms; longest wait for a connection {:.1} ms",
        workers * args.requests,
        start.elapsed().as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3
    );
    println!("done");
    Ok(())
}
