//! Five dining philosophers: each picks up the left fork, then the right. When all five hold
//! their left fork at once, nobody gets a right one: a deadlock of five.
//! `--fix order` picks up the lower-numbered fork first (a global lock order);
//! `--fix backoff` gives up on the right fork after a random timeout and retries.

use anyhow::Result;
use clap::{Parser, ValueEnum};
use lockscope::Mutex;
use rand::Rng;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Fix {
    /// Lower-numbered fork first.
    Order,
    /// try_lock_for on the second fork with randomized back-off.
    Backoff,
}

#[derive(Parser, Debug)]
#[command(about = "Dining philosophers")]
struct Args {
    /// How to avoid the deadlock.
    #[arg(long)]
    fix: Option<Fix>,
    /// Meals per philosopher.
    #[arg(long, default_value_t = 200)]
    meals: u32,
    /// Trace file to record.
    #[arg(long, default_value = "philosophers.lstrace")]
    trace: PathBuf,
}

const N: usize = 5;

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let forks: Arc<Vec<Mutex<u32>>> = Arc::new(
        (0..N)
            .map(|i| Mutex::named(format!("fork-{i}"), 0))
            .collect(),
    );
    let all_seated = Arc::new(Barrier::new(N));
    let hs: Vec<_> = (0..N)
        .map(|p| {
            let (forks, all_seated, fix, meals) =
                (forks.clone(), all_seated.clone(), args.fix, args.meals);
            std::thread::Builder::new()
                .name(format!("philosopher-{p}"))
                .spawn(move || {
                    let (left, right) = (p, (p + 1) % N);
                    let mut rng = rand::rng();
                    for meal in 0..meals {
                        match fix {
                            None => {
                                let mut l = forks[left].lock();
                                if meal == 0 {
                                    all_seated.wait(); // everyone holds a left fork now
                                }
                                let mut r = forks[right].lock();
                                *l += 1;
                                *r += 1;
                            }
                            Some(Fix::Order) => {
                                let (a, b) = (left.min(right), left.max(right));
                                let mut a = forks[a].lock();
                                let mut b = forks[b].lock();
                                *a += 1;
                                *b += 1;
                            }
                            Some(Fix::Backoff) => loop {
                                let mut l = forks[left].lock();
                                if let Some(mut r) =
                                    forks[right].try_lock_for(Duration::from_micros(200))
                                {
                                    *l += 1;
                                    *r += 1;
                                    break;
                                }
                                drop(l);
                                std::thread::sleep(Duration::from_micros(
                                    rng.random_range(10..500),
                                ));
                            },
                        }
                    }
                })
        })
        .collect::<Result<_, _>>()?;
    for h in hs {
        h.join().expect("philosopher");
    }
    let used: u32 = forks.iter().map(|f| *f.lock()).sum();
    println!(
        "done: {} meals eaten ({} fork uses)",
        N as u32 * args.meals,
        used
    );
    Ok(())
}
