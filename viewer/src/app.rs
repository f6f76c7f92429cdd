//! The desktop viewer: tabs of open traces, each loading on a background thread.
//!
//! [`ViewerApp::show_ui`] draws everything into a [`egui::Ui`], so tests drive the app
//! without a window; [`run`] puts it in an eframe window.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};

use egui::RichText;

use crate::model::Model;
use crate::panels::style::WARN;
use crate::panels::{OtherTrace, Panel, TraceView};
use crate::source::{Loading, Source};

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
}

/// How a newly loaded trace is first shown.
#[derive(Clone, Debug, Default)]
pub struct FirstLook {
    /// The panel it opens on.
    pub panel: Panel,
    /// The lock selected, by name, when the trace has one of that name.
    pub lock: Option<String>,
}

impl FirstLook {
    fn apply(&self, path: PathBuf, model: Model) -> TraceView {
        let mut v = TraceView::new(path, model);
        v.panel = self.panel;
        let class = (self.lock.as_ref())
            .and_then(|name| v.model.classes.values().find(|c| &c.name == name))
            .map(|c| c.id);
        if let Some(c) = class {
            v.toggle_class(c);
        }
        v
    }
}

impl ViewerApp {
    /// An empty viewer.
    pub fn new() -> Self {
        ViewerApp::default()
    }

    /// Starts loading `path` in a new tab; `ctx` is repainted as loading progresses.
    pub fn open(&mut self, path: PathBuf, ctx: Option<&egui::Context>) {
        let source = Source::File(path);
        let ctx = ctx.cloned();
        let loading = source.load(move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        });
        self.tabs.push(Tab {
            source,
            state: TabState::Loading(loading),
        });
        self.active = self.tabs.len() - 1;
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
        }
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
        })
    }

    /// The active tab's view, once loaded.
    pub fn active_view(&mut self) -> Option<&mut TraceView> {
        match &mut self.tabs.get_mut(self.active)?.state {
            TabState::Ready(v) => Some(v),
            _ => None,
        }
    }

    /// Opens the desktop's file dialog on a named thread, so the window keeps drawing.
    fn browse(&mut self, ctx: &egui::Context) {
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
        }
    }

    /// Draws the whole viewer into `ui`.
    pub fn show_ui(&mut self, ui: &mut egui::Ui) {
        self.poll_loads();
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
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("lockscope");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.path_input)
                    .hint_text("Path to a trace file")
                    .desired_width(320.0),
            );
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open").clicked() || enter) && !self.path_input.trim().is_empty() {
                let p = PathBuf::from(self.path_input.trim());
                self.path_input.clear();
                self.open(p, Some(ui.ctx()));
            }
            let browse = ui.add_enabled(self.dialog.is_none(), egui::Button::new("Browse…"));
            let hint = "Pick trace files with the desktop's file chooser (its portal, or zenity)";
            if browse.on_hover_text(hint).clicked() {
                self.browse(ui.ctx());
            }
            ui.label("or drop trace files on the window");
        });
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
            self.tabs.remove(i);
            self.active = self.active.min(self.tabs.len().saturating_sub(1));
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
        let others: Vec<OtherTrace<'_>> = (before.iter().chain(after.iter()))
            .filter_map(|t| match &t.state {
                TabState::Ready(v) => Some(OtherTrace {
                    label: t.source.label(),
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
        }
    }
}

fn finish(source: &Source, r: Result<Model, String>, look: &FirstLook) -> TabState {
    match r {
        Ok(m) => TabState::Ready(Box::new(look.apply(source.path().to_owned(), m))),
        Err(e) => TabState::Failed(e),
    }
}
