//! One egui view per analysis of [`crate::model`]; drawing functions end in `_ui`.
//!
//! A [`TraceView`] is one open trace: its model, the user's selection (a lock, a time
//! range) and the state of each panel. Selecting in one panel filters the others.

pub mod alerts;
pub mod diff;
pub mod diff_flame;
pub mod flame;
mod job;
mod lane_paint;
mod lock_track;
pub mod locks;
pub mod overview;
pub mod pools;
pub mod processes;
pub mod sched;
mod show;
mod state;
pub mod style;
pub mod timeline;
mod view;
pub mod waitfor;

pub use style::{ns, signed_ns};
pub use view::{OtherTrace, Panel, TraceView};
