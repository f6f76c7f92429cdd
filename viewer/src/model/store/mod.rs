//! Compact storage of a trace's waits and holds, and the views the rest of the model reads
//! them through.
//!
//! A large trace has millions of both, so each is kept in a fixed-size record of 32-bit
//! fields (a hold in 40 bytes, a wait in 56, against 72 and 120 plus a holder list for the
//! plain structs): ids as [`Id32`], a hold's begin and contention times as offsets back from
//! its end, the mode as one `u32`, every wait's holders in one shared list. Anything that does
//! not fit (an id above 2^31, a hold longer than 4 s, a permit count near `u32::MAX`) is kept
//! whole beside it, so nothing is lost. [`Wait`] and [`Hold`] are unpacked on access.
//!
//! The storage sits behind an `Arc`: a filtered model ([`super::Filter`]) shares it and keeps
//! only the indexes it selects, so filtering a 10-million-event trace copies no event.

mod chunks;
mod packed;
mod pairing;
mod view;

pub(super) use packed::{HoldStore, WaitStore};
pub use view::{HoldIter, Holds, WaitIter, Waits};

#[cfg(test)]
mod tests;
