//! A tab of the viewer: an open trace (loading, ready or failed) or a live connection, and
//! how a newly loaded trace is first shown.

use std::path::PathBuf;
use std::time::Instant;

use egui::RichText;

use crate::model::{Alert, Model};
use crate::panels::style::WARN;
use crate::panels::{Panel, TraceView, ns};
use crate::source::{Live, LiveStatus, LiveUpdate, Loading, Source};

/// One open trace.
#[derive(Debug)]
pub struct Tab {
    /// Where it comes from.
    pub source: Source,
    /// Loading, loaded or failed.
    pub state: TabState,
}

/// A tab's progress.
#[derive(Debug)]
pub enum TabState {
    /// Being read on a background thread.
    Loading(Loading),
    /// Ready to look at.
    Ready(Box<TraceView>),
    /// Could not be read: the reason, shown in the window.
    Failed(String),
    /// A live connection and what arrived over it.
    Live(Box<LiveTab>),
}

/// A live connection to a running process.
#[derive(Debug)]
pub struct LiveTab {
    /// The connection, read on its own thread.
    pub live: Live,
    /// Connected, disconnected (and why), or ended.
    pub status: LiveStatus,
    /// The latest snapshot, once data arrived.
    pub view: Option<TraceView>,
    /// Alerts that arrived and were not dismissed yet, oldest first.
    pub popups: Vec<Alert>,
    /// Snapshots received.
    pub snapshots: u64,
    /// When the last snapshot arrived.
    pub updated: Option<Instant>,
    /// Paused: the view stays as it is; the newest snapshot that arrived meanwhile waits
    /// here (alerts still pop up).
    pub paused: Option<Option<Box<Model>>>,
    /// What the last "Save trace" did: the file written and its size, or why not.
    pub saved: Option<Result<(PathBuf, u64), String>>,
}

/// Where "Save trace" writes a live session from `addr` of the process `pid`: a file in the
/// working directory named after both (`127.0.0.1-7878.pid42.lstrace`), so sessions of two
/// runs do not overwrite each other.
pub fn live_trace_path(addr: &str, pid: u32) -> PathBuf {
    crate::panels::beside_trace(std::path::Path::new(addr), &format!("pid{pid}.lstrace"))
}

impl LiveTab {
    /// A tab for a connection that is being opened.
    pub fn new(live: Live) -> Self {
        LiveTab {
            live,
            status: LiveStatus::Connecting,
            view: None,
            popups: Vec::new(),
            snapshots: 0,
            updated: None,
            paused: None,
            saved: None,
        }
    }

    /// Saves everything received so far as a trace file (see [`live_trace_path`]).
    pub fn save_trace(&mut self, addr: &str) {
        let pid = (self.view.as_ref())
            .and_then(|v| v.model.header)
            .map_or(0, |h| h.pid);
        let path = live_trace_path(addr, pid);
        self.saved = Some(self.live.save(&path).map(|n| (path, n)));
    }

    /// Applies one update from the reader thread.
    pub(super) fn apply(&mut self, u: LiveUpdate, addr: &str, look: &FirstLook) {
        match u {
            LiveUpdate::Status(s) => self.status = s,
            LiveUpdate::Alert(a) => {
                // A reconnected stream replays the alerts raised before: those already
                // shown (in the view's model) do not pop up again.
                let seen = (self.view.as_ref()).is_some_and(|v| {
                    (v.model.alerts.iter())
                        .any(|b| (b.ts_ns, &b.kind, &b.text) == (a.ts_ns, &a.kind, &a.text))
                });
                if !seen {
                    self.popups.push(*a);
                }
            }
            LiveUpdate::Snapshot(m) => {
                self.snapshots += 1;
                self.updated = Some(Instant::now());
                if let Some(held) = &mut self.paused {
                    *held = Some(m);
                    return;
                }
                match &mut self.view {
                    Some(v) => v.replace_model(*m),
                    None => self.view = Some(look.apply(PathBuf::from(addr), *m)),
                }
            }
        }
    }

    /// Connects again (after the connection failed or ended). A reader still retrying tries
    /// at once and keeps the session; else a new connection starts one, and what was shown
    /// stays until its first snapshot replaces it.
    pub fn reconnect(&mut self, addr: &str, ctx: Option<&egui::Context>) {
        if self.live.retry_now() {
            return;
        }
        let ctx = ctx.cloned();
        self.live = Source::Live(addr.to_owned()).connect(move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        });
        self.status = LiveStatus::Connecting;
    }

    /// The status line: `live — connected to ADDR`, `live — disconnected: why`, ...
    pub fn status_text(&self, addr: &str) -> String {
        match &self.status {
            LiveStatus::Connecting => format!("live — connecting to {addr}…"),
            LiveStatus::Connected => format!("live — connected to {addr}"),
            LiveStatus::Ended => {
                format!("live — {addr} finished recording; the stream is closed")
            }
            LiveStatus::Disconnected(why) => format!("live — disconnected: {why}"),
        }
    }
}

/// How a newly loaded trace is first shown.
#[derive(Clone, Debug, Default)]
pub struct FirstLook {
    /// The panel it opens on.
    pub panel: Panel,
    /// The lock selected, by name, when the trace has one of that name.
    pub lock: Option<String>,
    /// The time range selected: from, and to (`None`: the trace's end).
    pub range: Option<(u64, Option<u64>)>,
    /// A frame whose sandwich (callers and callees) the Flamegraph panel opens on.
    pub frame: Option<String>,
}

impl FirstLook {
    pub(super) fn apply(&self, path: PathBuf, model: Model) -> TraceView {
        let mut v = TraceView::new(path, model);
        v.panel = self.panel;
        if let Some(f) = &self.frame {
            v.panel = Panel::Flamegraph;
            v.flame.sandwich = true;
            v.flame.picked = Some(f.clone());
        }
        if let Some((from, to)) = self.range {
            let to = to.unwrap_or(v.model.end_ns).max(from + 1);
            v.set_filter(crate::model::Filter {
                range_ns: Some((from, to)),
                ..v.filter()
            });
        }
        let Some(name) = &self.lock else {
            return v;
        };
        let class = (v.model.classes.values()).find(|c| &c.name == name);
        match class.map(|c| c.id) {
            Some(c) => v.toggle_class(c),
            None => {
                let mut names: Vec<&str> = (v.model.classes.values())
                    .map(|c| c.name.as_str())
                    .collect();
                names.sort_unstable();
                names.truncate(12);
                v.notice = Some(format!(
                    "--lock {name}: this trace has no lock of that name, so every lock is shown. \
                     Its locks: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ));
            }
        }
        v
    }
}

/// The live tab's status line: green while connected, amber with the reason once not.
/// Returns true when the user asked to reconnect.
/// What the user asked of a live tab's status bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct LiveAction {
    pub(super) reconnect: bool,
    pub(super) toggle_pause: bool,
    pub(super) save: bool,
}

impl LiveTab {
    /// Freezes the view, or shows the newest data that arrived while it was frozen.
    pub fn toggle_pause(&mut self) {
        match self.paused.take() {
            None => self.paused = Some(None),
            Some(Some(m)) => match &mut self.view {
                Some(v) => v.replace_model(*m),
                None => self.paused = Some(Some(m)),
            },
            Some(None) => {}
        }
    }
}

pub(super) fn live_status_ui(ui: &mut egui::Ui, l: &LiveTab, addr: &str) -> LiveAction {
    let text = l.status_text(addr);
    let mut action = LiveAction::default();
    ui.horizontal_wrapped(|ui| match &l.status {
        LiveStatus::Connected => {
            ui.label(RichText::new(text).color(egui::Color32::from_rgb(90, 200, 120)));
            if let (Some(v), Some(at)) = (&l.view, l.updated) {
                match &l.paused {
                    None => ui.label(format!(
                        "— {} waits and holds, {} into the recording, updated {:.1} s ago",
                        v.model.waits.len() + v.model.holds.len(),
                        ns(v.model.duration_ns()),
                        at.elapsed().as_secs_f32()
                    )),
                    Some(held) => ui.label(
                        RichText::new(format!(
                            "— paused at {} into the recording{}",
                            ns(v.model.duration_ns()),
                            if held.is_some() {
                                "; newer data arrived and shows on Resume"
                            } else {
                                ""
                            }
                        ))
                        .color(WARN),
                    ),
                };
                let (label, hint) = if l.paused.is_some() {
                    ("Resume", "Show the newest data, and follow it again")
                } else {
                    (
                        "Pause",
                        "Hold the view still to look at it; data keeps arriving (alerts still \
                         pop up) and shows on Resume",
                    )
                };
                action.toggle_pause = ui.button(label).on_hover_text(hint).clicked();
            }
        }
        LiveStatus::Disconnected(_) | LiveStatus::Ended => {
            let color = if matches!(l.status, LiveStatus::Ended) {
                ui.visuals().text_color()
            } else {
                WARN
            };
            ui.label(RichText::new(text).color(color));
            action.reconnect = ui
                .button("Reconnect")
                .on_hover_text(format!("Connect to {addr} again"))
                .clicked();
            if l.paused.is_some() {
                action.toggle_pause = ui
                    .button("Resume")
                    .on_hover_text("Show the last data that arrived")
                    .clicked();
            }
        }
        LiveStatus::Connecting => {
            ui.spinner();
            ui.label(text);
        }
    });
    if l.view.is_some() {
        ui.horizontal_wrapped(|ui| {
            action.save = ui
                .button("Save trace")
                .on_hover_text(
                    "Write everything received so far to a trace file in the working directory, \
                     to open again or give to lockscope report",
                )
                .clicked();
            match &l.saved {
                Some(Ok((p, n))) => {
                    ui.label(format!(
                        "saved {} ({})",
                        p.display(),
                        crate::units::bytes(*n)
                    ));
                }
                Some(Err(why)) => {
                    ui.label(RichText::new(why).color(WARN));
                }
                None => {}
            }
        });
    }
    ui.separator();
    action
}

pub(super) fn finish(source: &Source, r: Result<Model, String>, look: &FirstLook) -> TabState {
    match r {
        Ok(m) => TabState::Ready(Box::new(look.apply(source.path().to_owned(), m))),
        Err(e) => TabState::Failed(e),
    }
}
