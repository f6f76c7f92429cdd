//! Decoding and analysis of a trace, with no GUI code in it: the CLI and the desktop viewer
//! both read a trace through [`Model`].
//!
//! [`Model::from_trace`] resolves the definitions (strings, actors, classes, locks, frames,
//! stacks), pairs every `WaitBegin` with its `WaitEnd`, keeps the last `ClassStats` per class
//! and parses alerts. The analyses built on it live in [`table`] (lock table, contended sites,
//! per-actor totals) and [`flame`] (folded wait and hold stacks).

pub mod causal;
mod decode;
pub mod diff;
mod filter;
pub mod flame;
pub mod flame_tree;
pub mod fleet;
mod hash;
pub mod live;
mod load;
mod open_waits;
pub mod pools;
pub mod sandwich;
pub mod sched;
mod series;
pub mod spans;
mod store;
pub mod table;
#[cfg(test)]
pub(crate) mod tests_support;
pub mod timeline;
mod trace;
mod types;
pub mod waitfor;

pub use decode::ModelBuilder;
pub use diff::{DiffNode, LockDelta, diff_tree, lock_deltas, stack_alignment};
pub use filter::Filter;
pub use flame::{FlameKind, FoldedStack};
pub use flame_tree::{FlameNode, FlameOrder, FlameTree};
pub use hash::{IdHasher, IdMap};
pub use load::{load, load_with_progress};
pub use sandwich::{FrameCost, Sandwich};
pub use store::{HoldIter, Holds, WaitIter, Waits};
pub use table::{ActorRow, FiguresFrom, HolderCount, LockRow, SiteRow};
pub use timeline::{HeldAtEnd, Lane, LockTrack, Span, SpanKind};
pub use trace::Model;
pub use types::{
    Actor, Alert, Chaos, Class, ClassStats, Frame, Hold, Integrity, LockInstance, Wait, WaitState,
};
pub use waitfor::{WaitEdge, WaitForGraph};
