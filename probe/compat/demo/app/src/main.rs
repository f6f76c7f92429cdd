//! Two tellers move money between the same two accounts in opposite directions through the
//! `ledger` dependency, until its lock order deadlocks them. The program never mentions
//! lockscope: the patched parking_lot records the ledger's locks and reports the deadlock.

use ledger::{Account, transfer};
use std::sync::Arc;
use std::thread;

fn main() {
    let accounts = Arc::new((Account::new(1_000), Account::new(1_000)));
    let tellers: Vec<_> = [("teller-1", false), ("teller-2", true)]
        .into_iter()
        .map(|(name, reverse)| {
            let accounts = accounts.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let (a, b) = (&accounts.0, &accounts.1);
                    loop {
                        if reverse {
                            transfer(b, a, 1);
                        } else {
                            transfer(a, b, 1);
                        }
                    }
                })
                .expect("start a teller")
        })
        .collect();
    for t in tellers {
        let _ = t.join();
    }
    println!(
        "balances: {} and {}",
        accounts.0.balance(),
        accounts.1.balance()
    );
}
