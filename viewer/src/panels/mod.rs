//! One egui view per analysis of [`crate::model`]; drawing functions end in `_ui`.
//!
//! A [`TraceView`] is one open trace: its model, the user's selection (a lock, a time
//! range) and the state of each panel. Selecting in one panel filters the others.

pub mod alerts;
pub mod diff;
pub mod diff_flame;
pub mod flame;
pub mod locks;
pub mod overview;
pub mod style;
pub mod timeline;
pub mod waitfor;

use std::path::PathBuf;

use crate::model::{Filter, LockRow, Model};

pub use style::{ns, signed_ns};

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
    /// Detector reports.
    Alerts,
    /// Per-lock deltas against another open trace.
    Diff,
}

impl Panel {
    /// Every panel, in tab order.
    pub const ALL: [Panel; 7] = [
        Panel::Overview,
        Panel::Locks,
        Panel::Flamegraph,
        Panel::Timeline,
        Panel::WaitFor,
        Panel::Alerts,
        Panel::Diff,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Overview => "Overview",
            Panel::Locks => "Locks",
            Panel::Flamegraph => "Flamegraph",
            Panel::Timeline => "Timeline",
            Panel::WaitFor => "Wait-for graph",
            Panel::Alerts => "Alerts",
            Panel::Diff => "Diff",
        }
    }
}

/// Another open trace, offered as the base of a diff.
#[derive(Debug)]
pub struct OtherTrace<'a> {
    /// Its tab label.
    pub label: String,
    /// Its model.
    pub model: &'a Model,
}

/// One open trace and what the user selected in it.
#[derive(Debug)]
pub struct TraceView {
    /// Where it came from.
    pub path: PathBuf,
    /// The whole trace.
    pub model: Model,
    /// The current panel.
    pub panel: Panel,
    filter: Filter,
    /// The trace narrowed by `filter` (`None`: nothing selected, the whole trace): what
    /// every panel but the lock table shows.
    pub(super) narrowed: Option<Model>,
    /// Lock rows of the time range (not narrowed to the selected lock, so another can be
    /// picked).
    rows: Vec<LockRow>,
    /// Locks panel state.
    pub locks: locks::LocksState,
    /// Flamegraph panel state.
    pub flame: flame::FlameState,
    /// Timeline panel state.
    pub timeline: timeline::TimelineState,
    /// Wait-for panel state.
    pub waitfor: waitfor::WaitForState,
    /// Diff panel state.
    pub diff: diff::DiffState,
}

impl TraceView {
    /// A view of `model`, loaded from `path`, showing the overview.
    pub fn new(path: PathBuf, model: Model) -> Self {
        let mut v = TraceView {
            path,
            narrowed: None,
            rows: Vec::new(),
            model,
            panel: Panel::Overview,
            filter: Filter::default(),
            locks: Default::default(),
            flame: Default::default(),
            timeline: Default::default(),
            waitfor: Default::default(),
            diff: Default::default(),
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
        self.narrowed.as_ref().unwrap_or(&self.model)
    }

    /// Lock rows of the selected time range.
    pub fn rows(&self) -> &[LockRow] {
        &self.rows
    }

    /// Changes the selection and recomputes what depends on it.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        self.narrowed = (!filter.is_empty()).then(|| self.model.filtered(&filter));
        let range_only = Filter {
            class: None,
            ..filter
        };
        self.rows = if range_only.is_empty() {
            self.model.lock_rows()
        } else {
            self.model.filtered(&range_only).lock_rows()
        };
        self.flame.invalidate();
        self.timeline.invalidate();
        self.waitfor.invalidate();
        self.diff.invalidate();
    }

    /// Selects lock class `class`, or clears the selection when it is already selected.
    pub fn toggle_class(&mut self, class: u64) {
        let class = (self.filter.class != Some(class)).then_some(class);
        self.set_filter(Filter {
            class,
            ..self.filter
        });
    }

    /// Draws the panel tabs, the selection bar and the current panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, others: &[OtherTrace<'_>]) {
        ui.horizontal(|ui| {
            for p in Panel::ALL {
                ui.selectable_value(&mut self.panel, p, p.title());
            }
        });
        self.filter_bar_ui(ui);
        ui.separator();
        match self.panel {
            Panel::Overview => overview::overview_ui(ui, self),
            Panel::Locks => locks::locks_ui(ui, self),
            Panel::Flamegraph => flame::flame_ui(ui, self),
            Panel::Timeline => timeline::timeline_ui(ui, self),
            Panel::WaitFor => waitfor::waitfor_ui(ui, self),
            Panel::Alerts => alerts::alerts_ui(ui, self),
            Panel::Diff => diff::diff_ui(ui, self, others),
        }
    }

    fn filter_bar_ui(&mut self, ui: &mut egui::Ui) {
        if self.filter.is_empty() {
            return;
        }
        ui.horizontal(|ui| {
            ui.label("Showing only:");
            if let Some(c) = self.filter.class {
                let name = self.model.class_name(c).to_owned();
                if ui
                    .button(format!("lock {name} ×"))
                    .on_hover_text("Show every lock")
                    .clicked()
                {
                    self.set_filter(Filter {
                        class: None,
                        ..self.filter
                    });
                }
            }
            if let Some((a, b)) = self.filter.range_ns
                && ui
                    .button(format!("time {} – {} ×", ns(a), ns(b)))
                    .on_hover_text("Show the whole trace")
                    .clicked()
            {
                self.set_filter(Filter {
                    range_ns: None,
                    ..self.filter
                });
            }
        });
    }
}
