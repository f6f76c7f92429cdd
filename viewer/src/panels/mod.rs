//! One egui view per analysis of [`crate::model`]; drawing functions end in `_ui`.
//!
//! A [`TraceView`] is one open trace: its model, the user's selection (a lock, a time
//! range) and the state of each panel. Selecting in one panel filters the others.

pub mod alerts;
mod axes;
pub mod causal;
pub mod diff;
pub mod diff_flame;
pub mod flame;
pub mod flame_graph;
mod job;
mod lane_paint;
mod lock_track;
pub mod locks;
pub mod overview;
pub mod pools;
pub mod processes;
pub mod sandwich;
pub mod sched;
mod show;
mod state;
pub mod style;
pub mod timeline;
mod view;
pub mod waitfor;

pub use style::{ns, signed_ns};

/// Where a view of the trace at `trace` is saved (`what`: `locks.csv`, `timeline.png`, ...):
/// beside the trace, `.what` added to its name; a live tab's address becomes a file name in
/// the working directory.
pub fn beside_trace(trace: &std::path::Path, what: &str) -> std::path::PathBuf {
    let name = trace.file_name().map_or_else(
        || trace.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let name: String = (name.chars())
        .map(|c| {
            if c.is_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    trace.with_file_name(format!("{name}.{what}"))
}
pub use view::{OtherTrace, Panel, TraceView};
