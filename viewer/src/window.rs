//! The eframe window around [`ViewerApp`], and `--screenshot`: render, save a PNG, close.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, anyhow};

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
    requested: bool,
    rx: Option<Receiver<Arc<egui::ColorImage>>>,
    outcome: Arc<Mutex<Option<anyhow::Result<()>>>>,
}

impl Shot {
    fn new(path: PathBuf, outcome: Arc<Mutex<Option<anyhow::Result<()>>>>) -> Self {
        Shot {
            path,
            frames: 0,
            requested: false,
            rx: None,
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
        if !self.requested && self.frames >= 5 {
            let (tx, rx) = mpsc::channel();
            let c = ctx.clone();
            ctx.request_screenshot(move |img| {
                let _ = tx.send(img);
                c.request_repaint();
            });
            self.rx = Some(rx);
            self.requested = true;
        }
        if let Some(img) = self.rx.as_ref().and_then(|rx| rx.try_recv().ok()) {
            let r = write_png(&self.path, &img);
            if let Ok(mut o) = self.outcome.lock() {
                *o = Some(r);
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Writes `img` as an opaque RGBA PNG.
pub fn write_png(path: &Path, img: &egui::ColorImage) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let [w, h] = img.size;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut bytes = img.as_raw().to_vec();
    bytes.chunks_exact_mut(4).for_each(|p| p[3] = 255);
    let mut writer = enc.write_header().context("cannot write the PNG header")?;
    writer
        .write_image_data(&bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
