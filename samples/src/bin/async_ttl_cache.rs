//! A cache stampede in async code: 64 tokio tasks on 2 worker threads read one hot key from a
//! TTL cache. When the entry expires, every task that finds it expired refills it from the
//! "database" (a 20 ms query) at once. lockscope counts the fills by task, not by worker
//! thread, so the stampede shows dozens of fillers, and reports it as a `stampede`.
//!
//! Fix (`--once-cell`): each generation of the entry is a `lockscope::tokio::OnceCell`. The
//! first task to find the entry expired starts a new generation and fills it; the others await
//! that one fill (single flight), recorded as waits for the filling task, never as a herd.

use anyhow::Result;
use clap::Parser;
use lockscope::tokio::{OnceCell, RwLock, spawn_named};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Cache stampede on an async TTL cache, and the OnceCell fix")]
struct Args {
    /// One fill per expiry: the other tasks await it.
    #[arg(long)]
    once_cell: bool,
    /// Reader tasks.
    #[arg(long, default_value_t = 64)]
    tasks: usize,
    /// How long the readers run, in milliseconds.
    #[arg(long, default_value_t = 800)]
    duration_ms: u64,
    /// Time to live of a cache entry, in milliseconds.
    #[arg(long, default_value_t = 200)]
    ttl_ms: u64,
    /// How long one fill (the database query) takes, in milliseconds.
    #[arg(long, default_value_t = 20)]
    fill_ms: u64,
    /// Trace file to record.
    #[arg(long, default_value = "async_ttl_cache.lstrace")]
    trace: PathBuf,
}

const KEY: &str = "front-page";

#[derive(Clone, Copy)]
struct Entry {
    value: u64,
    expires: Instant,
}

struct Cache {
    /// The naive cache: the entry, refilled by whoever finds it expired.
    entry: RwLock<Option<Entry>>,
    /// The fixed cache: the current generation, filled once.
    generation: RwLock<Arc<OnceCell<Entry>>>,
    ttl: Duration,
    fill_time: Duration,
    fills: AtomicU64,
}

impl Cache {
    /// The database query behind the cache.
    async fn query(&self) -> Entry {
        tokio::time::sleep(self.fill_time).await;
        Entry {
            value: self.fills.fetch_add(1, Relaxed) + 1,
            expires: Instant::now() + self.ttl,
        }
    }

    /// Check, and on a miss refill outside the lock: every task that finds the entry expired
    /// refills it.
    async fn get_naive(&self) -> u64 {
        if let Some(e) = *self.entry.read().await
            && e.expires > Instant::now()
        {
            return e.value;
        }
        let fresh = {
            let _fill = lockscope::cache_fill(&KEY);
            self.query().await
        };
        *self.entry.write().await = Some(fresh);
        fresh.value
    }

    /// The current generation's value; an expired generation is replaced once (by the first
    /// task to see it), and the new one is filled once for everyone.
    async fn get_once(&self) -> u64 {
        loop {
            let generation = self.generation.read().await.clone();
            let e = *generation.get_or_init(|| self.query()).await;
            if e.expires > Instant::now() {
                return e.value;
            }
            let mut current = self.generation.write().await;
            if Arc::ptr_eq(&current, &generation) {
                *current = Arc::new(OnceCell::named(KEY));
            }
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cache = Arc::new(Cache {
        entry: RwLock::named("ttl-cache", None),
        generation: RwLock::named("ttl-cache-generation", Arc::new(OnceCell::named(KEY))),
        ttl: Duration::from_millis(args.ttl_ms),
        fill_time: Duration::from_millis(args.fill_ms),
        fills: AtomicU64::new(0),
    });
    let once = args.once_cell;
    let run = cache.clone();
    let (requests, slowest) = rt.block_on(async move {
        let cache = run;
        // Warm the cache first: a cold start is not a stampede.
        if once {
            cache.get_once().await;
        } else {
            cache.get_naive().await;
        }
        let deadline = Instant::now() + Duration::from_millis(args.duration_ms);
        let requests = Arc::new(AtomicU64::new(0));
        let slowest = Arc::new(AtomicU64::new(0));
        let readers: Vec<_> = (0..args.tasks)
            .map(|i| {
                let (cache, requests, slowest) = (cache.clone(), requests.clone(), slowest.clone());
                spawn_named(format!("reader-{i}"), async move {
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let v = if once {
                            cache.get_once().await
                        } else {
                            cache.get_naive().await
                        };
                        std::hint::black_box(v);
                        slowest.fetch_max(t.elapsed().as_micros() as u64, Relaxed);
                        requests.fetch_add(1, Relaxed);
                        // The rest of the request's work.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                })
            })
            .collect();
        for r in readers {
            r.await.ok();
        }
        (requests.load(Relaxed), slowest.load(Relaxed))
    });
    println!(
        "{requests} requests; {} fills of the hot key over about {} expiries; slowest request {:.1} ms",
        cache.fills.load(Relaxed),
        args.duration_ms / args.ttl_ms,
        slowest as f64 / 1000.0
    );
    println!("done");
    Ok(())
}
