//! The eframe window around [`ViewerApp`], and `--screenshot`: render, save a PNG, close.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;

use crate::app::snapshot::Shots;
use crate::app::{FirstLook, ViewerApp};
use crate::panels::Panel;

/// How to open the window.
#[derive(Clone, Debug)]
pub struct WindowOptions {
    /// Traces to open, one tab each.
    pub traces: Vec<PathBuf>,
    /// Live addresses (`HOST:PORT`) to connect to, one tab each.
    pub connect: Vec<String>,
    /// The panel they open on.
    pub panel: Panel,
    /// The lock selected at first, by name.
    pub lock: Option<String>,
    /// The frame the Flamegraph's sandwich view opens on.
    pub frame: Option<String>,
    /// The time range selected at first: from, and to (`None`: the trace's end).
    pub range: Option<(u64, Option<u64>)>,
    /// Save a PNG of the first frames after loading to this path, then close.
    pub screenshot: Option<PathBuf>,
    /// Window size in points.
    pub size: [f32; 2],
}

/// Opens the viewer window and returns when it is closed.
pub fn run(opts: WindowOptions) -> anyhow::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("lockscope")
            .with_inner_size(opts.size)
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let outcome: Arc<Mutex<Option<anyhow::Result<()>>>> = Arc::default();
    let shot_outcome = Arc::clone(&outcome);
    eframe::run_native(
        "lockscope",
        native,
        Box::new(move |cc| {
            let mut app = ViewerApp::new();
            app.first_look = FirstLook {
                panel: opts.panel,
                lock: opts.lock,
                range: opts.range,
                frame: opts.frame,
            };
            for t in opts.traces {
                app.open(t, Some(&cc.egui_ctx));
            }
            for addr in opts.connect {
                app.connect(addr, Some(&cc.egui_ctx));
            }
            let shot = (opts.screenshot).map(|path| Shot::new(path, shot_outcome));
            Ok(Box::new(Window { app, shot }))
        }),
    )
    .map_err(|e| {
        anyhow!(
            "cannot open the viewer window: {e}; it needs a display (X11 or Wayland) and OpenGL \
             (on a headless machine: xvfb-run lockscope view ...)"
        )
    })?;
    outcome
        .lock()
        .map_or(Ok(()), |mut o| o.take().unwrap_or(Ok(())))
}

struct Window {
    app: ViewerApp,
    shot: Option<Shot>,
}

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app.show_ui(ui);
        if let Some(s) = &mut self.shot {
            s.step(ui.ctx(), !self.app.is_busy());
        }
    }
}

/// Waits for loading and a few settled frames, asks for the pixels, writes them, closes.
struct Shot {
    path: PathBuf,
    frames: u32,
    shots: Shots,
    outcome: Arc<Mutex<Option<anyhow::Result<()>>>>,
}

impl Shot {
    fn new(path: PathBuf, outcome: Arc<Mutex<Option<anyhow::Result<()>>>>) -> Self {
        Shot {
            path,
            frames: 0,
            shots: Shots::default(),
            outcome,
        }
    }

    fn step(&mut self, ctx: &egui::Context, loaded: bool) {
        ctx.request_repaint();
        if !loaded {
            return;
        }
        self.frames += 1;
        // A few frames let grids size themselves and tooltips settle.
        if self.frames == 5 {
            self.shots.request(ctx, self.path.clone());
        }
        self.shots.poll();
        if let Some(r) = self.shots.last.take() {
            if let Ok(mut o) = self.outcome.lock() {
                *o = Some(r.map(drop).map_err(|e| anyhow!(e)));
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}
