//! [`TraceView`]: one open trace, the user's selection (a lock, a time range) applied to it
//! (on a background thread for large traces), and each panel's state; [`Panel`], the views.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use super::state::{
    CausalState, DiffState, FlameState, LocksState, PoolsState, ProcessesState, TimelineState,
    WaitForState,
};
use crate::model::spans::SpanRow;
use crate::model::{ActorRow, Filter, LockRow, Model, SiteRow};

/// Traces with more waits and holds than this apply a new selection on a background
/// thread, so the window keeps drawing; smaller ones apply it at once.
const BACKGROUND_ABOVE: usize = 200_000;

/// What a selection makes of a trace.
#[derive(Debug)]
struct Narrowed {
    pub(super) filter: Filter,
    model: Option<Arc<Model>>,
    rows: Vec<LockRow>,
}

fn narrow(model: &Model, filter: Filter) -> Narrowed {
    let range_only = Filter {
        class: None,
        ..filter
    };
    let rows = if range_only.is_empty() {
        model.lock_rows()
    } else {
        model.filtered(&range_only).lock_rows()
    };
    Narrowed {
        filter,
        model: (!filter.is_empty()).then(|| Arc::new(model.filtered(&filter))),
        rows,
    }
}

/// The panels, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Panel {
    /// Trace facts, threads, top locks, alerts.
    #[default]
    Overview,
    /// The sortable lock table.
    Locks,
    /// Wait (or hold) time by stack.
    Flamegraph,
    /// A lane per thread.
    Timeline,
    /// Who waits for whom at one instant.
    WaitFor,
    /// Semaphores and bounded channels as pools: in use, capacity and waiters over time.
    Pools,
    /// Detector reports.
    Alerts,
    /// Per-lock deltas against another open trace.
    Diff,
    /// This trace and the other open ones as one, a process each.
    Processes,
    /// What a faster critical section of each lock would buy (causal experiments).
    Causal,
}

impl Panel {
    /// Every panel, in tab order.
    pub const ALL: [Panel; 10] = [
        Panel::Overview,
        Panel::Locks,
        Panel::Flamegraph,
        Panel::Timeline,
        Panel::WaitFor,
        Panel::Pools,
        Panel::Alerts,
        Panel::Diff,
        Panel::Processes,
        Panel::Causal,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Overview => "Overview",
            Panel::Locks => "Locks",
            Panel::Flamegraph => "Flamegraph",
            Panel::Timeline => "Timeline",
            Panel::WaitFor => "Wait-for graph",
            Panel::Pools => "Pools",
            Panel::Alerts => "Alerts",
            Panel::Diff => "Diff",
            Panel::Processes => "Processes",
            Panel::Causal => "Causal",
        }
    }
}

/// Another open trace, offered as the base of a diff.
#[derive(Debug)]
pub struct OtherTrace<'a> {
    /// Its tab label.
    pub label: String,
    /// Its tab's position among the viewer's tabs.
    pub tab: usize,
    /// Its model.
    pub model: &'a Model,
}

/// One open trace and what the user selected in it.
#[derive(Debug)]
pub struct TraceView {
    /// Where it came from.
    pub path: PathBuf,
    /// The whole trace.
    pub model: Arc<Model>,
    /// The current panel.
    pub panel: Panel,
    pub(super) filter: Filter,
    /// The trace narrowed by `filter` (`None`: nothing selected, the whole trace): what
    /// every panel but the lock table shows.
    pub(super) narrowed: Option<Arc<Model>>,
    /// Lock rows of the time range (not narrowed to the selected lock, so another can be
    /// picked).
    rows: Vec<LockRow>,
    /// Locks panel state.
    pub locks: LocksState,
    /// Flamegraph panel state.
    pub flame: FlameState,
    /// Timeline panel state.
    pub timeline: TimelineState,
    /// Wait-for panel state.
    pub waitfor: WaitForState,
    /// Diff panel state.
    pub diff: DiffState,
    /// Pools panel state.
    pub pools: PoolsState,
    /// Processes panel state.
    pub processes: ProcessesState,
    /// Causal panel state.
    pub causal: CausalState,
    /// Contended sites of the selection, once asked for.
    sites: Option<Vec<SiteRow>>,
    /// Per-actor waits of the selection, once asked for.
    actors: Option<Vec<ActorRow>>,
    /// Waits and holds by tracing span of the selection, once asked for.
    spans: Option<Vec<SpanRow>>,
    /// A selection being applied on a background thread.
    pending: Option<Receiver<Narrowed>>,
    /// Repaints the window when a background selection is ready.
    pub(super) ctx: Option<egui::Context>,
    /// A note shown above the panels until dismissed (a `--lock` name the trace lacks).
    pub notice: Option<String>,
}

impl TraceView {
    /// A view of `model`, loaded from `path`, showing the overview.
    pub fn new(path: PathBuf, model: Model) -> Self {
        let mut v = TraceView {
            path,
            narrowed: None,
            rows: Vec::new(),
            model: Arc::new(model),
            panel: Panel::Overview,
            filter: Filter::default(),
            locks: Default::default(),
            flame: Default::default(),
            timeline: Default::default(),
            waitfor: Default::default(),
            diff: Default::default(),
            pools: Default::default(),
            causal: Default::default(),
            processes: Default::default(),
            sites: None,
            actors: None,
            spans: None,
            pending: None,
            ctx: None,
            notice: None,
        };
        v.set_filter(Filter::default());
        v
    }

    /// The current selection.
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// The trace as the panels show it (narrowed by the selection).
    pub fn view(&self) -> &Model {
        self.narrowed.as_deref().unwrap_or(&self.model)
    }

    /// A shared handle on [`TraceView::view`], for background work.
    pub(super) fn view_arc(&self) -> Arc<Model> {
        Arc::clone(self.narrowed.as_ref().unwrap_or(&self.model))
    }

    /// Whether work over the current view is worth a background thread.
    pub(super) fn is_large(&self) -> bool {
        let m = self.view();
        m.waits.len() + m.holds.len() > BACKGROUND_ABOVE
    }

    /// Lock rows of the selected time range.
    pub fn rows(&self) -> &[LockRow] {
        &self.rows
    }

    /// Contended (lock, site) pairs of the selection, computed once per selection.
    pub fn site_rows(&mut self) -> &[SiteRow] {
        if self.sites.is_none() {
            self.sites = Some(self.view().site_rows());
        }
        self.sites.as_deref().unwrap_or_default()
    }

    /// Per-actor waits of the selection, computed once per selection.
    pub fn actor_rows(&mut self) -> &[ActorRow] {
        if self.actors.is_none() {
            self.actors = Some(self.view().actor_rows());
        }
        self.actors.as_deref().unwrap_or_default()
    }

    /// Waits and holds by tracing span of the selection (every class), computed once per
    /// selection.
    pub fn span_rows(&mut self) -> &[SpanRow] {
        if self.spans.is_none() {
            self.spans = Some(self.view().span_rows());
        }
        self.spans.as_deref().unwrap_or_default()
    }

    /// Replaces the trace with a newer one (a live view's latest snapshot), keeping the
    /// panel, the selection and each panel's settings.
    pub fn replace_model(&mut self, model: Model) {
        self.model = Arc::new(model);
        self.set_filter(self.filter);
    }

    /// Changes the selection and recomputes what depends on it: at once for a small trace,
    /// on a background thread for a large one (the panels show the previous selection
    /// until it is ready).
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.pending = None;
        if self.model.waits.len() + self.model.holds.len() <= BACKGROUND_ABOVE {
            self.apply(narrow(&self.model, filter));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let (model, ctx) = (Arc::clone(&self.model), self.ctx.clone());
        let spawned = std::thread::Builder::new()
            .name("lockscope-select".to_owned())
            .spawn(move || {
                // A newer selection may have replaced this one: then nobody listens.
                let _ = tx.send(narrow(&model, filter));
                if let Some(c) = ctx {
                    c.request_repaint();
                }
            });
        match spawned {
            Ok(_) => self.pending = Some(rx),
            Err(_) => self.apply(narrow(&self.model, filter)),
        }
    }

    /// True while a selection is being applied in the background.
    pub fn is_updating(&self) -> bool {
        self.pending.is_some()
    }

    /// Blocks until a background selection is applied and the current panel's background
    /// work is done (for tests and screenshots).
    pub fn finish_background(&mut self) {
        if let Some(rx) = self.pending.take()
            && let Ok(n) = rx.recv()
            && n.filter == self.filter
        {
            self.apply(n);
        }
        self.flame.tree.wait();
        self.timeline.lanes.wait();
    }

    /// True while a selection, a flame tree or the timeline's lanes are being computed.
    pub fn is_busy(&self) -> bool {
        use super::job::Job::Running;
        self.is_updating()
            || matches!(self.flame.tree, Running(_))
            || matches!(self.timeline.lanes, Running(_))
    }

    fn apply(&mut self, n: Narrowed) {
        self.narrowed = n.model;
        self.rows = n.rows;
        self.sites = None;
        self.actors = None;
        self.spans = None;
        self.flame.invalidate();
        self.timeline.invalidate();
        self.waitfor.invalidate();
        self.diff.invalidate();
    }

    pub(super) fn poll_pending(&mut self) {
        let Some(rx) = &self.pending else { return };
        match rx.try_recv() {
            Ok(n) if n.filter == self.filter => {
                self.pending = None;
                self.apply(n);
            }
            Ok(_) | Err(TryRecvError::Disconnected) => self.pending = None,
            Err(TryRecvError::Empty) => {}
        }
    }

    /// Selects lock class `class`, or clears the selection when it is already selected.
    pub fn toggle_class(&mut self, class: u64) {
        let class = (self.filter.class != Some(class)).then_some(class);
        self.set_filter(Filter {
            class,
            ..self.filter
        });
    }
}
