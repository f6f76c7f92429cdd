//! The lock core: the bookkeeping every primitive shares, sync and async alike.
//!
//! [`LockMeta`] is one lock instance's recorded state (class, counters, exclusive holder) with
//! the acquisition, release and wait paths; [`PoolGauge`] adds a semaphore's pool figures;
//! [`Tracked`] (feature `tokio`) adds an async lock's hold table. The primitives above call
//! only these; these call the layers below (actors, sink, detectors) and nothing above.

#[cfg(feature = "tokio")]
mod async_paths;
#[cfg(feature = "tokio")]
mod held_here;
mod meta;
mod pool;
mod release;
#[cfg(feature = "tokio")]
mod tracked;
mod wait;

#[cfg(feature = "tokio")]
pub(crate) use held_here::{OneHolder, PackedHold, ReleaseHere};
pub(crate) use meta::{LockMeta, Token};
pub(crate) use pool::{PoolGauge, PoolState};
#[cfg(feature = "tokio")]
pub(crate) use tracked::{
    HasTracked, Hold, OwnedRelease, Parked, Release, Tracked, Waiting, waits,
};
pub(crate) use wait::Wait;
