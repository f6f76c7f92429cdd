//! A dependency with a latent ABBA deadlock, written against parking_lot 0.12 and knowing
//! nothing of lockscope: `transfer` locks the source account, then the destination.

use parking_lot::Mutex;

/// An account balance behind its own lock.
#[derive(Debug, Default)]
pub struct Account {
    balance: Mutex<i64>,
}

impl Account {
    /// A new account holding `balance`.
    pub fn new(balance: i64) -> Self {
        Account {
            balance: Mutex::new(balance),
        }
    }

    /// The balance now.
    pub fn balance(&self) -> i64 {
        *self.balance.lock()
    }
}

/// Moves `amount` from `from` to `to`: the source's lock first, then the destination's, so
/// two transfers in opposite directions can each hold one lock and wait for the other.
pub fn transfer(from: &Account, to: &Account, amount: i64) {
    let mut source = from.balance.lock();
    let mut destination = to.balance.lock();
    *source -= amount;
    *destination += amount;
}
