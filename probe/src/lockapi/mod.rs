//! lockscope's raw locks for [lock_api] 0.4: [`RawMutex`], [`RawFairMutex`], [`RawRwLock`] and
//! [`RawThreadId`] implement its traits, so `lock_api::Mutex<lockscope::lockapi::RawMutex, T>`
//! is a recorded, deadlock-checked mutex with lock_api's whole API. They are what the
//! `parking_lot` drop-in (`probe/compat/parking_lot`, a crate named `parking_lot` 0.12 with
//! its complete API) is made of, so that every parking_lot lock in a dependency tree is
//! recorded with no code change; [`Condvar`] and [`check_deadlock`] complete that API, and
//! [`lock_api`] is the lock_api 0.4 they implement.
//!
//! lock_api's `INIT` gives no creation site. A lock made from it takes its class from the
//! first frame of its first user's stack outside lockscope, lock_api, parking_lot and the
//! standard library (`r2d2-0.8.10/src/lib.rs:<line>`), found once per instance by a stack walk
//! when the lock is first used while recording; its acquisitions are reported at that site,
//! and its waits carry their own stacks as every wait does.
//!
//! ```
//! use lockscope::lockapi::{RawMutex, lock_api};
//! type Mutex<T> = lock_api::Mutex<RawMutex, T>;
//! let m = Mutex::new(1);
//! *m.lock() += 1;
//! assert_eq!(*m.lock(), 2);
//! ```
//!
//! A guard is released by the thread that took it (`GuardMarker` is `GuardNoSend`), unless
//! lockscope's `send_guard` feature is on: then a guard can move, and a hold ended on another
//! thread than the one that began it leaves that thread's held list only when it next
//! releases a lock (the deadlock detector may name it as a holder meanwhile).

mod condvar;
mod deadlock;
mod hold;
mod mutex;
mod rwlock;

pub use condvar::Condvar;
pub use deadlock::{DeadlockedThread, check_deadlock};
pub use hold::GuardMarker;
pub use mutex::{RawFairMutex, RawMutex, RawThreadId};
pub use rwlock::RawRwLock;

/// lock_api 0.4, whose `Mutex<RawMutex, T>`, `RwLock<RawRwLock, T>` and
/// `ReentrantMutex<RawMutex, RawThreadId, T>` wrap these raw locks.
pub use lock_api04 as lock_api;
