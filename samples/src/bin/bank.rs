//! A bank under load: `--threads` tellers move money between `--accounts` accounts. Each
//! transfer locks both accounts in a consistent order (no deadlock), then appends to one
//! shared ledger — the hot lock this sample exists to show. `--fix` shards the ledger so the
//! contention moves away; the report shows the difference.
//!
//! ```text
//! cargo run -p lockscope-samples --bin bank -- --trace bank.lstrace
//! cargo run --bin lockscope -- report bank.lstrace
//! ```

use anyhow::{Context, Result, bail};
use clap::Parser;
use lockscope::{Mutex, Recorder, RwLock, Semaphore};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

#[derive(Parser, Debug)]
#[command(about = "Bank transfers with a hot shared ledger lock")]
struct Args {
    /// Trace file to record.
    #[arg(long, default_value = "bank.lstrace")]
    trace: PathBuf,
    /// Number of accounts.
    #[arg(long, default_value_t = 64)]
    accounts: usize,
    /// Teller threads.
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// Transfers per teller.
    #[arg(long, default_value_t = 20_000)]
    transfers: usize,
    /// Shard the ledger (one per teller) instead of one shared ledger.
    #[arg(long)]
    fix: bool,
}

#[allow(dead_code)] // the ledger is written, not read: it exists to be contended
struct Entry {
    from: usize,
    to: usize,
    amount: u64,
}

struct Bank {
    accounts: Vec<Mutex<u64>>,
    ledgers: Vec<Mutex<Vec<Entry>>>,
    /// Exchange rates: read on every transfer, rewritten now and then.
    rates: RwLock<[u64; 4]>,
    /// At most two audits at once.
    auditors: Semaphore,
}

impl Bank {
    fn new(accounts: usize, ledgers: usize) -> Bank {
        Bank {
            accounts: (0..accounts)
                .map(|_| Mutex::named("account", 1_000))
                .collect(),
            ledgers: (0..ledgers)
                .map(|_| Mutex::named("ledger", Vec::new()))
                .collect(),
            rates: RwLock::named("rates", [1, 2, 3, 4]),
            auditors: Semaphore::named("auditors", 2),
        }
    }

    fn transfer(&self, teller: usize, from: usize, to: usize, amount: u64) {
        let rate = self.rates.read()[teller % 4];
        // Lock ordering by index: the fix for ABBA deadlocks, applied from the start here.
        let (first, second) = if from < to { (from, to) } else { (to, from) };
        let mut a = self.accounts[first].lock();
        let mut b = self.accounts[second].lock();
        let (src, dst) = if from < to {
            (&mut *a, &mut *b)
        } else {
            (&mut *b, &mut *a)
        };
        let amount = amount.min(*src) / rate.max(1) * rate.max(1);
        *src -= amount;
        *dst += amount;
        drop((a, b));
        let mut ledger = self.ledgers[teller % self.ledgers.len()].lock();
        ledger.push(Entry { from, to, amount });
        // Formatting the audit line under the lock is the bug: it makes every hold long.
        let line = format!(
            "{:>6} -> {:>6}: {:>8}",
            ledger.last().map_or(0, |e| e.from),
            to,
            amount
        );
        std::hint::black_box(line);
    }

    fn audit(&self) -> u64 {
        let _slot = self.auditors.acquire();
        self.accounts.iter().map(|a| *a.lock()).sum()
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.accounts < 2 || args.threads == 0 {
        bail!("--accounts must be at least 2 and --threads at least 1");
    }
    let recording = Recorder::to_file(&args.trace)
        .with_context(|| format!("recording to {}", args.trace.display()))?
        .start();
    let ledgers = if args.fix { args.threads } else { 1 };
    let bank = Arc::new(Bank::new(args.accounts, ledgers));
    let start = Arc::new(Barrier::new(args.threads));
    let began = std::time::Instant::now();
    let tellers: Vec<_> = (0..args.threads)
        .map(|t| {
            let (bank, start) = (bank.clone(), start.clone());
            let (accounts, transfers) = (args.accounts, args.transfers);
            std::thread::Builder::new()
                .name(format!("teller-{t}"))
                .spawn(move || {
                    let mut rng = StdRng::seed_from_u64(t as u64);
                    start.wait();
                    for i in 0..transfers {
                        let from = rng.random_range(0..accounts);
                        let to = (from + rng.random_range(1..accounts)) % accounts;
                        bank.transfer(t, from, to, rng.random_range(1..50));
                        if i % 1000 == 0 {
                            if t == 0 {
                                *bank.rates.write() = [1, 2, 3, 4];
                            }
                            let _ = bank.audit();
                        }
                    }
                })
                .expect("spawn teller")
        })
        .collect();
    for t in tellers {
        t.join().map_err(|_| anyhow::anyhow!("a teller panicked"))?;
    }
    let total = bank.audit();
    let entries: usize = bank.ledgers.iter().map(|l| l.lock().len()).sum();
    let elapsed = began.elapsed();
    // The locks go first: a dropped lock's acquisitions are exact in the trace, a live one's
    // only up to its last sampled acquisition.
    drop(bank);
    drop(recording);
    println!(
        "{} transfers by {} tellers in {:.2?} ({:.0} transfers/s), {} ledger entries, money conserved: {}",
        args.threads * args.transfers,
        args.threads,
        elapsed,
        (args.threads * args.transfers) as f64 / elapsed.as_secs_f64(),
        entries,
        total == 1_000 * args.accounts as u64
    );
    println!("trace written to {}", args.trace.display());
    Ok(())
}
