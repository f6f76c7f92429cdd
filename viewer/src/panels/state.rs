//! Each panel's own state (sort order, zoom, caches of what it computed), kept per open trace
//! in [`TraceView`](super::TraceView). The panels' drawing code is in their own files.

use std::sync::Arc;

use super::job::Job;
use crate::model::causal::CausalProfile;
use crate::model::diff::{DiffNode, LockDelta};
use crate::model::pools::{LEAK_THRESHOLD_NS, PoolRow};
use crate::model::{FlameOrder, FlameTree, FrameCost, Lane, Model, Sandwich, WaitForGraph};

// ----- locks -----

/// Columns of the lock table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Column {
    /// Lock name.
    Name,
    /// Acquisitions.
    Acquisitions,
    /// Contentions.
    Contentions,
    /// Contentions per acquisition.
    ContentionPct,
    /// Wait p50.
    WaitP50,
    /// Wait p90.
    WaitP90,
    /// Wait p99.
    WaitP99,
    /// Longest wait.
    WaitMax,
    /// Summed wait.
    #[default]
    WaitTotal,
    /// Hold p50.
    HoldP50,
    /// Hold p99.
    HoldP99,
    /// Longest hold.
    HoldMax,
    /// Most simultaneous waiters.
    MaxWaiters,
    /// Waits that never ended.
    StillWaiting,
}

/// The table's sort order, and what its last save did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocksState {
    /// Sorted by this column.
    pub sort: Column,
    /// Largest first.
    pub descending: bool,
    /// What the last "Save as CSV" did: the file written, or why it was not.
    pub saved: Option<Result<std::path::PathBuf, String>>,
}

impl Default for LocksState {
    fn default() -> Self {
        LocksState {
            sort: Column::WaitTotal,
            descending: true,
            saved: None,
        }
    }
}

// ----- flame -----

/// The flamegraph's controls and cached tree.
#[derive(Debug, Default)]
pub struct FlameState {
    /// Hold time instead of wait time.
    pub hold: bool,
    /// Sibling order.
    pub order: FlameOrder,
    /// Lock first, callers outward (the inverted view).
    pub inverted: bool,
    /// Highlight frames containing this (case-insensitive).
    pub search: String,
    /// The node the view is zoomed to (0: the root).
    pub zoom: usize,
    pub(super) tree: Job<FlameTree>,
    /// The node under the pointer, for the figures line.
    pub hovered: Option<usize>,
    /// The sandwich view (a table of frames; the callers and callees of the picked one)
    /// instead of the flame graph.
    pub sandwich: bool,
    /// The frame the sandwich is about.
    pub picked: Option<String>,
    pub(super) costs: Job<Vec<FrameCost>>,
    pub(super) halves: Job<Sandwich>,
    /// Zoom and hover of the sandwich's callers graph.
    pub callers: GraphFocus,
    /// Zoom and hover of the sandwich's callees graph.
    pub callees: GraphFocus,
    /// What the last "Save SVG" did: the file written, or why not.
    pub saved: Option<Result<std::path::PathBuf, String>>,
}

/// What one drawn flame graph keeps between frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphFocus {
    /// The node the graph is zoomed to (0: the root).
    pub zoom: usize,
    /// The node under the pointer.
    pub hovered: Option<usize>,
}

impl FlameState {
    /// Drops the cached tree (the selection or the mode changed).
    pub fn invalidate(&mut self) {
        self.tree = Job::Empty;
        self.zoom = 0;
        self.hovered = None;
        self.costs = Job::Empty;
        self.forget_halves();
    }

    /// Drops the sandwich's two graphs (another frame was picked).
    pub fn forget_halves(&mut self) {
        self.halves = Job::Empty;
        self.callers = GraphFocus::default();
        self.callees = GraphFocus::default();
    }
}

// ----- timeline -----

/// The visible time window and the cached lanes.
#[derive(Debug, Default)]
pub struct TimelineState {
    /// Visible window `[from, to]` in ns; `None`: the whole trace.
    pub window: Option<(f64, f64)>,
    /// The lanes and the model they index (the trace narrowed to the selected lock only).
    /// With a lock selected, its track too.
    pub(super) lanes: Job<(
        std::sync::Arc<crate::model::Model>,
        Vec<Lane>,
        Option<crate::model::LockTrack>,
    )>,
    pub(super) drag_from: Option<f64>,
    /// Actors in the order their lanes were first shown: a lane keeps its row as a live
    /// trace grows (new actors go below), however the lanes are recomputed.
    pub(super) order: Vec<u64>,
}

impl TimelineState {
    /// Drops the cached lanes (the selection changed).
    pub fn invalidate(&mut self) {
        self.lanes = Job::Empty;
    }
}

// ----- waitfor -----

/// The chosen instant and the cached graph.
#[derive(Debug, Default)]
pub struct WaitForState {
    /// The instant; `None`: the busiest one.
    pub at_ns: Option<u64>,
    pub(super) busiest: Option<u64>,
    pub(super) graph: Option<WaitForGraph>,
}

impl WaitForState {
    /// Drops what depends on the selection.
    pub fn invalidate(&mut self) {
        self.busiest = None;
        self.graph = None;
    }
}

// ----- diff -----

/// The chosen base and the comparison, computed once per base and selection.
#[derive(Debug, Default)]
pub struct DiffState {
    /// Label of the base trace's tab.
    pub base: Option<String>,
    pub(super) cache: Option<(String, Vec<LockDelta>, Vec<DiffNode>)>,
}

impl DiffState {
    /// Drops the comparison (the selection changed).
    pub fn invalidate(&mut self) {
        self.cache = None;
    }
}

// ----- pools -----

/// The pool rows of the trace shown, computed once per model.
#[derive(Debug, Default)]
pub struct PoolsState {
    pub(super) rows: Option<(usize, Vec<PoolRow>)>,
}

impl PoolsState {
    pub(super) fn rows(&mut self, model: &Arc<Model>) -> &[PoolRow] {
        let key = Arc::as_ptr(model) as usize;
        if self.rows.as_ref().is_none_or(|(k, _)| *k != key) {
            self.rows = Some((key, model.pool_rows(LEAK_THRESHOLD_NS)));
        }
        self.rows.as_ref().map_or(&[], |(_, r)| r.as_slice())
    }
}

// ----- causal -----

/// The causal profile of the trace shown, computed once per model (a long run keeps tens of
/// thousands of experiments; a hover repaints the panel).
#[derive(Debug, Default)]
pub struct CausalState {
    pub(super) profile: Option<(usize, Arc<CausalProfile>)>,
}

impl CausalState {
    pub(super) fn profile(&mut self, model: &Arc<Model>) -> Arc<CausalProfile> {
        let key = Arc::as_ptr(model) as usize;
        match &self.profile {
            Some((k, p)) if *k == key => Arc::clone(p),
            _ => {
                let p = Arc::new(model.causal_profile());
                self.profile = Some((key, Arc::clone(&p)));
                p
            }
        }
    }
}

/// What the Processes panel computed for one set of open traces (by their labels).
#[derive(Debug, Default)]
pub struct ProcessesState {
    pub(super) cache: Option<(Vec<String>, Vec<crate::model::fleet::FleetRow>)>,
}
