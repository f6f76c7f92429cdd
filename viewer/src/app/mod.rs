//! The desktop viewer: tabs of open traces, each loading on a background thread, and live
//! connections to running processes, read on a background thread each.
//!
//! [`ViewerApp::show_ui`] draws everything into a [`egui::Ui`], so tests drive the app
//! without a window; [`run`](crate::window::run) puts it in an eframe window.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use egui::RichText;

mod chooser;
mod help;
pub mod snapshot;
mod tab;

pub use tab::{FirstLook, LiveTab, Tab, TabState, live_trace_path};
use tab::{finish, live_status_ui};

use crate::model::Model;
use crate::panels::style::{CYCLE, WARN};
use crate::panels::{OtherTrace, Panel, TraceView, ns};
use crate::source::{LiveStatus, LiveUpdate, Source};

/// The id of the top bar's path box (Ctrl+O focuses it).
const PATH_INPUT: &str = "viewer-path-input";

/// Whether two paths name one file (the same inode when both exist, else the same text).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The viewer.
#[derive(Debug, Default)]
pub struct ViewerApp {
    /// Open traces.
    pub tabs: Vec<Tab>,
    /// The tab shown.
    pub active: usize,
    /// The "open a path" box.
    pub path_input: String,
    /// How newly loaded traces are first shown.
    pub first_look: FirstLook,
    /// A file dialog open on its own thread: the files picked arrive here.
    dialog: Option<Receiver<Vec<PathBuf>>>,
    /// "Save PNG": the screenshot asked for, and what the last one did.
    pub shots: snapshot::Shots,
    /// A note for the top bar (why Browse… cannot open a dialog here), until the next open.
    pub notice: Option<String>,
    /// The keyboard and mouse help is shown.
    pub help: bool,
}

impl ViewerApp {
    /// An empty viewer.
    pub fn new() -> Self {
        ViewerApp::default()
    }

    /// Starts loading `path` in a new tab; `ctx` is repainted as loading progresses. A file
    /// already open is loaded again in its own tab (it may have been recorded anew), not
    /// opened twice.
    pub fn open(&mut self, path: PathBuf, ctx: Option<&egui::Context>) {
        self.notice = None;
        let source = Source::File(path);
        let ctx = ctx.cloned();
        let loading = source.load(move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        });
        let same = |t: &Tab| match (&t.source, &source) {
            (Source::File(a), Source::File(b)) => same_file(a, b),
            _ => false,
        };
        let tab = Tab {
            state: TabState::Loading(loading),
            source: source.clone(),
        };
        match self.tabs.iter().position(same) {
            Some(i) => {
                self.tabs[i] = tab;
                self.active = i;
            }
            None => {
                self.tabs.push(tab);
                self.active = self.tabs.len() - 1;
            }
        }
    }

    /// Closes tab `i`; the tab shown stays shown (or its right neighbour, when it was `i`).
    pub fn close(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        self.tabs.remove(i);
        if i < self.active {
            self.active -= 1;
        }
        self.active = self.active.min(self.tabs.len().saturating_sub(1));
    }

    /// Connects to a running process's live stream at `addr` (`HOST:PORT`, the value of its
    /// `LOCKSCOPE_LIVE`) in a new tab; `ctx` is repainted as data arrives.
    pub fn connect(&mut self, addr: String, ctx: Option<&egui::Context>) {
        let source = Source::Live(addr);
        let ctx = ctx.cloned();
        let live = source.connect(move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        });
        self.tabs.push(Tab {
            source,
            state: TabState::Live(Box::new(LiveTab::new(live))),
        });
        self.active = self.tabs.len() - 1;
    }

    /// Waits up to `timeout` for the next update of any live tab and applies it; false when
    /// none came (for tests: wait for data without polling a window).
    pub fn wait_for_live(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            for t in &mut self.tabs {
                if let (TabState::Live(l), Source::Live(addr)) = (&mut t.state, &t.source)
                    && let Some(u) = l.live.try_recv()
                {
                    l.apply(u, addr, &self.first_look);
                    return true;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Block on the first live tab's channel for a slice of the time left.
            let first = (self.tabs.iter_mut()).find_map(|t| match (&mut t.state, &t.source) {
                (TabState::Live(l), Source::Live(addr)) => Some((l, addr)),
                _ => None,
            });
            let Some((l, addr)) = first else { return false };
            if let Some(u) = l.live.recv_timeout(left.min(Duration::from_millis(50))) {
                l.apply(u, addr, &self.first_look);
                return true;
            }
        }
    }

    /// The active tab's live connection, when it is one.
    pub fn active_live(&mut self) -> Option<&mut LiveTab> {
        match &mut self.tabs.get_mut(self.active)?.state {
            TabState::Live(l) => Some(l),
            _ => None,
        }
    }

    /// Adds an already decoded trace as a new tab.
    pub fn add_model(&mut self, path: PathBuf, model: Model) {
        let view = self.first_look.apply(path.clone(), model);
        self.tabs.push(Tab {
            source: Source::File(path),
            state: TabState::Ready(Box::new(view)),
        });
        self.active = self.tabs.len() - 1;
    }

    /// Blocks until every tab finished loading and applying its first selection (for
    /// tests and screenshots).
    pub fn wait_for_loads(&mut self) {
        for t in &mut self.tabs {
            if let TabState::Loading(l) = &t.state {
                let r = l.wait();
                t.state = finish(&t.source, r, &self.first_look);
            }
            if let TabState::Ready(v) = &mut t.state {
                v.finish_background();
            }
            if let TabState::Live(l) = &mut t.state
                && let Some(v) = &mut l.view
            {
                v.finish_background();
            }
        }
    }

    /// Where "Save PNG" writes the view shown (`None`: no view is shown).
    fn png_target(&mut self) -> Option<PathBuf> {
        let trace = self.tabs.get(self.active)?.source.path().to_owned();
        let panel = self.active_view()?.panel.title();
        Some(snapshot::png_path(&trace, panel))
    }

    /// True while some tab is still loading.
    pub fn is_loading(&self) -> bool {
        (self.tabs.iter()).any(|t| matches!(t.state, TabState::Loading(_)))
    }

    /// True while some tab is loading or applying a selection in the background.
    pub fn is_busy(&self) -> bool {
        (self.tabs.iter()).any(|t| match &t.state {
            TabState::Loading(_) => true,
            TabState::Ready(v) => v.is_busy(),
            TabState::Failed(_) => false,
            // Busy until the first data (or the reason there is none) arrived.
            TabState::Live(l) => match &l.view {
                Some(v) => v.is_busy(),
                None => matches!(l.status, LiveStatus::Connecting | LiveStatus::Connected),
            },
        })
    }

    /// The active tab's view, once loaded.
    pub fn active_view(&mut self) -> Option<&mut TraceView> {
        match &mut self.tabs.get_mut(self.active)?.state {
            TabState::Ready(v) => Some(v),
            TabState::Live(l) => l.view.as_mut(),
            _ => None,
        }
    }

    /// Opens the desktop's file dialog on a named thread, so the window keeps drawing. Where
    /// no chooser can exist (no desktop portal on a session bus, no zenity), says so instead.
    fn browse(&mut self, ctx: &egui::Context) {
        if !chooser::available() {
            self.notice = Some(
                "No file chooser here (no desktop portal on a D-Bus session, no zenity): type \
                 the trace's path in the box, or drop the file on the window."
                    .to_owned(),
            );
            return;
        }
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("lockscope-file-dialog".to_owned())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title("Open lockscope traces")
                    .add_filter("lockscope trace", &["lstrace", "lst", "trace"])
                    .add_filter("any file", &["*"])
                    .pick_files()
                    .unwrap_or_default();
                let _ = tx.send(picked);
                ctx.request_repaint();
            });
        if spawned.is_ok() {
            self.dialog = Some(rx);
        }
    }

    fn poll_dialog(&mut self, ctx: &egui::Context) {
        let Some(rx) = &self.dialog else { return };
        match rx.try_recv() {
            Ok(paths) => {
                self.dialog = None;
                for p in paths {
                    self.open(p, Some(ctx));
                }
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => self.dialog = None,
        }
    }

    fn poll_loads(&mut self) {
        for t in &mut self.tabs {
            if let TabState::Loading(l) = &t.state
                && let Some(r) = l.try_finish()
            {
                t.state = finish(&t.source, r, &self.first_look);
            }
            if let (TabState::Live(l), Source::Live(addr)) = (&mut t.state, &t.source) {
                // Bounded per frame, so a flood of updates cannot stall drawing; of the
                // snapshots waiting, only the newest is worth showing.
                let mut newest = None;
                for _ in 0..64 {
                    match l.live.try_recv() {
                        Some(LiveUpdate::Snapshot(m)) => newest = Some(m),
                        Some(u) => l.apply(u, addr, &self.first_look),
                        None => break,
                    }
                }
                if let Some(m) = newest {
                    l.apply(LiveUpdate::Snapshot(m), addr, &self.first_look);
                }
            }
        }
    }

    /// Every live tab's undismissed alerts, each in a window at the top right.
    fn alert_popups_ui(&mut self, ctx: &egui::Context) {
        let mut y = 0.0;
        let mut show_alerts = None;
        for (ti, t) in self.tabs.iter_mut().enumerate() {
            let TabState::Live(l) = &mut t.state else {
                continue;
            };
            let mut dismissed = Vec::new();
            let model = l.view.as_ref().map(|v| &v.model);
            for (i, a) in l.popups.iter().enumerate() {
                let actors = model.map_or_else(|| a.actors.clone(), |m| m.alert_actors(a));
                let title = format!("Alert: {} ({})", a.kind, t.source.label());
                egui::Window::new(title)
                    .id(egui::Id::unique((
                        "live-alert",
                        ti,
                        a.ts_ns,
                        a.kind.as_str(),
                    )))
                    .anchor(egui::Align2::RIGHT_TOP, [-16.0 - y / 2.0, 40.0 + y])
                    .collapsible(false)
                    .resizable(false)
                    .default_width(420.0)
                    .show(ctx, |ui| {
                        ui.label(RichText::new(&a.kind).color(CYCLE).strong().size(16.0));
                        ui.label(format!("at {} into the recording", ns(a.ts_ns)));
                        if !a.locks.is_empty() {
                            ui.label(format!("Locks: {}", a.locks.join(", ")));
                        }
                        if !actors.is_empty() {
                            ui.label(format!("Threads and tasks: {}", actors.join(", ")));
                        }
                        egui::ScrollArea::vertical()
                            .max_height(160.0)
                            .show(ui, |ui| {
                                ui.add(
                                    egui::Label::new(RichText::new(&a.text).monospace())
                                        .selectable(true),
                                );
                            });
                        ui.horizontal(|ui| {
                            if ui.button("Dismiss").clicked() {
                                dismissed.push(i);
                            }
                            if ui.button("Show in Alerts").clicked() {
                                dismissed.push(i);
                                show_alerts = Some(ti);
                            }
                        });
                    });
                // Cascaded, so every title bar shows.
                y += 32.0;
            }
            for i in dismissed.into_iter().rev() {
                l.popups.remove(i);
            }
        }
        if let Some(ti) = show_alerts {
            self.active = ti;
            if let Some(v) = self.active_view() {
                v.panel = Panel::Alerts;
            }
        }
    }

    /// Draws the whole viewer into `ui`.
    pub fn show_ui(&mut self, ui: &mut egui::Ui) {
        self.poll_loads();
        self.shots.poll();
        self.poll_dialog(&ui.ctx().clone());
        let dropped: Vec<PathBuf> = ui.input(|i| {
            (i.raw.dropped_files.iter())
                .map(|f| f.path().to_owned())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        for p in dropped {
            self.open(p, Some(ui.ctx()));
        }
        let hovering_files = ui.input(|i| !i.raw.hovered_files.is_empty());
        egui::Panel::top("viewer-top").show(ui, |ui| {
            self.top_bar_ui(ui);
            if hovering_files {
                ui.label(RichText::new("Drop to open each trace in a new tab").strong());
            }
        });
        egui::CentralPanel::default().show(ui, |ui| self.body_ui(ui));
        self.alert_popups_ui(&ui.ctx().clone());
        help::help_ui(&ui.ctx().clone(), &mut self.help);
    }

    /// Escape clears the selection, Ctrl+W closes the tab, Ctrl+O goes to the path box, F1
    /// shows the help ([`help::KEYS`] lists them).
    fn shortcuts(&mut self, ui: &egui::Ui) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let pressed = |m, k| ui.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)));
        if pressed(Modifiers::NONE, Key::F1) {
            self.help = !self.help;
        }
        if pressed(Modifiers::COMMAND, Key::W) && !self.tabs.is_empty() {
            self.close(self.active);
        }
        if pressed(Modifiers::COMMAND, Key::O) {
            ui.memory_mut(|m| m.request_focus(egui::Id::unique(PATH_INPUT)));
        }
        let path_box_focused = ui.memory(|m| m.has_focus(egui::Id::unique(PATH_INPUT)));
        if !path_box_focused
            && pressed(Modifiers::NONE, Key::Escape)
            && let Some(v) = self.active_view()
            && !v.filter().is_empty()
        {
            v.set_filter(crate::model::Filter::default());
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        self.shortcuts(ui);
        ui.horizontal(|ui| {
            ui.strong("lockscope");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.path_input)
                    .id(egui::Id::unique(PATH_INPUT))
                    .hint_text("Path to a trace file")
                    .desired_width(320.0),
            );
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open").clicked() || enter) && !self.path_input.trim().is_empty() {
                let p = PathBuf::from(self.path_input.trim());
                self.path_input.clear();
                self.open(p, Some(ui.ctx()));
            }
            let connect = ui.button("Connect").on_hover_text(
                "Follow a running program live: type its LOCKSCOPE_LIVE address (HOST:PORT) \
                 in the box",
            );
            if connect.clicked() && !self.path_input.trim().is_empty() {
                let addr = self.path_input.trim().to_owned();
                self.path_input.clear();
                self.connect(addr, Some(ui.ctx()));
            }
            let browse = ui.add_enabled(self.dialog.is_none(), egui::Button::new("Browse…"));
            let hint = "Pick trace files with the desktop's file chooser (its portal, or zenity)";
            if browse.on_hover_text(hint).clicked() {
                self.browse(ui.ctx());
            }
            ui.label("or drop trace files on the window");
            let help = ui.button("?").on_hover_text("Keyboard and mouse (F1)");
            if help.clicked() {
                self.help = !self.help;
            }
            if let Some(target) = self.png_target() {
                let save = ui.add_enabled(!self.shots.is_pending(), egui::Button::new("Save PNG"));
                let hint = format!("Save the window as it is now to {}", target.display());
                if save.on_hover_text(hint).clicked() {
                    self.shots.request(ui.ctx(), target);
                }
            }
        });
        if let Some(n) = &self.notice {
            ui.label(RichText::new(n).color(WARN));
        }
        match &self.shots.last {
            Some(Ok(p)) => {
                ui.label(format!("saved {}", p.display()));
            }
            Some(Err(why)) => {
                ui.label(RichText::new(why).color(WARN));
            }
            None => {}
        }
        if self.tabs.is_empty() {
            return;
        }
        let mut close = None;
        ui.horizontal_wrapped(|ui| {
            for (i, t) in self.tabs.iter().enumerate() {
                let mark = match t.state {
                    TabState::Loading(_) => " …",
                    TabState::Failed(_) => " (failed)",
                    TabState::Ready(_) => "",
                    TabState::Live(ref l) => match l.status {
                        LiveStatus::Connecting => " …",
                        LiveStatus::Connected => " (live)",
                        LiveStatus::Ended => "",
                        LiveStatus::Disconnected(_) => " (disconnected)",
                    },
                };
                let label = format!("{}{mark}", t.source.label());
                let r = ui.selectable_label(self.active == i, label);
                if r.on_hover_text(t.source.path().display().to_string())
                    .clicked()
                {
                    self.active = i;
                }
                if ui
                    .small_button("×")
                    .on_hover_text("Close this trace")
                    .clicked()
                {
                    close = Some(i);
                }
                ui.separator();
            }
        });
        if let Some(i) = close {
            self.close(i);
        }
    }

    fn body_ui(&mut self, ui: &mut egui::Ui) {
        if self.tabs.is_empty() {
            ui.centered_and_justified(|ui| {
                ui.label("Open a lockscope trace: type its path above, or drop the file here.");
            });
            return;
        }
        let active = self.active.min(self.tabs.len() - 1);
        let (before, rest) = self.tabs.split_at_mut(active);
        let (tab, after) = rest.split_first_mut().expect("active tab exists");
        let tab_numbers = (0..active).chain(active + 1..);
        let others: Vec<OtherTrace<'_>> = (before.iter().chain(after.iter()))
            .zip(tab_numbers)
            .filter_map(|(t, i)| match &t.state {
                TabState::Ready(v) => Some(OtherTrace {
                    label: t.source.label(),
                    tab: i,
                    model: &v.model,
                }),
                TabState::Live(l) => l.view.as_ref().map(|v| OtherTrace {
                    label: t.source.label(),
                    tab: i,
                    model: &v.model,
                }),
                _ => None,
            })
            .collect();
        match &mut tab.state {
            TabState::Loading(l) => {
                let (read, total) = l.progress();
                ui.label(format!("Loading {} …", tab.source.path().display()));
                let frac = if total == 0 {
                    0.0
                } else {
                    read as f32 / total as f32
                };
                ui.add(egui::ProgressBar::new(frac).show_percentage());
            }
            TabState::Failed(e) => {
                ui.label(
                    RichText::new("This trace could not be opened")
                        .strong()
                        .size(16.0),
                );
                ui.label(RichText::new(e.as_str()).color(WARN));
            }
            TabState::Ready(v) => v.ui(ui, &others),
            TabState::Live(l) => {
                let addr = tab.source.path().display().to_string();
                let action = live_status_ui(ui, l, &addr);
                if action.reconnect {
                    l.reconnect(&addr, Some(ui.ctx()));
                }
                if action.toggle_pause {
                    l.toggle_pause();
                }
                if action.save {
                    l.save_trace(&addr);
                }
                match &mut l.view {
                    Some(v) => v.ui(ui, &others),
                    None if matches!(l.status, LiveStatus::Disconnected(_)) => {
                        ui.label(
                            RichText::new(format!("Nothing arrived from {addr}"))
                                .strong()
                                .size(16.0),
                        );
                    }
                    None => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label(format!("Waiting for data from {addr}…"));
                        });
                    }
                }
            }
        }
    }
}
