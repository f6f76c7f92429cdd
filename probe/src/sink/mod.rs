//! The sink: every byte bound for the recorder passes through here, and nothing else reaches
//! it.
//!
//! Writers (the primitives, detectors, sampler) put three kinds of bytes in:
//! - **events** into their own thread's [`ThreadSink`] (never waits; a full buffer drops the
//!   event and counts it);
//! - **raw stacks** beside the events, resolved later by the recorder's symbolizer;
//! - **definitions** (strings, actors, classes, lock instances, spans, frames) and **alerts**
//!   into one [`log`](defs) that is never dropped.
//!
//! Readers (the recorder, which feeds the trace file and the live stream alike) take them out
//! only through [`Reader::collect`], which enforces the format's one ordering rule in code:
//! a definition is written before any event that refers to it.
//!
//! The recording gate lives here too: whether a recording runs, its session number, and how
//! to wake the recorder.

mod defs;
mod gate;
mod reader;
mod thread;

pub(crate) use defs::{define_with, intern, site_id, text_site_id};
pub(crate) use gate::{
    alert, close, close_after_fork, collector_done, forked, may_collect, open, recording,
    recording_session, session, still_recording,
};
pub(crate) use reader::{Reader, dropped};
pub(crate) use thread::{ThreadSink, try_collector};

/// The sink's internal locks, for the fork hooks (outer ones first).
pub(crate) fn fork_locks() -> Vec<&'static dyn crate::raw::ForkLock> {
    let mut v = Vec::with_capacity(3);
    v.extend(thread::fork_locks());
    v.extend(defs::fork_locks());
    v.extend(gate::fork_locks());
    v
}
