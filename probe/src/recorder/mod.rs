//! The recorder: one named thread (`lockscope-recorder`) that takes everything out of the sink,
//! resolves stacks to symbols, and writes the trace to a file and to the live stream alike.
//!
//! User threads never wait for it: each writes into its own buffer in the sink, which the
//! recorder swaps for an empty one. A full buffer drops events and counts them; the count is
//! written into the trace.

mod error;
mod live;
mod open_waits;
mod recording;
mod resolver;
mod session;
mod writer;

pub use error::RecordError;
pub use live::{ClientFrame, ClientFrames, LiveViewer};
pub(crate) use recording::keep_env_recording;
pub use recording::{Recorder, Recording};
pub(crate) use session::finish_active;
pub use session::flush;

/// The recorder's internal locks, for the fork hooks (outer ones first).
pub(crate) fn fork_locks() -> Vec<&'static dyn crate::raw::ForkLock> {
    let mut v = Vec::with_capacity(2);
    v.extend(recording::fork_locks());
    v.extend(session::fork_locks());
    v
}
