//! The ABBA bank transfer: teller A moves money from checking to savings while teller B moves
//! it back, each locking the source account first. Both take their first lock, then wait for
//! the other's: a deadlock. `--fix` locks accounts in one global order (by id).
//! `--sequential` runs the tellers one after the other: it completes, but lockscope still
//! reports the lock-order inversion that would deadlock under load.

use anyhow::Result;
use clap::Parser;
use lockscope::Mutex;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

#[derive(Parser, Debug)]
#[command(about = "ABBA deadlock between two bank transfers")]
struct Args {
    /// Lock the two accounts in id order.
    #[arg(long)]
    fix: bool,
    /// Run the two transfers one after the other.
    #[arg(long)]
    sequential: bool,
    /// Trace file to record.
    #[arg(long, default_value = "abba.lstrace")]
    trace: PathBuf,
}

struct Account {
    id: u32,
    balance: Mutex<i64>,
}

fn transfer(from: &Account, to: &Account, amount: i64, fix: bool, both_hold: Option<&Barrier>) {
    let (first, second) = if fix && to.id < from.id {
        (to, from)
    } else {
        (from, to)
    };
    let mut a = first.balance.lock();
    if let Some(b) = both_hold {
        b.wait(); // force the interleaving that deadlocks
    }
    let mut b = second.balance.lock();
    let (src, dst) = if first.id == from.id {
        (&mut *a, &mut *b)
    } else {
        (&mut *b, &mut *a)
    };
    *src -= amount;
    *dst += amount;
}

fn main() -> Result<()> {
    let args = Args::parse();
    let _rec = lockscope_samples::start(&args.trace)?;
    let checking = Arc::new(Account {
        id: 1,
        balance: Mutex::named("checking", 100),
    });
    let savings = Arc::new(Account {
        id: 2,
        balance: Mutex::named("savings", 100),
    });
    let barrier = Arc::new(Barrier::new(2));
    let teller = |name: &str, from: Arc<Account>, to: Arc<Account>| {
        let (fix, forced) = (
            args.fix,
            (!args.fix && !args.sequential).then(|| barrier.clone()),
        );
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || transfer(&from, &to, 10, fix, forced.as_deref()))
    };
    if args.sequential {
        teller("teller-a", checking.clone(), savings.clone())?
            .join()
            .expect("teller a");
        teller("teller-b", savings.clone(), checking.clone())?
            .join()
            .expect("teller b");
    } else {
        let a = teller("teller-a", checking.clone(), savings.clone())?;
        let b = teller("teller-b", savings.clone(), checking.clone())?;
        a.join().expect("teller a");
        b.join().expect("teller b");
    }
    println!(
        "done: checking {}, savings {}",
        *checking.balance.lock(),
        *savings.balance.lock()
    );
    Ok(())
}
