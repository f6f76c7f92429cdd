//! The probe's OS-facing ground: stack walking, the OS thread id, the exit and fork hooks, the
//! locks held across a fork, and where the probe's servers may listen.

mod double;
mod fork_lock;
mod hash;
mod net;
mod origin;
mod os;
pub(crate) mod shim;
mod stack;

pub(crate) use double::DoubleBuf;
pub(crate) use fork_lock::ForkLock;
pub(crate) use hash::WordHasher;
pub(crate) use net::{ListenAddr, listen_addrs};
pub(crate) use origin::{Origin, SideBox};
pub(crate) use os::{
    current_tid, register_after_fork, register_at_exit, register_fork_handlers, thread_rusage,
};
pub(crate) use stack::{MAX_FRAMES, RawStack, capture, walk};

use std::panic::Location;

/// A placeholder location for slots read before they were ever written.
#[track_caller]
fn unknown_location() -> &'static Location<'static> {
    Location::caller()
}

/// Turns an address stored by [`crate::actor`] back into the `&'static Location` it came from.
///
/// Held-list slots store `&'static Location` pointers as integers so they can sit in atomics;
/// the actor's sequence lock guarantees a snapshot never mixes a pointer with another write.
pub(crate) fn location_from_addr(addr: usize) -> &'static Location<'static> {
    if addr == 0 {
        return unknown_location();
    }
    // SAFETY: every non-zero value stored in a held-list slot's `site` was produced from a
    // `&'static Location<'static>` (see `ActorShared::write_slot`), and snapshots are only
    // used when their sequence numbers match, so the address is one of those, still valid
    // for 'static.
    unsafe { &*(addr as *const Location<'static>) }
}
