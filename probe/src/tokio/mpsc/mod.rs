//! `lockscope::tokio::mpsc`: tokio's multi-producer, single-consumer channels with their waits
//! recorded, the most common async wait there is.
//!
//! A channel has two sides a caller can wait on, each recorded like a lock:
//! - **room** (bounded channels): a sender waits for room in a full channel. The side's
//!   holder is the task or thread that owns the `Receiver` (the last one to receive from it,
//!   or its creator before that), since only it can make room.
//! - **items**: a receiver waits for an item. Its holders are the owners of the live
//!   `Sender`s (each handle counts for the task or thread that last sent with it, or made
//!   it); like a semaphore's permit holders, the receiver is stuck for good only when every
//!   one of them is.
//!
//! So the classic hang — a task that holds a lock sends into a full channel whose consumer
//! needs that lock first — is a wait-for cycle, reported as a deadlock with both tasks named;
//! and a consumer that waits for items while it holds what every producer needs is one too.
//!
//! The room side is named after the channel (`channel_named("jobs", 64)`: `jobs`), the items
//! side adds ` (recv)` (`jobs (recv)`); both are kind `semaphore` in reports. Sends and
//! receives are counted as acquisitions of their side, those that waited as contentions.
//! A cancelled `send` or `recv` future, a closed channel and a dropped `Receiver` end their
//! waits; a dropped handle stops being listed. `poll_recv` keeps its wait in the receiver
//! between polls.
//!
//! A bounded channel is also a pool of its slots: while a trace is recorded, each send (or
//! reservation) and receive writes a `Pool` record of the room side, whose in use is what is
//! queued or reserved; senders' waits for room feed the saturation detector, whose alert for
//! a channel names the receiver's owner. A `Channel` record pairs the two sides in the trace.

mod bounded;
mod ends;
mod receiver;
mod unbounded;

pub use ::tokio::sync::mpsc::error;
pub use bounded::{OwnedPermit, Permit, PermitIterator, Sender, WeakSender};
pub use receiver::Receiver;
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use ends::Ends;
use std::panic::Location;

/// A bounded channel with room for `buffer` messages, as [`tokio::sync::mpsc::channel`],
/// named after its creation site. Panics if `buffer` is 0, as tokio's.
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    let site = Location::caller();
    bounded::make(Ends::new(site, None, buffer), buffer, site)
}

/// [`channel`], with reports and traces calling it `name`.
#[track_caller]
pub fn channel_named<T>(name: impl AsRef<str>, buffer: usize) -> (Sender<T>, Receiver<T>) {
    let site = Location::caller();
    bounded::make(Ends::new(site, Some(name.as_ref()), buffer), buffer, site)
}

/// An unbounded channel, as [`tokio::sync::mpsc::unbounded_channel`] (its senders never wait;
/// its receiver's waits are recorded).
#[track_caller]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let site = Location::caller();
    unbounded::make(Ends::new(site, None, 0), site)
}

/// [`unbounded_channel`], with reports and traces calling it `name`.
#[track_caller]
pub fn unbounded_channel_named<T>(
    name: impl AsRef<str>,
) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let site = Location::caller();
    unbounded::make(Ends::new(site, Some(name.as_ref()), 0), site)
}
