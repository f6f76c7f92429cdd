//! A cache stampede: 50 threads read one hot key from a TTL cache. When the entry expires,
//! every thread that sees it expired refills it from the "database" at once — the latency
//! spike every TTL. lockscope reports it as a `stampede` (duplicate fills of a warm key).
//!
//! Fixes:
//! - `--xfetch`: probabilistic early expiration (Vattani et al., VLDB 2015): a reader refreshes
//!   before expiry when `now - delta * beta * ln(rand()) >= expiry`, where `delta` is how long
//!   the last fill took; one refresh at a time, while everyone else keeps reading the old value.
//! - `--single-flight`: the first reader to see the entry expired refills it; the others wait
//!   for that one fill (on a condition variable) instead of repeating it.

use anyhow::Result;
use clap::Parser;
use lockscope::{Condvar, Mutex};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Cache stampede on a TTL cache, and two fixes")]
struct Args {
    /// Refresh early, probabilistically (XFetch).
    #[arg(long, conflicts_with = "single_flight")]
    xfetch: bool,
    /// Let one reader refill while the others wait for it.
    #[arg(long)]
    single_flight: bool,
    /// Reader threads.
    #[arg(long, default_value_t = 50)]
    threads: usize,
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
    #[arg(long, default_value = "ttl_cache.lstrace")]
    trace: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Naive,
    XFetch,
    SingleFlight,
}

struct Entry {
    value: u64,
    expires: Instant,
    /// How long the fill that produced this value took (XFetch's delta).
    delta: Duration,
    /// A refresh of this entry is in flight.
    refreshing: bool,
}

struct Cache {
    map: Mutex<HashMap<&'static str, Entry>>,
    filled: Condvar,
    ttl: Duration,
    fill_time: Duration,
    fills: AtomicU64,
    mode: Mode,
}

impl Cache {
    /// The database query behind the cache.
    fn load(&self, key: &'static str) -> (u64, Duration) {
        let _fill = lockscope::cache_fill(key);
        let start = Instant::now();
        std::thread::sleep(self.fill_time);
        (self.fills.fetch_add(1, Relaxed) + 1, start.elapsed())
    }

    fn store(&self, key: &'static str, (value, delta): (u64, Duration)) {
        let mut map = self.map.lock();
        map.insert(
            key,
            Entry {
                value,
                expires: Instant::now() + self.ttl,
                delta,
                refreshing: false,
            },
        );
        drop(map);
        self.filled.notify_all();
    }

    fn get(&self, key: &'static str) -> u64 {
        match self.mode {
            Mode::Naive => self.get_naive(key),
            Mode::XFetch => self.get_xfetch(key),
            Mode::SingleFlight => self.get_single_flight(key),
        }
    }

    /// Check, and on a miss refill outside the lock: every reader that sees the entry
    /// expired refills it.
    fn get_naive(&self, key: &'static str) -> u64 {
        if let Some(e) = self.map.lock().get(key)
            && e.expires > Instant::now()
        {
            return e.value;
        }
        let fresh = self.load(key);
        self.store(key, fresh);
        fresh.0
    }

    fn get_xfetch(&self, key: &'static str) -> u64 {
        const BETA: f64 = 1.0;
        let mut map = self.map.lock();
        let now = Instant::now();
        let (value, refresh) = match map.get_mut(key) {
            Some(e) => {
                // -ln(rand) is exponentially distributed: most readers look a little ahead,
                // a few look far, so one of them refreshes shortly before expiry. An entry
                // past expiry is refreshed by one reader while the others serve it stale.
                let u: f64 = rand::random::<f64>().max(f64::MIN_POSITIVE);
                let ahead = e.delta.mul_f64(BETA * -u.ln());
                let early = !e.refreshing && now + ahead >= e.expires;
                if early {
                    e.refreshing = true;
                }
                (Some(e.value), early)
            }
            None => (None, true),
        };
        drop(map);
        match (value, refresh) {
            (Some(v), false) => v,
            (Some(v), true) => {
                let fresh = self.load(key);
                self.store(key, fresh);
                v
            }
            (None, _) => {
                // Only before the first fill (or after a long idle): a cold miss.
                let fresh = self.load(key);
                self.store(key, fresh);
                fresh.0
            }
        }
    }

    fn get_single_flight(&self, key: &'static str) -> u64 {
        let mut map = self.map.lock();
        loop {
            let now = Instant::now();
            match map.get_mut(key) {
                Some(e) if e.expires > now => return e.value,
                Some(e) if e.refreshing => {
                    // Someone is refilling: wait for that fill instead of repeating it.
                    self.filled.wait(&mut map);
                }
                Some(e) => {
                    e.refreshing = true;
                    break;
                }
                None => {
                    map.insert(
                        key,
                        Entry {
                            value: 0,
                            expires: now,
                            delta: Duration::ZERO,
                            refreshing: true,
                        },
                    );
                    break;
                }
            }
        }
        drop(map);
        let fresh = self.load(key);
        self.store(key, fresh);
        fresh.0
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let mode = if args.xfetch {
        Mode::XFetch
    } else if args.single_flight {
        Mode::SingleFlight
    } else {
        Mode::Naive
    };
    let cache = Arc::new(Cache {
        map: Mutex::named("ttl-cache", HashMap::new()),
        filled: Condvar::new(),
        ttl: Duration::from_millis(args.ttl_ms),
        fill_time: Duration::from_millis(args.fill_ms),
        fills: AtomicU64::new(0),
        mode,
    });
    // Warm the cache first: a cold start is not a stampede.
    cache.get("front-page");
    let deadline = Instant::now() + Duration::from_millis(args.duration_ms);
    let slowest = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..args.threads)
        .map(|i| {
            let (cache, slowest, requests) = (cache.clone(), slowest.clone(), requests.clone());
            std::thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || {
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        std::hint::black_box(cache.get("front-page"));
                        slowest.fetch_max(t.elapsed().as_micros() as u64, Relaxed);
                        requests.fetch_add(1, Relaxed);
                        // The rest of the request's work.
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
        })
        .collect::<std::io::Result<_>>()?;
    for r in readers {
        r.join().expect("reader");
    }
    let expiries = args.duration_ms / args.ttl_ms;
    println!(
        "{} requests; {} fills of the hot key over about {expiries} expiries; slowest request {:.1} ms",
        requests.load(Relaxed),
        cache.fills.load(Relaxed),
        slowest.load(Relaxed) as f64 / 1000.0
    );
    println!("done");
    Ok(())
}
